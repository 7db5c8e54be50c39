package teslemetry

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

// BenchmarkFormat formats one value of each shape the stream carries
// (docs/payloads.md); allocations per value are reported by -benchmem.
func BenchmarkFormat(b *testing.B) {
	cases := []struct {
		name, field, raw string
	}{
		{"number", "VehicleSpeed", `63.2`},
		{"integer", "Odometer", `1764072000123456`},
		{"numeric_string", "PackVoltage", `"398.25"`},
		{"converted_pressure", "TpmsPressureFl", `2.95`},
		{"bool", "Locked", `true`},
		{"bool_string", "DCDCEnable", `"true"`},
		{"enum", "Gear", `"ShiftStateD"`},
		{"enum_unknown", "Gear", `"ShiftStateUnknown"`},
		{"string", "VehicleName", `"Sparky"`},
		{"location", "Location", `{"latitude":-27.469771,"longitude":153.025124}`},
		{"doors", "DoorState", `{"DriverFront":false,"DriverRear":false,"PassengerFront":true,"PassengerRear":false,"TrunkFront":false,"TrunkRear":false}`},
		{"tires", "TpmsHardWarnings", `{"frontLeft":false,"frontRight":true,"rearLeft":false,"rearRight":false}`},
		{"time_of_day", "RouteLastUpdated", `{"hour":22,"minute":30,"second":0}`},
		{"timestamp", "ScheduledChargingStartTime", `1764072000`},
		{"null", "VehicleSpeed", `null`},
		{"invalid", "VehicleSpeed", `"<invalid>"`},
		{"unknown_field_object", "FutureField", `{"a":1,"b":[true,false]}`},
	}
	fm := Formatter{Units: catalog.UnitsNative}
	for _, c := range cases {
		f, ok := catalog.Lookup(c.field)
		if !ok {
			f = catalog.Unknown(c.field)
		}
		raw := []byte(c.raw)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, 256)
			for i := 0; i < b.N; i++ {
				var err error
				if dst, err = fm.Format(dst[:0], f, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse decodes one data event of five fields, as the bridge does:
// with a long-lived Parser, which has seen the VIN before.
func BenchmarkParse(b *testing.B) {
	data := []byte(`{"createdAt":"2026-11-25T12:00:00.123Z","vin":"5YJ3E7EB000000001","data":{"Odometer":1764072000123456,"VehicleSpeed":63.2,"Location":{"latitude":-27.469771,"longitude":153.025124},"Gear":"ShiftStateD","InsideTemp":21.55}}`)
	var p Parser
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := p.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// The allocation-free fast paths must give exactly what the general paths
// give, on every input they accept.
func TestFastPathsMatchGeneralPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var nums []string
	for _, s := range []string{"0", "-0", "0.0", "1.50", "007", "1e5", "1E-7", "0.000001", "0.00001", "0.0001234",
		"9007199254740992", "9007199254740993", "-9007199254740992", "12345678901234567", "123456789012345.6",
		"1.", ".5", "-", "--1", "1.2.3", "18342.7", "-27.469771", "1764072000123456", "100", "-100.25", "3.14159265358979",
		"0.30000000000000004", "123456789012345", "1234567890123456"} {
		nums = append(nums, s)
	}
	for i := 0; i < 20000; i++ {
		v := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(24)-8))
		nums = append(nums, strconv.FormatFloat(v, 'f', rng.IntN(12)-1, 64), strconv.FormatFloat(v, 'g', -1, 64),
			strconv.FormatInt(rng.Int64N(1<<62)>>rng.IntN(62), 10))
	}
	for _, units := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		fm := Formatter{Units: units}
		for _, name := range []string{"VehicleSpeed", "Odometer", "PackVoltage", "TpmsPressureFl", "InsideTemp", "BatteryLevel"} {
			f, _ := catalog.Lookup(name)
			for _, n := range nums {
				for _, raw := range []string{n, `"` + n + `"`, `" ` + n + ` "`} {
					got, gotErr := fm.Format(nil, f, []byte(raw))
					want, wantErr := func() ([]byte, error) { // the general path
						v, err := parseNumber([]byte(raw))
						if err != nil {
							return nil, err
						}
						if fm.unconverted(f) { // every digit as sent, the same number
							if exact, ok := appendDecimal(nil, []byte(strings.TrimSpace(strings.Trim(raw, `"`)))); ok {
								if back, _ := strconv.ParseFloat(string(exact), 64); back != v && !(back == 0 && v == 0) {
									t.Fatalf("%q: exact form %q reads back as %v, not %v", raw, exact, back, v)
								}
								return exact, nil
							}
						}
						if c, ok := f.Convert(v, units); ok {
							v = c
						}
						return AppendNumber(nil, v), nil
					}()
					if raw == `""` || (gotErr == nil) != (wantErr == nil) || string(got) != string(want) {
						if raw == `""` {
							continue // an invalid marker: null before any number parsing
						}
						t.Fatalf("%s %s %q: fast %q (%v), general %q (%v)", units, name, raw, got, gotErr, want, wantErr)
					}
				}
			}
		}
	}
	loc, _ := catalog.Lookup("Location")
	for i := 0; i < 5000; i++ {
		lat := strconv.FormatFloat((rng.Float64()-0.5)*200, 'f', rng.IntN(10)-1, 64)
		lon := strconv.FormatFloat((rng.Float64()-0.5)*400, 'g', -1, 64)
		for _, raw := range []string{
			`{"latitude":` + lat + `,"longitude":` + lon + `}`,
			`{ "longitude" : ` + lon + ` , "latitude" : ` + lat + ` }`,
			`{"latitude":` + lat + `,"longitude":` + lon + `,"latitude":1}`,
			`{"Latitude":` + lat + `,"longitude":` + lon + `}`,
			`{"latitude":"` + lat + `","longitude":` + lon + `}`,
			`{"latitude":` + lat + `}`,
			`{"latitude":` + lat + `,"longitude":` + lon + `,"heading":3}`,
		} {
			got, gotErr := Formatter{}.Format(nil, loc, []byte(raw))
			want, wantErr := locationSlow(nil, []byte(raw))
			if (gotErr == nil) != (wantErr == nil) || string(got) != string(want) {
				t.Fatalf("location %s: fast %q (%v), general %q (%v)", raw, got, gotErr, want, wantErr)
			}
		}
	}
	doorsF, _ := catalog.Lookup("DoorState")
	tiresF, _ := catalog.Lookup("TpmsHardWarnings")
	keys := []string{"DriverFront", "driver_front", "DriverRear", "PassengerFront", "passenger_rear", "TrunkFront", "TrunkRear",
		"frontLeft", "front_left", "FrontRight", "rearLeft", "rear_right", "semiMiddleAxleLeft2", "semi_rear_axle_right", "other"}
	for i := 0; i < 5000; i++ {
		var b strings.Builder
		b.WriteByte('{')
		for j, n := 0, rng.IntN(8); j < n; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			v := []string{"true", "false", `"true"`, "1", "null"}[rng.IntN(5)]
			if rng.IntN(4) > 0 {
				v = []string{"true", "false"}[rng.IntN(2)]
			}
			b.WriteString(`"` + keys[rng.IntN(len(keys))] + `":` + v)
		}
		b.WriteByte('}')
		raw := []byte(b.String())
		seen, clash := map[string]bool{}, false // the general tires path picks a random one of two spellings
		_ = eachMember(raw, func(k string, _ []byte) { clash = clash || seen[SnakeCase(k)]; seen[SnakeCase(k)] = true })
		got, gotErr := Formatter{}.Format(nil, doorsF, raw)
		want, wantErr := doorsSlow(nil, raw)
		if (gotErr == nil) != (wantErr == nil) || string(got) != string(want) {
			t.Fatalf("doors %s: fast %q (%v), general %q (%v)", raw, got, gotErr, want, wantErr)
		}
		if clash {
			continue
		}
		got, gotErr = Formatter{}.Format(nil, tiresF, raw)
		want, wantErr = tiresSlow(nil, raw)
		if (gotErr == nil) != (wantErr == nil) || string(got) != string(want) {
			t.Fatalf("tires %s: fast %q (%v), general %q (%v)", raw, got, gotErr, want, wantErr)
		}
	}
	for i := 0; i < 20000; i++ {
		ts := time.Unix(rng.Int64N(5e9)-1e9, rng.Int64N(1e9)).UTC()
		for _, s := range []string{ts.Format(time.RFC3339Nano), ts.Format("2006-01-02T15:04:05.000Z"), ts.Format("2006-01-02T15:04:05Z"),
			ts.Format("2006-01-02T15:04:05.000000"), ts.Format("2006-02-30T15:04:05Z"), ts.Format("2006-01-02T24:04:05Z"),
			ts.Format("2006-01-02T15:04:60Z"), ts.Format("2006-01-02T15:04:05.0000000000Z"), ts.Format("2006-01-02T15:04:05.Z")} {
			want, _ := ParseTime(s)
			if got := parseTimeBytes([]byte(s)); !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("time %s: fast %v, general %v", s, got, want)
			}
		}
	}
}
