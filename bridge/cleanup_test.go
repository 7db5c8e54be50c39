package bridge_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// staleConfig is a discovery config shaped like the bridge's own (as an
// older version would have left it), published by origin on node.
func staleConfig(origin, node, stateTopic string) string {
	b, _ := json.Marshal(map[string]any{
		"name": "Old entity", "unique_id": node + "_old", "state_topic": stateTopic,
		"device": map[string]any{"identifiers": []string{node}, "name": "Car", "manufacturer": "Tesla"},
		"origin": map[string]any{"name": origin, "sw_version": "0.1.0", "support_url": "https://example.invalid"},
	})
	return string(b)
}

func cfgTopic(component, node, object string) string {
	return "homeassistant/" + component + "/" + node + "/" + object + "/config"
}

// staleRemoved reads teslemetry2mqtt_stale_discovery_removed_total.
func staleRemoved(t *testing.T, m *bridge.Metrics) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "teslemetry2mqtt_stale_discovery_removed_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("metric teslemetry2mqtt_stale_discovery_removed_total not registered")
	return 0
}

func waitMetric(t *testing.T, m *bridge.Metrics, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for staleRemoved(t, m) != want {
		if time.Now().After(deadline) {
			t.Fatalf("stale_discovery_removed_total = %v, want %v after %v", staleRemoved(t, m), want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStaleDiscoveryConfigsAreRemovedOnConnect(t *testing.T) {
	vehicleNode, bridgeNode := "teslemetry_"+vin1, "teslemetry_bridge"
	ours := func(node, object string) string {
		return staleConfig("teslemetry2mqtt", node, "teslemetry/"+vin1+"/v/"+object)
	}
	stale := map[string]string{
		// (1) an object id this version never publishes (a dropped status entity)
		cfgTopic("sensor", vehicleNode, "old_field"): ours(vehicleNode, "old_field"),
		// (2) a real field under the wrong component
		cfgTopic("binary_sensor", vehicleNode, "BatteryLevel"): ours(vehicleNode, "BatteryLevel"),
		// a dropped bridge entity, and a car not seen in this run
		cfgTopic("sensor", bridgeNode, "uptime"):                    staleConfig("teslemetry2mqtt", bridgeNode, "teslemetry/bridge/uptime"),
		cfgTopic("sensor", "teslemetry_"+vin2, "gone_entity"):       staleConfig("teslemetry2mqtt", "teslemetry_"+vin2, "teslemetry/"+vin2+"/v/gone_entity"),
		cfgTopic("binary_sensor", vehicleNode, "DoorState_Roof"):    ours(vehicleNode, "DoorState"),
		cfgTopic("binary_sensor", vehicleNode, "connectivity_Wifi"): ours(vehicleNode, "connectivity/wifi"),
	}
	kept := map[string]string{
		// (3) a valid field the car has not streamed in this run
		cfgTopic("sensor", vehicleNode, "Odometer"): ours(vehicleNode, "Odometer"),
		// a field outside the catalog (newer firmware): it comes back with the
		// car's next value, and deleting it would lose the user's customisations
		cfgTopic("sensor", vehicleNode, "NewFirmwareField"): ours(vehicleNode, "NewFirmwareField"),
		// valid entities of a car not seen in this run, incl. an interface never seen
		cfgTopic("binary_sensor", "teslemetry_"+vin2, "connectivity_satellite"): staleConfig("teslemetry2mqtt", "teslemetry_"+vin2, "teslemetry/"+vin2+"/connectivity/satellite"),
		cfgTopic("binary_sensor", "teslemetry_"+vin2, "DoorState_TrunkRear"):    staleConfig("teslemetry2mqtt", "teslemetry_"+vin2, "teslemetry/"+vin2+"/v/DoorState"),
		// (4) another integration's config
		cfgTopic("sensor", "0x00158d0001a2b3c4", "temperature"): `{"name":"Temperature","unique_id":"0x00158d0001a2b3c4_temperature_zigbee2mqtt","state_topic":"zigbee2mqtt/kitchen","device":{"identifiers":["zigbee2mqtt_0x00158d0001a2b3c4"]},"origin":{"name":"Zigbee2MQTT","sw":"2.1.0"}}`,
		"homeassistant/sensor/OldField/config":                  ours(vehicleNode, "OldField"), // no node level
		// (5) our node id, but not our origin
		cfgTopic("sensor", vehicleNode, "other_thing"): staleConfig("someone-else", vehicleNode, "teslemetry/"+vin1+"/v/other_thing"),
		// our node id and origin, but another car's device
		cfgTopic("sensor", vehicleNode, "borrowed_thing"): staleConfig("teslemetry2mqtt", "teslemetry_"+vin2, "teslemetry/"+vin1+"/v/borrowed_thing"),
		// (6) another bridge instance (base topic "other", and "teslemetry_x")
		cfgTopic("sensor", "other_"+vin1, "old_field"):        staleConfig("teslemetry2mqtt", "other_"+vin1, "other/"+vin1+"/v/old_field"),
		cfgTopic("sensor", "teslemetry_x_"+vin1, "old_field"): staleConfig("teslemetry2mqtt", "teslemetry_x_"+vin1, "teslemetry_x/"+vin1+"/v/old_field"),
		// our node but not a VIN, and not JSON
		cfgTopic("sensor", "teslemetry_garage", "old_field"): staleConfig("teslemetry2mqtt", "teslemetry_garage", "teslemetry/garage/v/old_field"),
		cfgTopic("sensor", "teslemetry_"+vin2, "NotJSON"):    "OldField",
	}
	h := startBridgeSeeded(t, "", func(url string) {
		for topic, payload := range stale {
			publishOnce(t, url, topic, payload, true)
		}
		for topic, payload := range kept {
			publishOnce(t, url, topic, payload, true)
		}
	})
	h.snapshot(`{"vin":"`+vin1+`","data":{"BatteryLevel":70,"DoorState":{"DriverFront":true}}}`,
		`{"vin":"`+vin1+`","networkInterface":"wifi","status":"CONNECTED"}`)
	start := time.Now()
	h.sub.WaitUntil("stale configs removed", 10*time.Second, func(l map[string]string) bool {
		for topic := range stale {
			if _, ok := l[topic]; ok {
				return false
			}
		}
		return l[cfgTopic("sensor", vehicleNode, "BatteryLevel")] != ""
	})
	t.Logf("stale configs removed %v after start", time.Since(start))
	waitMetric(t, h.stats, float64(len(stale)), 5*time.Second)
	time.Sleep(1500 * time.Millisecond) // let any wrong deletion of a later pass show

	// What the broker retains now, read by a fresh client.
	after := testkit.Subscribe(t, h.broker.URL(), "homeassistant/#")
	own := h.bridge.Publisher().Topics()
	after.WaitUntil("kept and own configs retained", 5*time.Second, func(l map[string]string) bool {
		for topic, payload := range kept {
			if l[topic] != payload {
				return false
			}
		}
		for _, topic := range own {
			if strings.HasPrefix(topic, "homeassistant/") && l[topic] == "" {
				return false
			}
		}
		return true
	})
	// (8) The only deletions ever sent are the stale ones; the bridge's own
	// freshly published configs were never touched.
	for _, m := range h.sub.Messages() {
		if _, isStale := stale[m.Topic]; m.Payload == "" && !isStale {
			t.Errorf("deleted %s, which is not stale", m.Topic)
		}
	}
	for _, topic := range []string{cfgTopic("binary_sensor", vehicleNode, "DoorState_DriverFront"),
		cfgTopic("binary_sensor", vehicleNode, "connectivity_wifi"), cfgTopic("binary_sensor", bridgeNode, "connection_state")} {
		if v, _ := after.Get(topic); v == "" {
			t.Errorf("own config %s not retained", topic)
		}
	}
	if got := staleRemoved(t, h.stats); got != float64(len(stale)) {
		t.Errorf("stale_discovery_removed_total = %v, want %d", got, len(stale))
	}
}

// (7) With discovery off the bridge touches no discovery config at all.
func TestStaleDiscoveryCleanupOffWithoutDiscovery(t *testing.T) {
	topic := cfgTopic("sensor", "teslemetry_"+vin1, "old_field")
	payload := staleConfig("teslemetry2mqtt", "teslemetry_"+vin1, "teslemetry/"+vin1+"/v/old_field")
	h := startBridgeSeeded(t, "homeassistant: {discovery: false}\n", func(url string) {
		publishOnce(t, url, topic, payload, true)
	})
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":70}}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "70", 5*time.Second)
	time.Sleep(2500 * time.Millisecond) // longer than a cleanup pass (1 s of quiet) would take
	if got, _ := h.sub.Get(topic); got != payload {
		t.Errorf("stale config touched with discovery off: %q", got)
	}
	if n := h.sub.Count(topic); n != 1 {
		t.Errorf("%s received %d times, want 1 (the seed)", topic, n)
	}
	if got := staleRemoved(t, h.stats); got != 0 {
		t.Errorf("stale_discovery_removed_total = %v, want 0", got)
	}
}

// Cleanup runs again after a reconnect: a stale config that appeared while
// the bridge was disconnected is removed after it connects again.
func TestStaleDiscoveryCleanupRunsOnReconnect(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":70}}`)
	own := cfgTopic("sensor", "teslemetry_"+vin1, "BatteryLevel")
	h.sub.WaitUntil("discovery", 5*time.Second, func(l map[string]string) bool { return l[own] != "" })
	time.Sleep(1500 * time.Millisecond) // the first pass is over
	if got := staleRemoved(t, h.stats); got != 0 {
		t.Fatalf("first pass removed %v configs, want 0", got)
	}

	// A client with the bridge's client id takes its session over (the broker
	// drops the bridge), leaves a stale config and goes; the bridge reconnects.
	stale := cfgTopic("sensor", "teslemetry_"+vin1, "old_field")
	c := paho.NewClient(paho.NewClientOptions().AddBroker(h.broker.URL()).SetClientID(h.cfg.MQTT.ClientID))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	payload := staleConfig("teslemetry2mqtt", "teslemetry_"+vin1, "teslemetry/"+vin1+"/v/old_field")
	if tok := c.Publish(stale, 1, true, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(50)
	h.sub.WaitFor(stale, payload, 5*time.Second)
	waitMetric(t, h.stats, 1, 15*time.Second)
	after := testkit.Subscribe(t, h.broker.URL(), "homeassistant/#")
	after.WaitUntil("stale gone, own kept", 5*time.Second, func(l map[string]string) bool {
		_, ok := l[stale]
		return !ok && l[own] != ""
	})
}
