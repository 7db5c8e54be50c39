package command

import (
	"encoding/json"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// TestTableMatchesDiscovery: every control of the table has its Home
// Assistant entity, on the platform discovery knows it by, reading the state
// field that announces it, and sending the payloads the table accepts.
func TestTableMatchesDiscovery(t *testing.T) {
	o := ha.Options{Topics: topic.New("teslemetry", "homeassistant"), Units: catalog.UnitsNative}
	v := ha.Vehicle{VIN: testVIN, Name: "Car"}
	for _, c := range Controls(Vehicle) {
		if c.Name == ha.ClimateTemperatureControl {
			continue
		}
		if ha.VehicleControlPlatforms[c.Name] != string(c.Platform) {
			t.Errorf("%s: platform %s, discovery says %s", c.Name, c.Platform, ha.VehicleControlPlatforms[c.Name])
		}
		m, ok := o.VehicleControlEntity(v, c.Spec(), 0)
		if !ok {
			t.Errorf("%s: no entity", c.Name)
			continue
		}
		var cfg map[string]any
		if err := json.Unmarshal(m.Payload, &cfg); err != nil {
			t.Fatal(err)
		}
		st := ha.VehicleControlStateTopic(c.Name)
		switch {
		case c.StateField == "" && st != "":
			t.Errorf("%s: button with state %s", c.Name, st)
		case c.StateField != "" && st != "v/"+c.StateField && st != c.StateField:
			t.Errorf("%s: announced by %s, state read from %s", c.Name, c.StateField, st)
		}
		// Every payload Home Assistant sends parses.
		for _, k := range []string{"payload_on", "payload_off", "payload_lock", "payload_unlock", "payload_open", "payload_close", "payload_press"} {
			if p, ok := cfg[k].(string); ok {
				if _, err := Parse(c, testVIN, []byte(p), mapState{"Location": `{"latitude":1,"longitude":2}`}, ParseOptions{}); err != nil {
					t.Errorf("%s: %s %q does not parse: %v", c.Name, k, p, err)
				}
			}
		}
		if opts, ok := cfg["options"].([]any); ok {
			for _, p := range opts {
				if _, err := Parse(c, testVIN, []byte(p.(string)), nil, ParseOptions{}); err != nil {
					t.Errorf("%s: option %q does not parse: %v", c.Name, p, err)
				}
			}
		}
		if modes, ok := cfg["modes"].([]any); ok {
			for _, p := range modes {
				if _, err := Parse(c, testVIN, []byte(p.(string)), nil, ParseOptions{}); err != nil {
					t.Errorf("%s: mode %q does not parse: %v", c.Name, p, err)
				}
			}
		}
		if lo, ok := cfg["min"].(float64); ok {
			hi := cfg["max"].(float64)
			for _, x := range []float64{lo, hi} {
				if _, err := Parse(c, testVIN, []byte(json.Number(jsonNum(x))), nil, ParseOptions{}); err != nil {
					t.Errorf("%s: limit %v does not parse: %v", c.Name, x, err)
				}
			}
		}
	}
	s := ha.Site{ID: "123"}
	for _, c := range Controls(Site) {
		if ha.SiteControlPlatforms[c.Name] != string(c.Platform) {
			t.Errorf("%s: platform", c.Name)
		}
		if _, ok := o.SiteControlEntity(s, c.Spec()); !ok {
			t.Errorf("site %s: no entity", c.Name)
		}
	}
	if len(ha.VehicleControlPlatforms) != len(Controls(Vehicle))-1 || len(ha.SiteControlPlatforms) != len(Controls(Site)) {
		t.Errorf("discovery knows %d/%d controls", len(ha.VehicleControlPlatforms), len(ha.SiteControlPlatforms))
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
