package sse

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxReplayLine bounds one line of a recording.
const maxReplayLine = 64 << 20

// Replay plays a recording to h: OnStatus(Connected), the events, then
// OnStatus(Disconnected{Cause: "eof"}) and nil at the end of r.
//
// Each event is due at start + t/speed, where t is the last ": t=<seconds>" comment seen before
// it (0 when there is none, so a plain SSE transcript plays back-to-back). speed <= 0, NaN or +Inf
// plays as fast as possible. Parsing follows the SSE rules: LF, CRLF or CR line endings, a BOM,
// "data:" with or without a space, multi-line data joined with "\n", comments, and "event"/"id"/
// "retry" fields (ignored). Events with empty data are skipped; a last event without its blank
// line is still played.
//
// On cancellation Replay emits Disconnected{Cause: "stopped"} and returns ctx.Err(). A read error
// is returned after Disconnected{Cause: "eof", Err: err}.
func Replay(ctx context.Context, r io.Reader, speed float64, h Handler) error {
	fast := speed <= 0 || math.IsNaN(speed) || math.IsInf(speed, 1)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxReplayLine)
	sc.Split(scanSSELines)

	stopped := func() error {
		h.OnStatus(Status{State: Disconnected, Cause: CauseStopped, Err: ctx.Err()})
		return ctx.Err()
	}
	if ctx.Err() != nil {
		return stopped()
	}
	h.OnStatus(Status{State: Connected})
	start := time.Now()
	var (
		data    []byte
		hasData bool
		offset  float64
		first   = true
	)
	dispatch := func() bool {
		if !hasData {
			return true
		}
		data = bytes.TrimSuffix(data, []byte("\n"))
		if len(data) > 0 {
			if !fast && offset > 0 {
				if !sleep(ctx, time.Until(start.Add(secondsToDuration(offset/speed)))) {
					return false
				}
			}
			if ctx.Err() != nil {
				return false
			}
			h.OnEvent(data)
		}
		data, hasData = data[:0], false
		return true
	}
	for sc.Scan() {
		line := sc.Text()
		if first {
			line, first = strings.TrimPrefix(line, "\uFEFF"), false
		}
		switch {
		case line == "":
			if !dispatch() {
				return stopped()
			}
		case line[0] == ':':
			if t, ok := parseOffset(line[1:]); ok {
				offset = t
			}
		default:
			name, value, _ := strings.Cut(line, ":")
			if name == "data" {
				data = append(data, strings.TrimPrefix(value, " ")...)
				data = append(data, '\n')
				hasData = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		h.OnStatus(Status{State: Disconnected, Cause: CauseEOF, Err: err})
		return err
	}
	if !dispatch() {
		return stopped()
	}
	h.OnStatus(Status{State: Disconnected, Cause: CauseEOF})
	return nil
}

// parseOffset reads the text of a comment " t=1.250".
func parseOffset(comment string) (float64, bool) {
	v, ok := strings.CutPrefix(strings.TrimSpace(comment), "t=")
	if !ok {
		return 0, false
	}
	t, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return 0, false
	}
	return t, true
}

func secondsToDuration(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// scanSSELines is a bufio.SplitFunc for lines ended by LF, CRLF or CR.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if !atEOF { // a CR at the end of the buffer: wait to see whether LF follows
			return 0, nil, nil
		}
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}
