package ha

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"

	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Home Assistant's rules for MQTT discovery configs (what it accepts and rejects),
// encoded as the subset of homeassistant/components/sensor/const.py and
// mqtt/sensor.py this catalog can hit. A device class missing here fails the
// test: add it deliberately, with HA's units and state classes.

// sensorClassUnits is DEVICE_CLASS_UNITS for the classes in use; nil = no unit.
var sensorClassUnits = map[string][]string{
	"battery":        {"%"},
	"current":        {"A", "mA"},
	"distance":       {"km", "m", "cm", "mm", "mi", "ft", "yd", "in", "nmi"},
	"duration":       {"d", "h", "min", "s", "ms"},
	"energy":         {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	"energy_storage": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	"power":          {"mW", "W", "kW", "MW", "GW", "TW"},
	"pressure":       {"Pa", "hPa", "kPa", "MPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"},
	"speed":          {"km/h", "mph", "m/s", "ft/s", "kn", "mm/s", "in/s", "mm/h", "in/h", "mm/d", "in/d", "Beaufort"},
	"temperature":    {"°C", "°F", "K"},
	"voltage":        {"V", "mV", "µV", "kV", "MV"},
	"enum":           nil,
	"timestamp":      nil,
}

// sensorClassStates is DEVICE_CLASS_STATE_CLASSES for the classes in use; ""
// is a sensor without device class, which may use any state class.
var sensorClassStates = map[string][]string{
	"":               {"measurement", "measurement_angle", "total", "total_increasing"},
	"battery":        {"measurement"},
	"current":        {"measurement"},
	"distance":       {"measurement", "total", "total_increasing"},
	"duration":       {"measurement", "total", "total_increasing"},
	"energy":         {"total", "total_increasing"},
	"energy_storage": {"measurement"},
	"power":          {"measurement"},
	"pressure":       {"measurement"},
	"speed":          {"measurement"},
	"temperature":    {"measurement"},
	"voltage":        {"measurement"},
	"enum":           {},
	"timestamp":      {},
}

// binaryClasses is BinarySensorDeviceClass.
var binaryClasses = []string{
	"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
	"gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
	"power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update",
	"vibration", "window",
}

// fullKeys are the (unabbreviated) config keys the bridge may send.
var fullKeys = []string{
	"name", "unique_id", "default_entity_id", "device_class", "unit_of_measurement", "state_class",
	"suggested_display_precision", "options", "entity_category", "enabled_by_default", "icon",
	"state_topic", "value_template", "payload_on", "payload_off", "json_attributes_topic",
	"json_attributes_template", "source_type", "availability", "availability_mode", "device", "origin",
}

var (
	reConfigTopic = regexp.MustCompile(`^([^/+#]+)/(sensor|binary_sensor|device_tracker)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config$`)
	reEntityID    = regexp.MustCompile(`^([a-z_]+)\.([a-z0-9]+(?:_[a-z0-9]+)*)$`)
)

var (
	testOptions = Options{Topics: topic.New("teslemetry", "homeassistant"), Units: catalog.UnitsNative, Version: "1.2.3"}
	testVehicle = Vehicle{VIN: "5YJ3E7EB9NF123456", Name: "Sparky", Model: "Model 3", SWVersion: "2026.26.6"}
)

// entity is a decoded discovery config with where it came from.
type entity struct {
	topic, component, node, object string
	c                              map[string]any
}

func (e entity) str(key string) string { s, _ := e.c[key].(string); return s }

func decode(t *testing.T, m Message) entity {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(m.Payload, &c); err != nil {
		t.Fatalf("%s: payload is not a JSON object: %v", m.Topic, err)
	}
	sub := reConfigTopic.FindStringSubmatch(m.Topic)
	if sub == nil {
		t.Fatalf("bad discovery topic %q", m.Topic)
	}
	return entity{topic: m.Topic, component: sub[2], node: sub[3], object: sub[4], c: c}
}

// checkEntity applies the rules every config must satisfy. avail is the
// expected availability topics (nil: no availability at all).
func checkEntity(t *testing.T, o Options, e entity, avail []string) {
	t.Helper()
	where := e.topic
	fail := func(format string, args ...any) { t.Helper(); t.Errorf(where+": "+format, args...) }
	for k := range e.c {
		if !slices.Contains(fullKeys, k) {
			fail("unexpected key %q (abbreviated or unsupported; object_id is never sent)", k)
		}
	}
	if !strings.HasPrefix(e.topic, o.Topics.DiscoveryPrefix()+"/") {
		fail("topic outside the discovery prefix")
	}
	if e.str("name") == "" {
		fail("no name")
	}
	if e.str("unique_id") != e.node+"_"+e.object {
		fail("unique_id %q, want %q", e.str("unique_id"), e.node+"_"+e.object)
	}
	id := reEntityID.FindStringSubmatch(e.str("default_entity_id"))
	if id == nil {
		fail("default_entity_id %q is not a valid entity id", e.str("default_entity_id"))
	} else if id[1] != e.component {
		fail("default_entity_id domain %s, component %s", id[1], e.component)
	}
	if _, ok := e.c["enabled_by_default"].(bool); !ok {
		fail("enabled_by_default missing")
	}
	if cat, ok := e.c["entity_category"]; ok && cat != "diagnostic" {
		fail("entity_category %v: read-only entities only allow diagnostic", cat)
	}
	if icon := e.str("icon"); icon != "" && !strings.HasPrefix(icon, "mdi:") {
		fail("icon %q", icon)
	}
	// Availability: a list, never availability_topic, mode all.
	var got []string
	if list, ok := e.c["availability"].([]any); ok {
		for _, a := range list {
			m, _ := a.(map[string]any)
			topic, _ := m["topic"].(string)
			got = append(got, topic)
			if len(m) != 1 {
				fail("availability entry %v: only topic expected (online/offline are the defaults)", m)
			}
		}
		if e.str("availability_mode") != "all" {
			fail("availability_mode %q, want all", e.str("availability_mode"))
		}
	} else if _, ok := e.c["availability_mode"]; ok {
		fail("availability_mode without availability")
	}
	if !slices.Equal(got, avail) {
		fail("availability %v, want %v", got, avail)
	}
	// Device and origin.
	dev, _ := e.c["device"].(map[string]any)
	ids, _ := dev["identifiers"].([]any)
	if len(ids) != 1 || ids[0] != e.node {
		fail("device identifiers %v, want [%s]", ids, e.node)
	}
	if name, _ := dev["name"].(string); name == "" {
		fail("device without name")
	}
	org, _ := e.c["origin"].(map[string]any)
	if org["name"] != "teslemetry2mqtt" || org["support_url"] == "" {
		fail("origin %v", org)
	}

	switch e.component {
	case catalog.ComponentSensor:
		checkSensor(fail, e)
	case catalog.ComponentBinarySensor:
		checkBinarySensor(fail, e)
	case catalog.ComponentDeviceTracker:
		if e.str("json_attributes_topic") == "" || e.str("source_type") != "gps" || e.c["state_topic"] != nil {
			fail("device_tracker needs json_attributes_topic and source_type gps, no state_topic")
		}
		if !strings.Contains(e.str("json_attributes_template"), "'gps_accuracy': 10") {
			fail("device_tracker without a non-zero gps_accuracy")
		}
		for _, k := range []string{"device_class", "unit_of_measurement", "state_class", "options", "value_template"} {
			if _, ok := e.c[k]; ok {
				fail("device_tracker with %s", k)
			}
		}
	}
}

func checkSensor(fail func(string, ...any), e entity) {
	class, unit, state := e.str("device_class"), e.str("unit_of_measurement"), e.str("state_class")
	if e.str("state_topic") == "" {
		fail("sensor without state_topic")
	}
	units, known := sensorClassUnits[class]
	if class != "" && !known {
		fail("device_class %q not in the encoded HA rules", class)
	}
	if class != "" && known {
		switch {
		case units == nil && unit != "":
			fail("unit %q not allowed with device_class %s", unit, class)
		case units != nil && !slices.Contains(units, unit):
			fail("unit %q not valid for device_class %s", unit, class)
		}
	}
	if state != "" && !slices.Contains(sensorClassStates[class], state) {
		fail("state_class %s not allowed with device_class %q", state, class)
	}
	if state == "measurement_angle" && (unit != "°" || class != "") {
		fail("measurement_angle needs unit ° and no device_class")
	}
	opts, hasOpts := e.c["options"].([]any)
	if hasOpts || class == "enum" {
		if class != "enum" || len(opts) == 0 || unit != "" || state != "" {
			fail("options need device_class enum, no unit, no state_class, and must not be empty")
		}
		// Every option must survive the template: it is listed there.
		for _, o := range opts {
			if !strings.Contains(e.str("value_template"), "'"+o.(string)+"'") {
				fail("option %v not accepted by value_template", o)
			}
		}
	}
	if p, ok := e.c["suggested_display_precision"]; ok {
		if f, _ := p.(float64); f < 0 || f != float64(int(f)) {
			fail("suggested_display_precision %v", p)
		}
		if unit == "" && state == "" && class == "" {
			fail("suggested_display_precision on a non-numeric sensor")
		}
	}
	for _, k := range []string{"payload_on", "payload_off", "source_type"} {
		if _, ok := e.c[k]; ok {
			fail("sensor with %s", k)
		}
	}
}

func checkBinarySensor(fail func(string, ...any), e entity) {
	if class := e.str("device_class"); class != "" && !slices.Contains(binaryClasses, class) {
		fail("binary_sensor device_class %q", class)
	}
	on, off := e.str("payload_on"), e.str("payload_off")
	if on == "" || off == "" || on == off {
		fail("payload_on %q / payload_off %q", on, off)
	}
	if e.str("state_topic") == "" {
		fail("binary_sensor without state_topic")
	}
	for _, k := range []string{"unit_of_measurement", "state_class", "options", "suggested_display_precision"} {
		if _, ok := e.c[k]; ok {
			fail("binary_sensor with %s", k)
		}
	}
}

// vehicleEntities returns every config the bridge can publish for one car.
func vehicleEntities(o Options, v Vehicle) []Message {
	var msgs []Message
	for _, f := range catalog.All() {
		msgs = append(msgs, o.FieldEntities(v, f)...)
	}
	msgs = append(msgs, o.FieldEntities(v, catalog.Unknown("SomeFutureField"))...)
	msgs = append(msgs, o.VehicleEntities(v)...)
	msgs = append(msgs, o.ChargerPowerEntity(v))
	for _, iface := range []string{"wifi", "cellular", "ethernet"} {
		msgs = append(msgs, o.ConnectivityEntity(v, iface))
	}
	return msgs
}

func TestHARulesEveryEntity(t *testing.T) {
	for _, u := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		o := testOptions
		o.Units = u
		base, vin := o.Topics.Base(), testVehicle.VIN
		both := []string{base + "/bridge/state", base + "/" + vin + "/availability"}
		uniqueIDs, entityIDs := map[string]string{}, map[string]string{}
		for _, m := range vehicleEntities(o, testVehicle) {
			e := decode(t, m)
			avail := both
			if e.object == "stream" {
				avail = both[:1] // reports the VIN availability, so only depends on the bridge
			}
			checkEntity(t, o, e, avail)
			if e.node != "teslemetry_"+vin {
				t.Errorf("%s: node %s", m.Topic, e.node)
			}
			dev := e.c["device"].(map[string]any)
			if dev["manufacturer"] != "Tesla" || dev["serial_number"] != vin || dev["via_device"] != "teslemetry_bridge" ||
				dev["name"] != "Sparky" || dev["model"] != "Model 3" || dev["sw_version"] != "2026.26.6" {
				t.Errorf("%s: device %v", m.Topic, dev)
			}
			if !strings.HasPrefix(e.str("default_entity_id"), e.component+".sparky_") {
				t.Errorf("%s: default_entity_id %s lacks the vehicle slug", m.Topic, e.str("default_entity_id"))
			}
			for id, seen := range map[string]map[string]string{e.str("unique_id"): uniqueIDs, e.str("default_entity_id"): entityIDs} {
				if prev, dup := seen[id]; dup {
					t.Errorf("%s and %s share id %s", prev, m.Topic, id)
				}
				seen[id] = m.Topic
			}
			// Entities reading v/<Field> must render the bridge's null as None.
			if read := e.str("state_topic") + e.str("json_attributes_topic"); strings.Contains(read, "/v/") {
				tpl := e.str("value_template") + e.str("json_attributes_template")
				if !strings.Contains(tpl, "None") && !strings.Contains(tpl, "is mapping else '{}'") {
					t.Errorf("%s: template %q does not map null to unknown", m.Topic, tpl)
				}
			}
		}
	}
}

func TestHARulesBridge(t *testing.T) {
	msgs := testOptions.BridgeEntities(true)
	if len(msgs) != 2 || len(testOptions.BridgeEntities(false)) != 1 {
		t.Fatalf("bridge entities: %d with credits", len(msgs))
	}
	for i, m := range msgs {
		e := decode(t, m)
		var avail []string // Connection state reports the bridge state itself
		if i == 1 {
			avail = []string{"teslemetry/bridge/state"}
		}
		checkEntity(t, testOptions, e, avail)
		dev := e.c["device"].(map[string]any)
		if e.node != "teslemetry_bridge" || dev["name"] != "Teslemetry2MQTT" || dev["via_device"] != nil || dev["sw_version"] != "1.2.3" {
			t.Errorf("%s: bridge device %v", m.Topic, dev)
		}
	}
}

// TestFieldEntityShapes checks the entity count and topics per kind.
func TestFieldEntityShapes(t *testing.T) {
	o, v := testOptions, testVehicle
	want := map[string][]string{ // field → component/object of each config
		"BatteryLevel":     {"sensor/BatteryLevel"},
		"Locked":           {"binary_sensor/Locked"},
		"Location":         {"device_tracker/Location"},
		"FdWindow":         {"sensor/FdWindow", "binary_sensor/FdWindow_open"},
		"TpmsSoftWarnings": {"binary_sensor/TpmsSoftWarnings_front_left", "binary_sensor/TpmsSoftWarnings_front_right", "binary_sensor/TpmsSoftWarnings_rear_left", "binary_sensor/TpmsSoftWarnings_rear_right"},
		"DoorState": {"binary_sensor/DoorState_DriverFront", "binary_sensor/DoorState_DriverRear", "binary_sensor/DoorState_PassengerFront",
			"binary_sensor/DoorState_PassengerRear", "binary_sensor/DoorState_TrunkFront", "binary_sensor/DoorState_TrunkRear"},
		"Experimental_3": nil,
		"Unknown":        nil,
	}
	for name, objects := range want {
		f, _ := catalog.Lookup(name)
		var got []string
		for _, m := range o.FieldEntities(v, f) {
			e := decode(t, m)
			got = append(got, e.component+"/"+e.object)
			if read := e.str("state_topic") + e.str("json_attributes_topic"); read != "teslemetry/"+v.VIN+"/v/"+name {
				t.Errorf("%s: reads %q", m.Topic, read)
			}
		}
		if !slices.Equal(got, objects) {
			t.Errorf("%s: entities %v, want %v", name, got, objects)
		}
	}
	if o.FieldEntities(v, nil) != nil {
		t.Error("nil field gave entities")
	}
}

// TestUnitsDeclared checks that the unit in every numeric config is the one
// Convert publishes under that mode and that HA accepts it for the class.
func TestUnitsDeclared(t *testing.T) {
	for _, u := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		o := testOptions
		o.Units = u
		for _, f := range catalog.All() {
			if f.Kind != catalog.KindFloat && f.Kind != catalog.KindInt {
				continue
			}
			e := decode(t, o.FieldEntities(testVehicle, f)[0])
			if got := e.str("unit_of_measurement"); got != f.UnitFor(u) {
				t.Errorf("%s/%s: config unit %q, UnitFor %q", f.Name, u, got, f.UnitFor(u))
			}
			if f.UnitFor(catalog.UnitsNative) != f.Unit {
				t.Errorf("%s: native unit %q, catalog %q", f.Name, f.UnitFor(catalog.UnitsNative), f.Unit)
			}
			if _, changed := f.Convert(1, u); changed != (f.UnitFor(u) != f.Unit || f.Quantity == catalog.QuantityTirePressure) {
				t.Errorf("%s/%s: Convert changed=%v but unit %s → %s", f.Name, u, changed, f.Unit, f.UnitFor(u))
			}
		}
	}
}
