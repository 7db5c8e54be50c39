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

// FakeTeslemetry is a local SSE server that speaks Teslemetry's framing. Each
// connection first gets the queued snapshot, then every event sent with Send.
type FakeTeslemetry struct {
	Server   *httptest.Server
	Token    string
	requests atomic.Int64

	mu       sync.Mutex
	snapshot []string
	conns    map[chan string]struct{}
	status   int // non-zero: answer every request with this status
	lastAuth string
	lastURL  string
}

// NewFakeTeslemetry starts the server; it stops with the test.
func NewFakeTeslemetry(t testing.TB, token string) *FakeTeslemetry {
	f := &FakeTeslemetry{Token: token, conns: map[chan string]struct{}{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.DropAll(); f.Server.Close() })
	return f
}

// URL is the base URL to configure as teslemetry.url.
func (f *FakeTeslemetry) URL() string { return f.Server.URL }

// Requests counts stream requests so far.
func (f *FakeTeslemetry) Requests() int64 { return f.requests.Load() }

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
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = code
}

// Send delivers one event (its data JSON) to every open connection.
func (f *FakeTeslemetry) Send(data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c <- data
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
		close(c)
		delete(f.conns, c)
	}
}

func (f *FakeTeslemetry) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	f.lastAuth, f.lastURL = r.Header.Get("Authorization"), r.URL.String()
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, fmt.Sprintf(`{"response":null,"error":"e%d"}`, status), status)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token || !strings.HasPrefix(r.URL.Path, "/sse") {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	c := make(chan string, 1024)
	f.mu.Lock()
	for _, e := range f.snapshot {
		fmt.Fprintf(w, "data: %s\n\n", e)
	}
	f.conns[c] = struct{}{}
	f.mu.Unlock()
	fl.Flush()
	keepalive := time.NewTicker(200 * time.Millisecond)
	defer keepalive.Stop()
	for {
		select {
		case e, ok := <-c:
			if !ok {
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", e)
			fl.Flush()
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		case <-r.Context().Done():
			f.mu.Lock()
			if _, ok := f.conns[c]; ok {
				delete(f.conns, c)
			}
			f.mu.Unlock()
			return
		}
	}
}
