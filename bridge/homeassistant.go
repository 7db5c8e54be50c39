package bridge

import (
	"context"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// homeAssistant is the bridge's Home Assistant side (docs/topics.md, "Home
// Assistant discovery"): it announces each entity once (and again when a
// car's device block changes), has everything republished when Home
// Assistant comes online, and removes stale discovery configs after each
// connect. A bridge has one when discovery is on and none (nil) when it is
// off: every method is a no-op on a nil *homeAssistant, so callers never
// check.
//
// Like the router it is not safe for concurrent use, except for the
// handlers it gives the publisher (subscriptions, onRepublished) and run.
type homeAssistant struct {
	opts        ha.Options
	pub         Publisher
	statusTopic string // Home Assistant's birth/last-will topic
	republish   func() // asks the publisher to republish everything; set by attach
	log         logrus.FieldLogger
	cleanup     *staleCleanup // set by attach
	controls    *haControls   // control entities; nil with commands disabled (controls.go)
	// siteAnnounced holds the site controls published, "<site id>/<control>".
	siteAnnounced map[string]bool
}

// haCar is what the Home Assistant component knows about one car.
type haCar struct {
	// announced holds the discovery objects published: field names,
	// "vehicle", "iface:<x>" and chargerPowerKey.
	announced map[string]bool
}

// Announced-entity keys besides field names (CamelCase, so no clash).
const (
	vehicleKey      = "vehicle"
	ifaceKeyPrefix  = "iface:"
	chargerPowerKey = "derived:" + catalog.ChargerPowerObject
	fieldsStatusKey = "status:" + ha.StreamingConfigObject
)

// newHomeAssistant returns the component, or nil when discovery is off.
func newHomeAssistant(enabled bool, opts ha.Options, statusTopic string, log logrus.FieldLogger) *homeAssistant {
	if !enabled {
		return nil
	}
	return &homeAssistant{opts: opts, statusTopic: statusTopic, log: log}
}

// attach connects the component to the MQTT publisher it was made for.
func (h *homeAssistant) attach(pub *mqttpub.Publisher, cleanup *staleCleanup) {
	if h == nil {
		return
	}
	h.pub, h.republish, h.cleanup = pub, pub.RequestRepublish, cleanup
}

// subscriptions are the publisher's subscriptions for Home Assistant: its
// birth message asks for a full republish.
func (h *homeAssistant) subscriptions() map[string]func(mqttpub.Message) {
	if h == nil {
		return nil
	}
	return map[string]func(mqttpub.Message){
		h.statusTopic: func(m mqttpub.Message) {
			if strings.TrimSpace(string(m.Payload)) == "online" {
				h.log.Info("Home Assistant came online; republishing discovery and states")
				h.republish()
			}
		},
	}
}

// onRepublished is the publisher's OnRepublished hook: once everything is
// republished after a (re)connect, a stale-config cleanup pass is due. It
// returns at once.
func (h *homeAssistant) onRepublished() {
	if h == nil || h.cleanup == nil {
		return
	}
	h.cleanup.request()
}

// run runs the stale-config cleanup until ctx ends.
func (h *homeAssistant) run(ctx context.Context) {
	if h == nil || h.cleanup == nil {
		return
	}
	h.cleanup.run(ctx)
}

// announceBridge publishes the bridge device's entities; withCredits adds
// the credit balance (once credits events arrive).
func (h *homeAssistant) announceBridge(withCredits bool) {
	if h == nil {
		return
	}
	h.publish(h.opts.BridgeEntities(withCredits)...)
}

func (h *homeAssistant) car(v *vehicle) *haCar {
	if v.disc == nil {
		v.disc = &haCar{announced: map[string]bool{}}
	}
	return v.disc
}

// announced reports whether key is announced for v, and marks it so.
func (h *homeAssistant) firstTime(v *vehicle, key string) bool {
	c := h.car(v)
	if c.announced[key] {
		return false
	}
	c.announced[key] = true
	return true
}

// announceVehicle publishes the per-vehicle status entities once.
func (h *homeAssistant) announceVehicle(v *vehicle) {
	if h == nil || !h.firstTime(v, vehicleKey) {
		return
	}
	h.publish(h.opts.VehicleEntities(v.device)...)
}

// announceField publishes the entities of one field once. It runs for
// every value: announced fields cost one map lookup.
func (h *homeAssistant) announceField(v *vehicle, field string) {
	if h == nil || !h.firstTime(v, field) {
		return
	}
	f, ok := catalog.Lookup(field)
	if !ok {
		f = catalog.Unknown(topic.Segment(field))
	}
	h.publish(h.opts.FieldEntities(v.device, f)...)
	h.announceFieldControls(v, field)
}

// announceConnectivity publishes the entity of one network interface once;
// iface is the topic level the bridge publishes.
func (h *homeAssistant) announceConnectivity(v *vehicle, iface string) {
	if h == nil || !h.firstTime(v, ifaceKeyPrefix+iface) {
		return
	}
	h.publish(h.opts.ConnectivityEntity(v.device, iface))
}

// announceChargerPower publishes the derived charger power's entity once.
func (h *homeAssistant) announceChargerPower(v *vehicle) {
	if h == nil || !h.firstTime(v, chargerPowerKey) {
		return
	}
	h.publish(h.opts.ChargerPowerEntity(v.device))
}

// announceFieldsStatus publishes the car's "Streaming config" sensor once
// (docs/fields.md); only cars the bridge applies teslemetry.fields to have one.
func (h *homeAssistant) announceFieldsStatus(v *vehicle) {
	if h == nil || !h.firstTime(v, fieldsStatusKey) {
		return
	}
	h.publish(h.opts.FieldsStatusEntity(v.device))
}

// reannounce publishes every entity of v again after its device block
// changed; nothing when nothing was announced yet.
func (h *homeAssistant) reannounce(v *vehicle) {
	if h == nil || v.disc == nil || len(v.disc.announced) == 0 {
		return
	}
	keys := make([]string, 0, len(v.disc.announced))
	for k := range v.disc.announced {
		keys = append(keys, k)
	}
	clear(v.disc.announced)
	for _, k := range keys {
		switch {
		case k == vehicleKey:
			h.announceVehicle(v)
		case k == chargerPowerKey:
			h.announceChargerPower(v)
		case k == fieldsStatusKey:
			h.announceFieldsStatus(v)
		case strings.HasPrefix(k, ifaceKeyPrefix):
			h.announceConnectivity(v, k[len(ifaceKeyPrefix):])
		case h.reannounceControlKey(v, k):
		default:
			h.announceField(v, k)
		}
	}
}

func (h *homeAssistant) publish(msgs ...ha.Message) {
	for _, m := range msgs {
		h.pub.Publish(mqttpub.Discovery, m.Topic, m.Payload)
	}
}
