package ha

import (
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

func TestDeviceName(t *testing.T) {
	vin := "5YJ3E7EB9NF123456"
	for _, tt := range []struct{ configured, car, want string }{
		{"Model 3", "Sparky", "Model 3"},
		{"  ", "Sparky", "Sparky"},
		{"", "null", "Tesla 123456"},
		{"", "", "Tesla 123456"},
	} {
		if got := DeviceName(tt.configured, tt.car, vin); got != tt.want {
			t.Errorf("DeviceName(%q, %q) = %q, want %q", tt.configured, tt.car, got, tt.want)
		}
	}
	if got := DeviceName("", "", "ABC"); got != "Tesla ABC" {
		t.Errorf("short VIN: %q", got)
	}
}

func TestModelName(t *testing.T) {
	for in, want := range map[string]string{
		"Model3": "Model 3", "ModelY": "Model Y", "ModelS": "Model S", "ModelX": "Model X",
		"Cybertruck": "Cybertruck", "SemiTruck": "Semi", "CarTypeModel3": "Model 3",
		"ModelQ": "Model Q", "Roadster": "Roadster", "Unknown": "", "CarTypeUnknown": "", "": "",
	} {
		if got := ModelName(in); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSoftwareVersion(t *testing.T) {
	for in, want := range map[string]string{
		"2026.26.6 3c0a1d2b9e7f": "2026.26.6", "2024.44.25.5": "2024.44.25.5", " 2025.2.6  abc": "2025.2.6", "": "", "null": "",
	} {
		if got := SoftwareVersion(in); got != want {
			t.Errorf("SoftwareVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Sparky": "sparky", "Tesla 123456": "tesla_123456", "  Model 3 ": "model_3",
		"Müller's Car": "muller_s_car", "Blitz ⚡": "blitz", "⚡": "",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEntityIDsFromNames(t *testing.T) {
	o := testOptions
	for name, want := range map[string]string{
		"Sparky": "sensor.sparky_battery_level",
		"⚡":      "sensor.tesla_123456_battery_level", // nothing sluggable: fall back to the VIN name
		"":       "sensor.tesla_123456_battery_level",
	} {
		e := decode(t, o.FieldEntities(Vehicle{VIN: testVehicle.VIN, Name: name}, field(t, "BatteryLevel"))[0])
		if got := e.str("default_entity_id"); got != want {
			t.Errorf("name %q: default_entity_id %q, want %q", name, got, want)
		}
	}
	// A base topic with levels still gives valid ids; topics keep it as is.
	o.Topics = topic.New("home/tesla", "homeassistant")
	m := o.FieldEntities(testVehicle, field(t, "BatteryLevel"))[0]
	e := decode(t, m)
	if e.node != "home_tesla_"+testVehicle.VIN || e.str("state_topic") != "home/tesla/"+testVehicle.VIN+"/v/BatteryLevel" {
		t.Errorf("nested base topic: %s / %s", m.Topic, e.str("state_topic"))
	}
}
