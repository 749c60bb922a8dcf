// Package submit is the k6 extension k6/x/capacity: the scenarios' submission path in Go.
//
// A submission (scenarios/lib/actions.ts) posts a corpus body, checks HQ's answer and writes a request line. In k6's
// JavaScript interpreter, reading the request's parameters and HQ's answer and building the line cost about a fifth
// of what k6 spends on a request; here they cost a few hundred nanoseconds. The request, with the headers k6's
// http.post would give it, goes out on the VU's own connection (wire.go), or on its transport where a proxy is set
// (roundtrip.go), and is measured as k6's metrics with k6's tags; with --http-debug it goes through k6's own client,
// which prints it.
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
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
// console in batches (see the request log in scenarios/lib/actions.ts); batch: when a batch is due.
type instance struct {
	vu    modules.VU
	lines []byte
	batch batch
}

func (i *instance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{"sender": i.newSender, "add": i.add, "take": i.take, "batching": i.batching}}
}

// batching({lines, ms, busyMs, tailFrom}): when the VU's batch of request lines is due (scenarios/lib/actions.ts)
func (i *instance) batching(call sobek.FunctionCall) sobek.Value {
	rt := i.vu.Runtime()
	var rules batchRules
	if err := rt.ExportTo(call.Argument(0), &rules); err != nil {
		common.Throw(rt, fmt.Errorf("capacity.batching: %w", err))
	}
	i.batch.rules = rules
	return sobek.Undefined()
}

// add(line, urgent) -> true when the batch is due: a request line the script built (restores, searches)
func (i *instance) add(call sobek.FunctionCall) sobek.Value {
	i.addLine(call.Argument(0).String())
	return i.vu.Runtime().ToValue(i.batch.added(time.Now().UnixMilli(), call.Argument(1).ToBoolean()))
}

func (i *instance) addLine(line string) {
	if len(i.lines) > 0 {
		i.lines = append(i.lines, '\n')
	}
	i.lines = append(i.lines, line...)
}

// take() -> the lines added since the last take, one per line ("" when there are none)
func (i *instance) take(sobek.FunctionCall) sobek.Value {
	out := string(i.lines)
	i.lines = i.lines[:0]
	i.batch.count = 0
	return i.vu.Runtime().ToValue(out)
}

// template: the headers, tags and request-line prefix shared by one worker's bodies of one form (each body may set
// its own Content-Type: a multipart body names its own boundary, so a template per content type would be one per
// body)
type template struct {
	header http.Header
	tags   [][2]string
	// `"w":<worker>,"form":"<name>"`, for the request line
	prefix string
	// the header lines for the wire (wire.go): all of them, and all but Content-Type (for a body that sets its own)
	lines, linesUntyped []byte
}

// senderSpec: what sender(spec) is given (types in scenarios/lib/k6x-capacity.d.ts)
type senderSpec struct {
	URL         string `js:"url"`
	FollowEvery int    `js:"followEvery"`
	// the VU's workers: each one's body pack and its index (bodies/w<i>.bin and .json, absolute paths) and headers
	Workers []struct {
		W       int               `js:"w"`
		Pack    string            `js:"pack"`
		Index   string            `js:"index"`
		Headers map[string]string `js:"headers"`
	} `js:"workers"`
	// the corpus's form names by number (bodies/layout.json)
	Forms []string `js:"forms"`
	// every submission's tags; each also gets form: its form's name
	Tags map[string]string `js:"tags"`
}

// packIndex: a worker pack's index (bodies/w<i>.json, written by runner/corpus.ts): each body's length, form
// number and Content-Type, in the pack's order
type packIndex struct {
	Lengths []int    `json:"lengths"`
	Forms   []int    `json:"forms"`
	Types   []string `json:"types"`
}

func readIndex(path string) (*packIndex, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pack index: %w", err)
	}
	var ix packIndex
	if err := json.Unmarshal(raw, &ix); err != nil {
		return nil, fmt.Errorf("pack index %s: %w", path, err)
	}
	if len(ix.Forms) != len(ix.Lengths) || len(ix.Types) != len(ix.Lengths) {
		return nil, fmt.Errorf("pack index %s: %d lengths, %d forms, %d types", path, len(ix.Lengths), len(ix.Forms), len(ix.Types))
	}
	return &ix, nil
}

type sender struct {
	log    *instance
	url    httpext.URL
	target *url.URL
	// name: the name and url tags' value (k6's cleaned URL), made once
	name   string
	answer bytes.Buffer
	// body k, in send order: its bytes (a slice of a mapped pack), template and Content-Type
	bodies      [][]byte
	templateOf  []int
	types       []string
	templates   []template
	followEvery int
	// wire: the VU's own connection for submissions; nil where they go through k6's transport
	wire  *wire
	tags  tagCache
	acked int
	// what post returns: 1 if HQ accepted the body, plus 2 if the VU's batch of request lines is due
	results [4]sobek.Value
}

// sender(spec) -> {post(k), count}: a VU's submissions in the order it sends them: its workers in turn, each
// worker's forms in timeline order (the order of its pack). The indexes are read here, in Go: in JavaScript they
// were most of k6's startup.
func (i *instance) newSender(call sobek.FunctionCall) sobek.Value {
	rt := i.vu.Runtime()
	var spec senderSpec
	if err := rt.ExportTo(call.Argument(0), &spec); err != nil {
		common.Throw(rt, fmt.Errorf("capacity.sender: %w", err))
	}
	s, err := buildSender(spec)
	if err != nil {
		common.Throw(rt, fmt.Errorf("capacity.sender: %w", err))
	}
	s.log = i
	for r := range s.results {
		s.results[r] = rt.ToValue(r)
	}
	widenWriteBuffer(i.vu)
	o := rt.NewObject()
	_ = o.Set("post", s.post)
	_ = o.Set("count", len(s.bodies))
	return o
}

func buildSender(spec senderSpec) (*sender, error) {
	u, err := httpext.ToURL(spec.URL)
	if err != nil {
		return nil, err
	}
	s := &sender{url: u, target: u.GetURL(), name: u.Clean(), followEvery: spec.FollowEvery}
	s.wire = wireFor(s.target)
	tags := make([][2]string, 0, len(spec.Tags)+1)
	for k, v := range spec.Tags {
		if k != "form" {
			tags = append(tags, [2]string{k, v})
		}
	}
	type worker struct {
		pack  []byte
		index *packIndex
		// offsets[j]: where body j starts in the pack
		offsets []int
		// template of each form number, made at its first body
		templateOf map[int]int
	}
	workers := make([]worker, len(spec.Workers))
	longest, total := 0, 0
	for p, w := range spec.Workers {
		if !filepath.IsAbs(w.Index) {
			return nil, fmt.Errorf("pack index %q: not an absolute path", w.Index)
		}
		ix, err := readIndex(w.Index)
		if err != nil {
			return nil, err
		}
		mapped, err := pack(w.Pack)
		if err != nil {
			return nil, err
		}
		offsets := make([]int, len(ix.Lengths))
		at := 0
		for j, n := range ix.Lengths {
			offsets[j] = at
			at += n
		}
		workers[p] = worker{pack: mapped, index: ix, offsets: offsets, templateOf: map[int]int{}}
		longest = max(longest, len(ix.Lengths))
		total += len(ix.Lengths)
	}
	s.bodies = make([][]byte, 0, total)
	s.templateOf = make([]int, 0, total)
	s.types = make([]string, 0, total)
	for j := 0; j < longest; j++ {
		for p := range workers {
			wk := &workers[p]
			if j >= len(wk.index.Lengths) {
				continue
			}
			b, err := body(wk.pack, wk.offsets[j], wk.index.Lengths[j])
			if err != nil {
				return nil, fmt.Errorf("body %d of %s: %w", j, spec.Workers[p].Pack, err)
			}
			f := wk.index.Forms[j]
			if f < 0 || f >= len(spec.Forms) {
				return nil, fmt.Errorf("body %d of %s: form %d is not in the corpus's %d forms", j, spec.Workers[p].Index, f, len(spec.Forms))
			}
			t, ok := wk.templateOf[f]
			if !ok {
				t = len(s.templates)
				wk.templateOf[f] = t
				s.templates = append(s.templates, newTemplate(spec.Workers[p].W, spec.Workers[p].Headers, spec.Forms[f], tags))
			}
			s.bodies = append(s.bodies, b)
			s.templateOf = append(s.templateOf, t)
			s.types = append(s.types, wk.index.Types[j])
		}
	}
	return s, nil
}

// newTemplate: worker w's template for form name
func newTemplate(w int, headers map[string]string, name string, tags [][2]string) template {
	h := make(http.Header, len(headers))
	for k, v := range headers {
		h.Set(k, v)
	}
	t := template{header: h, lines: wireLines(h, false), linesUntyped: wireLines(h, true)}
	t.tags = append(append(t.tags, tags...), [2]string{"form", name})
	sort.Slice(t.tags, func(a, b int) bool { return t.tags[a][0] < t.tags[b][0] })
	t.prefix = string(appendJSONString([]byte(`"w":`+strconv.Itoa(w)+`,"form":`), name))
	return t
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

// post(k) -> 1 if HQ accepted body k (201 submit_success), else 0, plus 2 when the VU's batch of request lines is
// due; its request line is added to the batch
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
	if s.wire != nil && state.Options.HTTPDebug.String == "" {
		lines := t.lines
		if s.types[k] != "" {
			lines = t.linesUntyped
		}
		x := s.wire.send(vu.Context(), state, lines, s.types[k], b, &s.answer)
		s.tags.emit(vu.Context(), state, s.templateOf[k], t.tags, s.name, x, time.Now())
		if x.err != nil && state.Options.Throw.Bool {
			common.Throw(rt, x.err)
		}
		return s.done(k, accepted(x.status, s.answer.Bytes()), x.status, x.formID, metrics.D(x.took))
	}
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
	return s.done(k, accepted(status, []byte(answer)), status, formID, took)
}

// done: body k's request line (ok: HQ accepted it) added to the VU's lines
func (s *sender) done(k int, ok bool, status int, formID string, took float64) sobek.Value {
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
	now := time.Now().UnixMilli()
	s.log.lines = appendLine(s.log.lines, now, took, status, ok, s.templates[s.templateOf[k]].prefix, ack, follow)
	r := 0
	if ok {
		r = 1
	}
	if s.log.batch.added(now, false) {
		r |= 2
	}
	return s.results[r]
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

// wireLines: a template's header lines for the wire; the request's own (Host, Content-Length, User-Agent, and
// Content-Type where the body sets it) are left to it
func wireLines(h http.Header, untyped bool) []byte {
	h = h.Clone()
	for _, k := range []string{"Host", "Content-Length", "User-Agent", "Transfer-Encoding", "Connection"} {
		h.Del(k)
	}
	if untyped {
		h.Del("Content-Type")
	}
	return headerBlock(h)
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
func accepted(status int, body []byte) bool {
	return status == 201 && bytes.Contains(body, submitSuccess)
}

var submitSuccess = []byte(`nature="submit_success"`)

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
