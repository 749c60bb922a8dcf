// Package submit is the k6 extension k6/x/capacity: the scenarios' submission path in Go.
//
// A submission (scenarios/lib/actions.ts) posts a corpus body, checks HQ's answer and writes a request line. In k6's
// JavaScript interpreter, reading the request's parameters and HQ's answer and building the line cost about a fifth
// of what k6 spends on a request; here they cost a few hundred nanoseconds. The request goes out on the VU's own
// transport with the headers k6's http.post would give it, and is measured as k6's metrics with k6's tags
// (roundtrip.go); with --http-debug it goes through k6's own client, which prints it.
//
// Stock k6 refuses a script that imports an extension it lacks, so only scenarios/native-run.ts imports this; the
// scenario files keep the same path in JavaScript for stock k6 (k6-operator pods).
package submit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/sobek"
	"go.k6.io/k6/js/common"
	"go.k6.io/k6/js/modules"
	"go.k6.io/k6/lib"
	"go.k6.io/k6/lib/netext/httpext"
	"go.k6.io/k6/metrics"
)

func init() {
	modules.Register("k6/x/capacity", new(rootModule))
}

type rootModule struct{}

func (*rootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &instance{vu: vu}
}

// instance: one per VU. lines: the VU's request lines not yet taken by the script, which writes them to k6's
// console in batches (see the request log in scenarios/lib/actions.ts).
type instance struct {
	vu    modules.VU
	lines []byte
}

func (i *instance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{"sender": i.newSender, "add": i.add, "take": i.take}}
}

// add(line): a request line the script built (restores, searches)
func (i *instance) add(call sobek.FunctionCall) sobek.Value {
	if len(i.lines) > 0 {
		i.lines = append(i.lines, '\n')
	}
	i.lines = append(i.lines, call.Argument(0).String()...)
	return sobek.Undefined()
}

// take() -> the lines added since the last take, one per line
func (i *instance) take(sobek.FunctionCall) sobek.Value {
	out := string(i.lines)
	i.lines = i.lines[:0]
	return i.vu.Runtime().ToValue(out)
}

// template: the headers and tags shared by the bodies of one form (each body may set its own Content-Type: a
// multipart body names its own boundary, so a template per content type would be one per body)
type template struct {
	header http.Header
	tags   [][2]string
}

// senderSpec: what sender(spec) is given (types in scenarios/lib/k6x-capacity.d.ts)
type senderSpec struct {
	URL         string `js:"url"`
	FollowEvery int    `js:"followEvery"`
	Templates   []struct {
		Headers map[string]string `js:"headers"`
		Tags    map[string]string `js:"tags"`
	} `js:"templates"`
	TemplateOf []int `js:"templateOf"`
	// Types[k]: body k's Content-Type, set over its template's ("" keeps the template's)
	Types    []string `js:"types"`
	Prefixes []string `js:"prefixes"`
	// body k: bytes offsets[k] to offsets[k]+lengths[k] of the pack file packs[packOf[k]]
	Packs   []string `js:"packs"`
	PackOf  []int    `js:"packOf"`
	Offsets []int    `js:"offsets"`
	Lengths []int    `js:"lengths"`
}

type sender struct {
	log    *instance
	url    httpext.URL
	target *url.URL
	// name: the name and url tags' value (k6's cleaned URL), made once
	name        string
	answer      bytes.Buffer
	bodies      [][]byte
	templates   []template
	templateOf  []int
	types       []string
	prefixes    []string
	followEvery int
	acked       int
	accepted    sobek.Value
	rejected    sobek.Value
}

// sender(spec) -> {post(k)}: a VU's submissions, in the order it sends them
func (i *instance) newSender(call sobek.FunctionCall) sobek.Value {
	rt := i.vu.Runtime()
	arg := call.Argument(0)
	var spec senderSpec
	if err := rt.ExportTo(arg, &spec); err != nil {
		common.Throw(rt, fmt.Errorf("capacity.sender: %w", err))
	}
	u, err := httpext.ToURL(spec.URL)
	if err != nil {
		common.Throw(rt, fmt.Errorf("capacity.sender: %w", err))
	}
	s := &sender{log: i, url: u, target: u.GetURL(), name: u.Clean(), followEvery: spec.FollowEvery, templateOf: spec.TemplateOf, types: spec.Types, prefixes: spec.Prefixes,
		accepted: rt.ToValue(1), rejected: rt.ToValue(0)}
	// the bodies: slices of the packs, mapped once per process (packs.go), so no VU holds a copy
	n := len(spec.PackOf)
	if len(spec.Offsets) != n || len(spec.Lengths) != n {
		common.Throw(rt, fmt.Errorf("capacity.sender: %d pack indexes, %d offsets, %d lengths", n, len(spec.Offsets), len(spec.Lengths)))
	}
	mapped := make([][]byte, len(spec.Packs))
	for p, path := range spec.Packs {
		if mapped[p], err = pack(path); err != nil {
			common.Throw(rt, fmt.Errorf("capacity.sender: %w", err))
		}
	}
	s.bodies = make([][]byte, n)
	for k, p := range spec.PackOf {
		if p < 0 || p >= len(mapped) {
			common.Throw(rt, fmt.Errorf("capacity.sender: body %d is in no pack (%d)", k, p))
		}
		if s.bodies[k], err = body(mapped[p], spec.Offsets[k], spec.Lengths[k]); err != nil {
			common.Throw(rt, fmt.Errorf("capacity.sender: body %d of %s: %w", k, spec.Packs[p], err))
		}
	}
	for _, t := range spec.Templates {
		h := make(http.Header, len(t.Headers))
		for k, v := range t.Headers {
			h.Set(k, v)
		}
		tt := template{header: h}
		for k, v := range t.Tags {
			tt.tags = append(tt.tags, [2]string{k, v})
		}
		sort.Slice(tt.tags, func(a, b int) bool { return tt.tags[a][0] < tt.tags[b][0] })
		s.templates = append(s.templates, tt)
	}
	if len(s.templateOf) != n || len(s.types) != n || len(s.prefixes) != n {
		common.Throw(rt, fmt.Errorf("capacity.sender: %d bodies, %d template indexes, %d content types, %d prefixes",
			n, len(s.templateOf), len(s.types), len(s.prefixes)))
	}
	for k, t := range s.templateOf {
		if t < 0 || t >= len(s.templates) {
			common.Throw(rt, fmt.Errorf("capacity.sender: body %d has no template %d", k, t))
		}
	}
	widenWriteBuffer(i.vu)
	o := rt.NewObject()
	_ = o.Set("post", s.post)
	return o
}

// writeBuffer: room for a form's request (headers and body) in one write; net/http's default, 4 KB, writes a 14 KB
// form in four system calls, a third of what k6 spends on a request
const writeBuffer = 64 << 10

// widenWriteBuffer: the VU's own transport (k6 makes one per VU) writes each request through a buffer of
// writeBuffer bytes; connections it opens from now on have it. Called from a VU's code, between its requests, so
// no connection is being opened meanwhile.
func widenWriteBuffer(vu modules.VU) {
	state := vu.State()
	if state == nil {
		return // init context: the sender is only made in a VU's iteration
	}
	if t, ok := state.Transport.(*http.Transport); ok && t.WriteBufferSize < writeBuffer {
		t.WriteBufferSize = writeBuffer
	}
}

// post(k) -> 1 if HQ accepted body k (201 submit_success), else 0; its request line is added to the VU's lines
func (s *sender) post(call sobek.FunctionCall) sobek.Value {
	vu := s.log.vu
	rt := vu.Runtime()
	state := vu.State()
	if state == nil {
		common.Throw(rt, fmt.Errorf("capacity: submissions cannot be made in the init context"))
	}
	k := int(call.Argument(0).ToInteger())
	if k < 0 || k >= len(s.bodies) {
		common.Throw(rt, fmt.Errorf("capacity: no body %d", k))
	}
	t := &s.templates[s.templateOf[k]]
	b := s.bodies[k]
	getBody := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	body, _ := getBody()
	// the body is given to the http.Request itself (with its length, and GetBody for a retry on a fresh connection)
	hreq := &http.Request{Method: http.MethodPost, URL: s.target, Host: s.target.Host, Header: requestHeader(t.header, s.types[k]),
		Body: body, GetBody: getBody, ContentLength: int64(len(b)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	hreq.Header.Set("User-Agent", state.Options.UserAgent.String)
	var status int
	var answer, formID string
	var took float64
	if state.Options.HTTPDebug.String == "" {
		x := roundTrip(vu.Context(), state, hreq, t.tags, s.name, &s.answer)
		if x.err != nil && state.Options.Throw.Bool {
			common.Throw(rt, x.err)
		}
		status, formID, took = x.status, x.formID, metrics.D(x.took)
		answer = s.answer.String()
	} else {
		// --http-debug: k6's own client prints the exchange
		res := s.viaK6(state, hreq, t)
		status, answer, took = res.Status, res.Body.(string), res.Timings.Duration
		formID = res.Headers["X-Commcarehq-Formid"]
	}
	ok := accepted(status, answer)
	follow := false
	if ok && s.followEvery > 0 {
		follow = s.acked%s.followEvery == 0
		s.acked++
	}
	ack := ""
	if ok {
		ack = formID
	}
	if len(s.log.lines) > 0 {
		s.log.lines = append(s.log.lines, '\n')
	}
	s.log.lines = appendLine(s.log.lines, time.Now().UnixMilli(), took, status, ok, s.prefixes[k], ack, follow)
	if ok {
		return s.accepted
	}
	return s.rejected
}

// viaK6: the request through k6's own client (httpext.MakeRequest, as k6's http.post makes it), for --http-debug
func (s *sender) viaK6(state *lib.State, hreq *http.Request, t *template) *httpext.Response {
	rt := s.log.vu.Runtime()
	req := &httpext.ParsedHTTPRequest{
		URL:              &s.url,
		Req:              hreq,
		Timeout:          requestTimeout,
		Throw:            state.Options.Throw.Bool,
		Redirects:        state.Options.MaxRedirects,
		Cookies:          make(map[string]*httpext.HTTPRequestCookie),
		ResponseCallback: expectedStatus,
		TagsAndMeta:      state.Tags.GetCurrentValues(),
		ResponseType:     httpext.ResponseTypeText,
	}
	for _, tag := range t.tags {
		req.TagsAndMeta.SetTag(tag[0], tag[1])
	}
	if state.CookieJar != nil {
		req.ActiveJar = state.CookieJar
		httpext.SetRequestCookies(req.Req, req.ActiveJar, req.Cookies)
	}
	res, err := httpext.MakeRequest(s.log.vu.Context(), state, req)
	if err != nil {
		common.Throw(rt, err)
	}
	return res
}

// requestHeader: a copy of the template's headers (k6 adds to them) with the body's own Content-Type, if it has one
func requestHeader(template http.Header, contentType string) http.Header {
	h := template.Clone()
	if contentType != "" {
		h["Content-Type"] = []string{contentType}
	}
	return h
}

// accepted: HQ's success is a 201 whose message is submit_success (a 201 submit_error is a failure)
func accepted(status int, body string) bool {
	return status == 201 && strings.Contains(body, `nature="submit_success"`)
}

// k6's default response callback: 200-399 are expected (http_req_failed)
func expectedStatus(status int) bool { return status >= 200 && status <= 399 }

// appendLine: a submission's request line, as scenarios/lib/actions.ts writes it (runner/requestlog.ts reads it).
// prefix: `"w":<worker>,"form":"<name>"`; ack: HQ's form id, on an accepted submission.
func appendLine(b []byte, nowMs int64, durationMs float64, status int, ok bool, prefix, ack string, follow bool) []byte {
	b = append(b, `{"e":"receiver","t":`...)
	b = strconv.AppendInt(b, nowMs, 10)
	b = append(b, `,"d":`...)
	// JavaScript's shortest form of a number, for durations (k6's are positive and far from an exponent)
	b = strconv.AppendFloat(b, durationMs, 'f', -1, 64)
	b = append(b, `,"s":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	if ok {
		b = append(b, `,"ok":1,`...)
	} else {
		b = append(b, `,"ok":0,`...)
	}
	b = append(b, prefix...)
	if ok {
		b = append(b, `,"ack":`...)
		b = appendJSONString(b, ack)
		if follow {
			b = append(b, `,"f":1`...)
		}
	}
	return append(b, '}')
}

// appendJSONString: HQ's form ids are hex and dashes, written as they are; anything else is escaped as JSON
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
