package ha

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// testControls mirrors the command table (bridge/command), which checks
// that its own specs produce these configs.
var testControls = []ControlSpec{
	{Name: "lock", Platform: ComponentLock, Label: "Lock", Payloads: []string{"LOCK", "UNLOCK"}},
	{Name: "charging", Platform: ComponentSwitch, Label: "Charging", Icon: "mdi:ev-station", Payloads: []string{"ON", "OFF"}},
	{Name: "charge_limit", Platform: ComponentNumber, Label: "Charge limit setting", Min: 50, Max: 100, Step: 1, Unit: "%"},
	{Name: "charge_current", Platform: ComponentNumber, Label: "Charge current setting", Min: 0, Max: 48, Step: 1, Unit: "A"},
	{Name: "charge_port", Platform: ComponentCover, Label: "Charge port", Payloads: []string{"OPEN", "CLOSE"}},
	{Name: "climate", Platform: ComponentClimate, Label: "Climate", Payloads: []string{"heat_cool", "off"}, Min: 15, Max: 28},
	{Name: "climate_temperature", Platform: ComponentClimate, Label: "Climate", Min: 15, Max: 28},
	{Name: "defrost", Platform: ComponentSwitch, Label: "Defrost", Payloads: []string{"ON", "OFF"}},
	{Name: "sentry", Platform: ComponentSwitch, Label: "Sentry", Payloads: []string{"ON", "OFF"}},
	{Name: "climate_keeper", Platform: ComponentSelect, Label: "Climate keeper", Options: []string{"off", "keep", "dog", "camp"}},
	{Name: "seat_heater_front_left", Platform: ComponentSelect, Label: "Seat heater front left", Options: []string{"off", "low", "medium", "high"}},
	{Name: "seat_heater_front_right", Platform: ComponentSelect, Label: "Seat heater front right", Options: []string{"off", "low", "medium", "high"}},
	{Name: "seat_heater_rear_left", Platform: ComponentSelect, Label: "Seat heater rear left", Options: []string{"off", "low", "medium", "high"}},
	{Name: "seat_heater_rear_center", Platform: ComponentSelect, Label: "Seat heater rear center", Options: []string{"off", "low", "medium", "high"}},
	{Name: "seat_heater_rear_right", Platform: ComponentSelect, Label: "Seat heater rear right", Options: []string{"off", "low", "medium", "high"}},
	{Name: "steering_wheel_heater", Platform: ComponentSelect, Label: "Steering wheel heater", Options: []string{"off", "low", "high"}},
	{Name: "frunk", Platform: ComponentButton, Label: "Open frunk", Payloads: []string{"PRESS"}},
	{Name: "trunk", Platform: ComponentCover, Label: "Trunk", Payloads: []string{"OPEN", "CLOSE"}},
	{Name: "windows", Platform: ComponentCover, Label: "Windows", Payloads: []string{"OPEN", "CLOSE"}},
	{Name: "flash_lights", Platform: ComponentButton, Label: "Flash lights", Payloads: []string{"PRESS"}},
	{Name: "honk_horn", Platform: ComponentButton, Label: "Honk horn", Payloads: []string{"PRESS"}},
	{Name: "homelink", Platform: ComponentButton, Label: "HomeLink", Payloads: []string{"PRESS"}},
	{Name: "wake", Platform: ComponentButton, Label: "Wake up", Payloads: []string{"PRESS"}},
}

var testSiteControls = []ControlSpec{
	{Name: "backup_reserve", Platform: ComponentNumber, Label: "Backup reserve", Min: 0, Max: 100, Step: 1, Unit: "%"},
	{Name: "operation_mode", Platform: ComponentSelect, Label: "Operation mode setting", Options: []string{"autonomous", "self_consumption", "backup"}},
	{Name: "export_rule", Platform: ComponentSelect, Label: "Export rule", Options: []string{"never", "battery_ok", "pv_only"}},
	{Name: "grid_charging", Platform: ComponentSwitch, Label: "Grid charging", Payloads: []string{"ON", "OFF"}},
	{Name: "storm_watch", Platform: ComponentSwitch, Label: "Storm watch", Payloads: []string{"ON", "OFF"}},
	{Name: "off_grid_ev_reserve", Platform: ComponentNumber, Label: "Off-grid EV reserve", Min: 0, Max: 100, Step: 1, Unit: "%"},
}

// Home Assistant's MQTT platform schemas (homeassistant/components/mqtt/
// {lock,switch,number,select,cover,climate,button}.py), the subset the
// bridge can send: keys per platform beyond the common entity keys.
var controlKeys = map[string][]string{
	ComponentLock:    {"command_topic", "state_topic", "value_template", "payload_lock", "payload_unlock", "state_locked", "state_unlocked"},
	ComponentSwitch:  {"command_topic", "state_topic", "value_template", "payload_on", "payload_off"},
	ComponentNumber:  {"command_topic", "state_topic", "value_template", "min", "max", "step", "mode", "unit_of_measurement", "device_class"},
	ComponentSelect:  {"command_topic", "state_topic", "value_template", "options"},
	ComponentCover:   {"command_topic", "state_topic", "value_template", "payload_open", "payload_close", "payload_stop", "state_open", "state_closed", "device_class"},
	ComponentButton:  {"command_topic", "payload_press"},
	ComponentClimate: {"modes", "mode_command_topic", "mode_state_topic", "mode_state_template", "temperature_command_topic", "temperature_state_topic", "temperature_state_template", "current_temperature_topic", "current_temperature_template", "temperature_unit", "min_temp", "max_temp", "temp_step", "precision"},
}

var commonControlKeys = []string{"name", "unique_id", "default_entity_id", "entity_category", "enabled_by_default", "icon",
	"availability", "availability_mode", "device", "origin"}

// Device classes of number (NumberDeviceClass, the ones with a unit check)
// and cover (CoverDeviceClass).
var (
	numberClassUnits = map[string][]string{"current": {"A", "mA"}, "battery": {"%"}}
	coverClasses     = []string{"awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window"}
	climateModes     = []string{"auto", "off", "cool", "heat", "dry", "fan_only", "heat_cool"}
	reControlTopic   = regexp.MustCompile(`^homeassistant/(lock|switch|number|select|cover|climate|button|sensor)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config$`)
)

// checkControl applies Home Assistant's rules to one control config.
func checkControl(t *testing.T, m Message, avail []string, node string) map[string]any {
	t.Helper()
	fail := func(format string, args ...any) { t.Helper(); t.Errorf(m.Topic+": "+format, args...) }
	var c map[string]any
	if err := json.Unmarshal(m.Payload, &c); err != nil {
		t.Fatalf("%s: %v", m.Topic, err)
	}
	sub := reControlTopic.FindStringSubmatch(m.Topic)
	if sub == nil {
		t.Fatalf("bad control config topic %s", m.Topic)
	}
	platform, gotNode, object := sub[1], sub[2], sub[3]
	str := func(k string) string { s, _ := c[k].(string); return s }
	allowed := append(slices.Clone(commonControlKeys), controlKeys[platform]...)
	for k := range c {
		if !slices.Contains(allowed, k) {
			fail("key %q not in the %s schema the bridge uses", k, platform)
		}
	}
	if gotNode != node || str("unique_id") != node+"_"+object {
		fail("node %s / unique_id %s", gotNode, str("unique_id"))
	}
	id := reEntityID.FindStringSubmatch(str("default_entity_id"))
	if id == nil || id[1] != platform {
		fail("default_entity_id %q for platform %s", str("default_entity_id"), platform)
	}
	if str("name") == "" {
		fail("no name")
	}
	if ec, ok := c["entity_category"]; ok && ec != "config" && ec != "diagnostic" {
		fail("entity_category %v", ec)
	}
	if icon := str("icon"); icon != "" && !strings.HasPrefix(icon, "mdi:") {
		fail("icon %q", icon)
	}
	var got []string
	for _, a := range c["availability"].([]any) {
		got = append(got, a.(map[string]any)["topic"].(string))
	}
	if !slices.Equal(got, avail) || c["availability_mode"] != "all" {
		fail("availability %v mode %v, want %v all", got, c["availability_mode"], avail)
	}
	dev, _ := c["device"].(map[string]any)
	if ids, _ := dev["identifiers"].([]any); len(ids) != 1 || ids[0] != node || dev["name"] == "" || dev["via_device"] != "teslemetry_bridge" {
		fail("device %v", dev)
	}
	if org, _ := c["origin"].(map[string]any); org["name"] != OriginName {
		fail("origin %v", org)
	}
	// A command topic is one the bridge subscribes to: <base>/<VIN>/set/<x> or <base>/site/<id>/set/<x>.
	for _, k := range []string{"command_topic", "mode_command_topic", "temperature_command_topic"} {
		if v := str(k); v != "" && !regexp.MustCompile(`^teslemetry/(site/[0-9]+|[A-Z0-9]{17})/set/[a-z_]+$`).MatchString(v) {
			fail("%s %q", k, v)
		}
	}
	tplsNone := func(keys ...string) {
		for _, k := range keys {
			if tpl := str(k); tpl == "" || !(strings.Contains(tpl, "None") || strings.Contains(tpl, ".get(value)")) {
				fail("%s %q does not render unknown states as None", k, tpl)
			}
		}
	}
	switch platform {
	case ComponentLock:
		if str("payload_lock") != "LOCK" || str("payload_unlock") != "UNLOCK" || str("state_locked") != "true" || str("state_unlocked") != "false" {
			fail("lock payloads/states")
		}
		tplsNone("value_template")
	case ComponentSwitch:
		if str("payload_on") != "ON" || str("payload_off") != "OFF" || str("state_topic") == "" {
			fail("switch payloads")
		}
		tplsNone("value_template")
	case ComponentNumber:
		lo, _ := c["min"].(float64)
		hi, ok := c["max"].(float64)
		_, hasMin := c["min"]
		if !hasMin || !ok || lo >= hi || c["step"] != float64(1) || c["mode"] != "slider" {
			fail("number min %v max %v step %v", c["min"], c["max"], c["step"])
		}
		if dc := str("device_class"); dc != "" && !slices.Contains(numberClassUnits[dc], str("unit_of_measurement")) {
			fail("number device_class %s with unit %s", dc, str("unit_of_measurement"))
		}
		tplsNone("value_template")
	case ComponentSelect:
		opts, _ := c["options"].([]any)
		if len(opts) < 2 {
			fail("select options %v", opts)
		}
		tplsNone("value_template")
	case ComponentCover:
		if !slices.Contains(coverClasses, str("device_class")) || str("payload_open") != "OPEN" || str("payload_close") != "CLOSE" {
			fail("cover class %s payloads", str("device_class"))
		}
		if v, ok := c["payload_stop"]; !ok || v != nil {
			fail("cover payload_stop must be null (no stop button)")
		}
		if str("state_open") != "open" || str("state_closed") != "closed" {
			fail("cover states")
		}
		tplsNone("value_template")
	case ComponentButton:
		if str("payload_press") != "PRESS" || c["state_topic"] != nil {
			fail("button")
		}
	case ComponentClimate:
		for _, mode := range c["modes"].([]any) {
			if !slices.Contains(climateModes, mode.(string)) {
				fail("climate mode %v", mode)
			}
		}
		if u := str("temperature_unit"); u != "C" && u != "F" {
			fail("temperature_unit %q", u)
		}
		if p := c["precision"]; p != 0.1 && p != 0.5 && p != 1.0 {
			fail("precision %v", p)
		}
		if c["min_temp"].(float64) >= c["max_temp"].(float64) {
			fail("climate limits")
		}
		tplsNone("mode_state_template", "temperature_state_template", "current_temperature_template")
	}
	return c
}

func TestHARulesEveryControl(t *testing.T) {
	for _, u := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		o := testOptions
		o.Units = u
		vin := testVehicle.VIN
		avail := []string{"teslemetry/bridge/state", "teslemetry/" + vin + "/availability"}
		ids := map[string]bool{}
		n := 0
		for _, spec := range testControls {
			m, ok := o.VehicleControlEntity(testVehicle, spec, 0)
			if !ok {
				if spec.Name != ClimateTemperatureControl {
					t.Errorf("%s: no entity", spec.Name)
				}
				continue
			}
			n++
			c := checkControl(t, m, avail, "teslemetry_"+vin)
			if ids[c["unique_id"].(string)] || ids[c["default_entity_id"].(string)] {
				t.Errorf("%s: duplicate id", m.Topic)
			}
			ids[c["unique_id"].(string)], ids[c["default_entity_id"].(string)] = true, true
			if spec.Platform == ComponentClimate {
				unit := map[catalog.Units]string{catalog.UnitsNative: "C", catalog.UnitsMetric: "C", catalog.UnitsImperial: "F"}[u]
				if c["temperature_unit"] != unit {
					t.Errorf("%s: climate unit %v under %s", m.Topic, c["temperature_unit"], u)
				}
				if u == catalog.UnitsImperial && (c["min_temp"] != float64(59) || c["max_temp"] != float64(82)) {
					t.Errorf("climate limits in °F: %v..%v", c["min_temp"], c["max_temp"])
				}
				if c["temperature_command_topic"] != "teslemetry/"+vin+"/set/climate_temperature" || c["mode_command_topic"] != "teslemetry/"+vin+"/set/climate" {
					t.Errorf("climate command topics %v %v", c["temperature_command_topic"], c["mode_command_topic"])
				}
			}
		}
		if n != len(testControls)-1 {
			t.Errorf("%d control entities", n)
		}
		// Last command sensor: a diagnostic sensor under the common rules.
		e := decode(t, o.LastCommandEntity(testVehicle))
		checkEntity(t, o, e, avail)
		if e.object != LastCommandObject || e.str("state_topic") != "teslemetry/"+vin+"/command_result" {
			t.Errorf("last command %v", e.c)
		}
	}
	// The charge current maximum follows ChargeCurrentRequestMax.
	spec := testControls[3]
	m, _ := testOptions.VehicleControlEntity(testVehicle, spec, 32)
	var c map[string]any
	_ = json.Unmarshal(m.Payload, &c)
	if c["max"] != float64(32) || c["min"] != float64(0) {
		t.Errorf("charge current limits %v..%v", c["min"], c["max"])
	}
}

func TestHARulesEverySiteControl(t *testing.T) {
	s := Site{ID: "1234567890", Name: "Home"}
	avail := []string{"teslemetry/bridge/state", "teslemetry/site/1234567890/availability"}
	for _, spec := range testSiteControls {
		m, ok := testOptions.SiteControlEntity(s, spec)
		if !ok {
			t.Errorf("%s: no entity", spec.Name)
			continue
		}
		c := checkControl(t, m, avail, "teslemetry_site_1234567890")
		if !strings.HasPrefix(c["state_topic"].(string), "teslemetry/site/1234567890/site_info/") {
			t.Errorf("%s: state topic %v", m.Topic, c["state_topic"])
		}
		if !strings.HasPrefix(c["default_entity_id"].(string), spec.Platform+".home_") {
			t.Errorf("%s: %v", m.Topic, c["default_entity_id"])
		}
	}
	e := decode(t, testOptions.SiteLastCommandEntity(Site{ID: "1234567890"}))
	checkEntity(t, testOptions, e, avail)
	if e.c["device"].(map[string]any)["name"] != "Energy site 567890" {
		t.Errorf("site device %v", e.c["device"])
	}
}

// TestControlStatesRender evaluates each control's state template on the
// payloads the bridge publishes, with a small Jinja subset, and checks the
// result is a state the platform shows.
func TestControlStatesRender(t *testing.T) {
	cases := []struct {
		control, payload, want string
	}{
		{"lock", "true", "true"}, {"lock", "false", "false"}, {"lock", "null", "None"},
		{"charging", "Charging", "ON"}, {"charging", "Starting", "ON"}, {"charging", "Stopped", "OFF"},
		{"charging", "Disconnected", "OFF"}, {"charging", "null", "None"}, {"charging", "Future", "None"},
		{"defrost", "Off", "OFF"}, {"defrost", "Max", "ON"}, {"defrost", "null", "None"},
		{"sentry", "Off", "OFF"}, {"sentry", "Armed", "ON"}, {"sentry", "Aware", "ON"},
		{"charge_port", "true", "open"}, {"charge_port", "false", "closed"}, {"charge_port", "null", "None"},
		{"climate_keeper", "Party", "camp"}, {"climate_keeper", "On", "keep"}, {"climate_keeper", "null", "None"},
		{"seat_heater_front_left", "2", "medium"}, {"seat_heater_front_left", "null", "None"},
		{"steering_wheel_heater", "3", "high"}, {"steering_wheel_heater", "2", "None"},
		{"windows", "open", "open"}, {"windows", "closed", "closed"}, {"windows", "null", "None"},
	}
	for _, tc := range cases {
		tpl := vehicleControlStates[tc.control].template
		if got := renderSimple(tpl, tc.payload); got != tc.want {
			t.Errorf("%s %q → %q, want %q (template %s)", tc.control, tc.payload, got, tc.want, tpl)
		}
	}
}

// renderSimple evaluates the three template shapes used for control states.
func renderSimple(tpl, value string) string {
	switch {
	case tpl == tplValue:
		if value == "null" {
			return "None"
		}
		return value
	case strings.Contains(tpl, ".get(value)"):
		m := regexp.MustCompile(`'([^']*)': '([^']*)'`).FindAllStringSubmatch(tpl, -1)
		for _, kv := range m {
			if kv[1] == value {
				return kv[2]
			}
		}
		return "None"
	case strings.HasPrefix(tpl, "{{ 'ON' if value in "):
		lists := regexp.MustCompile(`\[[^\]]*\]`).FindAllString(tpl, -1)
		if strings.Contains(lists[0], "'"+value+"'") {
			return "ON"
		}
		if strings.Contains(lists[1], "'"+value+"'") {
			return "OFF"
		}
		return "None"
	case tpl == tplOpenClosedBool:
		return map[string]string{"true": "open", "false": "closed"}[value] + map[bool]string{true: "None"}[value != "true" && value != "false"]
	case strings.HasPrefix(tpl, "{{ value if value in "):
		if strings.Contains(tpl, "'"+value+"'") {
			return value
		}
		return "None"
	}
	return "?"
}

func TestWindowsState(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"Closed", "Closed"}, "closed"}, {[]string{"Closed", "PartiallyOpen"}, "open"},
		{[]string{"Opened"}, "open"}, {[]string{"null", ""}, ""}, {nil, ""}, {[]string{"null", "Closed"}, "closed"},
	} {
		if got := WindowsState(tc.in); got != tc.want {
			t.Errorf("%v → %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestControlsPublishableAndOurs: stale cleanup must keep every control
// config this version publishes.
func TestControlsPublishableAndOurs(t *testing.T) {
	for _, spec := range testControls {
		m, ok := testOptions.VehicleControlEntity(testVehicle, spec, 0)
		if !ok {
			continue
		}
		ct, _ := testOptions.Topics.ParseConfig(m.Topic)
		if !Publishable(topic.Vehicle, ct.Component, ct.Object) {
			t.Errorf("%s: not publishable", m.Topic)
		}
		if !testOptions.Ours(ct.Node, m.Payload) {
			t.Errorf("%s: not recognised as ours", m.Topic)
		}
		if VehicleControlPlatforms[spec.Name] != spec.Platform {
			t.Errorf("%s: platform %s in VehicleControlPlatforms", spec.Name, VehicleControlPlatforms[spec.Name])
		}
	}
	m := testOptions.LastCommandEntity(testVehicle)
	if ct, _ := testOptions.Topics.ParseConfig(m.Topic); !Publishable(topic.Vehicle, ct.Component, ct.Object) {
		t.Errorf("%s: not publishable", m.Topic)
	}
	site := Site{ID: "987654", Name: "Home"}
	for _, spec := range testSiteControls {
		if SiteControlPlatforms[spec.Name] != spec.Platform {
			t.Errorf("%s: platform %s in SiteControlPlatforms", spec.Name, SiteControlPlatforms[spec.Name])
		}
		m, _ := testOptions.SiteControlEntity(site, spec)
		ct, _ := testOptions.Topics.ParseConfig(m.Topic)
		if !Publishable(topic.Site, ct.Component, ct.Object) || !testOptions.Ours(ct.Node, m.Payload) {
			t.Errorf("%s: not publishable or not ours", m.Topic)
		}
	}
}

// A site's controls and its sensors describe the one device identically, so
// Home Assistant never flips its model or firmware between announcements.
func TestSiteControlsAndSensorsShareTheDevice(t *testing.T) {
	s := Site{ID: "1234567890", Name: "Home", Model: "Powerwall + Solar", SWVersion: "25.18.2"}
	deviceOf := func(m Message) any {
		var c map[string]any
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		return c["device"]
	}
	want := deviceOf(testOptions.SiteEntities(s)[0])
	for _, spec := range testSiteControls {
		m, _ := testOptions.SiteControlEntity(s, spec)
		if got := deviceOf(m); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: device %v, sensors have %v", spec.Name, got, want)
		}
	}
	if got := deviceOf(testOptions.SiteLastCommandEntity(s)); !reflect.DeepEqual(got, want) {
		t.Errorf("last command: device %v, sensors have %v", got, want)
	}
}
