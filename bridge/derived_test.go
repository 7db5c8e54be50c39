package bridge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// payloadsOf returns every payload received on topic, in order.
func payloadsOf(s *testkit.Subscriber, topic string) []string {
	var out []string
	for _, m := range s.Messages() {
		if m.Topic == topic {
			out = append(out, m.Payload)
		}
	}
	return out
}

func data(vin, fields string) string { return `{"vin":"` + vin + `","data":{` + fields + `}}` }

// The derived charger power follows a charging session from the snapshot to
// its end and ignores the powers that linger after it, while the raw
// per-field topics keep what Tesla sent.
func TestDerivedChargerPower(t *testing.T) {
	h := startBridge(t, "homeassistant: {discovery: false}\n")
	derived := "teslemetry/" + vin1 + "/derived/charger_power"
	raw := "teslemetry/" + vin1 + "/v/ACChargingPower"
	wait := 5 * time.Second
	h.snapshot(`{"vin":"` + vin1 + `","isCache":true,"data":{"ACChargingPower":7.2,"DetailedChargeState":"DetailedChargeStateCharging","DCChargingPower":0}}`)
	h.sub.WaitFor(derived, "7.2", wait)

	h.tesla.Send(data(vin1, `"DetailedChargeState":"DetailedChargeStateComplete"`))
	h.sub.WaitFor(derived, "0", wait)
	h.tesla.Send(data(vin1, `"ACChargingPower":0.6`)) // lingers after the session
	h.sub.WaitFor(raw, "0.6", wait)                   // the raw topic keeps what Tesla sent
	h.tesla.Send(data(vin1, `"DetailedChargeState":"DetailedChargeStateStopped","BatteryLevel":80`))
	h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "80", wait)

	// Resumed at a Supercharger: DC wins over the forgotten AC, key order does not matter.
	h.tesla.Send(data(vin1, `"DCChargingPower":"148.20","DetailedChargeState":"DetailedChargeStateCharging"`))
	h.sub.WaitFor(derived, "148.2", wait)
	h.tesla.Send(data(vin1, `"DetailedChargeState":"DetailedChargeStateDisconnected"`))
	h.sub.WaitFor(derived, "0", wait)

	// Compacted: start-up may send the first value twice (live and in the
	// republish after connect). The lingering 0.6 kW must never show.
	if got, want := strings.Join(slices.Compact(payloadsOf(h.sub, derived)), " "), "7.2 0 148.2 0"; got != want {
		t.Errorf("%s published %q, want %q", derived, got, want)
	}
	if n := len(payloadsOf(h.sub, "teslemetry/"+vin2+"/derived/charger_power")); n != 0 {
		t.Errorf("charger power published for a car that sent no input")
	}
	// Retained, for a consumer that comes later.
	late := testkit.Subscribe(t, h.broker.URL(), derived)
	late.WaitFor(derived, "0", wait)
	if m := late.Messages(); len(m) == 0 || !m[0].Retained {
		t.Errorf("charger power not retained: %+v", m)
	}
}

// The charger power entity: announced with the first input (or a config
// event listing one), on the car's device, republished with the rest on Home
// Assistant's birth message, and again when the device block changes.
func TestDerivedChargerPowerDiscovery(t *testing.T) {
	h := startBridge(t, "")
	wait := 5 * time.Second
	cfgTopic := "homeassistant/sensor/teslemetry_" + vin1 + "/charger_power/config"
	derived := "teslemetry/" + vin1 + "/derived/charger_power"
	h.snapshot(
		`{"vin":"`+vin1+`","isCache":true,"data":{"VehicleName":"Sparky","DetailedChargeState":"DetailedChargeStateCharging"}}`,
		`{"vin":"`+vin2+`","isCache":true,"config":{"fields":{"DCChargingPower":{"interval_seconds":30}}}}`,
		`{"vin":"`+vin2+`","isCache":true,"data":{"BatteryLevel":50}}`,
	)
	h.sub.WaitFor("teslemetry/"+vin2+"/v/BatteryLevel", "50", wait)
	h.sub.WaitUntil("charger power entities", wait, func(l map[string]string) bool {
		return l[cfgTopic] != "" && l["homeassistant/sensor/teslemetry_"+vin2+"/charger_power/config"] != ""
	})
	if _, ok := h.sub.Get(derived); ok {
		t.Errorf("charger power published before any power is known")
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(h.sub.Latest()[cfgTopic]), &cfg); err != nil {
		t.Fatal(err)
	}
	dev, _ := cfg["device"].(map[string]any)
	for k, want := range map[string]any{
		"name": "Charger power", "device_class": "power", "unit_of_measurement": "kW", "state_class": "measurement",
		"unique_id": "teslemetry_" + vin1 + "_charger_power", "default_entity_id": "sensor.sparky_charger_power",
		"state_topic": derived, "enabled_by_default": true,
	} {
		if cfg[k] != want {
			t.Errorf("%s = %v, want %v", k, cfg[k], want)
		}
	}
	if ids, _ := dev["identifiers"].([]any); len(ids) != 1 || ids[0] != "teslemetry_"+vin1 || dev["name"] != "Sparky" {
		t.Errorf("device %v", dev)
	}

	// Birth message: the config and the value come back after the broker lost them.
	h.tesla.Send(data(vin1, `"ACChargingPower":11`))
	h.sub.WaitFor(derived, "11", wait)
	for _, topic := range []string{cfgTopic, derived} {
		publishOnce(t, h.broker.URL(), topic, "", true)
	}
	h.sub.WaitUntil("wiped", wait, func(l map[string]string) bool { _, a := l[cfgTopic]; _, b := l[derived]; return !a && !b })
	publishOnce(t, h.broker.URL(), "homeassistant/status", "online", false)
	h.sub.WaitFor(derived, "11", 10*time.Second)
	h.sub.WaitUntil("charger power entity republished", 10*time.Second, func(l map[string]string) bool { return l[cfgTopic] != "" })

	// A new car name re-announces every entity of the car, this one included.
	h.tesla.Send(data(vin1, `"VehicleName":"Zappy"`))
	h.sub.WaitUntil("renamed", wait, func(l map[string]string) bool {
		return strings.Contains(l[cfgTopic], `"name":"Zappy"`)
	})
}

// Derived values never rewrite a raw field: when navigation ends the car
// may keep sending the last trip's route values, and v/<Field> still carries
// exactly what it sent (docs/topics.md) — clearing them is left to consumers.
func TestRawRouteFieldsKeepWhatTheCarSent(t *testing.T) {
	h := startBridge(t, "homeassistant: {discovery: false}\n")
	v := func(field string) string { return "teslemetry/" + vin1 + "/v/" + field }
	h.snapshot(data(vin1, `"DestinationName":"Work","MinutesToArrival":17.5,"RouteTrafficMinutesDelay":2`))
	h.sub.WaitFor(v("MinutesToArrival"), "17.5", 5*time.Second)
	h.tesla.Send(data(vin1, `"MinutesToArrival":null,"DestinationName":"Work","Odometer":100`))
	h.sub.WaitFor(v("Odometer"), "100", 5*time.Second)
	h.sub.WaitFor(v("MinutesToArrival"), "null", 5*time.Second)
	latest := h.sub.Latest()
	if latest[v("DestinationName")] != "Work" || latest[v("RouteTrafficMinutesDelay")] != "2" {
		t.Errorf("route fields rewritten: DestinationName %q, RouteTrafficMinutesDelay %q",
			latest[v("DestinationName")], latest[v("RouteTrafficMinutesDelay")])
	}
}
