package sse

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

const testToken = "tok-SECRET-123"

// recHandler records everything a stream reports.
type recHandler struct {
	mu       sync.Mutex
	events   []string
	statuses []Status
	skips    []string
	evCh     chan string
	stCh     chan Status
	onEvent  func([]byte) // optional, runs before recording (e.g. to block)
}

func newRecHandler() *recHandler {
	return &recHandler{evCh: make(chan string, 10000), stCh: make(chan Status, 10000)}
}

func (h *recHandler) OnEvent(data []byte) {
	if h.onEvent != nil {
		h.onEvent(data)
	}
	s := string(data)
	h.mu.Lock()
	h.events = append(h.events, s)
	h.mu.Unlock()
	h.evCh <- s
}

func (h *recHandler) OnStatus(s Status) {
	h.mu.Lock()
	h.statuses = append(h.statuses, s)
	h.mu.Unlock()
	h.stCh <- s
}

func (h *recHandler) onSkip(reason string) {
	h.mu.Lock()
	h.skips = append(h.skips, reason)
	h.mu.Unlock()
}

func (h *recHandler) snapshot() (events []string, statuses []Status, skips []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...), append([]Status(nil), h.statuses...), append([]string(nil), h.skips...)
}

// waitEvent waits for the next event.
func (h *recHandler) waitEvent(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case e := <-h.evCh:
		return e
	case <-time.After(d):
		t.Fatalf("no event within %s", d)
		return ""
	}
}

// waitStatus waits for the next status that satisfies ok.
func (h *recHandler) waitStatus(t *testing.T, d time.Duration, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case s := <-h.stCh:
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatalf("no matching status within %s", d)
			return Status{}
		}
	}
}

func isDisconnected(s Status) bool { return s.State == Disconnected }

// testServer is an httptest server that records request times and checks auth.
type testServer struct {
	*httptest.Server
	t     *testing.T
	mu    sync.Mutex
	times []time.Time
	reqCh chan int
}

// newTestServer serves handle(n, w, r) for the n-th request (0-based).
func newTestServer(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *testServer {
	ts := &testServer{t: t, reqCh: make(chan int, 1000)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("Authorization = %q", got)
		}
		if strings.Contains(r.URL.String(), testToken) {
			t.Errorf("token in URL %q", r.URL)
		}
		ts.mu.Lock()
		n := len(ts.times)
		ts.times = append(ts.times, time.Now())
		ts.mu.Unlock()
		ts.reqCh <- n
		handle(n, w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) requests() []time.Time {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]time.Time(nil), ts.times...)
}

// waitRequest waits for the n-th request (0-based) and returns its time.
func (ts *testServer) waitRequest(n int, d time.Duration) time.Time {
	ts.t.Helper()
	deadline := time.After(d)
	for {
		if r := ts.requests(); len(r) > n {
			return r[n]
		}
		select {
		case <-ts.reqCh:
		case <-deadline:
			ts.t.Fatalf("request %d not seen within %s", n, d)
		}
	}
}

func streamHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flush(w)
}

func send(w http.ResponseWriter, format string, args ...any) {
	fmt.Fprintf(w, format, args...)
	flush(w)
}

func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

// testConfig returns a config for ts with a log hook.
func testConfig(ts *testServer, h *recHandler) (Config, *logtest.Hook) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	return Config{
		URL:       ts.URL + "/sse/5YJ3E7EB9NF123456?cache=true",
		Token:     testToken,
		UserAgent: "teslemetry2mqtt/test",
		OnSkip:    h.onSkip,
		Logger:    logger,
	}, hook
}

// running is a Run call in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startRun(t *testing.T, cfg Config, h Handler) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, cfg, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// stop cancels Run and asserts it returns context.Canceled within 1 s.
func (r *running) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Run took %s to return", d)
		}
		r.done <- err // for the cleanup
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of cancel")
	}
}

// checkLogs asserts no log entry leaks the token or the URL query.
func checkLogs(t *testing.T, hook *logtest.Hook) {
	t.Helper()
	for _, e := range hook.AllEntries() {
		s, _ := e.String()
		if strings.Contains(s, testToken) || strings.Contains(s, "cache=true") {
			t.Errorf("log entry leaks a secret or the query: %s", s)
		}
	}
}

func gaps(ts []time.Time) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(ts); i++ {
		g = append(g, ts[i].Sub(ts[i-1]))
	}
	return g
}
