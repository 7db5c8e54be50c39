package testkit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultKeepAlive is how often an open stream sends a ": keepalive" comment
// unless SetKeepAlive says otherwise.
const DefaultKeepAlive = 200 * time.Millisecond

// FakeTeslemetry is a local SSE server that speaks Teslemetry's framing. Each
// connection first gets the queued snapshot, then every event sent with Send.
// Knobs make it misbehave: SetStatus/SetResponse (refuse requests),
// SetSilent (headers, then nothing), SetKeepAlive (keep-alive interval) and
// SendRaw (arbitrary SSE text, e.g. oversized or empty events).
type FakeTeslemetry struct {
	Server   *httptest.Server
	Token    string
	requests atomic.Int64

	mu        sync.Mutex
	snapshot  []string
	conns     map[*fakeConn]struct{}
	status    int // non-zero: answer every request with this status
	header    http.Header
	body      string
	byPath    map[string]failure // SetResponseFor, by URL path
	silent    bool
	keepAlive time.Duration
	lastAuth  string
	lastURL   string
	log       []Request
}

// Request is one stream request the fake server received.
type Request struct {
	At     time.Time
	Path   string // URL path and query
	Status int    // status code answered
}

// failure is a canned non-200 answer.
type failure struct {
	status int
	header http.Header
	body   string
}

// fakeConn is one open stream.
type fakeConn struct {
	frames chan string   // SSE text to write
	drop   chan struct{} // closed by DropAll: end the stream cleanly
	done   chan struct{} // closed when the handler has returned
	silent bool          // never written to: frames are not queued for it
	once   sync.Once
}

func (c *fakeConn) end() { c.once.Do(func() { close(c.drop) }) }

// NewFakeTeslemetry starts the server; it stops with the test.
func NewFakeTeslemetry(t testing.TB, token string) *FakeTeslemetry {
	f := &FakeTeslemetry{Token: token, conns: map[*fakeConn]struct{}{}, keepAlive: DefaultKeepAlive}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.DropAll(); f.Server.Close() })
	return f
}

// URL is the base URL to configure as teslemetry.url.
func (f *FakeTeslemetry) URL() string { return f.Server.URL }

// Requests counts stream requests so far.
func (f *FakeTeslemetry) Requests() int64 { return f.requests.Load() }

// RequestLog returns every request so far, oldest first.
func (f *FakeTeslemetry) RequestLog() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.log...)
}

// RequestTimes returns when each request arrived, oldest first.
func (f *FakeTeslemetry) RequestTimes() []time.Time {
	log := f.RequestLog()
	out := make([]time.Time, len(log))
	for i, r := range log {
		out[i] = r.At
	}
	return out
}

// RequestsBetween counts the requests that arrived in [from, to).
func (f *FakeTeslemetry) RequestsBetween(from, to time.Time) int {
	n := 0
	for _, at := range f.RequestTimes() {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// WaitRequests waits until at least n requests arrived and returns the time of the n-th.
func (f *FakeTeslemetry) WaitRequests(t testing.TB, n int, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if times := f.RequestTimes(); len(times) >= n {
			return times[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d stream requests, want %d", timeout, f.Requests(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// LastRequest returns the Authorization header and URL of the latest request.
func (f *FakeTeslemetry) LastRequest() (auth, url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth, f.lastURL
}

// SetSnapshot sets the events every new connection starts with.
func (f *FakeTeslemetry) SetSnapshot(events ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshot = events
}

// SetStatus makes every new request fail with code (0 restores normal service).
func (f *FakeTeslemetry) SetStatus(code int) {
	f.SetResponse(code, nil, fmt.Sprintf(`{"response":null,"error":"e%d"}`, code))
}

// SetResponse makes every new request fail with code, the given extra headers
// (e.g. Retry-After) and body (0 restores normal service).
func (f *FakeTeslemetry) SetResponse(code int, header http.Header, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.header, f.body = code, header.Clone(), body
}

// SetResponseFor is SetResponse for requests to one URL path only (e.g.
// "/sse/<VIN>"); it wins over SetResponse. Code 0 removes the path's answer.
func (f *FakeTeslemetry) SetResponseFor(path string, code int, header http.Header, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byPath == nil {
		f.byPath = map[string]failure{}
	}
	if code == 0 {
		delete(f.byPath, path)
		return
	}
	f.byPath[path] = failure{code, header.Clone(), body}
}

// SetSilent makes new connections answer 200 with event-stream headers and
// then send nothing at all — no snapshot, no events, no keep-alives — until
// the client gives up or DropAll ends them.
func (f *FakeTeslemetry) SetSilent(silent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent = silent
}

// SetKeepAlive sets the keep-alive comment interval of new connections;
// d <= 0 sends none.
func (f *FakeTeslemetry) SetKeepAlive(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keepAlive = d
}

// Send delivers one event (its data JSON) to every open connection.
func (f *FakeTeslemetry) Send(data string) {
	f.SendRaw("data: " + data + "\n\n")
}

// SendRaw writes text as it is (it should end with a blank line) to every
// open connection.
func (f *FakeTeslemetry) SendRaw(text string) {
	f.mu.Lock()
	conns := make([]*fakeConn, 0, len(f.conns))
	for c := range f.conns {
		if !c.silent {
			conns = append(conns, c)
		}
	}
	f.mu.Unlock()
	for _, c := range conns {
		select {
		case c.frames <- text:
		case <-c.drop:
		case <-c.done:
		}
	}
}

// Connections counts open streams.
func (f *FakeTeslemetry) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// WaitConnections waits until n streams are open.
func (f *FakeTeslemetry) WaitConnections(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f.Connections() == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("after %v: %d open streams, want %d", timeout, f.Connections(), n)
}

// DropAll closes every open stream (a clean end of stream).
func (f *FakeTeslemetry) DropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.end()
		delete(f.conns, c)
	}
}

func (f *FakeTeslemetry) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	f.lastAuth, f.lastURL = r.Header.Get("Authorization"), r.URL.String()
	status, header, body, silent, keepAlive := f.status, f.header, f.body, f.silent, f.keepAlive
	if fl, ok := f.byPath[r.URL.Path]; ok {
		status, header, body = fl.status, fl.header, fl.body
	}
	req := Request{At: time.Now(), Path: r.URL.String()}
	switch {
	case status != 0:
		req.Status = status
	case r.Header.Get("Authorization") != "Bearer "+f.Token || !strings.HasPrefix(r.URL.Path, "/sse"):
		req.Status = http.StatusUnauthorized
	default:
		req.Status = http.StatusOK
	}
	f.log = append(f.log, req)
	f.mu.Unlock()
	if status != 0 {
		for k, vs := range header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	if req.Status == http.StatusUnauthorized {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	c := &fakeConn{frames: make(chan string, 1024), drop: make(chan struct{}), done: make(chan struct{}), silent: silent}
	defer close(c.done)
	f.mu.Lock()
	if !silent {
		for _, e := range f.snapshot {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
	}
	f.conns[c] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
	}()
	fl.Flush()
	var tick <-chan time.Time
	if keepAlive > 0 && !silent {
		keepalive := time.NewTicker(keepAlive)
		defer keepalive.Stop()
		tick = keepalive.C
	}
	for {
		select {
		case <-c.drop: // a dropped stream ends at once, queued events are lost
			return
		default:
		}
		select {
		case text := <-c.frames:
			fmt.Fprint(w, text)
			fl.Flush()
		case <-tick:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		case <-c.drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}
