package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func replayAll(t *testing.T, input string, speed float64) (*recHandler, time.Duration) {
	t.Helper()
	h := newRecHandler()
	start := time.Now()
	if err := Replay(context.Background(), strings.NewReader(input), speed, h); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	elapsed := time.Since(start)
	_, statuses, _ := h.snapshot()
	if len(statuses) != 2 || statuses[0].State != Connected ||
		statuses[1].State != Disconnected || statuses[1].Cause != CauseEOF {
		t.Errorf("statuses = %+v", statuses)
	}
	return h, elapsed
}

func TestRecordReplayRoundTrip(t *testing.T) {
	t.Parallel()
	sent := []string{`{"a":1}`, `{"b":"x y"}`, "multi\nline", ` leading space`, `{"c":3}`}
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		streamHeaders(w)
		for i, e := range sent {
			if i == 2 {
				send(w, "event: data\n")
			}
			for _, line := range strings.Split(e, "\n") {
				send(w, "data: %s\n", line)
			}
			send(w, "\n")
			time.Sleep(30 * time.Millisecond)
		}
		<-r.Context().Done()
	})
	var rec bytes.Buffer
	cfg, _ := testConfig(ts, h)
	cfg.Recorder = &rec // a plain io.Writer: wrapped in a Recorder by Run
	run := startRun(t, cfg, h)
	for range sent {
		h.waitEvent(t, 3*time.Second)
	}
	run.stop(t)
	if got, _, _ := h.snapshot(); !slices.Equal(got, sent) {
		t.Fatalf("live events = %q", got)
	}
	text := rec.String()
	if !strings.HasPrefix(text, ": t=0.000\ndata: {\"a\":1}\n\n: t=0.") {
		t.Errorf("recording starts %q", text[:min(60, len(text))])
	}
	h2, _ := replayAll(t, text, 0)
	if got, _, _ := h2.snapshot(); !slices.Equal(got, sent) {
		t.Errorf("replayed events = %q, want %q", got, sent)
	}
}

func TestReplaySample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/sse-sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	h, elapsed := replayAll(t, string(b), 1) // no t= lines: all at offset 0
	events, _, _ := h.snapshot()
	if len(events) != 43 {
		t.Errorf("%d events, want 43", len(events))
	}
	for i, e := range events {
		if !json.Valid([]byte(e)) {
			t.Errorf("event %d is not JSON: %.80s", i, e)
		}
	}
	if elapsed > 500*time.Millisecond {
		t.Errorf("replay took %s", elapsed)
	}
}

func TestReplaySpeed(t *testing.T) {
	t.Parallel()
	rec := ": t=0.000\ndata: a\n\n: t=0.200\ndata: b\n\n"
	for _, tc := range []struct {
		speed    float64
		min, max time.Duration
	}{
		{1, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, 0, 100 * time.Millisecond},
		{0, 0, 50 * time.Millisecond},
		{math.Inf(1), 0, 50 * time.Millisecond},
	} {
		h, d := replayAll(t, rec, tc.speed)
		if d < tc.min || d > tc.max {
			t.Errorf("speed %v took %s, want %s..%s", tc.speed, d, tc.min, tc.max)
		}
		if got, _, _ := h.snapshot(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("speed %v: events %q", tc.speed, got)
		}
	}
}

func TestReplayParsing(t *testing.T) {
	t.Parallel()
	input := "\uFEFF: hello\r\n" +
		"data:nospace\r\n\r\n" +
		"event: data\rid: 1\rretry: 5\rdata: cr\r\r" +
		": keepalive\n\n" +
		"data: one\ndata:\ndata: three\n\n" +
		"data:\n\n" + // empty: skipped
		"id: 2\n\n" + // no data: nothing
		"data:  two spaces\n\n" +
		"unknown: x\ndata: {\"k\":1}\n: t=oops\n\n" +
		"data: last without blank line"
	h, _ := replayAll(t, input, 0)
	want := []string{"nospace", "cr", "one\n\nthree", " two spaces", `{"k":1}`, "last without blank line"}
	if got, _, _ := h.snapshot(); !slices.Equal(got, want) {
		t.Errorf("events = %q\nwant %q", got, want)
	}
}

func TestReplayCancel(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Replay(ctx, strings.NewReader("data: a\n\n: t=100\ndata: b\n\n"), 1, h)
	}()
	h.waitEvent(t, time.Second)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Replay = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Replay did not return")
	}
	_, statuses, _ := h.snapshot()
	if last := statuses[len(statuses)-1]; last.Cause != CauseStopped {
		t.Errorf("last status %+v", last)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestRecorderFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewRecorder(&buf)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.WriteEvent([]byte(`{"a":1}`)))
	now = now.Add(1250 * time.Millisecond)
	must(r.WriteEvent([]byte("x\r\ny\rz\n")))
	want := ": t=0.000\ndata: {\"a\":1}\n\n: t=1.250\ndata: x\ndata: y\ndata: z\ndata: \n\n"
	if buf.String() != want {
		t.Errorf("recording =\n%q\nwant\n%q", buf.String(), want)
	}

	// Raw pass-through keeps a shared *Recorder usable as Config.Recorder (an io.Writer).
	var raw bytes.Buffer
	r3 := NewRecorder(&raw)
	var _ io.Writer = r3
	if _, err := r3.Write([]byte(": recorded by test\n\n")); err != nil {
		t.Fatal(err)
	}
	must(r3.WriteEvent([]byte("e")))
	if h, _ := replayAll(t, raw.String(), 0); !slices.Equal(h.events, []string{"e"}) {
		t.Errorf("replay of %q = %q", raw.String(), h.events)
	}

	fw := &failingWriter{}
	r2 := NewRecorder(fw)
	must(r2.WriteEvent([]byte("a")))
	if err := r2.WriteEvent([]byte("b")); err == nil || r2.Err() == nil {
		t.Error("write error not reported")
	}
	if err := r2.WriteEvent([]byte("c")); err == nil || fw.n != 2 {
		t.Errorf("error not sticky: %v, %d writes", err, fw.n)
	}
}
