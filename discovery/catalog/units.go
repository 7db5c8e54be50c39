package catalog

import (
	"fmt"
	"math"
	"strings"
)

// Units is the units: setting (docs/payloads.md, "Units").
type Units string

// Units modes.
const (
	UnitsNative   Units = "native"   // as the car measures (mi, mph, °C); tyre pressure in bar
	UnitsMetric   Units = "metric"   // km, km/h, °C, bar
	UnitsImperial Units = "imperial" // mi, mph, °F, psi
)

// ParseUnits reads a units: setting (case-insensitive).
func ParseUnits(s string) (Units, error) {
	switch u := Units(strings.ToLower(strings.TrimSpace(s))); u {
	case UnitsNative, UnitsMetric, UnitsImperial:
		return u, nil
	}
	return "", fmt.Errorf("units must be native, metric or imperial, got %q", s)
}

// Quantity is what a numeric field measures, for unit conversion. Fields
// without a quantity are published as streamed in every mode.
type Quantity string

// Quantities with a conversion; the comment gives the unit as streamed.
const (
	QuantityDistance     Quantity = "distance"      // mi
	QuantitySpeed        Quantity = "speed"         // mph
	QuantityTemperature  Quantity = "temperature"   // °C
	QuantityTirePressure Quantity = "tire_pressure" // atm (car TPMS via Teslemetry)
	QuantityPressure     Quantity = "pressure"      // bar (Semi TPMS per Tesla)
)

// conversion turns a streamed value into the published one:
// published = round(wire*Factor + Offset, Decimals). Factor 1 and Offset 0
// means "unchanged": the value is published exactly as sent, not rounded.
type conversion struct {
	Unit     string
	Factor   float64
	Offset   float64
	Decimals int
}

func (c conversion) identity() bool { return c.Factor == 1 && c.Offset == 0 }

// Conversion factors.
const (
	kmPerMile = 1.609344     // exact (international mile)
	barPerAtm = 1.01325      // exact
	psiPerAtm = 14.695948775 // 101325 Pa / 6894.757293168 Pa
	psiPerBar = 14.503773773 // 100000 Pa / 6894.757293168 Pa
)

// conversions maps quantity and mode to the published unit. Rounding of
// converted values: 3 decimals for bar (2.938), 2 for km, km/h, °F and psi.
var conversions = map[Quantity]map[Units]conversion{
	QuantityDistance: {
		UnitsNative:   {"mi", 1, 0, 0},
		UnitsMetric:   {"km", kmPerMile, 0, 2},
		UnitsImperial: {"mi", 1, 0, 0},
	},
	QuantitySpeed: {
		UnitsNative:   {"mph", 1, 0, 0},
		UnitsMetric:   {"km/h", kmPerMile, 0, 2},
		UnitsImperial: {"mph", 1, 0, 0},
	},
	QuantityTemperature: {
		UnitsNative:   {"°C", 1, 0, 0},
		UnitsMetric:   {"°C", 1, 0, 0},
		UnitsImperial: {"°F", 1.8, 32, 2},
	},
	QuantityTirePressure: {
		UnitsNative:   {"bar", barPerAtm, 0, 3},
		UnitsMetric:   {"bar", barPerAtm, 0, 3},
		UnitsImperial: {"psi", psiPerAtm, 0, 2},
	},
	QuantityPressure: {
		UnitsNative:   {"bar", 1, 0, 0},
		UnitsMetric:   {"bar", 1, 0, 0},
		UnitsImperial: {"psi", psiPerBar, 0, 2},
	},
}

// orNative maps an unset or unknown mode to native.
func (u Units) orNative() Units {
	switch u {
	case UnitsMetric, UnitsImperial:
		return u
	}
	return UnitsNative
}

func (f *Field) conversion(u Units) (conversion, bool) {
	if f.Quantity == "" {
		return conversion{}, false
	}
	c, ok := conversions[f.Quantity][u.orNative()]
	return c, ok
}

// Convert turns a numeric value as streamed (wire unit) into the value
// published under mode u, and reports whether it changed it. Converted
// values are rounded (see conversions); unconverted ones are returned as
// they are.
func (f *Field) Convert(v float64, u Units) (float64, bool) {
	c, ok := f.conversion(u)
	if !ok || c.identity() {
		return v, false
	}
	p := math.Pow10(c.Decimals)
	r := math.Round((v*c.Factor+c.Offset)*p) / p
	if r == 0 {
		r = 0 // no -0
	}
	return r, true
}

// UnitFor returns the unit declared in discovery under mode u; it is always
// the unit of the values Convert publishes.
func (f *Field) UnitFor(u Units) string {
	if c, ok := f.conversion(u); ok {
		return c.Unit
	}
	return f.Unit
}
