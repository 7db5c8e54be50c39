package sse

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	s := time.Second
	newP := func(r float64) *retryPolicy {
		p := newRetryPolicy(Backoff{}, healthyAfter)
		p.rand = func() float64 { return r }
		return p
	}
	type step struct {
		o    outcome
		want time.Duration
	}
	for name, steps := range map[string][]step{
		"network grows to max then resets": {
			{outcome{cause: CauseNetwork}, 1 * s},
			{outcome{cause: CauseNetwork}, 2 * s},
			{outcome{cause: CauseServer}, 4 * s},
			{outcome{cause: CauseNetwork}, 8 * s},
			{outcome{cause: CauseNetwork}, 16 * s},
			{outcome{cause: CauseNetwork}, 32 * s},
			{outcome{cause: CauseNetwork}, 64 * s},
			{outcome{cause: CauseNetwork}, 128 * s},
			{outcome{cause: CauseNetwork}, 256 * s},
			{outcome{cause: CauseNetwork}, 300 * s},
			{outcome{cause: CauseNetwork}, 300 * s},
			{outcome{cause: CauseNetwork, healthy: true}, 1 * s},
			{outcome{cause: CauseNetwork}, 2 * s},
		},
		"eof": {
			{outcome{cause: CauseEOF, healthy: true}, 1 * s},
			{outcome{cause: CauseEOF, healthy: true}, 1 * s},
			{outcome{cause: CauseEOF}, 1 * s}, // empty stream
			{outcome{cause: CauseEOF}, 2 * s},
			{outcome{cause: CauseEOF}, 4 * s},
			{outcome{cause: CauseEOF, healthy: true}, 1 * s},
		},
		"idle": {
			{outcome{cause: CauseIdle, healthy: true}, 0},
			{outcome{cause: CauseIdle}, 0},
			{outcome{cause: CauseIdle}, 1 * s},
			{outcome{cause: CauseIdle}, 2 * s},
			{outcome{cause: CauseIdle, healthy: true}, 0},
		},
		"auth": {
			{outcome{cause: CauseAuth}, 315 * s}, // AuthRetry + 5 % (jitter 0..10 %)
			{outcome{cause: CausePayment}, 315 * s},
			{outcome{cause: CauseForbidden}, 315 * s},
		},
		"retry-after": {
			{outcome{cause: CauseRateLimited, retryAfter: 2 * s, hasRetry: true}, 2 * s},
			{outcome{cause: CauseRateLimited}, 2 * s},
			{outcome{cause: CauseServer, retryAfter: 30 * s, hasRetry: true}, 30 * s},
			{outcome{cause: CauseRateLimited, retryAfter: 0, hasRetry: true}, 8 * s}, // Retry-After: 0 is no hot loop
		},
	} {
		p := newP(0.5) // jitter factor exactly 1
		for i, st := range steps {
			if got := p.next(st.o); got != st.want {
				t.Errorf("%s step %d (%+v): %s, want %s", name, i, st.o, got, st.want)
			}
		}
	}

	// Jitter bounds.
	lo, hi := newP(0), newP(0.999999)
	lo.failures, hi.failures = 2, 2
	if d := lo.next(outcome{cause: CauseNetwork}); d != 3200*time.Millisecond {
		t.Errorf("low jitter %s", d)
	}
	if d := hi.next(outcome{cause: CauseNetwork}); d < 4790*time.Millisecond || d > 4800*time.Millisecond {
		t.Errorf("high jitter %s", d)
	}
	if d := hi.next(outcome{cause: CauseAuth}); d < 329*s || d > 330*s {
		t.Errorf("auth jitter %s", d)
	}
	hi.failures = 20
	if d := hi.next(outcome{cause: CauseNetwork}); d != 300*s {
		t.Errorf("jitter above Max: %s", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 9, 14, 7, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"99999999999999999", time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEventStreamType(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"text/event-stream":                true,
		"text/event-stream; charset=utf-8": true,
		"Text/Event-Stream;charset=UTF-8":  true,
		"text/event-stream;;bad":           true,
		"":                                 true,
		"text/html":                        false,
		"application/json":                 false,
		"text/event-streamx":               false,
	} {
		if got := eventStreamType(ct); got != want {
			t.Errorf("eventStreamType(%q) = %v", ct, got)
		}
	}
}

func TestSafeURL(t *testing.T) {
	t.Parallel()
	if got := safeURL("https://user:pw@api.teslemetry.com/sse/VIN?cache=true&token=x#f"); got != "https://api.teslemetry.com/sse/VIN" {
		t.Errorf("safeURL = %q", got)
	}
}

// A keep-alive-only connection becomes healthy after healthyAfter on the
// policy's clock, and a healthy attempt resets the backoff.
func TestRetryPolicyHealthyByUptimeOnItsClock(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newRetryPolicy(Backoff{}, 30*time.Second)
	p.rand = func() float64 { return 0.5 }
	p.now = func() time.Time { return clock }
	connectedAt := p.now()
	clock = clock.Add(29 * time.Second)
	if p.healthy(true, connectedAt, 0) {
		t.Error("healthy after 29 s without events")
	}
	if !p.healthy(true, connectedAt, 1) {
		t.Error("an event must make the attempt healthy at once")
	}
	if p.healthy(false, connectedAt, 5) {
		t.Error("an attempt without a 200 is never healthy")
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := p.next(outcome{cause: CauseEOF, healthy: p.healthy(true, connectedAt, 0)}); got != want {
			t.Fatalf("short keep-alive-only connection: delay %v, want %v", got, want)
		}
	}
	clock = clock.Add(time.Second) // 30 s up
	if !p.healthy(true, connectedAt, 0) {
		t.Fatal("not healthy after 30 s up")
	}
	if got := p.next(outcome{cause: CauseEOF, healthy: true}); got != time.Second {
		t.Errorf("after a healthy connection: delay %v, want EOFDelay 1 s", got)
	}
}

func TestWatchdog(t *testing.T) {
	t.Parallel()
	var now atomic.Int64 // the fake clock, ns since the watchdog started
	set := func(d time.Duration) { now.Store(int64(d)) }
	fired := make(chan struct{})
	w := newWatchdogClock(100*time.Millisecond, func() { close(fired) }, func() time.Duration { return time.Duration(now.Load()) })
	defer w.stop()
	quiet := func(when string) {
		t.Helper()
		w.check()
		select {
		case <-fired:
			t.Fatalf("fired %s", when)
		default:
		}
	}
	for i := range 5 { // touching keeps it quiet
		set(time.Duration(i+1) * 90 * time.Millisecond)
		quiet("while touched")
		w.touch()
	}
	w.pause()
	set(10 * time.Second)
	quiet("while paused")
	w.resume() // counts as activity
	set(10*time.Second + 99*time.Millisecond)
	quiet("99 ms after the handler returned")
	set(10*time.Second + 100*time.Millisecond)
	w.check()
	select {
	case <-fired:
		if !w.expired() {
			t.Error("expired() false after firing")
		}
	default:
		t.Fatal("did not fire after 100 ms of silence")
	}
}
