package bridge

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/fieldconfig"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// streamingConfig applies teslemetry.fields to each car's streaming config
// at Teslemetry (docs/fields.md): once per car per start, for the cars of
// teslemetry.vins or, without them, each car when first seen. It publishes
// <base>/<VIN>/fields_status and announces the car's "Streaming config"
// sensor. A bridge has none (nil) when teslemetry.fields is empty, without
// a token, or when it replays a recording; every method is a no-op then.
type streamingConfig struct {
	b    *Bridge
	mgr  *fieldconfig.Manager
	only []string // teslemetry.vins: only these cars; empty: every car
}

// newStreamingConfig returns the bridge's streaming-config side, or nil when
// there is nothing to do.
func newStreamingConfig(b *Bridge, cfg *config.Config, src Sources) (*streamingConfig, error) {
	t := cfg.Teslemetry
	if len(t.Fields) == 0 || t.Token == "" || src.Replay != nil {
		return nil, nil
	}
	client, err := rest.New(rest.Options{BaseURL: t.URL, Token: t.Token, UserAgent: "teslemetry2mqtt/" + b.version})
	if err != nil {
		return nil, err
	}
	s := &streamingConfig{b: b, only: t.VINs}
	s.mgr = fieldconfig.NewManager(fieldconfig.ManagerOptions{
		Applier: &fieldconfig.Applier{API: client, Wanted: t.Fields},
		Logger:  b.log.WithField("component", "fields"),
		Publish: s.publish,
		Now:     b.now,
	})
	return s, nil
}

// car asks for vin's streaming config to be applied (once per run). It
// never blocks; the caller holds Bridge.mu.
func (s *streamingConfig) car(vin string) {
	if s == nil || (len(s.only) > 0 && !slices.Contains(s.only, vin)) {
		return
	}
	s.mgr.Car(vin)
}

// run applies the configs until ctx ends.
func (s *streamingConfig) run(ctx context.Context) {
	if s == nil {
		return
	}
	s.mgr.Run(ctx)
}

// publish announces the car's "Streaming config" sensor (once) and
// publishes its fields_status, retained. It runs on a Manager goroutine.
func (s *streamingConfig) publish(vin string, st fieldconfig.Status) {
	payload, err := json.Marshal(st)
	if err != nil {
		return
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.router.vehicles[vin]; ok {
		b.ha.announceFieldsStatus(v)
	}
	b.board.Publish(mqttpub.Value, b.topics.Vehicle(vin, topic.FieldsStatus), payload) // the status page shows it too
}
