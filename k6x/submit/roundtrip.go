package submit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"go.k6.io/k6/lib"
	"go.k6.io/k6/lib/netext/httpext"
	"go.k6.io/k6/metrics"
)

// exchange: what one submission's request came back with. status 0: no answer (err says why).
type exchange struct {
	status int
	proto  string
	formID string
	took   time.Duration
	err    error
}

// roundTrip sends a submission on the VU's own transport (k6's dialer, so its connection pool, blocked hosts and
// data_sent/data_received) with the VU's cookies, keeps the cookies the answer sets, and emits what the runner and
// the thresholds read: http_reqs, http_req_duration and http_req_failed, with the tags k6's HTTP client gives them. It skips k6's request tracer, which times six phases
// and emits six more samples per request: with them a submission costs about half as much CPU again.
//
// http_req_duration is from the first byte written to the last byte read; a connection opened for the request is
// in it (k6's excludes that), which is rare: connections are kept alive. answer receives the response's body.
func roundTrip(ctx context.Context, state *lib.State, req *http.Request, tags [][2]string, nameTag string, answer *bytes.Buffer) exchange {
	if rps := state.RPSLimit; rps != nil {
		if err := rps.Wait(ctx); err != nil {
			return exchange{err: err}
		}
	}
	if state.CookieJar != nil {
		httpext.SetRequestCookies(req, state.CookieJar, nil)
	}
	reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req = req.WithContext(reqCtx)
	answer.Reset()
	start := time.Now()
	res, err := state.Transport.RoundTrip(req)
	var x exchange
	if err == nil {
		_, err = answer.ReadFrom(res.Body)
		_ = res.Body.Close()
		x.status, x.proto = res.StatusCode, res.Proto
		x.formID = res.Header.Get("X-Commcarehq-Formid")
		if err == nil && state.CookieJar != nil {
			if rc := res.Cookies(); len(rc) > 0 {
				state.CookieJar.SetCookies(req.URL, rc)
			}
		}
	}
	end := time.Now()
	x.took = end.Sub(start)
	if err != nil {
		x = exchange{took: x.took, err: err}
	}
	emit(ctx, state, req.Method, tags, nameTag, x, end)
	return x
}

// requestTimeout: k6's http.post default
const requestTimeout = 60 * time.Second

func emit(ctx context.Context, state *lib.State, method string, tags [][2]string, nameTag string, x exchange, end time.Time) {
	push(ctx, state, tagsOf(state, state.Tags.GetCurrentValues(), method, tags, nameTag, x), x, end)
}

// tagsOf: a request's tags and metadata, as k6's HTTP client sets them, over the VU's (tm)
func tagsOf(state *lib.State, tm metrics.TagsAndMeta, method string, tags [][2]string, nameTag string, x exchange) metrics.TagsAndMeta {
	for _, t := range tags {
		tm.SetTag(t[0], t[1])
	}
	enabled := state.Options.SystemTags
	if _, named := tm.Tags.Get(metrics.TagName.String()); named {
		nameTag, _ = tm.Tags.Get(metrics.TagName.String())
	} else {
		tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagName, nameTag)
	}
	tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagURL, nameTag)
	tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagMethod, method)
	if x.err != nil {
		code, msg := errorCode(x.err)
		tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagError, msg)
		tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagErrorCode, strconv.Itoa(code))
	} else if x.status >= 400 {
		tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagErrorCode, strconv.Itoa(1000+x.status))
	}
	tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagStatus, strconv.Itoa(x.status))
	if x.err == nil {
		tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagProto, x.proto)
	}
	tm.SetSystemTagOrMetaIfEnabled(enabled, metrics.TagExpectedResponse, strconv.FormatBool(x.err == nil && expectedStatus(x.status)))
	return tm
}

// push: the request's three samples, http_reqs, http_req_duration and http_req_failed
func push(ctx context.Context, state *lib.State, tm metrics.TagsAndMeta, x exchange, end time.Time) {
	failed := 1.0
	if x.err == nil && expectedStatus(x.status) {
		failed = 0
	}
	b := state.BuiltinMetrics
	sample := func(m *metrics.Metric, v float64) metrics.Sample {
		return metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: tm.Tags}, Time: end, Metadata: tm.Metadata, Value: v}
	}
	metrics.PushIfNotDone(ctx, state.Samples, metrics.ConnectedSamples{
		Samples: []metrics.Sample{sample(b.HTTPReqs, 1), sample(b.HTTPReqDuration, metrics.D(x.took)), sample(b.HTTPReqFailed, failed)},
		Tags:    tm.Tags,
		Time:    end,
	})
}

// tagKey: what a request's tags depend on when it was answered and the VU has no metadata: the VU's tags, the
// template, the status and protocol
type tagKey struct {
	base     *metrics.TagSet
	template int
	status   int
	proto    string
}

// tagCache: the tag sets made for answered requests, so that a request sets none of its tags one by one (each a
// lookup in k6's tag tree). Bounded: a script that changes the VU's tags on every iteration only empties it.
type tagCache map[tagKey]*metrics.TagSet

const tagCacheMax = 1024

func (c *tagCache) emit(ctx context.Context, state *lib.State, template int, tags [][2]string, nameTag string, x exchange, end time.Time) {
	tm := state.Tags.GetCurrentValues()
	if x.err != nil || len(tm.Metadata) > 0 {
		push(ctx, state, tagsOf(state, tm, http.MethodPost, tags, nameTag, x), x, end)
		return
	}
	key := tagKey{base: tm.Tags, template: template, status: x.status, proto: x.proto}
	if ts, ok := (*c)[key]; ok {
		tm.Tags = ts
	} else {
		tm = tagsOf(state, tm, http.MethodPost, tags, nameTag, x)
		if len(*c) >= tagCacheMax || *c == nil {
			*c = tagCache{}
		}
		(*c)[key] = tm.Tags
	}
	push(ctx, state, tm, x, end)
}

// errorCode: k6's error codes and messages (its errorCodeForError is not exported) for the failures a submission
// meets; anything else is k6's default, 1000 with the error's text.
func errorCode(err error) (int, string) {
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		if errors.As(err, &op) && op.Op == "dial" {
			return 1211, "dial: i/o timeout"
		}
		return 1050, "request timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return 1212, "dial: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return 1220, opName(op, err) + ": connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return 1201, opName(op, err) + ": broken pipe"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return 1000, "unexpected EOF"
	}
	return 1000, err.Error()
}

func opName(op *net.OpError, err error) string {
	if errors.As(err, &op) {
		return op.Op
	}
	return "read"
}
