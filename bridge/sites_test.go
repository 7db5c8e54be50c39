package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const siteID = "2252180000012345"

func siteTopic(rest string) string { return "teslemetry/site/" + siteID + "/" + rest }

func siteCfg(component, object string) string {
	return "homeassistant/" + component + "/teslemetry_site_" + siteID + "/" + object + "/config"
}

// The sample's site events become retained topics under <base>/site/<id>/,
// with availability, last_seen and discovery named after site_info (which
// arrives after the first live_status).
func TestSiteTopicsThroughBroker(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(testkit.SampleEvents(t)...)
	want := map[string]string{
		"availability":                            "online",
		"live_status/solar_power":                 "3045",
		"live_status/percentage_charged":          "72.3",
		"live_status/grid_status":                 "Active",
		"live_status/storm_mode_active":           "false",
		"site_info/site_name":                     "Home",
		"site_info/backup_reserve_percent":        "20",
		"energy_totals/total_home_usage":          "12810",
		"energy_totals/generator_energy_exported": "null",
		"tariff":    "null", // removed after it was sent
		"last_seen": "2026-09-14T07:31:40Z",
		"wall_connectors/1457768-02-G--PGT23123000987/vin":                  "7SAYGDEE1PA098765",
		"wall_connectors/1457768-02-G--PGT23123000987/wall_connector_state": "4",
	}
	h.sub.WaitUntil("site topics", 10*time.Second, func(l map[string]string) bool {
		for k, v := range want {
			if l[siteTopic(k)] != v {
				return false
			}
		}
		return l[siteCfg("sensor", "total_solar_generation")] != "" && l[siteCfg("binary_sensor", "grid_status")] != "" &&
			l[siteCfg("sensor", "wall_connector_1457768-02-G--PGT23123000987_power")] != "" && l[siteCfg("binary_sensor", "stream")] != ""
	})
	l := h.sub.Latest()
	if !strings.HasPrefix(l[siteTopic("site_info/components")], `{"battery":true,"solar":true,`) {
		t.Errorf("components: %s", l[siteTopic("site_info/components")])
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(l[siteCfg("sensor", "solar_power")]), &cfg); err != nil {
		t.Fatal(err)
	}
	dev := cfg["device"].(map[string]any)
	if dev["name"] != "Home" || dev["model"] != "Powerwall + Solar" || dev["sw_version"] != "25.18.2" ||
		cfg["default_entity_id"] != "sensor.home_solar_power" || cfg["state_topic"] != siteTopic("live_status/solar_power") {
		t.Errorf("site discovery not right first time: %v", cfg)
	}
	// JSON members get no entity; no topic outside the scheme.
	for topic := range l {
		if strings.Contains(topic, "/components/") || strings.Contains(topic, "/site_info_components/") {
			t.Errorf("entity for a JSON member: %s", topic)
		}
	}
	var info struct {
		Sites []string `json:"sites"`
	}
	if err := json.Unmarshal([]byte(l["teslemetry/bridge/info"]), &info); err != nil || !slices.Equal(info.Sites, []string{siteID}) {
		t.Errorf("bridge/info sites: %v (%v)", info.Sites, err)
	}
	snap := h.bridge.Snapshot()
	if len(snap.Sites) != 1 || snap.Sites[0].ID != siteID || snap.Sites[0].Name != "Home" || snap.Sites[0].Model != "Powerwall + Solar" ||
		snap.Sites[0].Availability != "online" || snap.Sites[0].LastSeen.IsZero() {
		t.Errorf("snapshot sites %+v", snap.Sites)
	}
	// The cars are untouched.
	if l["teslemetry/"+vin1+"/v/BatteryLevel"] == "" {
		t.Error("car values missing")
	}
}

// A site's availability follows the stream carrying it, like a car's, and
// its values stay retained.
func TestSiteAvailabilityFollowsStream(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"site_id":"` + siteID + `","live_status":{"solar_power":100}}`)
	h.sub.WaitFor(siteTopic("availability"), "online", 5*time.Second)
	h.tesla.SetStatus(503)
	h.tesla.DropAll()
	h.sub.WaitFor(siteTopic("availability"), "offline", 5*time.Second)
	if v, _ := h.sub.Get(siteTopic("live_status/solar_power")); v != "100" {
		t.Errorf("value while offline: %q", v)
	}
	h.tesla.SetStatus(0)
	h.sub.WaitFor(siteTopic("availability"), "online", 10*time.Second)
	h.stop()
	h.sub.WaitFor(siteTopic("availability"), "offline", 5*time.Second)
}

// Publish-on-change: an unchanged site value is not sent again; the HA birth
// message republishes site values and configs even when the broker lost them.
func TestSitePublishOnChangeAndRepublish(t *testing.T) {
	h := startBridge(t, "")
	ev := func(solar, load int) string {
		return fmt.Sprintf(`{"site_id":"%s","live_status":{"solar_power":%d,"load_power":%d}}`, siteID, solar, load)
	}
	h.snapshot(ev(100, 50), `{"site_id":"`+siteID+`","site_info":{"site_name":"Cottage"}}`)
	h.sub.WaitFor(siteTopic("live_status/load_power"), "50", 5*time.Second)
	// Counted from here: the snapshot may arrive before the MQTT session is
	// up, and that session's first full republish is allowed to repeat it.
	h.bridge.Publisher().Flush(5 * time.Second)
	before := h.sub.Count(siteTopic("live_status/load_power"))
	h.tesla.Send(ev(200, 50))
	h.sub.WaitFor(siteTopic("live_status/solar_power"), "200", 5*time.Second)
	if n := h.sub.Count(siteTopic("live_status/load_power")) - before; n != 0 {
		t.Errorf("unchanged load_power published %d more times", n)
	}
	cfg := siteCfg("sensor", "solar_power")
	h.sub.WaitUntil("discovery", 5*time.Second, func(l map[string]string) bool { return strings.Contains(l[cfg], `"Cottage"`) })
	for _, topic := range []string{siteTopic("live_status/solar_power"), cfg, siteTopic("availability")} {
		publishOnce(t, h.broker.URL(), topic, "", true)
	}
	h.sub.WaitUntil("wiped", 5*time.Second, func(l map[string]string) bool { _, ok := l[cfg]; return !ok })
	publishOnce(t, h.broker.URL(), "homeassistant/status", "online", false)
	h.sub.WaitFor(siteTopic("live_status/solar_power"), "200", 10*time.Second)
	h.sub.WaitFor(siteTopic("availability"), "online", 10*time.Second)
	h.sub.WaitUntil("discovery republished", 10*time.Second, func(l map[string]string) bool { return l[cfg] != "" })
}

// teslemetry.energy_sites: false publishes nothing for sites.
func TestSitesOff(t *testing.T) {
	h2 := startBridgeEnergyOff(t)
	h2.snapshot(testkit.SampleEvents(t)...)
	h2.sub.WaitFor("teslemetry/"+vin2+"/v/BatteryLevel", "88.9", 5*time.Second)
	h2.sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 5*time.Second)
	time.Sleep(200 * time.Millisecond) // the sample is one burst; site events are in it
	for topic := range h2.sub.Latest() {
		if strings.Contains(topic, "/site/") || strings.Contains(topic, "_site_") {
			t.Errorf("site topic with energy_sites off: %s", topic)
		}
	}
}

// startBridgeEnergyOff is startBridge with teslemetry.energy_sites: false.
func startBridgeEnergyOff(t *testing.T) *harness {
	t.Helper()
	return startSiteBridge(t, "  energy_sites: false\n", nil)
}

// startSiteBridge runs a bridge like startBridge, with extra teslemetry:
// settings and a SiteInfoValue hook.
func startSiteBridge(t *testing.T, teslemetryExtra string, known bridge.SiteInfoValue) *harness {
	t.Helper()
	return startHarness(t, harnessSpec{teslemetry: teslemetryExtra, options: func(o *bridge.Options) { o.SiteInfoValue = known }})
}

// The controls' hook hears each site_info value, nested control values under
// their dotted paths, with the device as it is after the event.
func TestSiteInfoValueHook(t *testing.T) {
	type call struct{ device, key, payload string }
	var mu sync.Mutex
	var calls []call
	got := make(chan struct{}, 100)
	h := startSiteBridge(t, "", func(s ha.Site, key string, payload []byte) {
		mu.Lock()
		calls = append(calls, call{s.ID + "/" + s.Name, key, string(payload)})
		mu.Unlock()
		got <- struct{}{}
	})
	wait := func(n int) {
		for range n {
			select {
			case <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("SiteInfoValue not called")
			}
		}
	}
	h.snapshot(`{"site_id":"` + siteID + `","site_info":{"site_name":"Barn","backup_reserve_percent":30,"default_real_mode":null}}`)
	wait(2)
	h.tesla.Send(`{"site_id":"` + siteID + `","site_info":{"site_name":"Shed",` +
		`"components":{"customer_preferred_export_rule":"pv_only","battery":true},"user_settings":{"storm_mode_enabled":true}}}`)
	wait(5)
	h.tesla.Send(`{"site_id":"` + siteID + `","live_status":{"solar_power":1}}`)
	h.sub.WaitFor(siteTopic("live_status/solar_power"), "1", 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	want := []call{
		{siteID + "/Barn", "site_name", "Barn"},
		{siteID + "/Barn", "backup_reserve_percent", "30"},
		{siteID + "/Shed", "site_name", "Shed"},
		{siteID + "/Shed", "components", `{"customer_preferred_export_rule":"pv_only","battery":true}`},
		{siteID + "/Shed", "user_settings", `{"storm_mode_enabled":true}`},
		{siteID + "/Shed", "components.customer_preferred_export_rule", "pv_only"},
		{siteID + "/Shed", "user_settings.storm_mode_enabled", "true"},
	}
	if !slices.Equal(calls, want) {
		t.Errorf("calls\n %v\nwant\n %v", calls, want)
	}
}

// More sites than MaxSites: the extra ones are skipped and counted; the
// known ones keep working.
func TestSiteLimit(t *testing.T) {
	h := startBridge(t, "")
	var evs []string
	for i := 0; i < bridge.MaxSites+5; i++ {
		evs = append(evs, fmt.Sprintf(`{"site_id":"%d","live_status":{"solar_power":%d}}`, 1000+i, i))
	}
	h.snapshot(evs...)
	last := fmt.Sprintf("teslemetry/site/%d/live_status/solar_power", 1000+bridge.MaxSites-1)
	h.sub.WaitFor(last, fmt.Sprint(bridge.MaxSites-1), 5*time.Second)
	h.tesla.Send(`{"site_id":"1000","live_status":{"solar_power":77}}`)
	h.sub.WaitFor("teslemetry/site/1000/live_status/solar_power", "77", 5*time.Second)
	for topic := range h.sub.Latest() {
		if strings.HasPrefix(topic, fmt.Sprintf("teslemetry/site/%d/", 1000+bridge.MaxSites)) {
			t.Errorf("site beyond the limit published: %s", topic)
		}
	}
	if n := droppedCount(t, h.stats, "limit_sites"); n != 5 {
		t.Errorf("limit_sites drops %v, want 5", n)
	}
}

func droppedCount(t *testing.T, m *bridge.Metrics, reason string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasSuffix(f.GetName(), "_dropped_total") {
			continue
		}
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetValue() == reason {
					return mm.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Stale cleanup covers site nodes: an entity this version never publishes
// goes, a valid one stays.
func TestSiteStaleDiscoveryCleanup(t *testing.T) {
	node := "teslemetry_site_" + siteID
	stale := cfgTopic("sensor", node, "old_site_thing")
	kept := cfgTopic("sensor", node, "total_home_usage")
	h := startBridgeSeeded(t, "", func(url string) {
		publishOnce(t, url, stale, staleConfig("teslemetry2mqtt", node, siteTopic("old")), true)
		publishOnce(t, url, kept, staleConfig("teslemetry2mqtt", node, siteTopic("energy_totals/total_home_usage")), true)
	})
	h.snapshot(`{"site_id":"` + siteID + `","live_status":{"solar_power":1}}`)
	waitMetric(t, h.stats, 1, 10*time.Second)
	h.sub.WaitUntil("stale site config removed, valid one kept", 5*time.Second, func(l map[string]string) bool {
		_, gone := l[stale]
		return !gone && l[kept] != ""
	})
}

// Purge deletes the site topics and configs too.
func TestPurgeRemovesSites(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"site_id":"`+siteID+`","site_info":{"site_name":"Home"}}`, `{"site_id":"`+siteID+`","live_status":{"solar_power":5}}`)
	h.sub.WaitUntil("site published", 5*time.Second, func(l map[string]string) bool {
		return l[siteTopic("live_status/solar_power")] == "5" && l[siteCfg("sensor", "solar_power")] != ""
	})
	h.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bridge.Purge(ctx, h.cfg, bridge.PurgeOptions{Collect: time.Second}); err != nil {
		t.Fatal(err)
	}
	h.sub.WaitUntil("purged", 5*time.Second, func(l map[string]string) bool {
		for topic := range l {
			if strings.Contains(topic, "site") {
				return false
			}
		}
		return true
	})
}
