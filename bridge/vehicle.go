package bridge

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// vehicle is what the bridge knows about one VIN.
type vehicle struct {
	vin       string // already a valid topic segment
	stream    *stream
	webhook   bool
	available string // "", "online", "offline"
	state     string // the car's own state from state events; "" before the first

	device  ha.Vehicle
	carName string          // VehicleName as streamed
	alerts  map[string]bool // alert name → active
	// disc is this car's Home Assistant state (what has been announced),
	// owned by the router's homeAssistant; nil with discovery off. The car
	// carries it so that the per-value check costs no extra map lookup.
	disc      *haCar
	lastSeen  time.Time
	lastEvent prometheus.Gauge // Metrics.LastEvent of this VIN, resolved once
	derived   derived          // charger power and active route (derived.go)
	limits    capSet           // names upstream may create for this car (limits.go)
	// maxChargeCurrent is the streamed ChargeCurrentRequestMax (the charge
	// current control's maximum); 0 until seen.
	maxChargeCurrent float64
}

func newVehicle(vin string) *vehicle {
	return &vehicle{
		vin:    vin,
		device: ha.Vehicle{VIN: vin},
		alerts: map[string]bool{},
	}
}

// deviceFields are data fields that describe the HA device; they are applied
// before the rest of an event so that discovery is right first time.
var deviceFields = map[string]bool{"VehicleName": true, "CarType": true, "Version": true}

// routeVehicle publishes every vehicle part of ev.
func (r *router) routeVehicle(v *vehicle, ev *teslemetry.Event) {
	r.updateDevice(v, ev.Data)
	r.ha.announceVehicle(v)
	r.ha.announceCarControls(v)
	for _, d := range ev.Data {
		r.publishDatum(v, d)
	}
	r.finishDerived(v)
	if ev.State != "" {
		v.state = ev.State
		r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.State), []byte(ev.State))
		r.cmds.vehicleState(v.vin, ev.State)
	}
	if c := ev.Connectivity; c != nil {
		iface := topic.Segment(c.Interface)
		if r.admit(v, limitInterface, iface) {
			r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.LevelConnectivity, iface), []byte(topic.Segment(c.Status)))
			r.ha.announceConnectivity(v, iface)
		}
	}
	if ev.Alerts != nil {
		r.publishAlerts(v, ev.Alerts)
	}
	for _, e := range ev.Errors {
		if !r.admit(v, limitError, e.Name) {
			continue
		}
		payload, _ := json.Marshal(map[string]any{"name": e.Name, "body": e.Body, "tags": e.Tags, "created_at": rfc3339OrNull(e.CreatedAt)})
		r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.LevelErrors, topic.Segment(e.Name)), payload)
	}
	if ev.Config != nil {
		r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.Config), ev.Config)
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
				if _, known := catalog.Lookup(name); !known && !r.admit(v, limitUnknownField, name) {
					continue
				}
				r.ha.announceField(v, name)
				if f, ok := catalog.Lookup(name); ok && f.DerivedInput().FeedsChargerPower() {
					r.ha.announceChargerPower(v)
				}
			}
		}
	}
	if ev.VehicleData != nil {
		r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.VehicleData), ev.VehicleData)
	}
	seen := r.lastSeenTime(v, ev.CreatedAt)
	if seen.After(v.lastSeen) {
		// last_seen has whole seconds: within the same second it would not change.
		if v.lastSeen.IsZero() || seen.Unix() != v.lastSeen.Unix() {
			r.buf = seen.UTC().AppendFormat(r.buf[:0], time.RFC3339)
			r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.LastSeen), r.buf)
			if r.metrics != nil {
				if v.lastEvent == nil {
					v.lastEvent = r.metrics.LastEvent.WithLabelValues(v.vin)
				}
				v.lastEvent.Set(float64(seen.Unix()))
			}
		}
		v.lastSeen = seen
	}
}

// publishDatum publishes one telemetry value and announces its entity the first time.
func (r *router) publishDatum(v *vehicle, d teslemetry.Datum) {
	f, known := catalog.Lookup(d.Field)
	if !known {
		if !r.admit(v, limitUnknownField, d.Field) {
			return
		}
		f = catalog.Unknown(d.Field)
	}
	payload, err := r.format.Format(r.buf[:0], f, d.Value)
	if err != nil {
		r.drop("wrong_type", "value of %s skipped: %v", topic.Segment(d.Field), err)
		return
	}
	if in := f.DerivedInput(); in != catalog.InputNone {
		r.observeDerived(v, in, payload)
	}
	r.buf = payload[:0]
	if r.metrics != nil {
		r.metrics.Values.Inc()
	}
	// <base>/<VIN>/v/<Field>, built in a reused buffer: the publisher's cache
	// holds the one copy of each topic name.
	r.topicBuf = r.topics.AppendValue(r.topicBuf[:0], v.vin, d.Field)
	r.pub.PublishTopic(mqttpub.Value, r.topicBuf, payload)
	r.ha.announceField(v, d.Field)
	if r.cmds != nil {
		maxCurrent := v.maxChargeCurrent
		r.cmds.observe(v, d.Field, payload)
		if v.maxChargeCurrent != maxCurrent {
			r.ha.reannounceControl(v, "charge_current")
		}
	}
}

// updateDevice takes the device name, model and firmware from an event's data.
func (r *router) updateDevice(v *vehicle, data []teslemetry.Datum) {
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
			if m := ha.ModelName(s); m != "" && m != v.device.Model {
				v.device.Model, changed = m, true
			}
		case "Version":
			if sw := ha.SoftwareVersion(s); sw != v.device.SWVersion {
				v.device.SWVersion, changed = sw, true
			}
		}
	}
	// The name depends only on the config and the streamed VehicleName (set
	// when the vehicle is created, so only a new VehicleName can change it).
	if nameChanged {
		if name := ha.DeviceName(r.cfg.VehicleName(v.vin), v.carName, v.vin); name != v.device.Name {
			v.device.Name, changed = name, true
		}
	}
	if changed {
		r.ha.reannounce(v)
	}
}

// publishAlerts publishes each alert and the list of active alert names.
func (r *router) publishAlerts(v *vehicle, alerts []teslemetry.Alert) {
	for _, a := range alerts {
		if !r.admit(v, limitAlert, a.Name) {
			continue
		}
		payload, _ := json.Marshal(alertPayload{
			Name: a.Name, Audiences: a.Audiences, StartedAt: rfc3339OrNull(a.StartedAt),
			EndedAt: rfc3339OrNull(a.EndedAt), Active: a.Active(),
		})
		r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.LevelAlerts, topic.Segment(a.Name)), payload)
		v.alerts[a.Name] = a.Active()
	}
	r.publishActiveAlerts(v)
}

func (r *router) publishActiveAlerts(v *vehicle) {
	active := []string{}
	for name, on := range v.alerts {
		if on {
			active = append(active, name)
		}
	}
	slices.Sort(active)
	payload, _ := json.Marshal(active)
	r.pub.Publish(mqttpub.Value, r.topics.Vehicle(v.vin, topic.ActiveAlerts), payload)
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
