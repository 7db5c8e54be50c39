package ha

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"

	"strings"
	"testing"
)

// everyMessage returns every discovery config this version can produce for a
// vehicle and for the bridge: every catalog field (sub-entities included)
// under every units setting and device state, the status entities, many
// interface names, the derived charger power and the bridge's entities.
func everyMessage(t *testing.T) (vehicle, bridge []Message) {
	t.Helper()
	vehicles := []Vehicle{testVehicle, {VIN: "7SAYGDEE1PA098765", Name: DeviceName("", "", "7SAYGDEE1PA098765")}}
	ifaces := []string{"wifi", "cellular", "ethernet", "Satellite", "WiFi", "bt-le_2", "lte.5g", "_"}
	for _, units := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		for _, base := range []string{"teslemetry", "t2m/home"} {
			o := Options{Topics: topic.New(base, "homeassistant"), Units: units, Version: "9.9.9"}
			for _, v := range vehicles {
				for _, f := range catalog.All() {
					vehicle = append(vehicle, o.FieldEntities(v, f)...)
				}
				vehicle = append(vehicle, o.VehicleEntities(v)...)
				vehicle = append(vehicle, o.ChargerPowerEntity(v))
				for _, iface := range ifaces {
					vehicle = append(vehicle, o.ConnectivityEntity(v, iface))
				}
			}
			bridge = append(bridge, o.BridgeEntities(false)...)
			bridge = append(bridge, o.BridgeEntities(true)...)
		}
	}
	return vehicle, bridge
}

func TestEveryProducedMessageIsPublishable(t *testing.T) {
	vehicle, bridge := everyMessage(t)
	check := func(kind topic.Kind, msgs []Message) {
		for _, m := range msgs {
			ct, ok := testOptions.Topics.ParseConfig(m.Topic)
			if !ok {
				t.Fatalf("cannot parse %s", m.Topic)
			}
			if !Publishable(kind, ct.Component, ct.Object) {
				t.Errorf("%s: produced but not Publishable(%d, %q, %q)", m.Topic, kind, ct.Component, ct.Object)
			}
		}
	}
	check(topic.Vehicle, vehicle)
	check(topic.Bridge, bridge)
	if len(vehicle) < 300 {
		t.Fatalf("only %d vehicle messages: the catalog walk is broken", len(vehicle))
	}
	// The sub-entities and the dynamic ones in particular.
	for _, obj := range []string{"DoorState_DriverFront", "DoorState_TrunkRear", "TpmsSoftWarnings_rear_left",
		"FdWindow_open", "connectivity_wifi", "connectivity_cellular", "connectivity_ethernet", "connectivity_satellite",
		"connectivity_lte_5g", "stream"} {
		if !Publishable(topic.Vehicle, catalog.ComponentBinarySensor, obj) {
			t.Errorf("binary_sensor %s not Publishable", obj)
		}
	}
	if !Publishable(topic.Vehicle, catalog.ComponentDeviceTracker, "Location") || !Publishable(topic.Vehicle, catalog.ComponentSensor, catalog.ChargerPowerObject) {
		t.Error("Location tracker or charger power not Publishable")
	}
	// A field of newer firmware is published as a sensor when it arrives (catalog.Unknown).
	unknown := testOptions.FieldEntities(testVehicle, catalog.Unknown("NewFirmwareField"))
	for _, m := range unknown {
		ct, _ := testOptions.Topics.ParseConfig(m.Topic)
		if !Publishable(topic.Vehicle, ct.Component, ct.Object) {
			t.Errorf("unknown field entity %s not Publishable", m.Topic)
		}
	}
	if len(unknown) != 1 {
		t.Errorf("unknown field: %d entities, want 1", len(unknown))
	}
}

func TestMadeUpEntitiesAreNotPublishable(t *testing.T) {
	for _, tc := range []struct {
		kind              topic.Kind
		component, object string
	}{
		{topic.Vehicle, catalog.ComponentSensor, "old_field"},                // a dropped non-field entity
		{topic.Vehicle, catalog.ComponentBinarySensor, "NewFirmwareField"},   // unknown fields are sensors
		{topic.Vehicle, catalog.ComponentBinarySensor, "BatteryLevel"},       // real field, wrong component
		{topic.Vehicle, catalog.ComponentDeviceTracker, "BatteryLevel"},      // real field, wrong component
		{topic.Vehicle, catalog.ComponentBinarySensor, "DoorState"},          // only its six doors are entities
		{topic.Vehicle, catalog.ComponentBinarySensor, "DoorState_Sunroof"},  // not a door
		{topic.Vehicle, catalog.ComponentSensor, "FdWindow_open"},            // the open sensor is a binary_sensor
		{topic.Vehicle, catalog.ComponentSensor, "Deprecated_1"},             // placeholders get no entity
		{topic.Vehicle, catalog.ComponentSensor, "connectivity_wifi"},        // connectivity is a binary_sensor
		{topic.Vehicle, catalog.ComponentBinarySensor, "connectivity_WiFi"},  // interfaces are lower-cased
		{topic.Vehicle, catalog.ComponentBinarySensor, "connectivity_wi.fi"}, // and sanitised to id characters
		{topic.Vehicle, catalog.ComponentSensor, "credit_balance"},           // a bridge entity
		{topic.Vehicle, "switch", "BatteryLevel"},                            // a component the bridge never uses
		{topic.Bridge, catalog.ComponentSensor, "BatteryLevel"},              // a vehicle entity
		{topic.Bridge, catalog.ComponentBinarySensor, "connectivity_wifi"},   // a vehicle entity
		{topic.Bridge, catalog.ComponentSensor, "uptime"},
		{topic.None, catalog.ComponentSensor, "BatteryLevel"},
	} {
		if Publishable(tc.kind, tc.component, tc.object) {
			t.Errorf("Publishable(%d, %q, %q) = true", tc.kind, tc.component, tc.object)
		}
	}
}

func TestOursChecksOriginDeviceAndBase(t *testing.T) {
	o := testOptions
	node := "teslemetry_" + testVehicle.VIN
	for _, m := range append(o.FieldEntities(testVehicle, field(t, "Location")), o.VehicleEntities(testVehicle)...) {
		if !o.Ours(node, m.Payload) {
			t.Errorf("own config not Ours: %s", m.Topic)
		}
	}
	for _, m := range o.BridgeEntities(true) {
		if !o.Ours("teslemetry_bridge", m.Payload) || o.Ours(node, m.Payload) {
			t.Errorf("bridge config ownership wrong: %s", m.Topic)
		}
	}
	own := string(o.FieldEntities(testVehicle, field(t, "BatteryLevel"))[0].Payload)
	slash := Options{Topics: topic.New("teslemetry/x", "homeassistant")}
	underscore := Options{Topics: topic.New("teslemetry_x", "homeassistant")}
	twin := string(slash.FieldEntities(testVehicle, field(t, "BatteryLevel"))[0].Payload)
	for name, payload := range map[string]string{
		"not JSON":           "OFF",
		"JSON array":         "[1]",
		"empty":              "",
		"other origin":       strings.Replace(own, `"name":"teslemetry2mqtt"`, `"name":"zigbee2mqtt"`, 1),
		"no origin":          `{"state_topic":"teslemetry/x","device":{"identifiers":["` + node + `"]}}`,
		"abbreviated origin": `{"stat_t":"teslemetry/x","dev":{"ids":["` + node + `"]},"o":{"name":"teslemetry2mqtt"}}`,
		"other device":       strings.Replace(own, `"identifiers":["`+node+`"]`, `"identifiers":["teslemetry_7SAYGDEE1PA098765"]`, 1),
		"state outside base": strings.ReplaceAll(own, `"teslemetry/`, `"elsewhere/`),
		"slash twin of a_b":  twin,
	} {
		n := node
		if name == "slash twin of a_b" {
			n = "teslemetry_x_" + testVehicle.VIN // same node id as base teslemetry_x
			if !slash.Ours(n, []byte(twin)) {
				t.Error("twin not ours for its own bridge")
			}
			if underscore.Ours(n, []byte(payload)) {
				t.Error("base teslemetry_x claims the configs of base teslemetry/x")
			}
			continue
		}
		if o.Ours(n, []byte(payload)) {
			t.Errorf("%s: Ours = true", name)
		}
	}
}
