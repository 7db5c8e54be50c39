// Package bridge is teslemetry2mqtt's pipeline: Teslemetry stream(s) and
// webhooks → decoded events → retained MQTT topics per VIN, Home Assistant
// discovery and availability that tells the truth about stream health.
package bridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery"
)

// MaxEventSize is the largest event the bridge decodes (contract §8).
const MaxEventSize = 1 << 20

// Options configure a Bridge.
type Options struct {
	Config  *config.Config
	Version string
	Logger  logrus.FieldLogger
	Metrics *Metrics // optional
	// Replay, when set, replaces the Teslemetry stream with a recording: it
	// opens the recording for each pass.
	Replay      func() (io.Reader, error)
	ReplaySpeed float64
	ReplayLoop  bool          // play the recording again and again
	ReplayGap   time.Duration // pause between passes, with the stream down (a stream drop)
	ReplayDone  func()        // called when a non-looping replay has played through
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Bridge runs the whole pipeline. Create it with New and start it with Run.
type Bridge struct {
	cfg     *config.Config
	version string
	log     logrus.FieldLogger
	metrics *Metrics
	now     func() time.Time
	replay  Options

	topics topics
	parser teslemetry.Parser // safe for concurrent use: the streams decode outside mu
	format teslemetry.Formatter
	disc   discovery.Options
	pub    *mqttpub.Publisher
	// cleanup deletes stale discovery configs after each connect; nil with
	// discovery off (cleanup.go).
	cleanup *staleCleanup

	mu          sync.Mutex // guards everything below and serialises event handling
	buf         []byte
	topicBuf    []byte
	vehicles    map[string]*vehicle
	streams     []*stream
	credits     map[string]json.RawMessage
	startedAt   time.Time
	webhookUp   bool
	lastDropLog map[string]time.Time

	eventCounters map[string]prometheus.Counter // Metrics.Events by kind, resolved once
}

// New builds a Bridge from a validated configuration.
func New(o Options) (*Bridge, error) {
	cfg := o.Config
	if o.Logger == nil {
		o.Logger = logrus.StandardLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	units, err := discovery.ParseUnits(cfg.Units)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := brokerTLS(cfg.MQTT)
	if err != nil {
		return nil, err
	}
	b := &Bridge{
		cfg: cfg, version: o.Version, log: o.Logger, metrics: o.Metrics, now: o.Now,
		replay:      o,
		topics:      topics{base: cfg.MQTT.BaseTopic},
		format:      teslemetry.Formatter{Units: units},
		disc:        discovery.Options{BaseTopic: cfg.MQTT.BaseTopic, Prefix: cfg.HomeAssistant.DiscoveryPrefix, Units: units, Version: o.Version},
		vehicles:    map[string]*vehicle{},
		credits:     map[string]json.RawMessage{},
		lastDropLog: map[string]time.Time{},
		buf:         make([]byte, 0, 512),

		eventCounters: map[string]prometheus.Counter{},
	}
	stats := mqttpub.Stats{}
	if m := o.Metrics; m != nil {
		stats.Published = func(n int) { m.Publishes.Add(float64(n)) }
		stats.Failed = func(reason string) { m.PublishErrors.WithLabelValues(reason).Inc() }
		stats.Connected = func(up bool) { m.MQTTConnected.Set(boolGauge(up)) }
		stats.SetAside, stats.TooLarge = m.SetAside.Inc, m.TooLarge.Inc
	}
	b.pub = mqttpub.New(mqttpub.Options{
		URL: cfg.MQTT.URL, Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		ClientID: cfg.MQTT.ClientID, TLS: tlsCfg, QoS: byte(cfg.MQTT.QoS), Retain: cfg.MQTT.Retain,
		WillTopic: b.topics.bridgeState(), MaxPayload: cfg.MQTT.MaxPayload,
		Subscriptions: map[string]func(mqttpub.Message){
			cfg.HomeAssistant.StatusTopic: func(m mqttpub.Message) {
				if cfg.HomeAssistant.Discovery && strings.TrimSpace(string(m.Payload)) == "online" {
					b.log.Info("Home Assistant came online; republishing discovery and states")
					b.pub.RequestRepublish()
				}
			},
		},
		OnRepublished: b.onRepublished,
		Logger:        o.Logger, Stats: stats,
	})
	if cfg.HomeAssistant.Discovery {
		b.cleanup = newStaleCleanup(cfg, b.disc, b.pub, o.Logger, o.Metrics)
	}
	b.streams = b.makeStreams()
	return b, nil
}

// Publisher exposes the MQTT side (for health checks).
func (b *Bridge) Publisher() *mqttpub.Publisher { return b.pub }

// Run runs the bridge until ctx ends, then publishes offline states and
// disconnects (contract §8: within 5 s).
func (b *Bridge) Run(ctx context.Context) error {
	b.mu.Lock()
	b.startedAt = b.now()
	for _, vin := range b.cfg.Teslemetry.VINs {
		b.vehicleLocked(vin, nil)
	}
	if b.cfg.HomeAssistant.Discovery {
		for _, m := range b.disc.BridgeEntities(false) {
			b.pub.Publish(mqttpub.Discovery, m.Topic, m.Payload)
		}
	}
	b.publishInfoLocked()
	b.mu.Unlock()

	pubCtx, stopPub := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); _ = b.pub.Run(pubCtx) }()

	var wg sync.WaitGroup
	for _, st := range b.streams {
		st.startOfflineTimer(b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.run(ctx, b); err != nil && !errors.Is(err, context.Canceled) {
				b.log.WithError(err).WithField("stream", st.path).Error("stream stopped")
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); b.infoLoop(ctx) }()
	if b.cleanup != nil {
		wg.Add(1)
		go func() { defer wg.Done(); b.cleanup.run(ctx) }()
	}

	<-ctx.Done()
	wg.Wait()
	b.shutdown()
	stopPub()
	<-pubDone
	return nil
}

// shutdown publishes offline for the bridge and every VIN and waits for the acknowledgements.
func (b *Bridge) shutdown() {
	b.mu.Lock()
	for _, st := range b.streams {
		st.stopTimer()
	}
	for _, v := range b.vehicles {
		b.setAvailability(v, "offline")
	}
	b.pub.Publish(mqttpub.Availability, b.topics.bridgeState(), []byte("offline"))
	b.mu.Unlock()
	if !b.pub.Flush(2 * time.Second) {
		b.log.Warn("shutting down with unacknowledged publishes")
	}
	b.log.Info("stopped")
}

// HandleData decodes and publishes the data of one stream event.
func (b *Bridge) handleData(st *stream, data []byte) {
	if len(data) > MaxEventSize {
		b.drop("too_large", "event of %d bytes skipped", len(data))
		return
	}
	ev, problems, err := b.parser.Parse(data)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range problems {
		b.dropLocked(p.Kind, "%s", p.Detail)
	}
	if err != nil {
		var p teslemetry.Problem
		if errors.As(err, &p) {
			b.dropLocked(p.Kind, "event skipped: %s", p.Detail)
		}
		return
	}
	if st != nil {
		st.lastEventAt = b.now()
	}
	b.ingestLocked(st, &ev)
}

// Ingest publishes an event that arrived by webhook (contract §10).
func (b *Bridge) Ingest(ev teslemetry.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ingestLocked(nil, &ev)
}

// SetWebhookUp records whether the webhook receiver is listening.
func (b *Bridge) SetWebhookUp(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.webhookUp = up
}

func (b *Bridge) ingestLocked(st *stream, ev *teslemetry.Event) {
	b.countEvent(ev)
	if ev.Credits != nil {
		b.publishCredits(ev.Credits)
	}
	if !ev.IsVehicle() {
		if ev.EnergySite {
			b.log.Debug("energy-site event ignored")
		}
		return
	}
	if _, known := b.vehicles[ev.VIN]; !known && !config.ValidVIN(ev.VIN) {
		b.dropLocked("bad_vin", "event with VIN %q skipped", Segment(ev.VIN))
		return
	}
	v := b.vehicleLocked(ev.VIN, st)
	b.handleVehicleEvent(v, ev)
}

// vehicleLocked returns the state of vin, creating it on first sight.
func (b *Bridge) vehicleLocked(vin string, st *stream) *vehicle {
	v, ok := b.vehicles[vin]
	if !ok {
		v = newVehicle(vin)
		v.device.Name = discovery.DeviceName(b.cfg.VehicleName(vin), "", vin)
		b.vehicles[vin] = v
		for _, s := range b.streams {
			if s.vin == vin {
				st = s
			}
		}
		b.publishActiveAlerts(v)
		defer b.publishInfoLocked()
	}
	if v.stream == nil && st != nil {
		v.stream = st
		st.vins[vin] = true
		if st.connected {
			b.setAvailability(v, "online")
		}
	}
	if st == nil && v.stream == nil && !v.webhook {
		v.webhook = true // only webhooks carry it: online while the receiver is up
		b.setAvailability(v, "online")
	}
	return v
}

func (b *Bridge) setAvailability(v *vehicle, state string) {
	if v.available == state {
		return
	}
	v.available = state
	b.pub.Publish(mqttpub.Availability, b.topics.vehicle(v.vin, "availability"), []byte(state))
}

func (b *Bridge) publishCredits(raw json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	first := len(b.credits) == 0
	for k, v := range m { // balance-only events keep the previous quota
		b.credits[k] = v
	}
	payload, _ := json.Marshal(b.credits)
	b.pub.Publish(mqttpub.Value, b.topics.bridgeCredits(), payload)
	if first && b.cfg.HomeAssistant.Discovery {
		for _, msg := range b.disc.BridgeEntities(true) {
			b.pub.Publish(mqttpub.Discovery, msg.Topic, msg.Payload)
		}
	}
}

func (b *Bridge) countEvent(ev *teslemetry.Event) {
	if b.metrics == nil {
		return
	}
	count := func(kind string, present bool) {
		if present {
			c, ok := b.eventCounters[kind]
			if !ok {
				c = b.metrics.Events.WithLabelValues(kind)
				b.eventCounters[kind] = c
			}
			c.Inc()
		}
	}
	count("data", len(ev.Data) > 0)
	count("state", ev.State != "")
	count("connectivity", ev.Connectivity != nil)
	count("alerts", ev.Alerts != nil)
	count("errors", ev.Errors != nil)
	count("config", ev.Config != nil)
	count("vehicle_data", ev.VehicleData != nil)
	count("credits", ev.Credits != nil)
	count("energy_site", ev.EnergySite)
}

// drop counts a skipped input and logs it at most once a minute per kind.
func (b *Bridge) drop(kind, format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(kind, format, args...)
}

func (b *Bridge) dropLocked(kind, format string, args ...any) {
	if b.metrics != nil {
		b.metrics.Dropped.WithLabelValues(kind).Inc()
	}
	now := b.now()
	if last, ok := b.lastDropLog[kind]; ok && now.Sub(last) < time.Minute {
		return
	}
	b.lastDropLog[kind] = now
	b.log.WithField("reason", kind).Warnf(format+" (further %s problems are not logged for a minute)", append(args, kind)...)
}

// infoLoop republishes bridge/info every minute (last_event_at moves on).
func (b *Bridge) infoLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.mu.Lock()
			b.publishInfoLocked()
			b.mu.Unlock()
		}
	}
}

type streamInfo struct {
	Path        string  `json:"path"`
	Connected   bool    `json:"connected"`
	Since       *string `json:"since"`
	Reconnects  int     `json:"reconnects"`
	LastEventAt *string `json:"last_event_at"`
}

func (b *Bridge) publishInfoLocked() {
	vins := make([]string, 0, len(b.vehicles))
	for vin := range b.vehicles {
		vins = append(vins, vin)
	}
	slices.Sort(vins)
	streams := make([]streamInfo, 0, len(b.streams))
	for _, st := range b.streams {
		streams = append(streams, streamInfo{
			Path: st.path, Connected: st.connected, Since: rfc3339OrNull(st.since),
			Reconnects: st.reconnects, LastEventAt: rfc3339OrNull(st.lastEventAt),
		})
	}
	payload, _ := json.Marshal(map[string]any{
		"version": b.version, "started_at": b.startedAt.UTC().Format(time.RFC3339),
		"vins": vins, "streams": streams, "webhook": b.cfg.Webhook.Listen != "",
	})
	b.pub.Publish(mqttpub.Value, b.topics.bridgeInfo(), payload)
}

// Healthy reports whether MQTT is connected and every stream is healthy, with a reason when not.
func (b *Bridge) Healthy() (bool, string) {
	if !b.pub.Connected() {
		return false, "mqtt disconnected"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range b.streams {
		if !st.connected {
			return false, "stream " + st.path + " disconnected"
		}
	}
	return true, ""
}

// brokerTLS builds the TLS configuration for ssl:// and mqtts:// brokers.
func brokerTLS(m config.MQTT) (*tls.Config, error) {
	u, _ := url.Parse(m.URL)
	secure := u != nil && (u.Scheme == "ssl" || u.Scheme == "mqtts" || u.Scheme == "wss")
	t := m.TLS
	if !secure && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // user's explicit choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var _ = sse.Status{}

// CountDrop counts an input rejected outside the bridge (e.g. a webhook request).
func (b *Bridge) CountDrop(reason string) {
	if b.metrics != nil {
		b.metrics.Dropped.WithLabelValues(reason).Inc()
	}
}
