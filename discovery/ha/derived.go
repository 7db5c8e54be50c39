package ha

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// ChargerPowerEntity returns the discovery config of the derived charger
// power (catalog.ChargerPower): a power sensor in the unit of ACChargingPower
// and DCChargingPower under o.Units, on the car's device, read from
// <base>/<VIN>/derived/charger_power.
func (o Options) ChargerPowerEntity(v Vehicle) Message {
	ac, _ := catalog.Lookup("ACChargingPower")
	p := ac.Precision
	c := config{Name: "Charger power", DeviceClass: "power", UnitOfMeasurement: ac.UnitFor(o.Units),
		StateClass: "measurement", SuggestedDisplayPrecision: &p, EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, topic.LevelDerived, catalog.ChargerPowerObject), ValueTemplate: tplValue}
	return o.vehicleMessage(v, catalog.ComponentSensor, catalog.ChargerPowerObject, c, nil)
}
