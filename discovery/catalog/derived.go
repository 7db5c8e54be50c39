package catalog

import (
	"math"
	"strconv"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/jsonraw"
)

// Derived values. Tesla keeps reporting the last charging powers after a
// charging session ends (teslamotors/fleet-telemetry#319), so a power entity
// would show a session that is over. Derived values get their own topics
// (<base>/<VIN>/derived/<object>, docs/topics.md): the raw field topics always
// carry what the car sent. This file knows which fields feed the values the
// bridge derives and the rules; the bridge keeps the state per car and
// publishes. Everything here is pure: the state types are plain values that
// the bridge owns, one per car.

// ChargerPowerObject is the object id of the derived charger power: the last
// level of its topic <base>/<VIN>/derived/charger_power and the end of its
// unique_id <base>_<VIN>_charger_power. Snake case, like the other non-field
// objects (last_seen, active_alerts), so it cannot clash with a Tesla field.
const ChargerPowerObject = "charger_power"

// Input is the part a field plays in the values the bridge derives.
type Input uint8

// Inputs of derived values.
const (
	InputNone                Input = iota // feeds nothing: almost every field
	InputACChargingPower                  // ACChargingPower, kW
	InputDCChargingPower                  // DCChargingPower, kW
	InputDetailedChargeState              // DetailedChargeState, published without its prefix
)

// FeedsChargerPower reports whether the input is one of the charger power's.
func (in Input) FeedsChargerPower() bool {
	return in == InputACChargingPower || in == InputDCChargingPower || in == InputDetailedChargeState
}

// inputs holds the input role of every catalog field by field number, so that
// the per-value hot path pays an array index, not a map lookup.
var inputs = func() (t [len(fieldTable)]Input) {
	set := func(name string, in Input) {
		f, ok := Lookup(name)
		if !ok {
			panic("discovery: derived input " + name + " is not in the catalog")
		}
		t[f.Number] = in
	}
	set("ACChargingPower", InputACChargingPower)
	set("DCChargingPower", InputDCChargingPower)
	set("DetailedChargeState", InputDetailedChargeState)
	return t
}()

// DerivedInput returns the part f plays in derived values: InputNone for
// almost every field and for fields outside the catalog. It does not
// allocate and is meant for the per-value hot path.
func (f *Field) DerivedInput() Input {
	if f == nil || f.Number < 0 || f.Number >= len(inputs) || fields.all[f.Number] != f {
		return InputNone // not a catalog entry (Unknown)
	}
	return inputs[f.Number]
}

// ---- Charger power ----------------------------------------------------------

// chargePhase is what a DetailedChargeState says about the charger power.
type chargePhase uint8

const (
	phaseUnchanged chargePhase = iota // no state, or one that says nothing (null, Calibrating, newer options)
	phaseCharging                     // Starting, Charging
	phaseEnded                        // Disconnected, Complete, Stopped, NoPower
)

func phaseOf(state []byte) chargePhase {
	switch string(state) {
	case "Disconnected", "Complete", "Stopped", "NoPower":
		return phaseEnded
	case "Starting", "Charging":
		return phaseCharging
	}
	return phaseUnchanged
}

// power is one power reading: seen when it was reported, valid when it was a
// number rather than null.
type power struct {
	seen, valid bool
	kw          float64
}

func readPower(payload []byte) power {
	if jsonraw.IsNull(payload) {
		return power{seen: true} // checked first: a parse error would allocate
	}
	kw, err := strconv.ParseFloat(string(payload), 64)
	valid := err == nil && !math.IsNaN(kw) && !math.IsInf(kw, 0)
	return power{seen: true, valid: valid, kw: kw}
}

// ChargerPowerInputs collects what one event says about the inputs of the
// charger power. An event is applied as a whole, state first, so that the
// order of keys in it does not matter. The zero value says nothing.
type ChargerPowerInputs struct {
	phase  chargePhase
	ac, dc power
}

// Observe records the published payload (docs/payloads.md: a bare number, an
// enum option without prefix, or null) of one input; other inputs are ignored.
func (in *ChargerPowerInputs) Observe(input Input, payload []byte) {
	switch input {
	case InputACChargingPower:
		in.ac = readPower(payload)
	case InputDCChargingPower:
		in.dc = readPower(payload)
	case InputDetailedChargeState:
		in.phase = phaseOf(payload)
	}
}

// Empty reports whether the event carried no input of the charger power, or
// only a state that changes nothing.
func (in ChargerPowerInputs) Empty() bool { return in == ChargerPowerInputs{} }

// ChargerPower is the charger power of one car, derived from ACChargingPower,
// DCChargingPower and DetailedChargeState as Teslemetry's own clients do:
//
//   - once DetailedChargeState is Disconnected, Complete, Stopped or NoPower
//     the power is 0. Powers reported while it stays so are the lingering
//     ones and are ignored, and the powers seen before are forgotten, so that
//     a stale DC power cannot stand in for the next AC session;
//   - Starting and Charging lift that; any other state (Calibrating, null,
//     an option newer than the catalog) changes nothing;
//   - otherwise a non-zero DC power wins over AC (DC wins when both report
//     power), else the AC power, else a DC power of 0;
//   - with no power known (nothing reported yet, or null) the value is
//     unknown, and the bridge keeps what it published last.
//
// Two deliberate differences from Teslemetry's Python client: null powers
// after the end still give 0 (the session is over, whatever the car says),
// and a 0 from one source while the other is unknown gives 0 rather than
// holding an earlier value (the bridge keeps nothing across restarts to hold).
//
// The zero value is a car with nothing reported yet. All units are the
// streamed kW (power has no unit conversion, see units.go).
type ChargerPower struct {
	ended  bool
	ac, dc power
}

// Apply returns the charger power after one event's inputs.
func (c ChargerPower) Apply(in ChargerPowerInputs) ChargerPower {
	switch in.phase {
	case phaseEnded:
		return ChargerPower{ended: true}
	case phaseCharging:
		c.ended = false
	}
	if c.ended {
		return c
	}
	if in.ac.seen {
		c.ac = in.ac
	}
	if in.dc.seen {
		c.dc = in.dc
	}
	return c
}

// KW returns the charger power in kW and whether it is known.
func (c ChargerPower) KW() (float64, bool) {
	switch {
	case c.ended:
		return 0, true
	case c.dc.valid && c.dc.kw != 0:
		return c.dc.kw, true
	case c.ac.valid:
		return c.ac.kw, true
	case c.dc.valid:
		return c.dc.kw, true
	}
	return 0, false
}
