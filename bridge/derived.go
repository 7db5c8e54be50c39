package bridge

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery"
)

// chargerPowerKey is the announced-entity key of the derived charger power
// (field names are CamelCase, interfaces "iface:<x>": no clash).
const chargerPowerKey = "derived:" + discovery.ChargerPowerObject

// derived is the state of one car's derived values; the rules are in
// discovery/derived.go. The zero value is a car with nothing seen yet.
type derived struct {
	charger        discovery.ChargerPower
	chargerIn      discovery.ChargerPowerInputs // inputs of the event being handled
	chargerTopic   string                       // <base>/<VIN>/derived/charger_power, built on first use
	chargerPayload []byte                       // last published; nil before the first
}

// observeDerived records one published value of an input of a derived
// value. It is called only for fields with an input role, so other fields
// pay nothing.
func (b *Bridge) observeDerived(v *vehicle, in discovery.Input, payload []byte) {
	v.derived.chargerIn.Observe(in, payload)
	b.announceChargerPower(v)
}

// finishDerived publishes what an event changed in the derived values, once
// all its values are in.
func (b *Bridge) finishDerived(v *vehicle) {
	d := &v.derived
	if d.chargerIn.Empty() {
		return
	}
	d.charger = d.charger.Apply(d.chargerIn)
	d.chargerIn = discovery.ChargerPowerInputs{}
	kw, known := d.charger.KW()
	if !known {
		return // nothing to say: keep the last published value
	}
	payload := teslemetry.AppendNumber(b.buf[:0], kw) // formatted like the raw power values
	b.buf = payload[:0]
	if d.chargerPayload != nil && string(d.chargerPayload) == string(payload) {
		return
	}
	d.chargerPayload = append(d.chargerPayload[:0], payload...)
	if d.chargerTopic == "" {
		d.chargerTopic = b.topics.vehicle(v.vin, discovery.DerivedLevel, discovery.ChargerPowerObject)
	}
	b.pub.Publish(mqttpub.Value, d.chargerTopic, payload)
}

// announceChargerPower publishes the derived charger power's entity once.
func (b *Bridge) announceChargerPower(v *vehicle) {
	b.announce(v, chargerPowerKey, func() []discovery.Message {
		return []discovery.Message{b.disc.ChargerPowerEntity(v.device)}
	})
}
