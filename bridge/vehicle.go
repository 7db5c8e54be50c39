package bridge

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery"
)

// vehicle is what the bridge knows about one VIN.
type vehicle struct {
	vin       string // already a valid topic segment
	stream    *stream
	webhook   bool
	available string // "", "online", "offline"

	device    discovery.Vehicle
	carName   string          // VehicleName as streamed
	announced map[string]bool // discovery objects published: field names, "iface:<x>"
	alerts    map[string]bool // alert name → active
	lastSeen  time.Time
	lastEvent prometheus.Gauge // Metrics.LastEvent of this VIN, resolved once
	derived   derived          // charger power and active route (derived.go)
}

func newVehicle(vin string) *vehicle {
	return &vehicle{
		vin:       vin,
		device:    discovery.Vehicle{VIN: vin},
		announced: map[string]bool{},
		alerts:    map[string]bool{},
	}
}

// deviceFields are data fields that describe the HA device; they are applied
// before the rest of an event so that discovery is right first time.
var deviceFields = map[string]bool{"VehicleName": true, "CarType": true, "Version": true}

// handleVehicleEvent publishes every vehicle part of ev. Caller holds b.mu.
func (b *Bridge) handleVehicleEvent(v *vehicle, ev *teslemetry.Event) {
	b.updateDevice(v, ev.Data)
	b.announceVehicle(v)
	for _, d := range ev.Data {
		b.publishDatum(v, d)
	}
	b.finishDerived(v)
	if ev.State != "" {
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "state"), []byte(ev.State))
	}
	if c := ev.Connectivity; c != nil {
		iface := Segment(c.Interface)
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "connectivity", iface), []byte(Segment(c.Status)))
		b.announce(v, "iface:"+iface, func() []discovery.Message {
			return []discovery.Message{b.disc.ConnectivityEntity(v.device, iface)}
		})
	}
	if ev.Alerts != nil {
		b.publishAlerts(v, ev.Alerts)
	}
	for _, e := range ev.Errors {
		payload, _ := json.Marshal(map[string]any{"name": e.Name, "body": e.Body, "tags": e.Tags, "created_at": rfc3339OrNull(e.CreatedAt)})
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "errors", Segment(e.Name)), payload)
	}
	if ev.Config != nil {
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "config"), ev.Config)
		var cfg struct {
			Fields map[string]json.RawMessage `json:"fields"`
		}
		if json.Unmarshal(ev.Config, &cfg) == nil {
			names := make([]string, 0, len(cfg.Fields))
			for name := range cfg.Fields {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				b.announceField(v, name)
				if f, ok := discovery.Lookup(name); ok && f.DerivedInput().FeedsChargerPower() {
					b.announceChargerPower(v)
				}
			}
		}
	}
	if ev.VehicleData != nil {
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "vehicle_data"), ev.VehicleData)
	}
	seen := ev.CreatedAt
	if seen.IsZero() {
		seen = b.now()
	}
	if seen.After(v.lastSeen) {
		// last_seen has whole seconds: within the same second it would not change.
		if v.lastSeen.IsZero() || seen.Unix() != v.lastSeen.Unix() {
			b.buf = seen.UTC().AppendFormat(b.buf[:0], time.RFC3339)
			b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "last_seen"), b.buf)
			if b.metrics != nil {
				if v.lastEvent == nil {
					v.lastEvent = b.metrics.LastEvent.WithLabelValues(v.vin)
				}
				v.lastEvent.Set(float64(seen.Unix()))
			}
		}
		v.lastSeen = seen
	}
}

// publishDatum publishes one telemetry value and announces its entity the first time.
func (b *Bridge) publishDatum(v *vehicle, d teslemetry.Datum) {
	f, known := discovery.Lookup(d.Field)
	if !known {
		f = discovery.Unknown(d.Field)
	}
	payload, err := b.format.Format(b.buf[:0], f, d.Value)
	if err != nil {
		b.dropLocked("wrong_type", "value of %s skipped: %v", Segment(d.Field), err)
		return
	}
	if in := f.DerivedInput(); in != discovery.InputNone {
		b.observeDerived(v, in, payload)
	}
	b.buf = payload[:0]
	if b.metrics != nil {
		b.metrics.Values.Inc()
	}
	// <base>/<VIN>/v/<Field>, built in a reused buffer: the publisher's cache
	// holds the one copy of each topic name.
	t := append(b.topicBuf[:0], b.topics.base...)
	t = append(t, '/')
	t = append(t, v.vin...)
	t = append(t, "/v/"...)
	t = append(t, Segment(d.Field)...)
	b.topicBuf = t
	b.pub.PublishTopic(mqttpub.Value, t, payload)
	b.announceField(v, d.Field)
}

// updateDevice takes the device name, model and firmware from an event's data.
func (b *Bridge) updateDevice(v *vehicle, data []teslemetry.Datum) {
	changed, nameChanged := false, false
	for _, d := range data {
		if !deviceFields[d.Field] {
			continue
		}
		var s string
		if json.Unmarshal(d.Value, &s) != nil || s == "" {
			continue
		}
		switch d.Field {
		case "VehicleName":
			if s != v.carName {
				v.carName, nameChanged = s, true
			}
		case "CarType":
			f, _ := discovery.Lookup("CarType")
			if m := discovery.ModelName(trimPrefix(s, f.EnumPrefix)); m != "" && m != v.device.Model {
				v.device.Model, changed = m, true
			}
		case "Version":
			if sw := discovery.SoftwareVersion(s); sw != v.device.SWVersion {
				v.device.SWVersion, changed = sw, true
			}
		}
	}
	// The name depends only on the config and the streamed VehicleName (set
	// when the vehicle is created, so only a new VehicleName can change it).
	if nameChanged {
		if name := discovery.DeviceName(b.cfg.VehicleName(v.vin), v.carName, v.vin); name != v.device.Name {
			v.device.Name, changed = name, true
		}
	}
	if changed && len(v.announced) > 0 {
		b.reannounce(v)
	}
}

func trimPrefix(s, prefix string) string {
	if prefix != "" && len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}

// announceVehicle publishes the per-vehicle status entities once.
func (b *Bridge) announceVehicle(v *vehicle) {
	b.announce(v, "vehicle", func() []discovery.Message { return b.disc.VehicleEntities(v.device) })
}

// announceField publishes the entities of one field once.
func (b *Bridge) announceField(v *vehicle, field string) {
	b.announce(v, field, func() []discovery.Message {
		f, ok := discovery.Lookup(field)
		if !ok {
			f = discovery.Unknown(Segment(field))
		}
		return b.disc.FieldEntities(v.device, f)
	})
}

func (b *Bridge) announce(v *vehicle, key string, build func() []discovery.Message) {
	if !b.cfg.HomeAssistant.Discovery || v.announced[key] {
		return
	}
	v.announced[key] = true
	for _, m := range build() {
		b.pub.Publish(mqttpub.Discovery, m.Topic, m.Payload)
	}
}

// reannounce publishes every entity of v again after its device block changed.
func (b *Bridge) reannounce(v *vehicle) {
	keys := make([]string, 0, len(v.announced))
	for k := range v.announced {
		keys = append(keys, k)
	}
	clear(v.announced)
	for _, k := range keys {
		switch {
		case k == "vehicle":
			b.announceVehicle(v)
		case k == chargerPowerKey:
			b.announceChargerPower(v)
		case len(k) > 6 && k[:6] == "iface:":
			iface := k[6:]
			b.announce(v, k, func() []discovery.Message {
				return []discovery.Message{b.disc.ConnectivityEntity(v.device, iface)}
			})
		default:
			b.announceField(v, k)
		}
	}
}

// publishAlerts publishes each alert and the list of active alert names.
func (b *Bridge) publishAlerts(v *vehicle, alerts []teslemetry.Alert) {
	for _, a := range alerts {
		payload, _ := json.Marshal(alertPayload{
			Name: a.Name, Audiences: a.Audiences, StartedAt: rfc3339OrNull(a.StartedAt),
			EndedAt: rfc3339OrNull(a.EndedAt), Active: a.Active(),
		})
		b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "alerts", Segment(a.Name)), payload)
		v.alerts[a.Name] = a.Active()
	}
	b.publishActiveAlerts(v)
}

func (b *Bridge) publishActiveAlerts(v *vehicle) {
	active := []string{}
	for name, on := range v.alerts {
		if on {
			active = append(active, name)
		}
	}
	slices.Sort(active)
	payload, _ := json.Marshal(active)
	b.pub.Publish(mqttpub.Value, b.topics.vehicle(v.vin, "active_alerts"), payload)
}

type alertPayload struct {
	Name      string   `json:"name"`
	Audiences []string `json:"audiences"`
	StartedAt *string  `json:"started_at"`
	EndedAt   *string  `json:"ended_at"`
	Active    bool     `json:"active"`
}

func rfc3339OrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}
