package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
)

const (
	testVIN     = "5YJ3E7EB9NF123456"
	testISO     = "2024-02-24T01:23:15.9836073Z" // == epoch 1708737795.9836073
	testEpoch   = "1708737795.9836073"
	exampleHost = "us-west.teslemetry.com"
)

var testTime = time.Unix(1708737795, 983607300).UTC()

// wrapperCase is one typed-format value wrapper and the value the SSE stream
// carries for the same reading.
type wrapperCase struct {
	name    string
	field   string
	wrapper string // the typed format's "value"
	sse     string // the SSE data object's value
}

// enumMembers are the Value oneof's enum members (proto member name, an
// example field, an example wire value), from vehicle_data.proto.
var enumMembers = []struct{ member, field, value string }{
	{"charging_value", "ChargeState", "ChargeStateCharging"},
	{"shift_state_value", "Gear", "ShiftStateD"},
	{"lane_assist_level_value", "LaneDepartureAvoidance", "LaneAssistLevelWarning"},
	{"scheduled_charging_mode_value", "ScheduledChargingMode", "ScheduledChargingModeDepartBy"},
	{"sentry_mode_state_value", "SentryMode", "SentryModeStateArmed"},
	{"speed_assist_level_value", "SpeedLimitWarning", "SpeedAssistLevelChime"},
	{"bms_state_value", "BMSState", "BMSStateDrive"},
	{"buckle_status_value", "PassengerSeatBelt", "BuckleStatusLatched"},
	{"car_type_value", "CarType", "CarTypeModel3"},
	{"charge_port_value", "ChargePort", "ChargePortCCS"},
	{"charge_port_latch_value", "ChargePortLatch", "ChargePortLatchEngaged"},
	{"drive_inverter_state_value", "DiStateR", "DriveInverterStateEnable"},
	{"hvil_status_value", "Hvil", "HvilStatusOK"},
	{"window_state_value", "FdWindow", "WindowStateClosed"},
	{"seat_fold_position_value", "SemitruckPassengerSeatFoldPosition", "SeatFoldPositionFolded"},
	{"tractor_air_status_value", "SemitruckTractorParkBrakeStatus", "TractorAirStatusCharged"},
	{"follow_distance_value", "CruiseFollowDistance", "FollowDistance3"},
	{"forward_collision_sensitivity_value", "ForwardCollisionWarning", "ForwardCollisionSensitivityAverage"},
	{"guest_mode_mobile_access_value", "GuestModeMobileAccessState", "GuestModeMobileAccessInit"},
	{"trailer_air_status_value", "SemitruckTrailerParkBrakeStatus", "TrailerAirStatusBobtailMode"},
	{"detailed_charge_state_value", "DetailedChargeState", "DetailedChargeStateCharging"},
	{"hvac_auto_mode_value", "HvacAutoMode", "HvacAutoModeStateOn"},
	{"cabin_overheat_protection_mode_value", "CabinOverheatProtectionMode", "CabinOverheatProtectionModeStateFanOnly"},
	{"cabin_overheat_protection_temperature_limit_value", "CabinOverheatProtectionTemperatureLimit", "ClimateOverheatProtectionTempLimitHigh"},
	{"defrost_mode_value", "DefrostMode", "DefrostModeStateMax"},
	{"climate_keeper_mode_value", "ClimateKeeperMode", "ClimateKeeperModeStateDog"},
	{"hvac_power_value", "HvacPower", "HvacPowerStatePrecondition"},
	{"fast_charger_value", "FastChargerType", "FastChargerSupercharger"},
	{"cable_type_value", "ChargingCableType", "CableTypeIEC"},
	{"tonneau_tent_mode_value", "TonneauTentMode", "TonneauTentModeStateActive"},
	{"tonneau_position_value", "TonneauPosition", "TonneauPositionStateClosed"},
	{"powershare_type_value", "PowershareType", "PowershareTypeStatusHome"},
	{"powershare_state_value", "PowershareStatus", "PowershareStateEnabled"},
	{"powershare_stop_reason_value", "PowershareStopReason", "PowershareStopReasonStatusUser"},
	{"display_state_value", "CenterDisplay", "DisplayStateOn"},
	{"distance_unit_value", "SettingDistanceUnit", "DistanceUnitKilometers"},
	{"temperature_unit_value", "SettingTemperatureUnit", "TemperatureUnitCelsius"},
	{"pressure_unit_value", "SettingTirePressureUnit", "PressureUnitBar"},
	{"charge_unit_preference_value", "SettingChargeUnit", "ChargeUnitPercent"},
	{"turn_signal_state_value", "LightsTurnSignal", "TurnSignalStateLeft"},
	{"media_status_value", "MediaPlaybackStatus", "MediaStatusPlaying"},
	{"sunroof_installed_state_value", "SunroofInstalled", "SunroofInstalledStateGen2Installed"},
	{"cabin_port_keep_on_value", "Cabin12vPortKeepOn", "CabinPortKeepOnStateOn"},
	{"cruise_state_value", "CruiseState", "CruiseStateOn"},
	{"power_transfer_status_value", "PowerTransferStatus", "PowerTransferStatusStandby"},
}

// camel turns a proto member name into its protobuf-JSON name.
func camel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

const (
	doorsAll  = `{"DriverFront":true,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}`
	tiresCC   = `{"frontLeft":false,"frontRight":true,"rearLeft":false,"rearRight":false}`
	tiresSnk  = `{"front_left":true,"front_right":false,"rear_left":false,"rear_right":false,"semi_rear_axle_left_2":true}`
	location1 = `{"latitude":30.2226645,"longitude":-97.6213806}`
)

func wrapperCases() []wrapperCase {
	cases := []wrapperCase{
		{"stringValue numeric", "VehicleSpeed", `{"stringValue":"34.797"}`, `"34.797"`},
		{"string_value text", "VehicleName", `{"string_value":"Kitt"}`, `"Kitt"`},
		{"stringValue escapes", "MediaNowPlayingTitle", `{"stringValue":"Caf\u00e9 \"Live\" \\ /"}`, `"Caf\u00e9 \"Live\" \\ /"`},
		{"stringValue empty", "DestinationName", `{"stringValue":""}`, `""`},
		{"intValue", "ChargeAmps", `{"intValue":32}`, `32`},
		{"int_value negative", "DiTorquemotor", `{"int_value":-12}`, `-12`},
		{"intValue as string", "ChargerPhases", `{"intValue":"3"}`, `3`},
		{"longValue as string", "SoftwareUpdateScheduledStartTime", `{"longValue":"1783072740"}`, `1783072740`},
		{"long_value as number", "ScheduledChargingStartTime", `{"long_value":1783072740}`, `1783072740`},
		{"longValue negative string", "RouteTrafficMinutesDelay", `{"longValue":"-9007199254740993"}`, `-9007199254740993`},
		{"floatValue", "InsideTemp", `{"floatValue":21.3}`, `21.3`},
		{"float_value exponent", "LateralAcceleration", `{"float_value":1.5e-7}`, `1.5e-7`},
		{"floatValue as string", "OutsideTemp", `{"floatValue":"21.30000091344118"}`, `21.30000091344118`},
		{"doubleValue", "Odometer", `{"doubleValue":12345.678}`, `12345.678`},
		{"double_value NaN", "PackVoltage", `{"double_value":"NaN"}`, `null`},
		{"doubleValue -Infinity", "PackCurrent", `{"doubleValue":"-Infinity"}`, `null`},
		{"doubleValue not a number", "EnergyRemaining", `{"doubleValue":"n/a"}`, `"n/a"`},
		{"booleanValue true", "Locked", `{"booleanValue":true}`, `true`},
		{"boolean_value false", "ChargePortDoorOpen", `{"boolean_value":false}`, `false`},
		{"booleanValue as string", "HvacACEnabled", `{"booleanValue":"true"}`, `true`},
		{"invalid true", "MinutesToArrival", `{"invalid":true}`, `null`},
		{"invalid marker string", "MilesToArrival", `{"invalid":"<invalid>"}`, `null`},
		{"empty wrapper", "RouteLine", `{}`, `null`},
		{"null value", "GpsHeading", `null`, `null`},
		{"wrapper holding null", "BatteryLevel", `{"doubleValue":null}`, `null`},
		{"locationValue", "Location", `{"locationValue":` + location1 + `}`, location1},
		{"location_value zero omitted", "OriginLocation", `{"location_value":{"longitude":-0.1278}}`, `{"longitude":-0.1278,"latitude":0}`},
		{"locationValue empty", "DestinationLocation", `{"locationValue":{}}`, `{"latitude":0,"longitude":0}`},
		{"doorValue", "DoorState", `{"doorValue":` + doorsAll + `}`, doorsAll},
		{"door_value zeros omitted", "DoorState", `{"door_value":{"TrunkRear":true}}`,
			`{"TrunkRear":true,"DriverFront":false,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false}`},
		{"doorValue nested", "DoorState", `{"doorValue":{"DoorState":` + doorsAll + `}}`, `{"DoorState":` + doorsAll + `}`},
		{"timeValue", "RouteLastUpdated", `{"timeValue":{"hour":7,"minute":30,"second":5}}`, `{"hour":7,"minute":30,"second":5}`},
		{"time_value zeros omitted", "RouteLastUpdated", `{"time_value":{"hour":7}}`, `{"hour":7,"minute":0,"second":0}`},
		{"tireLocationValue camelCase", "TpmsSoftWarnings", `{"tireLocationValue":` + tiresCC + `}`, tiresCC},
		{"tire_location_value snake_case", "TpmsHardWarnings", `{"tire_location_value":` + tiresSnk + `}`, tiresSnk},
		// Tesla's simple JSON transformer with types: member names without "Value".
		{"transformer time", "RouteLastUpdated", `{"time":"07:30:00"}`, `"07:30:00"`},
		{"transformer enum", "SentryMode", `{"sentryModeState":"SentryModeStateAware"}`, `"SentryModeStateAware"`},
		{"transformer tireLocation", "TpmsSoftWarnings", `{"tireLocation":{"FrontLeft":true,"FrontRight":false}}`, `{"FrontLeft":true,"FrontRight":false}`},
		// Not wrapped at all: taken as SSE-shaped already.
		{"bare string", "Version", `"2024.44.25"`, `"2024.44.25"`},
		{"bare number", "Soc", `81.5`, `81.5`},
		{"bare object", "Location", location1, location1},
		{"upper-case member", "VehicleSpeed", `{"StringValue":"12"}`, `"12"`},
		{"white space", "Location", "{ \"locationValue\" : {\n\t\"latitude\" : 1.5 , \"longitude\" : 2 } }", `{"latitude":1.5,"longitude":2}`},
	}
	for _, e := range enumMembers {
		cases = append(cases,
			wrapperCase{camel(e.member), e.field, fmt.Sprintf(`{%q:%q}`, camel(e.member), e.value), fmt.Sprintf("%q", e.value)},
			wrapperCase{e.member, e.field, fmt.Sprintf(`{%q:%q}`, e.member, e.value), fmt.Sprintf("%q", e.value)},
		)
	}
	return cases
}

// bodies returns the SSE event and the three webhook bodies for cases.
func bodies(cases []wrapperCase) (sse, typed, flat, event string) {
	var items, object, pretty []string
	for _, c := range cases {
		k, _ := json.Marshal(c.field)
		items = append(items, fmt.Sprintf(`{"key":%s,"value":%s}`, k, c.wrapper))
		object = append(object, fmt.Sprintf(`%s:%s`, k, c.sse))
		pretty = append(pretty, fmt.Sprintf("\n    %s : %s", k, c.sse))
	}
	obj := "{" + strings.Join(object, ",") + "}"
	sse = `{"data":` + obj + `,"createdAt":"` + testISO + `","vin":"` + testVIN + `"}`
	typed = `{"data":[` + strings.Join(items, ",") + `],"createdAt":"` + testISO + `","vin":"` + testVIN + `"}`
	flat = "{\n  \"data\": {" + strings.Join(pretty, ",") + "\n  },\n  \"createdAt\": \"" + testISO + "\",\n  \"vin\": \"" + testVIN + "\"\n}"
	event = `{"time":` + testEpoch + `,"host":"` + exampleHost + `","source":"` + testVIN + `","event":` + obj + `}`
	return
}

func compactString(t testing.TB, v []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		t.Fatalf("value %q is not valid JSON: %v", v, err)
	}
	return b.String()
}

// sameEvent checks that got carries the same VIN, time and data as want.
func sameEvent(t *testing.T, want, got teslemetry.Event) {
	t.Helper()
	if got.VIN != want.VIN {
		t.Errorf("VIN = %q, want %q", got.VIN, want.VIN)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if len(got.Data) != len(want.Data) {
		t.Fatalf("%d data, want %d: %v", len(got.Data), len(want.Data), got.Data)
	}
	for i := range want.Data {
		w, g := want.Data[i], got.Data[i]
		if g.Field != w.Field {
			t.Errorf("data[%d].Field = %q, want %q", i, g.Field, w.Field)
		}
		if gs, ws := compactString(t, g.Value), compactString(t, w.Value); gs != ws {
			t.Errorf("data[%d] %s = %s, want %s", i, w.Field, gs, ws)
		}
		if !bytes.Equal(g.Value, []byte(compactString(t, g.Value))) {
			t.Errorf("data[%d] %s = %q is not compact", i, w.Field, g.Value)
		}
	}
}

func parseSSE(t *testing.T, body string) teslemetry.Event {
	t.Helper()
	ev, problems, err := teslemetry.Parse([]byte(body))
	if err != nil || len(problems) > 0 {
		t.Fatalf("SSE reference does not parse: %v %v\n%s", err, problems, body)
	}
	return ev
}

func TestDecodeEveryWrapper(t *testing.T) {
	for _, c := range wrapperCases() {
		t.Run(c.name, func(t *testing.T) {
			sse, typed, flat, event := bodies([]wrapperCase{c})
			want := parseSSE(t, sse)
			if !want.CreatedAt.Equal(testTime) {
				t.Fatalf("reference time %v, want %v", want.CreatedAt, testTime)
			}
			for name, body := range map[string]string{"teslemetry": typed, "flat": flat, "event": event} {
				t.Run(name, func(t *testing.T) {
					got, format, err := decode(teslemetry.Parse, []byte(body))
					if err != nil {
						t.Fatalf("decode: %v\n%s", err, body)
					}
					if format != name {
						t.Errorf("format %q, want %q", format, name)
					}
					sameEvent(t, want, got)
				})
			}
		})
	}
}

func TestDecodeAllWrappersInOneEvent(t *testing.T) {
	cases := wrapperCases()
	sse, typed, flat, event := bodies(cases)
	want := parseSSE(t, sse)
	if len(want.Data) != len(cases) {
		t.Fatalf("reference has %d data, want %d", len(want.Data), len(cases))
	}
	for name, body := range map[string]string{"teslemetry": typed, "flat": flat, "event": event} {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			sameEvent(t, want, got)
		})
	}
}

// The three examples of the brief (Teslemetry's documentation).
const (
	exampleTyped = `{"data":[{"key":"Location","value":{"locationValue":{"latitude":30.22,"longitude":-97.62}}},{"key":"VehicleSpeed","value":{"stringValue":"34.797"}}],"createdAt":"2024-02-24T04:58:44.983607402Z","vin":"LRW3F7EK4NC000001"}`
	exampleFlat  = `{"data":{"Location":{"latitude":30.22,"longitude":-97.62},"VehicleSpeed":"34.797"},"createdAt":"2024-02-24T04:58:44.983607402Z","vin":"LRW3F7EK4NC000001"}`
	exampleEvent = `{"time":1708750724.983607402,"host":"us-west.teslemetry.com","source":"LRW3F7EK4NC000001","event":{"Location":{"latitude":30.22,"longitude":-97.62},"VehicleSpeed":"34.797"}}`
)

func TestDecodeExamples(t *testing.T) {
	want := teslemetry.Event{
		VIN:       "LRW3F7EK4NC000001",
		CreatedAt: time.Date(2024, 2, 24, 4, 58, 44, 983607402, time.UTC),
		Data: []teslemetry.Datum{
			{Field: "Location", Value: json.RawMessage(`{"latitude":30.22,"longitude":-97.62}`)},
			{Field: "VehicleSpeed", Value: json.RawMessage(`"34.797"`)},
		},
	}
	for _, body := range []string{exampleTyped, exampleFlat, exampleEvent} {
		got, err := Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sameEvent(t, want, got)
	}
}

func TestDecodeTimes(t *testing.T) {
	for _, c := range []struct {
		body string
		want time.Time
	}{
		{`{"event":{},"time":1708737795}`, time.Unix(1708737795, 0).UTC()},
		{`{"event":{},"time":1708737795.5}`, time.Unix(1708737795, 5e8).UTC()},
		{`{"event":{},"time":"1708737795.25"}`, time.Unix(1708737795, 25e7).UTC()},
		{`{"event":{},"time":1708737795983}`, time.Unix(1708737795, 983e6).UTC()}, // milliseconds
		{`{"event":{},"time":1.7087377955e9}`, time.Unix(1708737795, 5e8).UTC()},
		{`{"event":{},"time":"` + testISO + `"}`, testTime},
		{`{"event":{},"time":0}`, time.Time{}},
		{`{"event":{},"time":-5}`, time.Time{}},
		{`{"event":{},"time":1e300}`, time.Time{}},
		{`{"event":{},"time":"soon"}`, time.Time{}},
		{`{"event":{},"time":true}`, time.Time{}},
		{`{"event":{}}`, time.Time{}},
		{`{"data":[],"created_at":"` + testISO + `"}`, testTime},
		{`{"data":[],"createdAt":"2024-02-24T01:23:15"}`, time.Unix(1708737795, 0).UTC()},
		{`{"data":[],"createdAt":1708737795}`, time.Unix(1708737795, 0).UTC()},
		{`{"data":[],"createdAt":"garbage"}`, time.Time{}},
	} {
		ev, err := Decode([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !ev.CreatedAt.Equal(c.want) {
			t.Errorf("%s: CreatedAt %v, want %v", c.body, ev.CreatedAt, c.want)
		}
	}
}

func TestDecodeEmptyAndExtra(t *testing.T) {
	for _, c := range []struct {
		body, vin string
		n         int
	}{
		{`{"data":[],"vin":"` + testVIN + `"}`, testVIN, 0},
		{`{"data":{},"vin":"` + testVIN + `"}`, testVIN, 0},
		{`{"data":null,"vin":"` + testVIN + `"}`, testVIN, 0},
		{`{"event":null,"source":"` + testVIN + `"}`, testVIN, 0},
		{`{"event":{"A":1}}`, "", 1},
		{`{"data":[{"key":"A","value":{"intValue":1}}],"vin":null}`, "", 1},
		{`{"data":[{"key":"A"}],"isResend":true,"extra":[1,2]}`, "", 1},
		// The same field twice keeps both, in order, as the SSE path does.
		{`{"data":{"A":1,"A":2}}`, "", 2},
	} {
		ev, err := Decode([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if ev.VIN != c.vin || len(ev.Data) != c.n {
			t.Errorf("%s: VIN %q with %d data, want %q with %d", c.body, ev.VIN, len(ev.Data), c.vin, c.n)
		}
	}
	ev, _ := Decode([]byte(`{"data":[{"key":"A"}]}`))
	if string(ev.Data[0].Value) != "null" {
		t.Errorf("datum without value = %s, want null", ev.Data[0].Value)
	}
}

// A flat body is the SSE event itself: its other parts come along.
func TestDecodeFlatKeepsOtherParts(t *testing.T) {
	body := `{"data":{"BatteryLevel":80},"alerts":[{"name":"X","audiences":["Customer"],"startedAt":"` + testISO + `"}],"isCache":true,"vin":"` + testVIN + `"}`
	ev, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Alerts) != 1 || !ev.IsCache || len(ev.Data) != 1 {
		t.Errorf("event %+v lost parts", ev)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		body string
		want error
	}{
		{``, ErrMalformed},
		{`{bad`, ErrMalformed},
		{`{"data":[}`, ErrMalformed},
		{`{"data":{}} trailing`, ErrMalformed},
		{"\xff", ErrMalformed},
		{`{"data":[1]}`, ErrMalformed},
		{`{"data":[null]}`, ErrMalformed},
		{`{"data":[{"value":{"intValue":1}}]}`, ErrMalformed},
		{`{"data":[{"key":5,"value":{"intValue":1}}]}`, ErrMalformed},
		{`{"data":[{"key":null,"value":{"intValue":1}}]}`, ErrMalformed},
		{`{"data":[],"vin":5}`, ErrMalformed},
		{`{"data":{},"vin":5}`, ErrMalformed},
		{`{"event":{},"source":["x"]}`, ErrMalformed},
		{`{"foo":1}`, ErrUnknownFormat},
		{`{}`, ErrUnknownFormat},
		{`[1,2]`, ErrUnknownFormat},
		{`"data"`, ErrUnknownFormat},
		{`42`, ErrUnknownFormat},
		{`null`, ErrUnknownFormat},
		{`{"data":"x"}`, ErrUnknownFormat},
		{`{"data":5,"event":{}}`, ErrUnknownFormat},
		{`{"event":[1]}`, ErrUnknownFormat},
		{`{"vin":"` + testVIN + `","state":"online"}`, ErrUnknownFormat},
	} {
		ev, err := Decode([]byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%q: error %v, want %v", c.body, err, c.want)
		}
		if ev.VIN != "" || ev.Data != nil || !ev.CreatedAt.IsZero() {
			t.Errorf("%q: event %+v on error, want zero", c.body, ev)
		}
	}
	var syn *json.SyntaxError
	if _, err := Decode([]byte(`{bad`)); !errors.As(err, &syn) {
		t.Errorf("malformed error %v does not wrap the json error", err)
	}
}
