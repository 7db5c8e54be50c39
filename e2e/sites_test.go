package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// TestEnergySiteEndToEnd drives the built binary through mosquitto with the
// sample's energy site: its values, wall connector, totals and tariff
// removal become retained topics, Home Assistant discovery names the device
// after site_info with Energy-dashboard totals, availability follows the
// stream, a broker restart heals everything, and SIGTERM leaves the site
// offline.
func TestEnergySiteEndToEnd(t *testing.T) {
	const site = "teslemetry/site/2252180000012345/"
	const node = "teslemetry_site_2252180000012345"
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	cfgPath := writeFile(t, "config.yaml", bridgeConfig(tesla.URL(), mq.URL(), ""))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub := testkit.Subscribe(t, mq.URL(), "#")

	want := map[string]string{
		site + "availability":                                     "online",
		site + "live_status/solar_power":                          "3045",
		site + "live_status/battery_power":                        "-1580",
		site + "live_status/grid_status":                          "Active",
		site + "site_info/site_name":                              "Home",
		site + "energy_totals/total_solar_generation":             "14480",
		site + "energy_totals/generator_energy_exported":          "null",
		site + "tariff":                                           "null",
		site + "wall_connectors/1457768-02-G--PGT23123000987/vin": vin2,
	}
	totals := "homeassistant/sensor/" + node + "/total_solar_generation/config"
	start := time.Now()
	sub.WaitUntil("site topics and discovery", 15*time.Second, func(l map[string]string) bool {
		for k, v := range want {
			if l[k] != v {
				return false
			}
		}
		return l[totals] != "" && l["homeassistant/binary_sensor/"+node+"/grid_status/config"] != ""
	})
	siteTopics := 0
	for topic := range sub.Latest() {
		if strings.Contains(topic, "2252180000012345") {
			siteTopics++
		}
	}
	t.Logf("site: %d retained topics (values and discovery) %v after start", siteTopics, time.Since(start).Round(time.Millisecond))
	var cfg map[string]any
	if err := json.Unmarshal([]byte(sub.Latest()[totals]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["device_class"] != "energy" || cfg["state_class"] != "total_increasing" || cfg["unit_of_measurement"] != "Wh" ||
		cfg["device"].(map[string]any)["name"] != "Home" || cfg["default_entity_id"] != "sensor.home_total_solar_generation" {
		t.Errorf("total solar generation config: %v", cfg)
	}

	// A stream outage: offline after offline_after, back online (the fake
	// server replays its snapshot on the new connection); then a live update.
	tesla.SetStatus(503)
	tesla.DropAll()
	took := sub.WaitFor(site+"availability", "offline", 10*time.Second)
	t.Logf("site availability offline %v after the stream dropped (offline_after 1s)", took)
	tesla.SetStatus(0)
	sub.WaitFor(site+"availability", "online", 15*time.Second)
	tesla.WaitConnections(t, 1, 5*time.Second)
	tesla.Send(`{"site_id":"2252180000012345","live_status":{"solar_power":2950,"percentage_charged":72.1}}`)
	sub.WaitFor(site+"live_status/solar_power", "2950", 5*time.Second)

	// Broker restart without persistence: the site is republished.
	mq.Kill()
	time.Sleep(300 * time.Millisecond)
	mq.Start()
	restarted := time.Now()
	sub2 := testkit.Subscribe(t, mq.URL(), "#")
	sub2.WaitFor(site+"live_status/percentage_charged", "72.1", 15*time.Second)
	sub2.WaitFor(site+"availability", "online", 15*time.Second)
	sub2.WaitUntil("site discovery republished", 15*time.Second, func(l map[string]string) bool { return l[totals] != "" })
	t.Logf("site values, availability and discovery back %v after the broker restart", time.Since(restarted).Round(time.Millisecond))

	code, d := br.Stop(syscall.SIGTERM)
	if code != 0 || d > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %v", code, d)
	}
	sub2.WaitFor(site+"availability", "offline", 3*time.Second)
	for topic, payload := range sub2.Latest() {
		if strings.Contains(topic, "2252180000012345") && payload == "" {
			t.Errorf("empty payload on %s", topic)
		}
	}
}
