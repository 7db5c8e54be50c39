package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readTSV reads a reference TSV copy from testdata (header row dropped).
func readTSV(t *testing.T, name string) [][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if i > 0 {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

func TestCatalogMatchesTSV(t *testing.T) {
	rows := readTSV(t, "fleet-fields.tsv")
	all := All()
	if len(rows) != 260 || len(all) != len(rows) {
		t.Fatalf("TSV has %d fields, catalog %d (want 260 each)", len(rows), len(all))
	}
	for i, row := range rows {
		name, typ, enumType := row[0], row[2], row[3]
		num, err := strconv.Atoi(row[1])
		if err != nil {
			t.Fatalf("row %d: bad number %q", i, row[1])
		}
		f := all[i]
		if f.Name != name || f.Number != num || string(f.Kind) != typ || f.EnumType != enumType {
			t.Errorf("row %d: TSV {%s %d %s %s}, catalog {%s %d %s %s}",
				i, name, num, typ, enumType, f.Name, f.Number, f.Kind, f.EnumType)
		}
		if g, ok := Lookup(name); !ok || g != f {
			t.Errorf("Lookup(%q) = %v, %v", name, g, ok)
		}
	}
}

// extraOptions are enum members Teslemetry streams that the proto lacks
// (docs/payloads.md: the option without its prefix); nothing else may be added to an option list.
var extraOptions = map[string][]string{
	"DetailedChargeStateValue": {"Calibrating"},
	"BuckleStatus":             {"SNA"},
}

func TestEnumOptionsMatchTSV(t *testing.T) {
	tsv := map[string][]string{} // enum type → value names in proto order
	for _, row := range readTSV(t, "fleet-enums.tsv") {
		tsv[row[0]] = append(tsv[row[0]], row[1])
	}
	used := map[string]bool{}
	for _, f := range All() {
		if f.Kind != KindEnum {
			if f.EnumPrefix != "" || f.Options != nil {
				t.Errorf("%s: non-enum with prefix %q / options %v", f.Name, f.EnumPrefix, f.Options)
			}
			continue
		}
		used[f.EnumType] = true
		values, ok := tsv[f.EnumType]
		if !ok {
			t.Errorf("%s: enum type %s not in fleet-enums.tsv", f.Name, f.EnumType)
			continue
		}
		// Prefix rule of thumb: the enum type name without a trailing "Value".
		want := strings.TrimSuffix(f.EnumType, "Value")
		if f.EnumType == "ChargeUnitPreference" {
			want = "ChargeUnit"
		}
		if f.EnumPrefix != want {
			t.Errorf("%s: prefix %q, want %q", f.Name, f.EnumPrefix, want)
		}
		var opts []string
		for _, v := range values {
			opt, ok := strings.CutPrefix(v, f.EnumPrefix)
			if !ok || opt == "" {
				t.Errorf("%s: TSV value %s lacks prefix %s", f.Name, v, f.EnumPrefix)
				continue
			}
			if opt != "Unknown" {
				opts = append(opts, opt)
			}
		}
		opts = append(opts, extraOptions[f.EnumType]...)
		if !slices.Equal(f.Options, opts) {
			t.Errorf("%s: options %v, want %v", f.Name, f.Options, opts)
		}
	}
	for typ := range enumTypes {
		if !used[typ] {
			t.Errorf("enumTypes has unused type %s", typ)
		}
	}
}

func TestCatalogBasics(t *testing.T) {
	placeholders := 0
	for _, f := range All() {
		if f.IsPlaceholder() {
			placeholders++
			if f.Label != "" || f.Component != "" || f.Enabled {
				t.Errorf("placeholder %s has metadata", f.Name)
			}
		}
	}
	if placeholders != 19 {
		t.Errorf("%d placeholders, want 19", placeholders)
	}
	if _, ok := Lookup("NoSuchField"); ok {
		t.Error("Lookup found an unknown field")
	}
	a := All()
	a[0] = nil
	if All()[0] == nil {
		t.Error("All returned the catalog's own slice")
	}
	if n := testing.AllocsPerRun(100, func() { Lookup("BatteryLevel") }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

func TestUnknown(t *testing.T) {
	f := Unknown("SomeNewField2")
	if f.Name != "SomeNewField2" || f.Kind != KindUnknown || f.Component != ComponentSensor ||
		f.Enabled || !f.Diagnostic || f.DeviceClass != "" || f.Unit != "" || f.Precision != -1 || f.IsPlaceholder() {
		t.Errorf("Unknown: %+v", *f)
	}
	if f.Label != "Some new field2" {
		t.Errorf("label %q", f.Label)
	}
	if v, changed := f.Convert(1.5, UnitsMetric); v != 1.5 || changed {
		t.Error("unknown field converted")
	}
}

// enabledByDefault is the curated everyday set (everything else is off).
var enabledByDefault = []string{
	"ACChargingEnergyIn", "ACChargingPower", "BatteryLevel", "ChargeAmps", "ChargeLimitSoc",
	"ChargePortDoorOpen", "ChargerVoltage", "DCChargingPower", "DetailedChargeState", "DoorState",
	"EstBatteryRange", "FdWindow", "FpWindow", "Gear", "HvacLeftTemperatureRequest", "HvacPower",
	"HvacRightTemperatureRequest", "InsideTemp", "LocatedAtHome", "LocatedAtWork", "Location", "Locked",
	"MilesToArrival", "MinutesToArrival", "Odometer", "OutsideTemp", "RatedRange", "RdWindow", "RpWindow",
	"SentryMode", "TimeToFullCharge", "TpmsPressureFl", "TpmsPressureFr", "TpmsPressureRl",
	"TpmsPressureRr", "Version", "VehicleSpeed",
}

func TestEnabledSet(t *testing.T) {
	var got []string
	for _, f := range All() {
		if f.Enabled {
			got = append(got, f.Name)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(enabledByDefault))
	if !slices.Equal(got, want) {
		t.Errorf("enabled by default:\n got %v\nwant %v", got, want)
	}
}

// ambiguous are fields whose unit sources disagree (Tesla's protobuf comments and the fleet-telemetry docs):
// no device_class, so Home Assistant never converts a guess.
var ambiguous = []string{
	"LateralAcceleration", "LongitudinalAcceleration", "IsolationResistance", "DiAxleSpeedR",
	"DiAxleSpeedF", "DiAxleSpeedREL", "DiAxleSpeedRER", "BrakePedalPos", "PedalPosition",
	"CruiseSetSpeed", "HvacFanSpeed", "HvacFanStatus", "MediaAudioVolume",
}

// TestCatalogShape checks that each kind gets the entity shape the payload
// format of docs/payloads.md needs.
func TestCatalogShape(t *testing.T) {
	wireUnit := map[string]Quantity{"mi": QuantityDistance, "mph": QuantitySpeed, "°C": QuantityTemperature}
	for _, f := range All() {
		if f.IsPlaceholder() {
			continue
		}
		if f.Label == "" || strings.Contains(strings.ToLower(f.Label), "tesla") {
			t.Errorf("%s: bad label %q", f.Name, f.Label)
		}
		if f.Icon != "" && !strings.HasPrefix(f.Icon, "mdi:") {
			t.Errorf("%s: icon %q", f.Name, f.Icon)
		}
		numeric := f.Kind == KindFloat || f.Kind == KindInt
		if !numeric && (f.Unit != "" || f.StateClass != "" || f.Precision != -1 || f.Quantity != "") {
			t.Errorf("%s: non-numeric field with unit/state class/precision/quantity", f.Name)
		}
		if f.Precision < -1 {
			t.Errorf("%s: precision %d", f.Name, f.Precision)
		}
		if f.Inverted && f.Component != ComponentBinarySensor {
			t.Errorf("%s: inverted but not a binary_sensor", f.Name)
		}
		want := map[Kind]string{
			KindBool: ComponentBinarySensor, KindDoors: ComponentBinarySensor, KindTireLocation: ComponentBinarySensor,
			KindLocation: ComponentDeviceTracker,
		}[f.Kind]
		if want == "" {
			want = ComponentSensor
		}
		if f.Component != want {
			t.Errorf("%s: component %s, want %s for kind %s", f.Name, f.Component, want, f.Kind)
		}
		switch f.Kind {
		case KindEnum:
			if f.DeviceClass != "enum" || len(f.Options) == 0 {
				t.Errorf("%s: enum without device_class enum / options", f.Name)
			}
		case KindTimestamp:
			if f.DeviceClass != "timestamp" {
				t.Errorf("%s: timestamp field with device_class %q", f.Name, f.DeviceClass)
			}
		case KindString, KindTime:
			if f.DeviceClass != "" {
				t.Errorf("%s: text field with device_class %q", f.Name, f.DeviceClass)
			}
		case KindFloat, KindInt:
			if f.DeviceClass == "enum" || f.DeviceClass == "timestamp" {
				t.Errorf("%s: numeric field with device_class %s", f.Name, f.DeviceClass)
			}
		}
		if q, ok := wireUnit[f.Unit]; ok && f.Quantity != q {
			t.Errorf("%s: unit %s but quantity %q: it would not be converted", f.Name, f.Unit, f.Quantity)
		}
		if strings.HasPrefix(f.Name, "TpmsPressure") && f.Quantity != QuantityTirePressure {
			t.Errorf("%s: tyre pressure streams in atm", f.Name)
		}
	}
	for _, name := range ambiguous {
		if f, _ := Lookup(name); f.DeviceClass != "" {
			t.Errorf("%s: ambiguous unit but device_class %s", name, f.DeviceClass)
		}
	}
}
