package bridge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

func publishOnce(t *testing.T, url, topic, payload string, retained bool) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("ha-" + topic))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func TestDiscoveryFirstSeenAndConfigEvent(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(
		`{"vin":"`+vin1+`","isCache":true,"config":{"fields":{"InsideTemp":{"interval_seconds":60}}}}`,
		`{"vin":"`+vin1+`","isCache":true,"data":{"VehicleName":"Sparky","CarType":"CarTypeModel3","Version":"2026.26.6 abc","BatteryLevel":70}}`,
	)
	cfgTopic := func(component, object string) string {
		return "homeassistant/" + component + "/teslemetry_" + vin1 + "/" + object + "/config"
	}
	h.sub.WaitUntil("discovery configs", 5*time.Second, func(l map[string]string) bool {
		return l[cfgTopic("sensor", "BatteryLevel")] != "" && l[cfgTopic("sensor", "InsideTemp")] != "" &&
			l[cfgTopic("binary_sensor", "stream")] != "" && l["homeassistant/binary_sensor/teslemetry_bridge/connection_state/config"] != ""
	})
	var cfg map[string]any
	if err := json.Unmarshal([]byte(h.sub.Latest()[cfgTopic("sensor", "BatteryLevel")]), &cfg); err != nil {
		t.Fatal(err)
	}
	dev := cfg["device"].(map[string]any)
	if dev["name"] != "Sparky" || dev["model"] != "Model 3" || dev["sw_version"] != "2026.26.6" || cfg["default_entity_id"] != "sensor.sparky_battery_level" {
		t.Errorf("first discovery not right first time: %v", cfg)
	}
	// A field never streamed and not in the config event gets no entity.
	for topic := range h.sub.Latest() {
		if strings.Contains(topic, "/DiAxleSpeedF/") || strings.Contains(topic, "/Odometer/") {
			t.Errorf("entity for a field the car does not stream: %s", topic)
		}
	}
}

// Home Assistant's birth message makes the bridge republish discovery,
// availability and states, even when the broker lost them.
func TestBirthMessageRepublishes(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":70}}`)
	value := "teslemetry/" + vin1 + "/v/BatteryLevel"
	cfg := "homeassistant/sensor/teslemetry_" + vin1 + "/BatteryLevel/config"
	h.sub.WaitFor(value, "70", 5*time.Second)
	h.sub.WaitUntil("discovery", 5*time.Second, func(l map[string]string) bool { return l[cfg] != "" })
	// Wipe the retained copies, as a broker that lost its store would have.
	for _, topic := range []string{value, cfg, "teslemetry/" + vin1 + "/availability"} {
		publishOnce(t, h.broker.URL(), topic, "", true)
	}
	h.sub.WaitUntil("wiped", 5*time.Second, func(l map[string]string) bool { _, ok := l[cfg]; return !ok })
	start := time.Now()
	publishOnce(t, h.broker.URL(), "homeassistant/status", "online", false)
	h.sub.WaitFor(value, "70", 10*time.Second)
	h.sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 10*time.Second)
	h.sub.WaitUntil("discovery republished", 10*time.Second, func(l map[string]string) bool { return l[cfg] != "" })
	t.Logf("republished %v after the birth message", time.Since(start))
}

func TestPurgeRemovesEverythingTheBridgeOwns(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(
		`{"vin":"`+vin1+`","data":{"BatteryLevel":70,"Locked":true}}`,
		`{"vin":"`+vin2+`","data":{"BatteryLevel":50}}`,
	)
	h.sub.WaitFor("teslemetry/"+vin2+"/v/BatteryLevel", "50", 5*time.Second)
	h.sub.WaitUntil("discovery", 5*time.Second, func(l map[string]string) bool {
		return l["homeassistant/binary_sensor/teslemetry_"+vin1+"/Locked/config"] != ""
	})
	publishOnce(t, h.broker.URL(), "other/topic", "keep", true)
	publishOnce(t, h.broker.URL(), "homeassistant/sensor/zigbee_x/temp/config", "{}", true)
	h.stop()

	n, err := bridge.Purge(context.Background(), h.cfg, bridge.PurgeOptions{VIN: vin1, Collect: 500 * time.Millisecond})
	if err != nil || n == 0 {
		t.Fatalf("purge --vin: %d, %v", n, err)
	}
	after := testkit.Subscribe(t, h.broker.URL(), "#")
	after.WaitUntil("vin1 gone, vin2 kept", 5*time.Second, func(l map[string]string) bool {
		for topic := range l {
			if strings.Contains(topic, vin1) {
				return false
			}
		}
		return l["teslemetry/"+vin2+"/v/BatteryLevel"] == "50"
	})
	n, err = bridge.Purge(context.Background(), h.cfg, bridge.PurgeOptions{Collect: 500 * time.Millisecond})
	if err != nil || n == 0 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	final := testkit.Subscribe(t, h.broker.URL(), "#")
	final.WaitUntil("only foreign topics left", 5*time.Second, func(l map[string]string) bool {
		for topic := range l {
			if strings.HasPrefix(topic, "teslemetry/") || strings.Contains(topic, "/teslemetry_") {
				return false
			}
		}
		return l["other/topic"] == "keep" && l["homeassistant/sensor/zigbee_x/temp/config"] == "{}"
	})
}

// units: the published value and the unit declared in discovery change together.
func TestUnitsChangeValueAndDeclaredUnit(t *testing.T) {
	for _, tc := range []struct {
		units, field, raw, value, unit string
	}{
		{"native", "TpmsPressureFl", "2.9", "2.938", "bar"},
		{"metric", "Odometer", "100", "160.93", "km"},
		{"imperial", "InsideTemp", "25", "77", "°F"},
		{"imperial", "TpmsPressureFl", "2.9", "42.62", "psi"},
	} {
		t.Run(tc.units+"/"+tc.field, func(t *testing.T) {
			h := startBridge(t, "units: "+tc.units+"\n")
			h.snapshot(`{"vin":"` + vin1 + `","data":{"` + tc.field + `":` + tc.raw + `}}`)
			h.sub.WaitFor("teslemetry/"+vin1+"/v/"+tc.field, tc.value, 5*time.Second)
			cfgTopic := "homeassistant/sensor/teslemetry_" + vin1 + "/" + tc.field + "/config"
			h.sub.WaitUntil("discovery", 5*time.Second, func(l map[string]string) bool { return l[cfgTopic] != "" })
			var cfg map[string]any
			if err := json.Unmarshal([]byte(h.sub.Latest()[cfgTopic]), &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg["unit_of_measurement"] != tc.unit {
				t.Errorf("declared unit %v, want %s", cfg["unit_of_measurement"], tc.unit)
			}
		})
	}
}
