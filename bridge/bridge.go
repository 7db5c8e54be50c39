// Package bridge is teslemetry2mqtt's pipeline: Teslemetry stream(s) and
// webhooks → decoded events → retained MQTT topics per VIN, Home Assistant
// discovery and availability that tells the truth about stream health.
package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/command"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// MaxEventSize is the largest event the bridge decodes (docs/failures.md).
const MaxEventSize = 1 << 20

// Options configure a Bridge.
type Options struct {
	Config  *config.Config
	Version string
	Logger  logrus.FieldLogger
	Metrics *Metrics // optional
	// Sources are where events come from; nil means what the configuration
	// asks for (ConfiguredSources).
	Sources *Sources
	// CommandSender, when set, receives the commands instead of the
	// Teslemetry REST API of the configuration (the demo's simulated cars).
	CommandSender command.Sender
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// SiteInfoValue, when set, hears the site_info values of each energy
	// site (sites.go).
	SiteInfoValue SiteInfoValue
}

// Bridge runs the whole pipeline: its sources feed the router, which
// publishes through the MQTT publisher; the Home Assistant component (nil
// with discovery off) announces entities and cleans up stale ones. Create it
// with New and start it with Run.
//
// Bridge.mu serialises event handling: every router call and every stream
// state change happens under it. Methods whose names end in Locked expect
// the caller to hold it.
type Bridge struct {
	cfg     *config.Config
	version string
	log     logrus.FieldLogger
	metrics *Metrics
	now     func() time.Time
	webhook bool // a webhook receiver feeds Ingest (bridge/info)

	parser teslemetry.Parser // safe for concurrent use: the streams decode outside mu
	topics topic.Scheme
	pub    *mqttpub.Publisher
	ha     *homeAssistant   // nil with discovery off
	fields *streamingConfig // nil without teslemetry.fields
	board  *statusBoard     // the router's publisher, as the status page sees it
	units  catalog.Units
	cmds   *commands // nil with commands disabled

	mu        sync.Mutex // guards everything below and serialises event handling
	router    *router
	streams   []*stream
	startedAt time.Time
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
	src := o.Sources
	if src == nil {
		s := ConfiguredSources(cfg, o.Version)
		src = &s
	}
	units, err := catalog.ParseUnits(cfg.Units)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := mqttpub.BrokerTLS(cfg.MQTT.URL, mqttpub.TLSFiles(cfg.MQTT.TLS))
	if err != nil {
		return nil, err
	}
	topics := topic.New(cfg.MQTT.BaseTopic, cfg.HomeAssistant.DiscoveryPrefix)
	b := &Bridge{
		cfg: cfg, version: o.Version, log: o.Logger, metrics: o.Metrics, now: o.Now,
		webhook: src.Webhook,
		topics:  topics,
	}
	disc := ha.Options{Topics: topics, Units: units, Version: o.Version}
	b.ha = newHomeAssistant(cfg.HomeAssistant.Discovery, disc, cfg.HomeAssistant.StatusTopic, o.Logger)
	// The command side publishes through b.pub, which exists only below:
	// it gets a forwarding publisher.
	fwd := &lazyPublisher{}
	b.cmds, err = newCommands(cfg, o.Version, topics, fwd, o.CommandSender, units, o.Logger, o.Metrics)
	if err != nil {
		return nil, err
	}
	if b.cmds != nil {
		b.ha.enableControls(b.cmds.denied)
	}
	subs := b.ha.subscriptions()
	if subs == nil {
		subs = map[string]func(mqttpub.Message){}
	}
	for t, h := range b.cmds.subscriptions() {
		subs[t] = h
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
		WillTopic: topics.BridgeState(), MaxPayload: cfg.MQTT.MaxPayload,
		Subscriptions: subs,
		OnRepublished: b.ha.onRepublished,
		Logger:        o.Logger, Stats: stats,
	})
	if b.ha != nil {
		b.ha.attach(b.pub, newStaleCleanup(cfg, disc, b.pub, o.Logger, o.Metrics))
	}
	b.streams = b.makeStreams(*src)
	b.board = newStatusBoard(b.pub, topics, o.Now)
	b.units = units
	b.router = newRouter(cfg, topics, b.board, b.ha, teslemetry.Formatter{Units: units}, o.Logger, o.Metrics, o.Now)
	fwd.pub = b.board // command results show on the status page too
	b.router.cmds = b.cmds
	b.router.streams = b.streams
	if b.fields, err = newStreamingConfig(b, cfg, *src); err != nil {
		return nil, err
	}
	b.router.onNewVehicle = func(vin string) {
		b.publishInfoLocked()
		b.fields.car(vin)
	}
	b.router.onNewSite = b.publishInfoLocked
	b.router.siteInfoValue = o.SiteInfoValue
	return b, nil
}

// Publisher exposes the MQTT side (for health checks).
func (b *Bridge) Publisher() *mqttpub.Publisher { return b.pub }

// Run runs the bridge until ctx ends, then publishes offline states and
// disconnects (docs/failures.md: within 5 s).
func (b *Bridge) Run(ctx context.Context) error {
	b.mu.Lock()
	b.startedAt = b.now()
	for _, vin := range b.cfg.Teslemetry.VINs {
		b.router.vehicle(vin, nil)
	}
	b.ha.announceBridge(false)
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
	wg.Add(4)
	go func() { defer wg.Done(); b.cmds.run(ctx) }()
	go func() { defer wg.Done(); b.infoLoop(ctx) }()
	go func() { defer wg.Done(); b.ha.run(ctx) }()
	go func() { defer wg.Done(); b.fields.run(ctx) }()

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
		st.stopTimerLocked()
	}
	b.router.offline()
	b.pub.Publish(mqttpub.Availability, b.topics.BridgeState(), []byte("offline"))
	b.mu.Unlock()
	if !b.pub.Flush(2 * time.Second) {
		b.log.Warn("shutting down with unacknowledged publishes")
	}
	b.log.Info("stopped")
}

// handleData decodes and publishes the data of one stream event.
func (b *Bridge) handleData(st *stream, data []byte) {
	if len(data) > MaxEventSize {
		b.drop("too_large", "event of %d bytes skipped", len(data))
		return
	}
	ev, problems, err := b.parser.Parse(data)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range problems {
		b.router.drop(p.Kind, "%s", p.Detail)
	}
	if err != nil {
		var p teslemetry.Problem
		if errors.As(err, &p) {
			b.router.drop(p.Kind, "event skipped: %s", p.Detail)
		}
		return
	}
	now := b.now()
	if st != nil {
		st.lastEventAt = now
	}
	b.board.eventAt(now) // the time of change the status page shows for this event's values
	b.router.route(st, &ev)
	b.board.eventAt(time.Time{})
}

// Ingest publishes an event that arrived by webhook (README, "Webhooks").
func (b *Bridge) Ingest(ev teslemetry.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.router.route(nil, &ev)
}

// drop counts a skipped input and logs it at most once a minute per kind.
func (b *Bridge) drop(kind, format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.router.drop(kind, format, args...)
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
	vins := make([]string, 0, len(b.router.vehicles))
	for vin := range b.router.vehicles {
		vins = append(vins, vin)
	}
	slices.Sort(vins)
	sites := make([]string, 0, len(b.router.sites))
	for id := range b.router.sites {
		sites = append(sites, id)
	}
	slices.Sort(sites)
	streams := make([]streamInfo, 0, len(b.streams))
	for _, st := range b.streams {
		streams = append(streams, streamInfo{
			Path: st.path, Connected: st.connected, Since: rfc3339OrNull(st.since),
			Reconnects: st.reconnects, LastEventAt: rfc3339OrNull(st.lastEventAt),
		})
	}
	payload, _ := json.Marshal(map[string]any{
		"version": b.version, "started_at": b.startedAt.UTC().Format(time.RFC3339),
		"vins": vins, "sites": sites, "streams": streams, "webhook": b.webhook,
	})
	b.pub.Publish(mqttpub.Value, b.topics.BridgeInfo(), payload)
	b.board.notif.Notify() // streams changed: the status page shows them
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

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// CountDrop counts an input rejected outside the bridge (e.g. a webhook request).
func (b *Bridge) CountDrop(reason string) {
	if b.metrics != nil {
		b.metrics.Dropped.WithLabelValues(reason).Inc()
	}
}
