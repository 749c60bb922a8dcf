package submit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.k6.io/k6/lib"
	"go.k6.io/k6/lib/netext"
	"go.k6.io/k6/lib/types"
	"gopkg.in/guregu/null.v3"
)

const success = `<OpenRosaResponse><message nature="submit_success">ok</message></OpenRosaResponse>`

// wireState: a VU's state with a plain dialer (k6's counts bytes; the wire only needs DialContext)
func wireState(t *testing.T) *lib.State {
	t.Helper()
	state, _ := vuState(t)
	state.Dialer = &net.Dialer{}
	state.Options.UserAgent = null.StringFrom("capacity-test/1")
	return state
}

func wireTo(t *testing.T, to string) *wire {
	t.Helper()
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	w := wireFor(u)
	if w == nil {
		t.Fatalf("no wire for %s", to)
	}
	t.Cleanup(w.close)
	return w
}

var formLines = wireLines(http.Header{"X-Openrosa-Version": {"3.0"}, "Content-Type": {"text/xml"}, "User-Agent": {"not this"}}, false)

func send(ctx context.Context, w *wire, state *lib.State, body string) (exchange, string) {
	var answer bytes.Buffer
	x := w.send(ctx, state, formLines, "", []byte(body), &answer)
	return x, answer.String()
}

// countingServer: an HTTP server that counts the connections opened to it
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestWireSendsTheFormOnOneKeptConnection(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("X-CommCareHQ-FormID", "f-"+string(b))
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s1"})
		w.WriteHeader(201)
		_, _ = w.Write([]byte(success))
	})
	state := wireState(t)
	w := wireTo(t, srv.URL+"/a/demo/receiver/?x=1")
	for _, body := range []string{"one", "two", "three"} {
		x, answer := send(context.Background(), w, state, body)
		if x.err != nil || x.status != 201 || x.formID != "f-"+body || !accepted(x.status, []byte(answer)) || x.proto != "HTTP/1.1" {
			t.Fatalf("%s: got %+v, answer %q", body, x, answer)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for three submissions, want 1", n)
	}
	if strings.Join(bodies, ",") != "one,two,three" {
		t.Errorf("bodies %v", bodies)
	}
	r := got[0]
	if r.Method != "POST" || r.URL.RequestURI() != "/a/demo/receiver/?x=1" || r.Host != strings.TrimPrefix(srv.URL, "http://") ||
		r.Header.Get("User-Agent") != "capacity-test/1" || r.Header.Get("X-Openrosa-Version") != "3.0" ||
		r.Header.Get("Content-Type") != "text/xml" || r.ContentLength != 3 {
		t.Errorf("request %s %s host %s headers %v length %d", r.Method, r.URL, r.Host, r.Header, r.ContentLength)
	}
	if c := got[0].Header.Get("Cookie"); c != "" {
		t.Errorf("first request sent Cookie %q", c)
	}
	if c := got[1].Header.Get("Cookie"); c != "sessionid=s1" {
		t.Errorf("second request sent Cookie %q, want the kept one", c)
	}
}

func TestWireBodyTypeReplacesTheTemplates(t *testing.T) {
	var ct []string
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		ct = r.Header.Values("Content-Type")
		w.WriteHeader(201)
	})
	state := wireState(t)
	w := wireTo(t, srv.URL)
	var answer bytes.Buffer
	lines := wireLines(http.Header{"Content-Type": {"text/xml"}}, true)
	if x := w.send(context.Background(), state, lines, "multipart/form-data; boundary=b1", []byte("--b1--"), &answer); x.err != nil {
		t.Fatal(x.err)
	}
	if len(ct) != 1 || ct[0] != "multipart/form-data; boundary=b1" {
		t.Errorf("Content-Type %v", ct)
	}
}

// rawServer: a TCP server that runs serve on each connection, and counts the requests it read
func rawServer(t *testing.T, serve func(n int, c net.Conn, br *bufio.Reader)) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(int(conns.Add(1)), c, bufio.NewReader(c))
		}
	}()
	return "http://" + l.Addr().String() + "/", &conns
}

func readRequest(br *bufio.Reader) bool {
	r, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, r.Body)
	return true
}

func TestWireRetriesOnceWhenAKeptConnectionWasClosed(t *testing.T) {
	var requests, extra atomic.Int32
	var bodies sync.Map
	to, conns := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		defer c.Close()
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(r.Body)
		bodies.Store(n, string(b))
		requests.Add(1)
		_, _ = c.Write([]byte("HTTP/1.1 201 Created\r\nContent-Length: " + strconv.Itoa(len(success)) + "\r\n\r\n" + success))
		// nothing more may come on this connection: the request was exactly its head and body
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if k, _ := br.Read(make([]byte, 1)); k > 0 {
			extra.Add(1)
		}
		// then the server closes the connection without saying so (an idle timeout)
	})
	state := wireState(t)
	w := wireTo(t, to)
	for i := range 2 {
		time.Sleep(150 * time.Millisecond) // the close reaches the client
		if x, answer := send(context.Background(), w, state, "form"); x.err != nil || !accepted(x.status, []byte(answer)) {
			t.Fatalf("submission %d: %+v", i, x)
		}
	}
	if conns.Load() != 2 || requests.Load() != 2 {
		t.Errorf("%d connections, %d requests; want 2 and 2", conns.Load(), requests.Load())
	}
	for n := 1; n <= 2; n++ {
		if b, _ := bodies.Load(n); b != "form" {
			t.Errorf("connection %d got body %q", n, b)
		}
	}
	if extra.Load() > 0 {
		t.Errorf("%d connections got bytes past the request", extra.Load())
	}
}

func TestWireDoesNotResendOnceTheAnswerStarted(t *testing.T) {
	var requests atomic.Int32
	to, _ := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		defer c.Close()
		for readRequest(br) {
			requests.Add(1)
			if requests.Load() == 1 {
				_, _ = c.Write([]byte("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"))
				continue
			}
			_, _ = c.Write([]byte("HTTP/1.1 201 Cre")) // cut off mid-answer
			return
		}
	})
	state := wireState(t)
	w := wireTo(t, to)
	if x, answer := send(context.Background(), w, state, "a"); x.err != nil || answer != "ok" {
		t.Fatalf("first submission: %+v %q", x, answer)
	}
	if x, _ := send(context.Background(), w, state, "b"); x.err == nil || x.status != 0 {
		t.Fatalf("a cut-off answer: %+v", x)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests reached the server, want 2 (none sent again)", n)
	}
}

func TestWireConnectionCloseOpensANewOne(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(201)
	})
	state := wireState(t)
	w := wireTo(t, srv.URL)
	for range 2 {
		if x, _ := send(context.Background(), w, state, "f"); x.err != nil || x.status != 201 {
			t.Fatalf("%+v", x)
		}
	}
	if conns.Load() != 2 {
		t.Errorf("%d connections, want 2", conns.Load())
	}
}

func TestWireNoConnectionReuse(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	state := wireState(t)
	state.Options.NoConnectionReuse = null.BoolFrom(true)
	w := wireTo(t, srv.URL)
	for range 3 {
		if x, _ := send(context.Background(), w, state, "f"); x.err != nil {
			t.Fatal(x.err)
		}
	}
	if conns.Load() != 3 {
		t.Errorf("%d connections, want 3", conns.Load())
	}
}

func TestWireTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		_, _ = w.Write([]byte(r.Proto))
	}))
	defer srv.Close()
	state := wireState(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	state.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "example.com"}
	w := wireTo(t, srv.URL)
	if x, answer := send(context.Background(), w, state, "f"); x.err != nil || x.status != 201 || answer != "HTTP/1.1" {
		t.Fatalf("%+v %q", x, answer)
	}
}

func TestWireStopsWaitingWhenTheVUStops(t *testing.T) {
	to, _ := rawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		readRequest(br)
		time.Sleep(5 * time.Second) // never answers in time
		c.Close()
	})
	state := wireState(t)
	w := wireTo(t, to)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	x, _ := send(ctx, w, state, "f")
	if x.err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("got %+v after %s", x, time.Since(start))
	}
	if code, _ := errorCode(x.err); code != 1050 {
		t.Errorf("error code %d for %v, want 1050 (request timeout)", code, x.err)
	}
}

func TestWireForPlainAndTLSOnly(t *testing.T) {
	for to, want := range map[string]bool{"http://a:1/r": true, "https://a/r": true, "ws://a/r": false} {
		u, _ := url.Parse(to)
		if got := wireFor(u) != nil; got != want {
			t.Errorf("%s: wire %v, want %v", to, got, want)
		}
	}
	u, _ := url.Parse("https://a/r")
	if w := wireFor(u); w.hostPort != "a:443" {
		t.Errorf("https without a port dials %s", w.hostPort)
	}
}

// countingReader: the bytes read through it
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestWireOnK6sDialerCountsWhatItSends(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		cr := &countingReader{r: c}
		br := bufio.NewReader(cr)
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = c.Write([]byte("HTTP/1.1 201 Created\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n"))
		_, _ = c.Write(b)
		received <- cr.n.Load()
	}()
	state := wireState(t)
	dialer := netext.NewDialer(net.Dialer{}, netext.NewResolver(net.LookupIP, 0, types.DNSfirst, types.DNSpreferIPv4))
	state.Dialer = dialer
	w := wireTo(t, "http://"+l.Addr().String()+"/r")
	body := strings.Repeat("form ", 4000)
	x, answer := send(context.Background(), w, state, body)
	if x.err != nil || answer != body {
		t.Fatalf("%+v, answer of %d bytes", x, len(answer))
	}
	if got, sent := <-received, dialer.BytesWritten; got != sent || sent < int64(len(body)) {
		t.Errorf("the server read %d bytes, k6's dialer counted %d written", got, sent)
	}
	if dialer.BytesRead < int64(len(body)) {
		t.Errorf("k6's dialer counted %d bytes read", dialer.BytesRead)
	}
}

// k6 gives each iteration a context of its own and ends it when the iteration ends: that must not cut off the
// next iteration's requests.
func TestWireOutlivesEachIterationsContext(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	state := wireState(t)
	w := wireTo(t, srv.URL)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		x, _ := send(ctx, w, state, "f")
		cancel()
		if x.err != nil || x.status != 201 {
			t.Fatalf("iteration %d: %+v", i, x)
		}
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections for 200 iterations, want 1", conns.Load())
	}
}

// A body longer than copyMax goes out on its own after the head: the server gets it whole, and the VU keeps no
// buffer its size.
func TestWireSendsALargeBodyWithoutKeepingIt(t *testing.T) {
	var got []string
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		w.WriteHeader(201)
	})
	state := wireState(t)
	w := wireTo(t, srv.URL)
	bodies := []string{strings.Repeat("a", 3*copyMax), "small", strings.Repeat("b", copyMax+1), strings.Repeat("c", copyMax)}
	for _, b := range bodies {
		if x, _ := send(context.Background(), w, state, b); x.err != nil || x.status != 201 {
			t.Fatalf("%d bytes: %+v", len(b), x)
		}
	}
	for i := range bodies {
		if got[i] != bodies[i] {
			t.Errorf("body %d: got %d bytes, sent %d", i, len(got[i]), len(bodies[i]))
		}
	}
	if c := w.out.Cap(); c > 2*copyMax+4096 {
		t.Errorf("the VU keeps a %d-byte buffer", c)
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections", conns.Load())
	}
}
