package sse

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventsInOrder(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		for name, want := range map[string]string{
			"Accept":     "text/event-stream",
			"User-Agent": "teslemetry2mqtt/test",
			"X-Library":  "teslemetry2mqtt/test",
		} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if r.URL.Path != "/sse/5YJ3E7EB9NF123456" || r.URL.RawQuery != "cache=true" {
			t.Errorf("URL = %s", r.URL)
		}
		streamHeaders(w)
		send(w, ": keepalive\n\n")
		send(w, "data: {\"a\":1}\n\n")
		send(w, "event: data\nid: 7\ndata: {\"b\":2}\n\n")
		send(w, "retry: 1000\n\n") // field-only block: no event
		send(w, "data: line1\ndata: line2\n\n")
		send(w, "data:{\"nospace\":1}\r\n\r\n")
		ev := "data: {\"c\":3}\n\n"
		w.Write([]byte(ev[:5])) // split across writes
		flush(w)
		time.Sleep(20 * time.Millisecond)
		send(w, "%s", ev[5:])
		<-r.Context().Done()
	})
	cfg, hook := testConfig(ts, h)
	run := startRun(t, cfg, h)

	want := []string{`{"a":1}`, `{"b":2}`, "line1\nline2", `{"nospace":1}`, `{"c":3}`}
	for i, w := range want {
		if got := h.waitEvent(t, 3*time.Second); got != w {
			t.Fatalf("event %d = %q, want %q", i, got, w)
		}
	}
	run.stop(t)

	_, statuses, _ := h.snapshot()
	var states []State
	for _, s := range statuses {
		states = append(states, s.State)
	}
	if !slices.Equal(states, []State{Connecting, Connected, Disconnected}) {
		t.Errorf("states = %v", states)
	}
	if last := statuses[len(statuses)-1]; last.Cause != CauseStopped {
		t.Errorf("last status = %+v", last)
	}
	if statuses[1].HTTPStatus != 200 {
		t.Errorf("connected status = %+v", statuses[1])
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	checkLogs(t, hook)
}

func TestCleanEOFReconnectsAfterAboutOneSecond(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		send(w, "data: {\"n\":%d}\n\n", n)
	})
	cfg, hook := testConfig(ts, h)
	startRun(t, cfg, h)

	st := h.waitStatus(t, 3*time.Second, isDisconnected)
	if st.Cause != CauseEOF || st.RetryIn != time.Second || st.Err != nil {
		t.Errorf("status = %+v, want eof, retry 1s", st)
	}
	first := ts.waitRequest(0, time.Second)
	second := ts.waitRequest(1, 3*time.Second)
	if g := second.Sub(first); g < 500*time.Millisecond || g > 2500*time.Millisecond {
		t.Errorf("reconnect after %s, want 0.5..2.5s", g)
	}
	if e := h.waitEvent(t, time.Second); e != `{"n":0}` {
		t.Errorf("event %q", e)
	}
	if e := h.waitEvent(t, time.Second); e != `{"n":1}` {
		t.Errorf("event %q", e)
	}
	found := false
	for _, e := range hook.AllEntries() {
		if e.Data["cause"] == CauseEOF {
			found = true
			if e.Level.String() != "info" {
				t.Errorf("eof logged at %s", e.Level)
			}
		}
	}
	if !found {
		t.Error("no eof log line")
	}
}

func TestServerErrorBacksOffExponentially(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"response":null,"error":"internal"}`, http.StatusInternalServerError)
	})
	cfg, _ := testConfig(ts, h)
	cfg.Backoff = Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second}
	startRun(t, cfg, h)

	first := ts.waitRequest(0, time.Second)
	time.Sleep(time.Until(first.Add(2200 * time.Millisecond)))
	reqs := ts.requests()
	// Expected gaps 100, 200, 400, 800 ms (±20 %): requests at 0, .1, .3, .7, 1.5 s; the next at ~3.1 s.
	if len(reqs) != 5 {
		t.Fatalf("%d requests in 2.2 s, want 5 (gaps %v)", len(reqs), gaps(reqs))
	}
	want := 100 * time.Millisecond
	for i, g := range gaps(reqs) {
		if g < want*3/4 || g > want*5/4+50*time.Millisecond {
			t.Errorf("gap %d = %s, want ~%s", i, g, want)
		}
		want *= 2
	}
	st := h.waitStatus(t, time.Second, isDisconnected)
	if st.Cause != CauseServer || st.HTTPStatus != 500 || st.Err == nil {
		t.Errorf("status = %+v", st)
	}
}

func TestNetworkErrorBacksOff(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from now on
	h := newRecHandler()
	cfg := Config{URL: "http://" + addr + "/sse", Token: testToken,
		Backoff: Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}
	startRun(t, cfg, h)
	var retry []time.Duration
	for range 3 {
		st := h.waitStatus(t, 2*time.Second, isDisconnected)
		if st.Cause != CauseNetwork || st.Err == nil || strings.Contains(st.Err.Error(), testToken) {
			t.Fatalf("status = %+v", st)
		}
		retry = append(retry, st.RetryIn)
	}
	if !(retry[0] < retry[1] && retry[1] < retry[2]) {
		t.Errorf("retry delays do not grow: %v", retry)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		cause  string
	}{
		{"429", http.StatusTooManyRequests, CauseRateLimited},
		{"503", http.StatusServiceUnavailable, CauseServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecHandler()
			ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					w.Header().Set("Retry-After", "2")
					http.Error(w, `{"error":"slow_down"}`, tc.status)
					return
				}
				streamHeaders(w)
				<-r.Context().Done()
			})
			cfg, _ := testConfig(ts, h)
			cfg.Backoff = Backoff{Initial: 100 * time.Millisecond}
			startRun(t, cfg, h)

			st := h.waitStatus(t, 2*time.Second, isDisconnected)
			if st.Cause != tc.cause || st.HTTPStatus != tc.status || st.RetryIn < 2*time.Second {
				t.Errorf("status = %+v", st)
			}
			first := ts.waitRequest(0, time.Second)
			second := ts.waitRequest(1, 4*time.Second)
			if g := second.Sub(first); g < 2*time.Second || g > 3*time.Second {
				t.Errorf("second request after %s, want 2..3s", g)
			}
		})
	}
}

func TestAuthErrorsRetrySlowly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		cause  string
		words  string
	}{
		{401, CauseAuth, "token rejected"},
		{402, CausePayment, "subscription/credits required"},
		{403, CauseForbidden, "forbidden"},
		{404, CauseBadRequest, "rejected"},
	} {
		t.Run(tc.cause, func(t *testing.T) {
			t.Parallel()
			h := newRecHandler()
			ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				// A hostile body echoing the token must not leak it.
				w.Write([]byte(`{"response":null,"error":"some_code","error_description":"bad token ` + testToken + `"}`))
			})
			cfg, hook := testConfig(ts, h)
			cfg.Backoff = Backoff{Initial: 100 * time.Millisecond}
			startRun(t, cfg, h)

			st := h.waitStatus(t, 2*time.Second, isDisconnected)
			if st.Cause != tc.cause || st.HTTPStatus != tc.status {
				t.Errorf("status = %+v", st)
			}
			msg := st.Err.Error()
			if !strings.Contains(msg, tc.words) || !strings.Contains(msg, "some_code") || strings.Contains(msg, testToken) {
				t.Errorf("error %q", msg)
			}
			if tc.cause == CauseBadRequest {
				if st.RetryIn > time.Second {
					t.Errorf("bad_request retry %s", st.RetryIn)
				}
				return
			}
			if st.RetryIn < 5*time.Minute {
				t.Errorf("retry in %s, want >= 5m", st.RetryIn)
			}
			time.Sleep(3 * time.Second)
			if n := len(ts.requests()); n != 1 {
				t.Errorf("%d requests in 3 s, want 1", n)
			}
			logged := false
			for _, e := range hook.AllEntries() {
				if e.Level.String() == "error" && strings.Contains(e.Message, tc.words) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no ERROR log naming %q", tc.words)
			}
			checkLogs(t, hook)
		})
	}
}

func TestAuthRetryInterval(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	cfg, _ := testConfig(ts, h)
	cfg.Backoff = Backoff{Initial: 100 * time.Millisecond, AuthRetry: 2 * time.Second}
	startRun(t, cfg, h)
	first := ts.waitRequest(0, time.Second)
	second := ts.waitRequest(1, 4*time.Second)
	if g := second.Sub(first); g < 2*time.Second || g > 2600*time.Millisecond {
		t.Errorf("second request after %s, want 2..2.6s", g)
	}
}

func TestIdleWatchdogReconnects(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		<-r.Context().Done()
	})
	cfg, _ := testConfig(ts, h)
	cfg.IdleTimeout = 300 * time.Millisecond
	startRun(t, cfg, h)

	st := h.waitStatus(t, 2*time.Second, isDisconnected)
	if st.Cause != CauseIdle || st.RetryIn != 0 {
		t.Errorf("status = %+v", st)
	}
	first := ts.waitRequest(0, time.Second)
	second := ts.waitRequest(1, 2*time.Second)
	if g := second.Sub(first); g < 300*time.Millisecond || g > 800*time.Millisecond {
		t.Errorf("reconnect after %s, want ~300ms", g)
	}
}

func TestIdleWatchdogCoversMissingHeaders(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	cfg, _ := testConfig(ts, h)
	cfg.IdleTimeout = 300 * time.Millisecond
	startRun(t, cfg, h)
	if st := h.waitStatus(t, 2*time.Second, isDisconnected); st.Cause != CauseIdle {
		t.Errorf("status = %+v", st)
	}
}

func TestKeepaliveCommentsKeepStreamAlive(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				send(w, ": keepalive\n\n")
			case <-r.Context().Done():
				return
			}
		}
	})
	cfg, _ := testConfig(ts, h)
	cfg.IdleTimeout = 300 * time.Millisecond
	startRun(t, cfg, h)
	time.Sleep(1200 * time.Millisecond)
	if n := len(ts.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	_, statuses, _ := h.snapshot()
	for _, s := range statuses {
		if s.State == Disconnected {
			t.Errorf("unexpected %+v", s)
		}
	}
}

func TestSlowHandlerIsNotIdle(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	h.onEvent = func([]byte) { time.Sleep(400 * time.Millisecond) }
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		for i := range 5 {
			send(w, "data: {\"i\":%d}\n\n", i)
			time.Sleep(20 * time.Millisecond)
		}
		<-r.Context().Done()
	})
	cfg, _ := testConfig(ts, h)
	cfg.IdleTimeout = 300 * time.Millisecond
	startRun(t, cfg, h)
	for i := range 5 {
		h.waitEvent(t, 3*time.Second)
		if n := len(ts.requests()); n != 1 {
			t.Fatalf("after event %d: %d requests, want 1", i, n)
		}
	}
	// The server is silent now: the watchdog must fire.
	if st := h.waitStatus(t, 2*time.Second, isDisconnected); st.Cause != CauseIdle {
		t.Errorf("status = %+v", st)
	}
}

func TestLargeEventSkipped(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	big := `{"x":"` + strings.Repeat("a", 2<<20) + `"}`
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		send(w, "data: {\"a\":1}\n\n")
		send(w, "data: %s\n\n", big)
		send(w, "data:\n\n")
		send(w, "data: {\"b\":2}\n\n")
		<-r.Context().Done()
	})
	cfg, _ := testConfig(ts, h)
	startRun(t, cfg, h)
	if e := h.waitEvent(t, 3*time.Second); e != `{"a":1}` {
		t.Errorf("event %q", e)
	}
	if e := h.waitEvent(t, 3*time.Second); e != `{"b":2}` {
		t.Errorf("event %q", e)
	}
	// The skips were reported before {"b":2}, on the same goroutine.
	_, statuses, skips := h.snapshot()
	if !slices.Equal(skips, []string{SkipTooLarge, SkipEmpty}) {
		t.Errorf("skips = %v", skips)
	}
	if n := len(ts.requests()); n != 1 || len(statuses) != 2 {
		t.Errorf("%d requests, statuses %+v", n, statuses)
	}
}

func TestEventBeyondBufferReconnectsWithBackoff(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	huge := strings.Repeat("a", 5<<20)
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		send(w, "data: {\"n\":%d}\n\n", n)
		send(w, "data: %s\n\n", huge)
		<-r.Context().Done()
	})
	cfg, _ := testConfig(ts, h)
	cfg.Backoff = Backoff{Initial: 200 * time.Millisecond}
	startRun(t, cfg, h)
	h.waitEvent(t, 3*time.Second)
	st := h.waitStatus(t, 3*time.Second, isDisconnected)
	if st.Cause != CauseTooLarge || st.RetryIn < 150*time.Millisecond {
		t.Errorf("status = %+v", st)
	}
	// The event before it did not make the connection healthy: the next delay grows.
	st2 := h.waitStatus(t, 3*time.Second, isDisconnected)
	if st2.Cause != CauseTooLarge || st2.RetryIn < 300*time.Millisecond {
		t.Errorf("second status = %+v", st2)
	}
	if _, _, skips := h.snapshot(); len(skips) < 2 || skips[0] != SkipTooLarge {
		t.Errorf("skips = %v", skips)
	}
}

func TestWrongContentTypeIsServerError(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>captive portal</html>"))
	})
	cfg, _ := testConfig(ts, h)
	startRun(t, cfg, h)
	st := h.waitStatus(t, 2*time.Second, isDisconnected)
	if st.Cause != CauseServer || st.HTTPStatus != 200 || !strings.Contains(st.Err.Error(), "text/html") {
		t.Errorf("status = %+v", st)
	}
}

func TestCancelDuringBackoffAndConnect(t *testing.T) {
	t.Parallel()
	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		h := newRecHandler()
		ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		})
		cfg, _ := testConfig(ts, h)
		cfg.Backoff = Backoff{Initial: 10 * time.Second}
		run := startRun(t, cfg, h)
		h.waitStatus(t, 2*time.Second, isDisconnected)
		run.stop(t)
	})
	t.Run("waiting for headers", func(t *testing.T) {
		t.Parallel()
		h := newRecHandler()
		ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		cfg, _ := testConfig(ts, h)
		run := startRun(t, cfg, h)
		ts.waitRequest(0, time.Second)
		run.stop(t)
	})
	t.Run("handler blocked by back-pressure", func(t *testing.T) {
		t.Parallel()
		h := newRecHandler()
		ctx, cancel := context.WithCancel(context.Background())
		entered := make(chan struct{})
		var once sync.Once
		h.onEvent = func([]byte) { once.Do(func() { close(entered) }); <-ctx.Done() } // a handler that honours ctx
		ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			streamHeaders(w)
			send(w, "data: 1\n\n")
			<-r.Context().Done()
		})
		cfg, _ := testConfig(ts, h)
		done := make(chan error, 1)
		go func() { done <- Run(ctx, cfg, h) }()
		ts.waitRequest(0, time.Second)
		select { // cancel while the handler runs
		case <-entered:
		case <-time.After(3 * time.Second):
			t.Fatal("the handler was not called")
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Run did not return")
		}
	})
}

// Not parallel: counts goroutines while the parallel tests are paused.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		h := newRecHandler()
		ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			streamHeaders(w)
			send(w, "data: {\"n\":%d}\n\n", n)
			if n == 0 {
				return // EOF → reconnect
			}
			<-r.Context().Done()
		})
		cfg, _ := testConfig(ts, h)
		cfg.Backoff.EOFDelay = 10 * time.Millisecond
		cfg.IdleTimeout = time.Second
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Run(ctx, cfg, h) }()
		h.waitEvent(t, 2*time.Second)
		h.waitEvent(t, 2*time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
		ts.Close()
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	for _, cfg := range []Config{
		{URL: "https://api.teslemetry.com/sse", Token: ""},
		{URL: "https://api.teslemetry.com/sse?token=" + testToken, Token: testToken},
		{URL: "ftp://api.teslemetry.com/sse", Token: testToken},
		{URL: "://bad", Token: testToken},
	} {
		err := Run(context.Background(), cfg, h)
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("Run(%q) = %v", safeURL(cfg.URL), err)
		}
	}
	if err := Run(context.Background(), Config{URL: "https://x/sse", Token: "t"}, nil); err == nil {
		t.Error("nil handler accepted")
	}
}

func TestHealthyByUptimeResetsBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		healthyAfter time.Duration
		wantGrowth   bool
	}{
		{"keepalive-only stream up long enough is healthy", 150 * time.Millisecond, false},
		{"short keepalive-only stream is not", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecHandler()
			ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				streamHeaders(w)
				for range 5 {
					send(w, ": keepalive\n\n")
					time.Sleep(50 * time.Millisecond)
				}
			})
			cfg, _ := testConfig(ts, h)
			cfg.healthyAfter = tc.healthyAfter
			cfg.Backoff = Backoff{Initial: 100 * time.Millisecond, EOFDelay: 100 * time.Millisecond}
			startRun(t, cfg, h)
			var retry []time.Duration
			for range 3 {
				st := h.waitStatus(t, 3*time.Second, isDisconnected)
				if st.Cause != CauseEOF {
					t.Fatalf("status %+v", st)
				}
				retry = append(retry, st.RetryIn)
			}
			if tc.wantGrowth {
				if retry[2] < 300*time.Millisecond {
					t.Errorf("retry delays %v, want growth", retry)
				}
			} else if !slices.Equal(retry, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}) {
				t.Errorf("retry delays %v, want EOFDelay each time", retry)
			}
		})
	}
}
