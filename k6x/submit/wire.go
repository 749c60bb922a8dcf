package submit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"go.k6.io/k6/lib"
)

// wire: a VU's own keep-alive connection for submissions. net/http's transport gives each connection a read loop
// and a write loop, and hands every request and answer between three goroutines; a VU sends one request at a time,
// so here the VU's goroutine writes the request in one call and reads the answer itself, into a fasthttp Response
// kept for the next (net/http's ReadResponse made a header map and strings for every answer: a sixth of what k6
// allocated).
// Connections come from the VU's dialer (k6's hosts, blocked addresses and data_sent/data_received), with the VU's
// TLS settings.
type wire struct {
	target *url.URL
	// hostPort: where to dial; head0: the request line and Host header, made once
	hostPort string
	head0    []byte
	conn     net.Conn
	br       *bufio.Reader
	res      fasthttp.Response
	// out: the request's head (its first head bytes), then a body of up to copyMax bytes: one write. (A writev of
	// head and body, with no copy, cost more system time here: 3.8 CPU-s against 3.2 for 96,000 submissions.)
	out  bytes.Buffer
	head int
	iter int64
}

// waitStep: a request waits on its connection in steps of this long, and between two sees whether the VU's
// context ended (the test stopping). k6 gives each iteration a context of its own; a watch on each (AfterFunc) cost
// an allocation and, once k6 ended the context, a goroutine per submission.
const waitStep = time.Second

// copyMax: a body up to this long is copied after the head and sent with it; a longer one (a form with
// attachments, up to a few hundred KB) is sent on its own, so that no VU keeps a buffer the size of its largest
// body (a soak saw k6's memory climb by 33 MB as the VUs met their largest forms)
const copyMax = 64 << 10

// wireFor: a wire to target, or nil where a submission must go through the transport: a scheme other than http and
// https, or a proxy in the environment (k6's transport honours it).
func wireFor(target *url.URL) *wire {
	if target.Scheme != "http" && target.Scheme != "https" {
		return nil
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: target}); err != nil || p != nil {
		return nil
	}
	port := target.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[target.Scheme]
	}
	w := &wire{target: target, hostPort: net.JoinHostPort(target.Hostname(), port), iter: -1}
	w.head0 = append(w.head0, "POST "+target.RequestURI()+" HTTP/1.1\r\nHost: "+target.Host+"\r\n"...)
	return w
}

// headerBlock: header lines as net/http writes them (sorted, values cleaned), for a template made once
func headerBlock(h http.Header) []byte {
	var b bytes.Buffer
	_ = h.Write(&b)
	return b.Bytes()
}

// errNoAnswer: the connection ended before any byte of the answer
var errNoAnswer = errors.New("connection closed before the answer")

// send posts body with the header lines given (each ending in CRLF) and reads the answer into answer.
func (w *wire) send(ctx context.Context, state *lib.State, header []byte, contentType string, body []byte, answer *bytes.Buffer) exchange {
	if rps := state.RPSLimit; rps != nil {
		if err := rps.Wait(ctx); err != nil {
			return exchange{err: err}
		}
	}
	if w.conn != nil && (state.Options.NoConnectionReuse.Bool || state.Options.NoVUConnectionReuse.Bool && state.Iteration != w.iter) {
		w.close()
	}
	w.iter = state.Iteration
	w.out.Reset()
	w.out.Write(w.head0)
	w.out.Write(header)
	if contentType != "" {
		w.out.WriteString("Content-Type: ")
		w.out.WriteString(contentType)
		w.out.WriteString("\r\n")
	}
	w.out.WriteString("User-Agent: ")
	w.out.WriteString(strings.TrimSpace(state.Options.UserAgent.String))
	w.out.WriteString("\r\nContent-Length: ")
	w.out.WriteString(strconv.Itoa(len(body)))
	w.out.WriteString("\r\n")
	if state.CookieJar != nil {
		if cs := state.CookieJar.Cookies(w.target); len(cs) > 0 {
			w.out.WriteString("Cookie: ")
			for i, c := range cs {
				if i > 0 {
					w.out.WriteString("; ")
				}
				w.out.WriteString(c.Name)
				w.out.WriteByte('=')
				w.out.WriteString(c.Value)
			}
			w.out.WriteString("\r\n")
		}
	}
	w.out.WriteString("\r\n")
	w.head = w.out.Len()

	start := time.Now()
	reused := w.conn != nil
	x, unanswered := w.exchange(ctx, state, body, answer)
	if reused && unanswered && ctx.Err() == nil &&
		(errors.Is(x.err, errNoAnswer) || errors.Is(x.err, syscall.EPIPE) || errors.Is(x.err, syscall.ECONNRESET)) {
		// the server had closed the kept-alive connection before any answer: once more on a new one, as net/http does
		x, _ = w.exchange(ctx, state, body, answer)
	}
	end := time.Now()
	x.took = end.Sub(start)
	if x.err == nil && state.CookieJar != nil {
		w.keepCookies(state)
	}
	return x
}

// keepCookies: the answer's Set-Cookie headers into the VU's jar
func (w *wire) keepCookies(state *lib.State) {
	var kept []*http.Cookie
	for _, v := range w.res.Header.Cookies() {
		if c, err := http.ParseSetCookie(string(v)); err == nil {
			kept = append(kept, c)
		}
	}
	if len(kept) > 0 {
		state.CookieJar.SetCookies(w.target, kept)
	}
}

// exchange: one request on the connection (dialled if there is none) and its answer; on any error the connection
// is closed. unanswered: it failed before a byte of the answer came.
func (w *wire) exchange(ctx context.Context, state *lib.State, body []byte, answer *bytes.Buffer) (x exchange, unanswered bool) {
	answer.Reset()
	if w.conn == nil {
		if err := w.dial(ctx, state); err != nil {
			return exchange{err: err}, true
		}
	}
	now := time.Now()
	deadline := now.Add(requestTimeout)
	_ = w.conn.SetDeadline(now.Add(waitStep))
	w.out.Truncate(w.head)
	rest := body
	if len(body) <= copyMax {
		w.out.Write(body)
		rest = nil
	}
	for _, p := range [2][]byte{w.out.Bytes(), rest} {
		if err := w.writeAll(ctx, p, deadline); err != nil {
			w.close()
			return exchange{err: err}, true
		}
	}
	// the answer's first byte (a server that is slow to answer is slow here), then the rest within the request's time
	for {
		_, err := w.br.Peek(1)
		if err == nil {
			break
		}
		if errors.Is(err, io.EOF) {
			err = errNoAnswer
		}
		if err = w.waitMore(ctx, err, deadline); err != nil {
			w.close()
			return exchange{err: err}, true
		}
	}
	_ = w.conn.SetReadDeadline(deadline)
	if err := w.res.Read(w.br); err != nil {
		w.close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return exchange{err: err}, false
	}
	answer.Write(w.res.Body())
	if w.res.ConnectionClose() || state.Options.NoConnectionReuse.Bool {
		w.close()
	}
	h := &w.res.Header
	return exchange{status: h.StatusCode(), proto: protoName(h.Protocol()), formID: string(h.Peek("X-Commcarehq-Formid"))}, false
}

// writeAll: all of b, in waitStep steps
func (w *wire) writeAll(ctx context.Context, b []byte, deadline time.Time) error {
	for len(b) > 0 {
		n, err := w.conn.Write(b)
		b = b[n:]
		if err == nil {
			continue
		}
		if err = w.waitMore(ctx, err, deadline); err != nil {
			return err
		}
	}
	return nil
}

// waitMore: nil when a wait on the connection that ended in err may go on for another step: err is the end of a
// step, the VU's context has not ended and the request's time is not up. Else the error to give.
func (w *wire) waitMore(ctx context.Context, err error, deadline time.Time) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	now := time.Now()
	if !now.Before(deadline) {
		return err
	}
	next := now.Add(waitStep)
	if next.After(deadline) {
		next = deadline
	}
	_ = w.conn.SetDeadline(next)
	return nil
}

// protoName: the answer's protocol as k6's proto tag gives it, with no new string for the usual one
func protoName(p []byte) string {
	if string(p) == "HTTP/1.1" {
		return "HTTP/1.1"
	}
	return string(p)
}

func (w *wire) dial(ctx context.Context, state *lib.State) error {
	dctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c, err := state.Dialer.DialContext(dctx, "tcp", w.hostPort)
	if err != nil {
		return err
	}
	if w.target.Scheme == "https" {
		cfg := &tls.Config{}
		if state.TLSConfig != nil {
			cfg = state.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = w.target.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = c.Close()
			return err
		}
		c = tc
	}
	w.conn = c
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

func (w *wire) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}
