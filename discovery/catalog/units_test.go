package catalog

import "testing"

func TestParseUnits(t *testing.T) {
	for in, want := range map[string]Units{"native": UnitsNative, "metric": UnitsMetric, " Imperial ": UnitsImperial} {
		if got, err := ParseUnits(in); err != nil || got != want {
			t.Errorf("ParseUnits(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "kelvin", "si"} {
		if _, err := ParseUnits(in); err == nil {
			t.Errorf("ParseUnits(%q) accepted", in)
		}
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		field   string
		in      float64
		units   Units
		want    float64
		changed bool
		unit    string
	}{
		// Tyre pressure streams in atm and is always converted.
		{"TpmsPressureFl", 2.9, UnitsNative, 2.938, true, "bar"},   // 2.938425
		{"TpmsPressureFr", 2.95, UnitsMetric, 2.989, true, "bar"},  // 2.9890875
		{"TpmsPressureRl", 1, UnitsNative, 1.013, true, "bar"},     // 1.01325
		{"TpmsPressureRr", 2.9, UnitsImperial, 42.62, true, "psi"}, // 42.61825
		// Distances: miles, km in metric only.
		{"Odometer", 18342.7, UnitsNative, 18342.7, false, "mi"},
		{"Odometer", 18342.7, UnitsMetric, 29519.71, true, "km"}, // 29519.7141888
		{"Odometer", 18342.7, UnitsImperial, 18342.7, false, "mi"},
		{"RatedRange", 231.4, UnitsMetric, 372.4, true, "km"}, // 372.4022016
		{"MilesToArrival", 6.8, UnitsMetric, 10.94, true, "km"},
		// Speeds: mph, km/h in metric; ChargeRateMilePerHour is a speed.
		{"VehicleSpeed", 38.4, UnitsMetric, 61.8, true, "km/h"}, // 61.7988096
		{"VehicleSpeed", 38.4, UnitsNative, 38.4, false, "mph"},
		{"ChargeRateMilePerHour", 20, UnitsMetric, 32.19, true, "km/h"}, // 32.18688
		// Temperatures: °C, °F in imperial.
		{"InsideTemp", 24.5, UnitsImperial, 76.1, true, "°F"},
		{"InsideTemp", 21.3, UnitsImperial, 70.34, true, "°F"},
		{"OutsideTemp", -40, UnitsImperial, -40, true, "°F"},
		{"OutsideTemp", 21.3, UnitsMetric, 21.3, false, "°C"},
		// Semi pressure streams in bar.
		{"SemitruckTpmsPressureRe1L0", 8, UnitsNative, 8, false, "bar"},
		{"SemitruckTpmsPressureRe1L0", 8, UnitsImperial, 116.03, true, "psi"}, // 116.0301902
		// No quantity: never converted, never rounded.
		{"BatteryLevel", 71.43219, UnitsImperial, 71.43219, false, "%"},
		{"ACChargingPower", 7.123456, UnitsMetric, 7.123456, false, "kW"},
		{"CruiseSetSpeed", 40, UnitsMetric, 40, false, ""},
	}
	for _, tt := range tests {
		f := field(t, tt.field)
		got, changed := f.Convert(tt.in, tt.units)
		if got != tt.want || changed != tt.changed {
			t.Errorf("%s %v %s: got %v (changed %v), want %v (changed %v)", tt.field, tt.in, tt.units, got, changed, tt.want, tt.changed)
		}
		if u := f.UnitFor(tt.units); u != tt.unit {
			t.Errorf("%s %s: unit %q, want %q", tt.field, tt.units, u, tt.unit)
		}
	}
	// An unset mode is native.
	if got, _ := field(t, "TpmsPressureFl").Convert(2.9, ""); got != 2.938 {
		t.Errorf("unset units: %v", got)
	}
	if got, _ := field(t, "OutsideTemp").Convert(-17.7777778, UnitsImperial); got != 0 {
		t.Errorf("-0 leaked: %v", got)
	}
}
