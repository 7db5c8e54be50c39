package bridge

import (
	"context"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
)

// stream is one source of events — an SSE connection or a replayed recording —
// and the health that the availability of its VINs follows
// (docs/availability.md).
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
	sites       map[string]bool // energy sites it carries
	offline     *time.Timer
}

// makeStreams builds one stream per source: the replay, or each SSE stream.
func (b *Bridge) makeStreams(src Sources) []*stream {
	if r := src.Replay; r != nil {
		st := &stream{path: "replay", vins: map[string]bool{}, sites: map[string]bool{}}
		st.run = func(ctx context.Context, b *Bridge) error { return b.runReplay(ctx, st, *r) }
		return []*stream{st}
	}
	out := make([]*stream, 0, len(src.Streams))
	for _, s := range src.Streams {
		st := &stream{path: s.Path, vin: s.VIN, vins: map[string]bool{}, sites: map[string]bool{}}
		cfg := s.Config
		cfg.MaxEvent = MaxEventSize
		cfg.OnSkip = func(reason string) { b.drop(reason, "stream event skipped (%s)", reason) }
		cfg.Logger = b.log.WithField("stream", s.Path)
		// Coalesce MQTT writes while the stream has more events in hand.
		cfg.Busy, cfg.Idle = b.pub.Hold, b.pub.Release
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
		st.stopTimerLocked()
		for vin := range st.vins {
			b.router.setAvailability(b.router.vehicles[vin], "online")
		}
		b.router.setStreamSitesAvailability(st, "online")
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
			b.router.setAvailability(b.router.vehicles[vin], "offline")
		}
		b.router.setStreamSitesAvailability(st, "offline")
	})
}

func (st *stream) stopTimerLocked() {
	if st.offline != nil {
		st.offline.Stop()
		st.offline = nil
	}
}

// runReplay plays the recording once, or in a loop with a stream drop between passes.
func (b *Bridge) runReplay(ctx context.Context, st *stream, o Replay) error {
	for {
		r, err := o.Open()
		if err != nil {
			return err
		}
		if err := sse.Replay(ctx, r, o.Speed, streamHandler{b, st}); err != nil {
			return err
		}
		if !o.Loop {
			if o.Done != nil {
				o.Done()
			}
			return nil
		}
		t := time.NewTimer(o.Gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
