package bridge

import (
	"encoding/json"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Publisher is where the router's messages go: the MQTT publisher
// (*mqttpub.Publisher) in production, a recording fake in tests. Both
// methods keep the last value per topic and report whether it changed.
type Publisher interface {
	Publish(class mqttpub.Class, topic string, payload []byte) bool
	// PublishTopic is Publish with the topic in a buffer the caller reuses
	// (the per-value hot path); the publisher copies it when it keeps it.
	PublishTopic(class mqttpub.Class, topic []byte, payload []byte) bool
}

// router is the bridge's routing core: it turns decoded events into
// messages (docs/topics.md, docs/payloads.md) and owns the state they need
// — per car (vehicle), the credits, the drop log. It does no I/O of its own
// beyond its Publisher and its Home Assistant component.
//
// A router is not safe for concurrent use: its owner serialises every call
// (Bridge holds Bridge.mu around each). New kinds of state sit beside
// vehicles: per energy site a map keyed by site id, built by the same
// topic.Scheme.
type router struct {
	cfg     *config.Config
	topics  topic.Scheme
	pub     Publisher
	ha      *homeAssistant // nil with discovery off; its methods are no-ops then
	cmds    *commands      // nil with commands disabled; its methods are no-ops then
	format  teslemetry.Formatter
	log     logrus.FieldLogger
	metrics *Metrics // optional
	now     func() time.Time

	// streams are the bridge's sources, read-only: a car seen first on the
	// account-wide stream belongs to its per-VIN stream when there is one.
	streams []*stream
	// onNewVehicle runs when a car is seen for the first time (the bridge
	// republishes bridge/info and applies teslemetry.fields); optional.
	onNewVehicle func(vin string)
	// onNewSite runs when an energy site is seen for the first time; optional.
	onNewSite func()

	vehicles map[string]*vehicle // by VIN
	sites    map[string]*site    // energy sites by id (sites.go)
	// siteInfoValue hears the site_info values of each site (the site
	// controls); optional.
	siteInfoValue SiteInfoValue
	credits       map[string]json.RawMessage
	caps          routerCaps // bridge-wide caps logged so far (limits.go)

	buf           []byte // payload scratch, reused for every value
	topicBuf      []byte // value-topic scratch, reused for every value
	lastDropLog   map[string]time.Time
	eventCounters map[string]prometheus.Counter // Metrics.Events by kind, resolved once
}

func newRouter(cfg *config.Config, topics topic.Scheme, pub Publisher, h *homeAssistant, format teslemetry.Formatter,
	log logrus.FieldLogger, m *Metrics, now func() time.Time) *router {
	return &router{
		cfg: cfg, topics: topics, pub: pub, ha: h, format: format, log: log, metrics: m, now: now,
		vehicles:      map[string]*vehicle{},
		sites:         map[string]*site{},
		credits:       map[string]json.RawMessage{},
		buf:           make([]byte, 0, 512),
		lastDropLog:   map[string]time.Time{},
		eventCounters: map[string]prometheus.Counter{},
	}
}

// route publishes one decoded event; st is the stream it came on, nil for a
// webhook.
func (r *router) route(st *stream, ev *teslemetry.Event) {
	r.countEvent(ev)
	if ev.Credits != nil {
		r.publishCredits(ev.Credits)
	}
	if ev.Site != nil {
		r.routeSite(st, ev)
	}
	if !ev.IsVehicle() {
		return
	}
	if _, known := r.vehicles[ev.VIN]; !known && !config.ValidVIN(ev.VIN) {
		r.drop("bad_vin", "event with VIN %q skipped", topic.Segment(ev.VIN))
		return
	} else if !known && !r.admitVIN(st, ev.VIN) {
		return
	}
	v := r.vehicle(ev.VIN, st)
	r.routeVehicle(v, ev)
}

// vehicle returns the state of vin, creating it on first sight; st is the
// stream that named it (nil for a webhook or a configured VIN at start).
func (r *router) vehicle(vin string, st *stream) *vehicle {
	v, ok := r.vehicles[vin]
	if !ok {
		v = newVehicle(vin)
		v.device.Name = ha.DeviceName(r.cfg.VehicleName(vin), "", vin)
		r.vehicles[vin] = v
		for _, s := range r.streams {
			if s.vin == vin {
				st = s
			}
		}
		r.publishActiveAlerts(v)
		if r.onNewVehicle != nil {
			defer r.onNewVehicle(vin)
		}
	}
	if v.stream == nil && st != nil {
		v.stream = st
		st.vins[vin] = true
		if st.connected {
			r.setAvailability(v, "online")
		}
	}
	if st == nil && v.stream == nil && !v.webhook {
		// Only webhooks carry it: online from its first webhook event until
		// the bridge stops (docs/availability.md).
		v.webhook = true
		r.setAvailability(v, "online")
	}
	return v
}

// setAvailability publishes <base>/<VIN>/availability when it changes.
func (r *router) setAvailability(v *vehicle, state string) {
	if v.available == state {
		return
	}
	v.available = state
	r.pub.Publish(mqttpub.Availability, r.topics.Vehicle(v.vin, topic.Availability), []byte(state))
}

// offline publishes offline for every car and site (shutdown).
func (r *router) offline() {
	for _, v := range r.vehicles {
		r.setAvailability(v, "offline")
	}
	for _, si := range r.sites {
		r.setSiteAvailability(si, "offline")
	}
}

func (r *router) publishCredits(raw json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	first := len(r.credits) == 0
	for k, v := range m { // balance-only events keep the previous quota
		if r.admitCredit(k) {
			r.credits[k] = v
		}
	}
	payload, _ := json.Marshal(r.credits)
	r.pub.Publish(mqttpub.Value, r.topics.BridgeCredits(), payload)
	if first {
		r.ha.announceBridge(true)
	}
}

func (r *router) countEvent(ev *teslemetry.Event) {
	if r.metrics == nil {
		return
	}
	count := func(kind string, present bool) {
		if present {
			c, ok := r.eventCounters[kind]
			if !ok {
				c = r.metrics.Events.WithLabelValues(kind)
				r.eventCounters[kind] = c
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
func (r *router) drop(kind, format string, args ...any) {
	if r.metrics != nil {
		r.metrics.Dropped.WithLabelValues(kind).Inc()
	}
	now := r.now()
	if last, ok := r.lastDropLog[kind]; ok && now.Sub(last) < time.Minute {
		return
	}
	r.lastDropLog[kind] = now
	r.log.WithField("reason", kind).Warnf(format+" (further %s problems are not logged for a minute)", append(args, kind)...)
}
