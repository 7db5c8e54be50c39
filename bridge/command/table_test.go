package command

import (
	"encoding/json"
	"strings"
	"testing"
)

const testVIN = "5YJ3E7EB9NF123456"

type mapState map[string]string

func (m mapState) Value(f string) ([]byte, bool) {
	v, ok := m[f]
	return []byte(v), ok
}

func bodyJSON(t *testing.T, b any) string {
	t.Helper()
	if b == nil {
		return ""
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestControlTableEveryRow checks, for every row of the table, payload →
// endpoint, command and body.
func TestControlTableEveryRow(t *testing.T) {
	state := mapState{"Location": `{"latitude":30.5,"longitude":-97.25}`}
	cases := []struct {
		target  Target
		control string
		payload string
		ep      Endpoint
		command string
		body    string
		f       bool // °F
	}{
		{Vehicle, "lock", "LOCK", EndpointCommand, "door_lock", "", false},
		{Vehicle, "lock", "UNLOCK", EndpointCommand, "door_unlock", "", false},
		{Vehicle, "charging", "ON", EndpointCommand, "charge_start", "", false},
		{Vehicle, "charging", "OFF", EndpointCommand, "charge_stop", "", false},
		{Vehicle, "charge_limit", "80", EndpointCommand, "set_charge_limit", `{"percent":80}`, false},
		{Vehicle, "charge_limit", "50.0", EndpointCommand, "set_charge_limit", `{"percent":50}`, false},
		{Vehicle, "charge_limit", "100", EndpointCommand, "set_charge_limit", `{"percent":100}`, false},
		{Vehicle, "charge_current", "16", EndpointCommand, "set_charging_amps", `{"charging_amps":16}`, false},
		{Vehicle, "charge_current", "0", EndpointCommand, "set_charging_amps", `{"charging_amps":0}`, false},
		{Vehicle, "charge_port", "OPEN", EndpointCommand, "charge_port_door_open", "", false},
		{Vehicle, "charge_port", "CLOSE", EndpointCommand, "charge_port_door_close", "", false},
		{Vehicle, "climate", "heat_cool", EndpointCommand, "auto_conditioning_start", "", false},
		{Vehicle, "climate", "off", EndpointCommand, "auto_conditioning_stop", "", false},
		{Vehicle, "climate_temperature", "21.5", EndpointCommand, "set_temps", `{"driver_temp":21.5,"passenger_temp":21.5}`, false},
		{Vehicle, "climate_temperature", "21.3", EndpointCommand, "set_temps", `{"driver_temp":21.5,"passenger_temp":21.5}`, false},
		{Vehicle, "climate_temperature", "70", EndpointCommand, "set_temps", `{"driver_temp":21,"passenger_temp":21}`, true},
		{Vehicle, "climate_temperature", "59", EndpointCommand, "set_temps", `{"driver_temp":15,"passenger_temp":15}`, true},
		{Vehicle, "defrost", "ON", EndpointCommand, "set_preconditioning_max", `{"manual_override":true,"on":true}`, false},
		{Vehicle, "defrost", "OFF", EndpointCommand, "set_preconditioning_max", `{"manual_override":true,"on":false}`, false},
		{Vehicle, "sentry", "ON", EndpointCommand, "set_sentry_mode", `{"on":true}`, false},
		{Vehicle, "sentry", "OFF", EndpointCommand, "set_sentry_mode", `{"on":false}`, false},
		{Vehicle, "climate_keeper", "off", EndpointCommand, "set_climate_keeper_mode", `{"climate_keeper_mode":0}`, false},
		{Vehicle, "climate_keeper", "keep", EndpointCommand, "set_climate_keeper_mode", `{"climate_keeper_mode":1}`, false},
		{Vehicle, "climate_keeper", "dog", EndpointCommand, "set_climate_keeper_mode", `{"climate_keeper_mode":2}`, false},
		{Vehicle, "climate_keeper", "camp", EndpointCommand, "set_climate_keeper_mode", `{"climate_keeper_mode":3}`, false},
		{Vehicle, "seat_heater_front_left", "high", EndpointCommand, "remote_seat_heater_request", `{"heater":0,"level":3}`, false},
		{Vehicle, "seat_heater_front_right", "medium", EndpointCommand, "remote_seat_heater_request", `{"heater":1,"level":2}`, false},
		{Vehicle, "seat_heater_rear_left", "low", EndpointCommand, "remote_seat_heater_request", `{"heater":2,"level":1}`, false},
		{Vehicle, "seat_heater_rear_center", "off", EndpointCommand, "remote_seat_heater_request", `{"heater":4,"level":0}`, false},
		{Vehicle, "seat_heater_rear_right", "high", EndpointCommand, "remote_seat_heater_request", `{"heater":5,"level":3}`, false},
		{Vehicle, "steering_wheel_heater", "off", EndpointCommand, "remote_steering_wheel_heat_level_request", `{"level":0}`, false},
		{Vehicle, "steering_wheel_heater", "low", EndpointCommand, "remote_steering_wheel_heat_level_request", `{"level":1}`, false},
		{Vehicle, "steering_wheel_heater", "high", EndpointCommand, "remote_steering_wheel_heat_level_request", `{"level":3}`, false},
		{Vehicle, "frunk", "PRESS", EndpointCommand, "actuate_trunk", `{"which_trunk":"front"}`, false},
		{Vehicle, "trunk", "OPEN", EndpointCommand, "actuate_trunk", `{"which_trunk":"rear"}`, false},
		{Vehicle, "trunk", "CLOSE", EndpointCommand, "actuate_trunk", `{"which_trunk":"rear"}`, false},
		{Vehicle, "windows", "OPEN", EndpointCommand, "window_control", `{"command":"vent","lat":30.5,"lon":-97.25}`, false},
		{Vehicle, "windows", "CLOSE", EndpointCommand, "window_control", `{"command":"close","lat":30.5,"lon":-97.25}`, false},
		{Vehicle, "flash_lights", "PRESS", EndpointCommand, "flash_lights", "", false},
		{Vehicle, "honk_horn", "PRESS", EndpointCommand, "honk_horn", "", false},
		{Vehicle, "homelink", "PRESS", EndpointCommand, "trigger_homelink", `{"lat":30.5,"lon":-97.25}`, false},
		{Vehicle, "wake", "PRESS", EndpointWake, "wake_up", "", false},
		{Site, "backup_reserve", "20", EndpointSite, "backup", `{"backup_reserve_percent":20}`, false},
		{Site, "operation_mode", "self_consumption", EndpointSite, "operation", `{"default_real_mode":"self_consumption"}`, false},
		{Site, "operation_mode", "autonomous", EndpointSite, "operation", `{"default_real_mode":"autonomous"}`, false},
		{Site, "operation_mode", "backup", EndpointSite, "operation", `{"default_real_mode":"backup"}`, false},
		{Site, "export_rule", "battery_ok", EndpointSite, "grid_import_export", `{"customer_preferred_export_rule":"battery_ok"}`, false},
		{Site, "export_rule", "never", EndpointSite, "grid_import_export", `{"customer_preferred_export_rule":"never"}`, false},
		{Site, "export_rule", "pv_only", EndpointSite, "grid_import_export", `{"customer_preferred_export_rule":"pv_only"}`, false},
		{Site, "grid_charging", "ON", EndpointSite, "grid_import_export", `{"disallow_charge_from_grid_with_solar_installed":false}`, false},
		{Site, "grid_charging", "OFF", EndpointSite, "grid_import_export", `{"disallow_charge_from_grid_with_solar_installed":true}`, false},
		{Site, "storm_watch", "ON", EndpointSite, "storm_mode", `{"enabled":true}`, false},
		{Site, "storm_watch", "OFF", EndpointSite, "storm_mode", `{"enabled":false}`, false},
		{Site, "off_grid_ev_reserve", "35", EndpointSite, "off_grid_vehicle_charging_reserve", `{"off_grid_vehicle_charging_reserve_percent":35}`, false},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		c, ok := Lookup(tc.target, tc.control)
		if !ok {
			t.Fatalf("no control %s/%s", tc.target, tc.control)
		}
		covered[tc.target.String()+"/"+tc.control] = true
		r, err := Parse(c, "id", []byte(tc.payload), state, ParseOptions{Fahrenheit: tc.f})
		if err != nil {
			t.Errorf("%s %q: %v", tc.control, tc.payload, err)
			continue
		}
		if r.Endpoint != tc.ep || r.Command != tc.command || bodyJSON(t, r.Body) != tc.body || r.Control != tc.control || r.ID != "id" || r.Target != tc.target {
			t.Errorf("%s %q: got %v %s %s, want %v %s %s", tc.control, tc.payload, r.Endpoint, r.Command, bodyJSON(t, r.Body), tc.ep, tc.command, tc.body)
		}
	}
	for _, tgt := range []Target{Vehicle, Site} {
		for _, c := range Controls(tgt) {
			if !covered[tgt.String()+"/"+c.Name] {
				t.Errorf("control %s/%s has no test row", tgt, c.Name)
			}
		}
	}
	if n := len(Controls(Site)); n != 6 {
		t.Errorf("%d site controls, want 6", n)
	}
}

// TestControlTableBadPayloads: every bad payload gets a reason naming the
// problem and no request.
func TestControlTableBadPayloads(t *testing.T) {
	cases := []struct {
		target  Target
		control string
		payload string
		reason  string // substring
		f       bool
	}{
		{Vehicle, "lock", "OPEN", "want LOCK or UNLOCK", false},
		{Vehicle, "lock", "", "want LOCK or UNLOCK", false},
		{Vehicle, "lock", "true", "want LOCK or UNLOCK", false},
		{Vehicle, "charging", "1", "want ON or OFF", false},
		{Vehicle, "charge_limit", "abc", "is not a number", false},
		{Vehicle, "charge_limit", "49", "outside 50..100 %", false},
		{Vehicle, "charge_limit", "101", "outside 50..100 %", false},
		{Vehicle, "charge_limit", "80.5", "not a whole number", false},
		{Vehicle, "charge_limit", "NaN", "is not a number", false},
		{Vehicle, "charge_limit", "Inf", "is not a number", false},
		{Vehicle, "charge_limit", "0x50", "is not a number", false},
		{Vehicle, "charge_limit", "", "is not a number", false},
		{Vehicle, "charge_current", "-1", "outside 0..48 A", false},
		{Vehicle, "charge_current", "49", "outside 0..48 A", false},
		{Vehicle, "charge_port", "STOP", "want OPEN or CLOSE", false},
		{Vehicle, "climate", "cool", "want heat_cool or off", false},
		{Vehicle, "climate_temperature", "hot", "is not a temperature", false},
		{Vehicle, "climate_temperature", "30", "outside 15..28 °C", false},
		{Vehicle, "climate_temperature", "14", "outside 15..28 °C", false},
		{Vehicle, "climate_temperature", "21", "outside 59..82 °F", true},
		{Vehicle, "defrost", "yes", "want ON or OFF", false},
		{Vehicle, "sentry", "{}", "want ON or OFF", false},
		{Vehicle, "climate_keeper", "party", "want one of off, keep, dog, camp", false},
		{Vehicle, "seat_heater_front_left", "3", "want one of off, low, medium, high", false},
		{Vehicle, "seat_heater_front_right", "max", "want one of", false},
		{Vehicle, "seat_heater_rear_left", "", "want one of", false},
		{Vehicle, "seat_heater_rear_center", "on", "want one of", false},
		{Vehicle, "seat_heater_rear_right", "hi", "want one of", false},
		{Vehicle, "steering_wheel_heater", "medium", "want one of off, low, high", false},
		{Vehicle, "frunk", "OPEN", "want PRESS", false},
		{Vehicle, "trunk", "TOGGLE", "want OPEN or CLOSE", false},
		{Vehicle, "windows", "OPEN", "location_unknown", false}, // no Location streamed
		{Vehicle, "windows", "vent", "want OPEN or CLOSE", false},
		{Vehicle, "flash_lights", "ON", "want PRESS", false},
		{Vehicle, "honk_horn", "", "want PRESS", false},
		{Vehicle, "homelink", "PRESS", "location_unknown", false},
		{Vehicle, "wake", "now", "want PRESS", false},
		{Site, "backup_reserve", "101", "outside 0..100 %", false},
		{Site, "backup_reserve", "ten", "is not a number", false},
		{Site, "operation_mode", "eco", "want one of autonomous, self_consumption, backup", false},
		{Site, "export_rule", "always", "want one of never, battery_ok, pv_only", false},
		{Site, "grid_charging", "2", "want ON or OFF", false},
		{Site, "storm_watch", "enabled", "want ON or OFF", false},
		{Site, "off_grid_ev_reserve", "-5", "outside 0..100 %", false},
		{Vehicle, "lock", "\xff\xfe", "not UTF-8", false},
		{Vehicle, "lock", strings.Repeat("x", MaxPayload+1), "longer than", false},
	}
	for _, tc := range cases {
		c, _ := Lookup(tc.target, tc.control)
		r, err := Parse(c, "id", []byte(tc.payload), NoState{}, ParseOptions{Fahrenheit: tc.f})
		if err == nil {
			t.Errorf("%s %q: accepted as %s %v", tc.control, tc.payload, r.Command, bodyJSON(t, r.Body))
			continue
		}
		reason := ReasonOf(err)
		if !strings.Contains(reason, tc.reason) {
			t.Errorf("%s %q: reason %q, want it to contain %q", tc.control, tc.payload, reason, tc.reason)
		}
		if len(reason) > 200 {
			t.Errorf("%s: reason of %d bytes", tc.control, len(reason))
		}
	}
}

func TestParseCaseAndSpace(t *testing.T) {
	c, _ := Lookup(Vehicle, "lock")
	for _, p := range []string{"lock", " LOCK\n", "Lock"} {
		if r, err := Parse(c, testVIN, []byte(p), nil, ParseOptions{}); err != nil || r.Command != "door_lock" {
			t.Errorf("%q: %v %v", p, r.Command, err)
		}
	}
}

// TestTrunkOnlyWhenStateDiffers: actuate_trunk toggles, so it is sent only
// when the rear trunk is not already where it was asked to be.
func TestTrunkOnlyWhenStateDiffers(t *testing.T) {
	c, _ := Lookup(Vehicle, "trunk")
	open := mapState{"DoorState": `{"DriverFront":false,"TrunkRear":true}`}
	closed := mapState{"DoorState": `{"DriverFront":false,"TrunkRear":false}`}
	for _, tc := range []struct {
		s       State
		payload string
		skip    bool
	}{
		{open, "OPEN", true}, {open, "CLOSE", false}, {closed, "CLOSE", true}, {closed, "OPEN", false},
		{NoState{}, "OPEN", false}, {mapState{"DoorState": "null"}, "CLOSE", false},
	} {
		r, err := Parse(c, testVIN, []byte(tc.payload), tc.s, ParseOptions{})
		if err != nil || (r.Skip != "") != tc.skip {
			t.Errorf("%v %s: skip %q err %v, want skip %v", tc.s, tc.payload, r.Skip, err, tc.skip)
		}
	}
}

func TestParseRaw(t *testing.T) {
	r, err := ParseRaw(testVIN, "set_valet_mode", []byte(` {"on": true, "password": "1234"} `))
	if err != nil || !r.Raw || r.Command != "set_valet_mode" || bodyJSON(t, r.Body) != `{"on":true,"password":"1234"}` {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ParseRaw(testVIN, "remote_start_drive", nil)
	if err != nil || bodyJSON(t, r.Body) != `{}` {
		t.Fatalf("empty body: %s %v", bodyJSON(t, r.Body), err)
	}
	for _, bad := range []struct{ name, body, reason string }{
		{"Door-Lock", "", "command name"},
		{"door_lock", "[1]", "JSON object"},
		{"door_lock", "null", "JSON object"},
		{"door_lock", "{", "JSON object"},
		{"door_lock", `"x"`, "JSON object"},
		{strings.Repeat("a", 65), "", "command name"},
	} {
		if _, err := ParseRaw(testVIN, bad.name, []byte(bad.body)); err == nil || !strings.Contains(ReasonOf(err), bad.reason) {
			t.Errorf("%s %q: %v", bad.name, bad.body, err)
		}
	}
}

// TestNeverAControl: dangerous commands exist only as raw commands.
func TestNeverAControl(t *testing.T) {
	never := []string{"remote_start_drive", "set_valet_mode", "speed_limit_activate", "speed_limit_deactivate",
		"navigation_gps_request", "schedule_software_update", "speed_limit_set_limit"}
	for _, tgt := range []Target{Vehicle, Site} {
		for _, c := range Controls(tgt) {
			cmds := []string{c.Command}
			for _, ch := range c.Choices {
				cmds = append(cmds, ch.Action.Command)
			}
			for _, n := range never {
				for _, cmd := range cmds {
					if cmd == n || strings.Contains(c.Name, "valet") || strings.Contains(c.Name, "speed") {
						t.Errorf("control %s exposes %s", c.Name, cmd)
					}
				}
			}
		}
	}
}

func TestResultJSON(t *testing.T) {
	r := Result{Control: "lock", Command: "door_lock", OK: true, Status: 200, Woke: true}
	var m map[string]any
	if err := json.Unmarshal(r.JSON(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"control", "command", "ok", "reason", "status", "woke", "at", "duration_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("result without %s: %s", k, r.JSON())
		}
	}
	if len(m) != 8 {
		t.Errorf("result keys: %s", r.JSON())
	}
	r = Result{Control: "valet", Raw: true, Outcome: OutcomeDenied, Reason: "denied"}
	if s := string(r.JSON()); !strings.Contains(s, `"control":"command/valet"`) || !strings.Contains(s, `"status":null`) {
		t.Errorf("raw denied result: %s", s)
	}
}
