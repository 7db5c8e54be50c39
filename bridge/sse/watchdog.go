package sse

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog cancels one connection attempt when no bytes arrived for timeout.
// touch is called for every read that returned data; pause/resume bracket handler calls.
type watchdog struct {
	timeout time.Duration
	cancel  func()
	elapsed func() time.Duration // the clock: time since the watchdog started; tests use a fake one
	last    atomic.Int64         // elapsed() at the last activity, in ns
	fired   atomic.Bool
	paused  atomic.Bool // the handler runs: silence does not count

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

func newWatchdog(timeout time.Duration, cancel func()) *watchdog {
	origin := time.Now()
	return newWatchdogClock(timeout, cancel, func() time.Duration { return time.Since(origin) })
}

// newWatchdogClock is newWatchdog on a given clock (the timer still runs on
// real time; it only decides when to look).
func newWatchdogClock(timeout time.Duration, cancel func(), elapsed func() time.Duration) *watchdog {
	w := &watchdog{timeout: timeout, cancel: cancel, elapsed: elapsed}
	w.mu.Lock()
	w.timer = time.AfterFunc(timeout, w.check)
	w.mu.Unlock()
	return w
}

func (w *watchdog) touch() { w.last.Store(int64(w.elapsed())) }

// expired reports whether the watchdog cancelled the attempt.
func (w *watchdog) expired() bool { return w.fired.Load() }

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.paused.Load() { // look again once the handler could have returned
		w.timer.Reset(w.timeout)
		return
	}
	idle := w.elapsed() - time.Duration(w.last.Load())
	if idle < w.timeout {
		w.timer.Reset(w.timeout - idle)
		return
	}
	w.fired.Store(true)
	w.stopped = true
	w.cancel()
}

// pause and resume bracket every handler call; they only touch atomics (the
// timer is re-armed by check, at most once per timeout).
func (w *watchdog) pause() { w.paused.Store(true) }

func (w *watchdog) resume() {
	w.touch() // before unpausing: check must never see stale activity unpaused
	w.paused.Store(false)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// watchTransport feeds the watchdog from response arrival and every body read,
// and reports busy/idle around body reads (Config.Busy, Config.Idle).
type watchTransport struct {
	base       http.RoundTripper // nil: http.DefaultTransport
	wd         *watchdog
	busy, idle func() // optional
	isBusy     bool   // between a busy and its idle; only the reading goroutine touches it
}

// end reports idle if the last read left the stream busy (the attempt is over).
func (t *watchTransport) end() {
	if t.isBusy {
		t.isBusy = false
		t.idle()
	}
}

func (t *watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	res, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.wd.touch()
	res.Body = &watchedBody{ReadCloser: res.Body, wd: t.wd, t: t}
	return res, nil
}

type watchedBody struct {
	io.ReadCloser
	wd *watchdog
	t  *watchTransport
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.t.end() // everything read so far has been handled
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.wd.touch()
		if b.t.busy != nil && b.t.idle != nil {
			b.t.isBusy = true
			b.t.busy()
		}
	}
	return n, err
}
