package sse

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// Recorder writes events in the recording format (README, "Command line"): before each event a comment
// ": t=<seconds since the first recorded event, 3 decimals>", then one "data: " line per line of
// the event data, then a blank line. The result is still a valid SSE stream and Replay reads it.
//
// A Recorder is safe for concurrent use, so several streams can share one file (and one clock).
// Each event is written with a single Write call. The first write error is sticky: it is returned
// by that and every later call, which then writes nothing. Buffering/flushing and closing the
// underlying writer are the caller's business.
//
// A *Recorder is also an io.Writer: Write passes raw text through unchanged (under the same lock),
// e.g. for a leading comment. That is what lets Config.Recorder be an io.Writer.
type Recorder struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	start   time.Time
	started bool
	buf     []byte
	err     error
}

// NewRecorder returns a Recorder writing to w.
func NewRecorder(w io.Writer) *Recorder {
	return &Recorder{w: w, now: time.Now}
}

// WriteEvent records one event's data. Lines are split at "\n", "\r\n" or "\r".
func (r *Recorder) WriteEvent(data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	now := r.now()
	if !r.started {
		r.start, r.started = now, true
	}
	b := append(r.buf[:0], ": t="...)
	b = strconv.AppendFloat(b, now.Sub(r.start).Seconds(), 'f', 3, 64)
	b = append(b, '\n')
	for {
		line, rest, more := cutLine(data)
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
		if !more {
			break
		}
		data = rest
	}
	b = append(b, '\n')
	r.buf = b
	if _, err := r.w.Write(b); err != nil {
		r.err = err
	}
	return r.err
}

// Write writes p unchanged; the caller keeps it valid SSE (e.g. ": comment\n").
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.w.Write(p)
	r.err = err
	return n, err
}

// Err returns the first write error, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// cutLine splits b at its first line ending (\n, \r\n or \r); more is false when there is none.
func cutLine(b []byte) (line, rest []byte, more bool) {
	for i, c := range b {
		switch c {
		case '\n':
			return b[:i], b[i+1:], true
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return b[:i], b[i+2:], true
			}
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}
