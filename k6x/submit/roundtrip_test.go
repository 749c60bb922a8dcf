package submit

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.k6.io/k6/lib"
	"go.k6.io/k6/metrics"
)

// vuState: what roundTrip reads of a VU, with the system tags the scenarios enable (scenarios/lib/params.ts)
func vuState(t *testing.T) (*lib.State, chan metrics.SampleContainer) {
	t.Helper()
	registry := metrics.NewRegistry()
	samples := make(chan metrics.SampleContainer, 16)
	jar, _ := cookiejar.New(nil)
	state := &lib.State{
		Transport:      &http.Transport{},
		CookieJar:      jar,
		Samples:        samples,
		BuiltinMetrics: metrics.RegisterBuiltinMetrics(registry),
		Tags:           lib.NewVUStateTags(registry.RootTagSet().With("scenario", "steady")),
		Options: lib.Options{SystemTags: metrics.NewSystemTagSet(metrics.TagStatus, metrics.TagMethod, metrics.TagExpectedResponse,
			metrics.TagError, metrics.TagErrorCode, metrics.TagScenario)},
	}
	return state, samples
}

func post(t *testing.T, state *lib.State, to string) (exchange, *bytes.Buffer) {
	t.Helper()
	u, _ := url.Parse(to)
	req := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: http.Header{}, Body: http.NoBody}
	var answer bytes.Buffer
	return roundTrip(context.Background(), state, req, [][2]string{{"endpoint", "receiver"}}, to, &answer), &answer
}

// samplesOf: the one container roundTrip pushed, as metric name -> sample
func samplesOf(t *testing.T, ch chan metrics.SampleContainer) map[string]metrics.Sample {
	t.Helper()
	if len(ch) != 1 {
		t.Fatalf("%d sample containers pushed, want 1", len(ch))
	}
	out := map[string]metrics.Sample{}
	for _, s := range (<-ch).GetSamples() {
		out[s.Metric.Name] = s
	}
	return out
}

func tag(s metrics.Sample, key string) string {
	v, _ := s.Tags.Get(key)
	return v
}

func TestRoundTripAccepted(t *testing.T) {
	var sentCookie string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sentCookie = r.Header.Get("Cookie")
		w.Header().Set("X-CommCareHQ-FormID", "f-1")
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s1"})
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`<OpenRosaResponse><message nature="submit_success">ok</message></OpenRosaResponse>`))
	}))
	defer srv.Close()
	state, ch := vuState(t)
	x, answer := post(t, state, srv.URL+"/a/demo/receiver/")
	if x.err != nil || x.status != 201 || x.formID != "f-1" || !accepted(x.status, answer.Bytes()) {
		t.Fatalf("got %+v, answer %q", x, answer.String())
	}
	s := samplesOf(t, ch)
	if len(s) != 3 || s["http_reqs"].Value != 1 || s["http_req_failed"].Value != 0 || s["http_req_duration"].Value <= 0 {
		t.Fatalf("samples: %+v", s)
	}
	d := s["http_req_duration"]
	for k, want := range map[string]string{"endpoint": "receiver", "scenario": "steady", "status": "201", "method": "POST", "expected_response": "true"} {
		if got := tag(d, k); got != want {
			t.Errorf("tag %s = %q, want %q", k, got, want)
		}
	}
	if _, has := d.Tags.Get("url"); has {
		t.Error("url tag set although the scenarios disable it")
	}
	u, _ := url.Parse(srv.URL + "/a/demo/receiver/")
	if c := state.CookieJar.Cookies(u); len(c) != 1 || c[0].Value != "s1" {
		t.Errorf("the answer's cookie was not kept: %v", c)
	}
	if _, _ = post(t, state, srv.URL+"/a/demo/receiver/"); sentCookie != "sessionid=s1" {
		t.Errorf("the next submission sent Cookie %q, want the kept one", sentCookie)
	}
}

func TestRoundTripServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	state, ch := vuState(t)
	x, _ := post(t, state, srv.URL)
	if x.err != nil || x.status != 500 {
		t.Fatalf("got %+v", x)
	}
	s := samplesOf(t, ch)
	f := s["http_req_failed"]
	if f.Value != 1 || tag(f, "error_code") != "1500" || tag(f, "expected_response") != "false" {
		t.Fatalf("failed sample %v %v", f.Value, f.Tags.Map())
	}
}

func TestRoundTripRefused(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	state, ch := vuState(t)
	x, _ := post(t, state, "http://"+addr+"/")
	if x.err == nil || x.status != 0 {
		t.Fatalf("got %+v", x)
	}
	f := samplesOf(t, ch)["http_req_failed"]
	if f.Value != 1 || tag(f, "status") != "0" || tag(f, "error_code") != "1212" || !strings.Contains(tag(f, "error"), "refused") {
		t.Fatalf("failed sample %v %v", f.Value, f.Tags.Map())
	}
}

// The cached tags are the ones emit would set, and follow the VU's own tags when they change.
func TestTagCacheGivesEmitsTags(t *testing.T) {
	state, ch := vuState(t)
	tags := [][2]string{{"endpoint", "receiver"}, {"form", "visit"}}
	var c tagCache
	ok := exchange{status: 201, proto: "HTTP/1.1", took: time.Millisecond}
	at := time.Now()
	emit(context.Background(), state, http.MethodPost, tags, "http://h/r", ok, at)
	want := samplesOf(t, ch)["http_req_duration"].Tags.Map()
	for range 2 {
		c.emit(context.Background(), state, 0, tags, "http://h/r", ok, at)
		if got := samplesOf(t, ch)["http_req_duration"].Tags.Map(); !reflect.DeepEqual(got, want) {
			t.Fatalf("cached tags %v, want %v", got, want)
		}
	}
	if len(c) != 1 {
		t.Errorf("%d cache entries for one kind of answer", len(c))
	}
	c.emit(context.Background(), state, 0, tags, "http://h/r", exchange{status: 500, proto: "HTTP/1.1"}, at)
	if got := samplesOf(t, ch)["http_req_failed"]; tag(got, "status") != "500" || tag(got, "error_code") != "1500" || got.Value != 1 {
		t.Errorf("a 500: %v %v", got.Value, got.Tags.Map())
	}
	state.Tags.Modify(func(tm *metrics.TagsAndMeta) { tm.SetTag("phase", "two") })
	c.emit(context.Background(), state, 0, tags, "http://h/r", ok, at)
	if got := samplesOf(t, ch)["http_reqs"]; tag(got, "phase") != "two" || tag(got, "status") != "201" {
		t.Errorf("after the VU's tags changed: %v", got.Tags.Map())
	}
	c.emit(context.Background(), state, 0, tags, "http://h/r", exchange{err: context.DeadlineExceeded}, at)
	if got := samplesOf(t, ch)["http_req_failed"]; tag(got, "error_code") != "1050" || tag(got, "status") != "0" {
		t.Errorf("a timeout: %v", got.Tags.Map())
	}
}
