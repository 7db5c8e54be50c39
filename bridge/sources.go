package bridge

import (
	"io"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
)

// Sources are where a Bridge's events come from. They are plain values:
// cmd/teslemetry2mqtt builds them from the configuration (ConfiguredSources)
// and the command line, bridge/demo builds a looping replay.
type Sources struct {
	// Streams are Teslemetry SSE streams. Each has a health of its own that
	// the availability of its cars follows (docs/availability.md).
	Streams []SSE
	// Replay, when set, replaces Streams with a recording played as one
	// stream named "replay".
	Replay *Replay
	// Webhook says that a webhook receiver feeds Bridge.Ingest; it is
	// reported in <base>/bridge/info. Cars seen only by webhook are online
	// from their first event (docs/availability.md).
	Webhook bool
}

// SSE is one Teslemetry SSE stream.
type SSE struct {
	Path string // "/sse" or "/sse/<VIN>": the stream's name in bridge/info, metrics and logs
	VIN  string // the car of a per-VIN stream; "" for the account-wide stream
	// Config is the stream's connection; the bridge fills in MaxEvent,
	// OnSkip, Logger, Busy and Idle.
	Config sse.Config
}

// Replay plays a recording (sse.Replay's format) as the stream.
type Replay struct {
	Open  func() (io.Reader, error) // opens the recording, once per pass
	Speed float64                   // replay speed factor; <= 0 plays as fast as possible
	Loop  bool                      // play the recording again and again
	Gap   time.Duration             // pause between passes, with the stream down (a stream drop)
	Done  func()                    // called when a non-looping replay has played through
}

// ConfiguredSources returns the sources a configuration asks for: one SSE
// stream per configured VIN, else one account-wide stream, and none without
// a token (webhooks only); Webhook when webhook.listen is set.
func ConfiguredSources(cfg *config.Config, version string) Sources {
	s := Sources{Webhook: cfg.Webhook.Listen != ""}
	t := cfg.Teslemetry
	if t.Token == "" {
		return s
	}
	paths := []string{"/sse"}
	if len(t.VINs) > 0 {
		paths = paths[:0]
		for _, vin := range t.VINs {
			paths = append(paths, "/sse/"+vin)
		}
	}
	for _, p := range paths {
		url := strings.TrimRight(t.URL, "/") + p
		if t.Cache {
			url += "?cache=true"
		}
		s.Streams = append(s.Streams, SSE{
			Path: p,
			VIN:  strings.TrimPrefix(strings.TrimPrefix(p, "/sse"), "/"),
			Config: sse.Config{
				URL: url, Token: t.Token, UserAgent: "teslemetry2mqtt/" + version,
				IdleTimeout: t.IdleTimeout.Std(),
			},
		})
	}
	return s
}
