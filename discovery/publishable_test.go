package discovery

import (
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
	for _, units := range []Units{UnitsNative, UnitsMetric, UnitsImperial} {
		for _, base := range []string{"teslemetry", "t2m/home"} {
			o := Options{BaseTopic: base, Prefix: "homeassistant", Units: units, Version: "9.9.9"}
			for _, v := range vehicles {
				for _, f := range All() {
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
	check := func(kind NodeKind, msgs []Message) {
		for _, m := range msgs {
			ct, ok := testOptions.ParseConfigTopic(m.Topic)
			if !ok {
				t.Fatalf("cannot parse %s", m.Topic)
			}
			if !Publishable(kind, ct.Component, ct.Object) {
				t.Errorf("%s: produced but not Publishable(%d, %q, %q)", m.Topic, kind, ct.Component, ct.Object)
			}
		}
	}
	check(NodeVehicle, vehicle)
	check(NodeBridge, bridge)
	if len(vehicle) < 300 {
		t.Fatalf("only %d vehicle messages: the catalog walk is broken", len(vehicle))
	}
	// The sub-entities and the dynamic ones in particular.
	for _, obj := range []string{"DoorState_DriverFront", "DoorState_TrunkRear", "TpmsSoftWarnings_rear_left",
		"FdWindow_open", "connectivity_wifi", "connectivity_cellular", "connectivity_ethernet", "connectivity_satellite",
		"connectivity_lte_5g", "stream"} {
		if !Publishable(NodeVehicle, ComponentBinarySensor, obj) {
			t.Errorf("binary_sensor %s not Publishable", obj)
		}
	}
	if !Publishable(NodeVehicle, ComponentDeviceTracker, "Location") || !Publishable(NodeVehicle, ComponentSensor, ChargerPowerObject) {
		t.Error("Location tracker or charger power not Publishable")
	}
	// A field of newer firmware is published as a sensor when it arrives (Unknown).
	unknown := testOptions.FieldEntities(testVehicle, Unknown("NewFirmwareField"))
	for _, m := range unknown {
		ct, _ := testOptions.ParseConfigTopic(m.Topic)
		if !Publishable(NodeVehicle, ct.Component, ct.Object) {
			t.Errorf("unknown field entity %s not Publishable", m.Topic)
		}
	}
	if len(unknown) != 1 {
		t.Errorf("unknown field: %d entities, want 1", len(unknown))
	}
}

func TestMadeUpEntitiesAreNotPublishable(t *testing.T) {
	for _, tc := range []struct {
		kind              NodeKind
		component, object string
	}{
		{NodeVehicle, ComponentSensor, "old_field"},                // a dropped non-field entity
		{NodeVehicle, ComponentBinarySensor, "NewFirmwareField"},   // unknown fields are sensors
		{NodeVehicle, ComponentBinarySensor, "BatteryLevel"},       // real field, wrong component
		{NodeVehicle, ComponentDeviceTracker, "BatteryLevel"},      // real field, wrong component
		{NodeVehicle, ComponentBinarySensor, "DoorState"},          // only its six doors are entities
		{NodeVehicle, ComponentBinarySensor, "DoorState_Sunroof"},  // not a door
		{NodeVehicle, ComponentSensor, "FdWindow_open"},            // the open sensor is a binary_sensor
		{NodeVehicle, ComponentSensor, "Deprecated_1"},             // placeholders get no entity
		{NodeVehicle, ComponentSensor, "connectivity_wifi"},        // connectivity is a binary_sensor
		{NodeVehicle, ComponentBinarySensor, "connectivity_WiFi"},  // interfaces are lower-cased
		{NodeVehicle, ComponentBinarySensor, "connectivity_wi.fi"}, // and sanitised to id characters
		{NodeVehicle, ComponentSensor, "credit_balance"},           // a bridge entity
		{NodeVehicle, "switch", "BatteryLevel"},                    // a component the bridge never uses
		{NodeBridge, ComponentSensor, "BatteryLevel"},              // a vehicle entity
		{NodeBridge, ComponentBinarySensor, "connectivity_wifi"},   // a vehicle entity
		{NodeBridge, ComponentSensor, "uptime"},
		{NodeNone, ComponentSensor, "BatteryLevel"},
	} {
		if Publishable(tc.kind, tc.component, tc.object) {
			t.Errorf("Publishable(%d, %q, %q) = true", tc.kind, tc.component, tc.object)
		}
	}
}

func TestParseConfigTopicAndOwnNode(t *testing.T) {
	o := testOptions
	if ct, ok := o.ParseConfigTopic("homeassistant/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/config"); !ok ||
		ct != (ConfigTopic{"sensor", "teslemetry_5YJ3E7EB9NF123456", "BatteryLevel"}) {
		t.Errorf("ParseConfigTopic = %+v, %v", ct, ok)
	}
	for _, bad := range []string{
		"homeassistant/sensor/BatteryLevel/config", // no node level
		"homeassistant/device/x/config",
		"other/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/config",
		"homeassistant/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/state",
		"homeassistant/sensor/a/b/c/config",
		"homeassistant/sensor//x/config",
	} {
		if ct, ok := o.ParseConfigTopic(bad); ok {
			t.Errorf("ParseConfigTopic(%q) = %+v", bad, ct)
		}
	}
	for node, want := range map[string]struct {
		kind NodeKind
		vin  string
	}{
		"teslemetry_bridge":                      {NodeBridge, ""},
		"teslemetry_5YJ3E7EB9NF123456":           {NodeVehicle, "5YJ3E7EB9NF123456"},
		"teslemetry_x_5YJ3E7EB9NF123456":         {NodeVehicle, "x_5YJ3E7EB9NF123456"}, // the caller's VIN check rejects it
		"other_5YJ3E7EB9NF123456":                {NodeNone, ""},
		"teslemetry":                             {NodeNone, ""},
		"teslemetry_":                            {NodeNone, ""},
		"zigbee2mqtt_0x00158d0001a2b3c4":         {NodeNone, ""},
		"teslemetry2mqtt_bridge":                 {NodeNone, ""},
		"teslemetryX_bridge":                     {NodeNone, ""},
		"teslemetry_5YJ3E7EB9NF12345" + "\u00e9": {NodeNone, ""},
	} {
		if kind, vin := o.OwnNode(node); kind != want.kind || vin != want.vin {
			t.Errorf("OwnNode(%q) = %d, %q; want %d, %q", node, kind, vin, want.kind, want.vin)
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
	slash := Options{BaseTopic: "teslemetry/x", Prefix: "homeassistant"}
	underscore := Options{BaseTopic: "teslemetry_x", Prefix: "homeassistant"}
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
