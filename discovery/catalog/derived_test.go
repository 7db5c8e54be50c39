package catalog

import (
	"strconv"
	"testing"
)

// kv is one value of an event: a field and its published payload (docs/payloads.md).
type kv struct{ field, payload string }

func TestDerivedInputs(t *testing.T) {
	want := map[string]Input{
		"ACChargingPower":     InputACChargingPower,
		"DCChargingPower":     InputDCChargingPower,
		"DetailedChargeState": InputDetailedChargeState,
	}
	for _, f := range All() {
		if got := f.DerivedInput(); got != want[f.Name] {
			t.Errorf("%s: input %d, want %d", f.Name, got, want[f.Name])
		}
	}
	// Only catalog entries play a part: not a field of a newer firmware, not a copy.
	copied := *field(t, "ACChargingPower")
	if Unknown("ACChargingPower").DerivedInput() != InputNone || copied.DerivedInput() != InputNone {
		t.Error("a field outside the catalog feeds a derived value")
	}
	if !InputDetailedChargeState.FeedsChargerPower() || InputNone.FeedsChargerPower() {
		t.Error("FeedsChargerPower")
	}
}

// chargerPowerAfter applies events in order and returns the charger power as
// the bridge would publish it ("" when unknown).
func chargerPowerAfter(t *testing.T, events [][]kv) string {
	t.Helper()
	var c ChargerPower
	for _, ev := range events {
		var in ChargerPowerInputs
		for _, v := range ev {
			in.Observe(field(t, v.field).DerivedInput(), []byte(v.payload))
		}
		c = c.Apply(in)
	}
	kw, ok := c.KW()
	if !ok {
		return ""
	}
	return strconv.FormatFloat(kw, 'f', -1, 64)
}

func TestChargerPower(t *testing.T) {
	const (
		state = "DetailedChargeState"
		ac    = "ACChargingPower"
		dc    = "DCChargingPower"
	)
	charging := func(extra ...kv) []kv { return append([]kv{{state, "Charging"}}, extra...) }
	only := func(values ...kv) []kv { return values }
	for _, tc := range []struct {
		name   string
		events [][]kv
		want   string // "" = unknown: the bridge keeps its last value
	}{
		{"nothing yet", nil, ""},
		{"charging without a power yet", [][]kv{charging()}, ""},
		{"AC charging", [][]kv{charging(kv{ac, "7"}, kv{dc, "0"})}, "7"},
		{"AC charging then Complete", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Complete"})}, "0"},
		{"AC charging then Stopped", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Stopped"})}, "0"},
		{"AC charging then NoPower", [][]kv{charging(kv{ac, "7"}), only(kv{state, "NoPower"})}, "0"},
		{"DC charging then Disconnected", [][]kv{charging(kv{ac, "0"}, kv{dc, "148.2"}), only(kv{state, "Disconnected"})}, "0"},
		{"DC charging", [][]kv{charging(kv{ac, "0"}, kv{dc, "148.2"})}, "148.2"},
		{"DC wins when both report power", [][]kv{charging(kv{ac, "11"}, kv{dc, "3"})}, "3"},
		{"AC when DC drops to 0", [][]kv{charging(kv{ac, "0"}, kv{dc, "148.2"}), only(kv{ac, "7"}, kv{dc, "0"})}, "7"},
		{"DC 0 without AC", [][]kv{charging(kv{dc, "150"}), only(kv{dc, "0"})}, "0"},
		{"no power from either", [][]kv{charging(kv{ac, "0"}, kv{dc, "0"})}, "0"},
		{"lingering DC ignored after the end", [][]kv{charging(kv{dc, "148.2"}), only(kv{state, "Disconnected"}), only(kv{dc, "148.2"})}, "0"},
		{"lingering AC ignored after the end", [][]kv{charging(), only(kv{state, "Disconnected"}), only(kv{ac, "0.6"})}, "0"},
		{"lingering AC and DC ignored after the end", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Disconnected"}), only(kv{ac, "0.6"}, kv{dc, "148.2"})}, "0"},
		{"null powers after the end", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Disconnected"}), only(kv{ac, "null"}, kv{dc, "null"})}, "0"},
		{"resumed charging", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Complete"}), charging(kv{ac, "7.2"})}, "7.2"},
		{"resumed charging, no power yet", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Stopped"}), charging()}, ""},
		{"Starting lifts the end", [][]kv{only(kv{state, "Disconnected"}), only(kv{state, "Starting"}, kv{dc, "20"})}, "20"},
		{"stale DC forgotten for the next AC session", [][]kv{charging(kv{ac, "0"}, kv{dc, "148.2"}), only(kv{state, "Disconnected"}), only(kv{dc, "148.2"}), charging(kv{ac, "7"})}, "7"},
		{"AC session after a DC session", [][]kv{charging(kv{dc, "150"}), only(kv{state, "Complete"}), charging(kv{ac, "7"})}, "7"},
		{"power before the state in one event", [][]kv{only(kv{state, "Disconnected"}), only(kv{dc, "150"}, kv{state, "Charging"})}, "150"},
		{"stale power in a snapshot that says disconnected", [][]kv{only(kv{ac, "7"}, kv{state, "Disconnected"}, kv{dc, "0"})}, "0"},
		{"DC before any state", [][]kv{only(kv{dc, "150"})}, "150"},
		{"AC 0 before any state", [][]kv{only(kv{ac, "0"})}, "0"},
		{"null state changes nothing while charging", [][]kv{charging(kv{ac, "7"}), only(kv{state, "null"}), only(kv{ac, "8"})}, "8"},
		{"Calibrating changes nothing while charging", [][]kv{charging(kv{ac, "7"}), only(kv{state, "Calibrating"})}, "7"},
		{"null state does not lift the end", [][]kv{charging(), only(kv{state, "Disconnected"}), only(kv{state, "null"}), only(kv{ac, "0.6"})}, "0"},
		{"Calibrating does not lift the end", [][]kv{charging(), only(kv{state, "Disconnected"}), only(kv{state, "Calibrating"}), only(kv{ac, "0.6"})}, "0"},
		{"newer option does not lift the end", [][]kv{charging(), only(kv{state, "Complete"}), only(kv{state, "SomethingNew"}), only(kv{ac, "0.6"})}, "0"},
		{"null AC while charging", [][]kv{charging(kv{ac, "7"}), only(kv{ac, "null"})}, ""},
		{"null DC falls back to AC", [][]kv{charging(kv{ac, "7"}, kv{dc, "150"}), only(kv{dc, "null"})}, "7"},
		{"unrelated fields change nothing", [][]kv{charging(kv{ac, "7"}), only(kv{"BatteryLevel", "80"}, kv{"MinutesToArrival", "null"})}, "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := chargerPowerAfter(t, tc.events); got != tc.want {
				t.Errorf("charger power %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChargerPowerInputsEmpty(t *testing.T) {
	var in ChargerPowerInputs
	in.Observe(InputNone, []byte("7"))
	in.Observe(InputDetailedChargeState, []byte("Calibrating")) // says nothing
	if !in.Empty() {
		t.Error("inputs that say nothing are not empty")
	}
	in.Observe(InputACChargingPower, []byte("null"))
	if in.Empty() {
		t.Error("a null power is something: it forgets the previous one")
	}
}

// The per-value work must not allocate: it runs for every value of a car.
func TestDerivedHotPathDoesNotAllocate(t *testing.T) {
	speed, ac := field(t, "VehicleSpeed"), field(t, "ACChargingPower")
	var c ChargerPower
	allocs := testing.AllocsPerRun(100, func() {
		_ = speed.DerivedInput()
		var in ChargerPowerInputs
		in.Observe(ac.DerivedInput(), []byte("7.5"))
		in.Observe(InputDCChargingPower, []byte("null"))
		in.Observe(InputDetailedChargeState, []byte("Charging"))
		c = c.Apply(in)
		_, _ = c.KW()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per value", allocs)
	}
}

func field(t *testing.T, name string) *Field {
	t.Helper()
	f, ok := Lookup(name)
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return f
}
