package ha

import (
	"encoding/json"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

func TestChargerPowerEntity(t *testing.T) {
	for _, u := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		o := testOptions
		o.Units = u
		m := o.ChargerPowerEntity(testVehicle)
		if want := "homeassistant/sensor/teslemetry_" + testVehicle.VIN + "/charger_power/config"; m.Topic != want {
			t.Errorf("topic %s, want %s", m.Topic, want)
		}
		var c map[string]any
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{
			"name": "Charger power", "device_class": "power", "unit_of_measurement": "kW", "state_class": "measurement",
			"state_topic": "teslemetry/" + testVehicle.VIN + "/derived/charger_power", "unique_id": "teslemetry_" + testVehicle.VIN + "_charger_power",
			"default_entity_id": "sensor.sparky_charger_power", "enabled_by_default": true, "suggested_display_precision": 1.0,
		} {
			if c[k] != want {
				t.Errorf("%s/%s = %v, want %v", u, k, c[k], want)
			}
		}
		// The derived value is one of its inputs: one unit for all three.
		for _, name := range []string{"ACChargingPower", "DCChargingPower"} {
			if f := field(t, name); f.UnitFor(u) != c["unit_of_measurement"] {
				t.Errorf("%s: %s unit %s differs from the charger power's", u, name, f.UnitFor(u))
			}
		}
	}
}
