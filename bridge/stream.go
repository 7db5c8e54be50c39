package bridge

import (
	"context"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
)

// stream is one source of events — an SSE connection or a replayed recording —
// and the health that the availability of its VINs follows (contract §6).
type stream struct {
	path string // "/sse", "/sse/<VIN>" or "replay"
	vin  string // set for per-VIN streams
	run  func(ctx context.Context, b *Bridge) error

	// guarded by Bridge.mu
	connected   bool
	since       time.Time
	reconnects  int
	lastEventAt time.Time
	vins        map[string]bool
	offline     *time.Timer
}

// makeStreams builds the configured sources: a replay, one account-wide
// stream, or one stream per configured VIN.
func (b *Bridge) makeStreams() []*stream {
	if b.replay.Replay != nil {
		st := &stream{path: "replay", vins: map[string]bool{}}
		st.run = func(ctx context.Context, b *Bridge) error { return b.runReplay(ctx, st) }
		return []*stream{st}
	}
	t := b.cfg.Teslemetry
	if t.Token == "" {
		return nil // webhooks only
	}
	paths := []string{"/sse"}
	if len(t.VINs) > 0 {
		paths = paths[:0]
		for _, vin := range t.VINs {
			paths = append(paths, "/sse/"+vin)
		}
	}
	var out []*stream
	for _, p := range paths {
		st := &stream{path: p, vin: strings.TrimPrefix(strings.TrimPrefix(p, "/sse"), "/"), vins: map[string]bool{}}
		url := strings.TrimRight(t.URL, "/") + p
		if t.Cache {
			url += "?cache=true"
		}
		cfg := sse.Config{
			URL: url, Token: t.Token, UserAgent: "teslemetry2mqtt/" + b.version,
			IdleTimeout: t.IdleTimeout.Std(), MaxEvent: MaxEventSize,
			OnSkip: func(reason string) { b.drop(reason, "stream event skipped (%s)", reason) },
			Logger: b.log.WithField("stream", p),
			// Coalesce MQTT writes while the stream has more events in hand.
			Busy: b.pub.Hold, Idle: b.pub.Release,
		}
		st.run = func(ctx context.Context, b *Bridge) error { return sse.Run(ctx, cfg, streamHandler{b, st}) }
		out = append(out, st)
	}
	return out
}

// streamHandler feeds one stream's events and status into the bridge.
type streamHandler struct {
	b  *Bridge
	st *stream
}

func (h streamHandler) OnEvent(data []byte) { h.b.handleData(h.st, data) }

func (h streamHandler) OnStatus(s sse.Status) {
	b, st := h.b, h.st
	b.mu.Lock()
	defer b.mu.Unlock()
	switch s.State {
	case sse.Connected:
		if st.connected {
			return
		}
		st.connected = true
		st.since = b.now()
		st.stopTimer()
		for vin := range st.vins {
			b.setAvailability(b.vehicles[vin], "online")
		}
		if b.metrics != nil {
			b.metrics.StreamUp.WithLabelValues(st.path).Set(1)
		}
	case sse.Disconnected:
		if st.connected {
			st.connected = false
			st.since = b.now()
			st.reconnects++
			if b.metrics != nil {
				b.metrics.StreamUp.WithLabelValues(st.path).Set(0)
				b.metrics.Reconnects.WithLabelValues(st.path).Inc()
			}
		}
		st.startOfflineTimerLocked(b)
	default:
		return
	}
	b.publishInfoLocked()
}

// startOfflineTimer arms the offline grace period for a stream that is not (yet) connected.
func (st *stream) startOfflineTimer(b *Bridge) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st.startOfflineTimerLocked(b)
}

func (st *stream) startOfflineTimerLocked(b *Bridge) {
	if st.connected || st.offline != nil {
		return
	}
	st.offline = time.AfterFunc(b.cfg.Teslemetry.OfflineAfter.Std(), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if st.offline == nil || st.connected {
			return
		}
		st.offline = nil
		for vin := range st.vins {
			b.setAvailability(b.vehicles[vin], "offline")
		}
	})
}

func (st *stream) stopTimer() {
	if st.offline != nil {
		st.offline.Stop()
		st.offline = nil
	}
}

// runReplay plays the recording once, or in a loop with a stream drop between passes.
func (b *Bridge) runReplay(ctx context.Context, st *stream) error {
	o := b.replay
	for {
		r, err := o.Replay()
		if err != nil {
			return err
		}
		if err := sse.Replay(ctx, r, o.ReplaySpeed, streamHandler{b, st}); err != nil {
			return err
		}
		if !o.ReplayLoop {
			if o.ReplayDone != nil {
				o.ReplayDone()
			}
			return nil
		}
		t := time.NewTimer(o.ReplayGap)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
