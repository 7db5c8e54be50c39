package bridge

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// derived is the state of one car's derived values; the rules are in
// discovery/catalog/derived.go. The zero value is a car with nothing seen yet.
type derived struct {
	charger        catalog.ChargerPower
	chargerIn      catalog.ChargerPowerInputs // inputs of the event being handled
	chargerTopic   string                     // <base>/<VIN>/derived/charger_power, built on first use
	chargerPayload []byte                     // last published; nil before the first
}

// observeDerived records one published value of an input of a derived
// value. It is called only for fields with an input role, so other fields
// pay nothing.
func (r *router) observeDerived(v *vehicle, in catalog.Input, payload []byte) {
	v.derived.chargerIn.Observe(in, payload)
	r.ha.announceChargerPower(v)
}

// finishDerived publishes what an event changed in the derived values, once
// all its values are in.
func (r *router) finishDerived(v *vehicle) {
	d := &v.derived
	if d.chargerIn.Empty() {
		return
	}
	d.charger = d.charger.Apply(d.chargerIn)
	d.chargerIn = catalog.ChargerPowerInputs{}
	kw, known := d.charger.KW()
	if !known {
		return // nothing to say: keep the last published value
	}
	payload := teslemetry.AppendNumber(r.buf[:0], kw) // formatted like the raw power values
	r.buf = payload[:0]
	if d.chargerPayload != nil && string(d.chargerPayload) == string(payload) {
		return
	}
	d.chargerPayload = append(d.chargerPayload[:0], payload...)
	if d.chargerTopic == "" {
		d.chargerTopic = r.topics.Vehicle(v.vin, topic.LevelDerived, catalog.ChargerPowerObject)
	}
	r.pub.Publish(mqttpub.Value, d.chargerTopic, payload)
}
