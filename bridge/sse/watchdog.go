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
	origin  time.Time
	last    atomic.Int64 // time.Since(origin) of the last activity, in ns
	fired   atomic.Bool

	mu      sync.Mutex
	timer   *time.Timer
	paused  bool
	stopped bool
}

func newWatchdog(timeout time.Duration, cancel func()) *watchdog {
	w := &watchdog{timeout: timeout, cancel: cancel, origin: time.Now()}
	w.mu.Lock()
	w.timer = time.AfterFunc(timeout, w.check)
	w.mu.Unlock()
	return w
}

func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.origin))) }

// expired reports whether the watchdog cancelled the attempt.
func (w *watchdog) expired() bool { return w.fired.Load() }

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.paused {
		return
	}
	idle := time.Since(w.origin) - time.Duration(w.last.Load())
	if idle < w.timeout {
		w.timer.Reset(w.timeout - idle)
		return
	}
	w.fired.Store(true)
	w.stopped = true
	w.cancel()
}

func (w *watchdog) pause() {
	w.mu.Lock()
	w.paused = true
	w.mu.Unlock()
}

func (w *watchdog) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = false
	if !w.stopped {
		w.touch()
		w.timer.Reset(w.timeout)
	}
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// watchTransport feeds the watchdog from response arrival and every body read.
type watchTransport struct {
	base http.RoundTripper // nil: http.DefaultTransport
	wd   *watchdog
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
	res.Body = &watchedBody{ReadCloser: res.Body, wd: t.wd}
	return res, nil
}

type watchedBody struct {
	io.ReadCloser
	wd *watchdog
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.wd.touch()
	}
	return n, err
}
