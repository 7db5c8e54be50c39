package teslemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

func field(t testing.TB, name string) *catalog.Field {
	t.Helper()
	f, ok := catalog.Lookup(name)
	if !ok {
		f = catalog.Unknown(name)
	}
	return f
}

func TestFormatValueShapes(t *testing.T) {
	native := Formatter{Units: catalog.UnitsNative}
	cases := []struct {
		field, raw, want string
	}{
		{"VehicleSpeed", `34.797`, `34.797`},
		{"VehicleSpeed", `"34.797"`, `34.797`},
		{"VehicleSpeed", `41.0`, `41`},
		{"VehicleSpeed", `"0.000"`, `0`},
		{"VehicleSpeed", `-0.0`, `0`},
		{"VehicleSpeed", `1e3`, `1000`},
		{"InsideTemp", `"21.30000091344118"`, `21.30000091344118`},
		// Every digit as sent, always a valid JSON number (docs/failures.md "Numbers").
		{"Odometer", `123456789012345678`, `123456789012345678`},
		{"Odometer", `"123456789012345678901234567890"`, `123456789012345678901234567890`},
		{"Odometer", `-98765432109876543210.123456789012345678`, `-98765432109876543210.123456789012345678`},
		{"VehicleSpeed", `"+5"`, `5`},
		{"VehicleSpeed", `".5"`, `0.5`},
		{"VehicleSpeed", `"034.50"`, `34.5`},
		{"VehicleSpeed", `"5."`, `5`},
		{"VehicleSpeed", `"-.25"`, `-0.25`},
		{"VehicleSpeed", `"-000"`, `0`},
		{"VehicleSpeed", `"0.0000001"`, `0.0000001`},
		{"SomeFutureField", `123456789012345678`, `123456789012345678`},
		{"SomeFutureField", `"+5"`, `5`},
		{"SomeFutureField", `".5"`, `0.5`},
		{"SomeFutureField", `"034.50"`, `34.5`},
		{"SomeFutureField", `"5."`, `5`},
		{"SomeFutureField", `"5.0.1"`, `5.0.1`},
		{"SomeFutureField", `"+"`, `+`},
		{"SomeFutureField", `"."`, `.`},
		{"BatteryLevel", `88`, `88`},
		{"ChargeLimitSoc", `"74.4"`, `74.4`},
		{"VehicleSpeed", `null`, `null`},
		{"VehicleSpeed", `"<invalid>"`, `null`},
		{"VehicleSpeed", `"NaN"`, ``},
		{"Locked", `true`, `true`},
		{"Locked", `"false"`, `false`},
		{"Locked", `"TRUE"`, `true`},
		{"Locked", `1`, `true`},
		{"Locked", `0`, `false`},
		{"DriverSeatBelt", `"BuckleStatusLatched"`, `true`},
		{"Gear", `"ShiftStateD"`, `D`},
		{"Gear", `"ShiftStateUnknown"`, `null`},
		{"Gear", `"Drive"`, `Drive`},
		{"DetailedChargeState", `"DetailedChargeStateCharging"`, `Charging`},
		{"FdWindow", `"WindowStatePartiallyOpen"`, `PartiallyOpen`},
		{"DiStateR", `"DriveInverterStateEnable"`, `Enable`},
		{"CruiseFollowDistance", `"FollowDistance3"`, `3`},
		{"ChargingCableType", `"CableTypeIEC"`, `IEC`},
		{"ChargeState", `"Idle"`, `Idle`},
		{"VehicleName", `"Sparky"`, `Sparky`},
		{"VehicleName", `"say \"hi\""`, `say "hi"`},
		{"Version", `"2026.26.6 3c0a1d2b9e7f"`, `2026.26.6 3c0a1d2b9e7f`},
		{"DestinationName", `""`, `null`},
		{"Location", `{"latitude":30.2226645,"longitude":-97.6213806}`, `{"latitude":30.2226645,"longitude":-97.6213806}`},
		{"Location", `{"longitude":"-97.5","latitude":"30.25"}`, `{"latitude":30.25,"longitude":-97.5}`},
		{"Location", `null`, `null`},
		{"DestinationLocation", `{"latitude":-27.45121,"longitude":153.04187}`, `{"latitude":-27.45121,"longitude":153.04187}`},
		{"DoorState", `{"DriverFront":true,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}`,
			`{"DriverFront":true,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}`},
		{"DoorState", `{"DoorState":{"DriverFront":false,"DriverRear":true}}`,
			`{"DriverFront":false,"DriverRear":true,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":false}`},
		{"TpmsSoftWarnings", `{"frontLeft":false,"frontRight":true,"rearLeft":false,"rearRight":false}`,
			`{"front_left":false,"front_right":true,"rear_left":false,"rear_right":false}`},
		{"TpmsHardWarnings", `{"front_left":true,"rear_right":"true","semi_rear_axle_left_2":true}`,
			`{"front_left":true,"front_right":false,"rear_left":false,"rear_right":true,"semi_rear_axle_left_2":true}`},
		{"TpmsSoftWarnings", `{"semiMiddleAxleLeft2":true}`,
			`{"front_left":false,"front_right":false,"rear_left":false,"rear_right":false,"semi_middle_axle_left_2":true}`},
		{"ScheduledChargingStartTime", `1789412400`, `2026-09-14T19:00:00Z`},
		{"ScheduledChargingStartTime", `"1789412400"`, `2026-09-14T19:00:00Z`},
		{"TpmsLastSeenPressureTimeRl", `1789370990000`, `2026-09-14T07:29:50Z`},
		{"ScheduledChargingStartTime", `"2026-09-14T19:00:00.000Z"`, `2026-09-14T19:00:00Z`},
		{"RouteLastUpdated", `{"hour":7,"minute":5,"second":9}`, `07:05:09`},
		{"RouteLastUpdated", `"7:05"`, `07:05:00`},
		{"SomeFutureField", `12.5`, `12.5`},
		{"SomeFutureField", `"text"`, `text`},
		{"SomeFutureField", `{"a": 1}`, `{"a":1}`},
		{"SomeFutureField", `[true, false]`, `[true,false]`},
		{"SomeFutureField", `false`, `false`},
	}
	for _, tc := range cases {
		got, err := native.Format(nil, field(t, tc.field), []byte(tc.raw))
		if tc.want == "" {
			if !errors.Is(err, ErrWrongType) {
				t.Errorf("%s %s: want ErrWrongType, got %q, %v", tc.field, tc.raw, got, err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s %s = %q, %v; want %q", tc.field, tc.raw, got, err, tc.want)
		}
	}
}

func TestFormatWrongTypes(t *testing.T) {
	native := Formatter{Units: catalog.UnitsNative}
	for _, tc := range []struct{ field, raw string }{
		{"VehicleSpeed", `{"x":1}`}, {"VehicleSpeed", `true`}, {"VehicleSpeed", `"fast"`},
		{"Locked", `"maybe"`}, {"Locked", `[true]`}, {"Location", `"here"`}, {"DoorState", `true`},
		{"TpmsSoftWarnings", `7`}, {"ScheduledChargingStartTime", `true`},
	} {
		if got, err := native.Format(nil, field(t, tc.field), []byte(tc.raw)); !errors.Is(err, ErrWrongType) {
			t.Errorf("%s %s: want ErrWrongType, got %q, %v", tc.field, tc.raw, got, err)
		}
	}
}

func TestFormatUnits(t *testing.T) {
	cases := []struct {
		units      catalog.Units
		field, raw string
		want       string
	}{
		{catalog.UnitsNative, "TpmsPressureFl", `2.912`, `2.951`},
		{catalog.UnitsNative, "Odometer", `18342.7`, `18342.7`},
		{catalog.UnitsMetric, "Odometer", `100`, `160.93`},
		{catalog.UnitsMetric, "VehicleSpeed", `"60"`, `96.56`},
		{catalog.UnitsMetric, "InsideTemp", `24.5`, `24.5`},
		{catalog.UnitsImperial, "InsideTemp", `25`, `77`},
		{catalog.UnitsImperial, "Odometer", `100`, `100`},
		{catalog.UnitsImperial, "TpmsPressureFl", `2.9`, `42.62`},
	}
	for _, tc := range cases {
		got, err := Formatter{Units: tc.units}.Format(nil, field(t, tc.field), []byte(tc.raw))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s %s %s = %q, %v; want %q", tc.units, tc.field, tc.raw, got, err, tc.want)
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"frontLeft": "front_left", "semiMiddleAxleLeft2": "semi_middle_axle_left_2",
		"front_left": "front_left", "DriverFront": "driver_front", "semi_rear_axle_left_2": "semi_rear_axle_left_2",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// sampleEvents returns the data lines of the reference transcript.
func sampleEvents(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/sse-sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			out = append(out, []byte(strings.TrimPrefix(line, "data: ")))
		}
	}
	return out
}

func TestParseSample(t *testing.T) {
	events := sampleEvents(t)
	if len(events) != 43 {
		t.Fatalf("sample has %d events, want 43", len(events))
	}
	kinds := map[string]int{}
	values := 0
	native := Formatter{Units: catalog.UnitsNative}
	for i, data := range events {
		ev, problems, err := Parse(data)
		if err != nil || len(problems) > 0 {
			t.Fatalf("event %d: %v %v", i, err, problems)
		}
		for _, d := range ev.Data {
			if _, err := native.Format(nil, field(t, d.Field), d.Value); err != nil {
				t.Errorf("event %d %s=%s: %v", i, d.Field, d.Value, err)
			}
			values++
		}
		switch {
		case len(ev.Data) > 0:
			kinds["data"]++
		case ev.State != "":
			kinds["state"]++
		case ev.Connectivity != nil:
			kinds["connectivity"]++
		case ev.Alerts != nil:
			kinds["alerts"]++
		case ev.Errors != nil:
			kinds["errors"]++
		case ev.Config != nil:
			kinds["config"]++
		case ev.VehicleData != nil:
			kinds["vehicle_data"]++
		case ev.Credits != nil:
			kinds["credits"]++
		case ev.EnergySite:
			kinds["energy"]++
		}
	}
	want := map[string]int{"data": 19, "state": 4, "connectivity": 5, "alerts": 1, "errors": 1, "config": 2, "vehicle_data": 1, "credits": 3, "energy": 7}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s events = %d, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	if values < 100 {
		t.Errorf("only %d values decoded", values)
	}
}

func TestParseEventParts(t *testing.T) {
	ev, _, err := Parse([]byte(`{"createdAt":"2026-09-14T07:30:40.338947215Z","vin":"V","isCache":true,"data":{"B":1,"A":2},"credits":{"balance":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.VIN != "V" || !ev.IsCache || len(ev.Data) != 2 || ev.Data[0].Field != "B" || ev.Credits == nil {
		t.Errorf("parsed %+v", ev)
	}
	if ev.CreatedAt.Format("15:04:05.000000000") != "07:30:40.338947215" {
		t.Errorf("createdAt = %v", ev.CreatedAt)
	}
	ev, _, _ = Parse([]byte(`{"vin":"V","networkInterface":"WiFi","status":"CONNECTED","createdAt":"2026-10-03T00:00:00.000"}`))
	if ev.Connectivity == nil || ev.Connectivity.Interface != "wifi" || ev.Connectivity.Status != "connected" || ev.CreatedAt.IsZero() {
		t.Errorf("connectivity %+v", ev)
	}
	for _, bad := range []string{``, `[]`, `1`, `"x"`, `{`, `{"a":}`, `{"vin":"V"} x`, `{"unknown":1}`} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParseAndFormat(f *testing.F) {
	for _, e := range sampleEvents(f) {
		f.Add(e)
	}
	f.Add([]byte(`{"vin":"V","data":{"DoorState":{"DoorState":{"DriverFront":true}}}}`))
	f.Add([]byte(`{"vin":"V","data":{"TpmsSoftWarnings":{"frontLeft":"true"},"Gear":"ShiftStateSNA"}}`))
	var p Parser // interning must not change what is decoded
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, problems, err := Parse(data)
		if pev, pproblems, perr := p.Parse(data); !reflect.DeepEqual(pev, ev) || !reflect.DeepEqual(pproblems, problems) || !reflect.DeepEqual(perr, err) {
			t.Fatalf("Parser.Parse = %+v, %v, %v; Parse = %+v, %v, %v", pev, pproblems, perr, ev, problems, err)
		}
		if err != nil {
			return
		}
		for _, units := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
			fm := Formatter{Units: units}
			for _, d := range ev.Data {
				f := field(t, d.Field)
				out, err := fm.Format(nil, f, d.Value)
				if err == nil && len(out) == 0 {
					t.Fatalf("empty payload for %s=%s", d.Field, d.Value)
				}
				checkNumberPayload(t, fm, f, d.Value, out, err)
			}
		}
	})
}

// checkNumberPayload: a number field's payload is a valid JSON number (or
// null), and an integer sent without conversion keeps every digit.
func checkNumberPayload(t *testing.T, fm Formatter, f *catalog.Field, raw, out []byte, err error) {
	t.Helper()
	if err != nil || (f.Kind != catalog.KindFloat && f.Kind != catalog.KindInt) || bytes.Equal(out, Null) {
		return
	}
	if !json.Valid(out) || (out[0] != '-' && !isDigitByte(out[0])) {
		t.Fatalf("%s=%s published %q, not a JSON number", f.Name, raw, out)
	}
	in := bytes.Trim(bytes.TrimSpace(raw), `"`)
	in = bytes.TrimSpace(in)
	if !fm.unconverted(f) || len(in) == 0 || !allDigits(bytes.TrimLeft(in, "+-")) {
		return
	}
	want := strings.TrimLeft(string(bytes.TrimLeft(in, "+-")), "0")
	if want == "" {
		want = "0"
	} else if in[0] == '-' {
		want = "-" + want
	}
	if string(out) != want {
		t.Fatalf("%s=%s published %q, want every digit: %q", f.Name, raw, out, want)
	}
}

func TestNumbersKeepEveryDigit(t *testing.T) {
	fm := Formatter{Units: catalog.UnitsNative}
	for _, raw := range []string{`123456789012345678`, `"123456789012345678"`, `-9007199254740993`, `"+000042"`, `18446744073709551617`} {
		for _, name := range []string{"Odometer", "BatteryLevel", "SomeFutureField"} {
			f := field(t, name)
			out, err := fm.Format(nil, f, []byte(raw))
			if err != nil {
				t.Fatalf("%s=%s: %v", name, raw, err)
			}
			checkNumberPayload(t, fm, f, []byte(raw), out, nil)
		}
	}
}
