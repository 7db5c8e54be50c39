package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
)

// discoveryTopics returns the discovery topics published so far for the
// site, with the device name each carried last.
func discoveryTopics(rec *recorder, site string) map[string]string {
	out := map[string]string{}
	for _, m := range rec.msgs {
		if m.class == mqttpub.Discovery && strings.Contains(m.topic, "/teslemetry_site_"+site+"/") {
			name := m.payload[strings.Index(m.payload, `"device":`):]
			out[m.topic] = name
		}
	}
	return out
}

// Site entities wait for site_info so that they are named after the site
// right away; a rename re-announces them with the new device.
func TestRouterSiteAnnouncesOnceNamed(t *testing.T) {
	r, rec := testRouter(t, true)
	r.route(nil, parse(t, `{"site_id":"42","live_status":{"solar_power":100,"grid_status":"Active"}}`))
	if v, _ := rec.last("teslemetry/site/42/live_status/solar_power"); v != "100" {
		t.Fatalf("value not published: %q", v)
	}
	if n := len(discoveryTopics(rec, "42")); n != 0 {
		t.Fatalf("%d configs announced before site_info", n)
	}
	r.route(nil, parse(t, `{"site_id":"42","site_info":{"site_name":"Cottage","components":{"battery":true,"solar":false}}}`))
	got := discoveryTopics(rec, "42")
	for _, obj := range []string{"sensor/teslemetry_site_42/solar_power", "binary_sensor/teslemetry_site_42/grid_status",
		"binary_sensor/teslemetry_site_42/stream", "sensor/teslemetry_site_42/last_seen", "sensor/teslemetry_site_42/site_name"} {
		cfg, ok := got["homeassistant/"+obj+"/config"]
		if !ok || !strings.Contains(cfg, `"name":"Cottage"`) || !strings.Contains(cfg, `"model":"Powerwall"`) {
			t.Errorf("%s: %q", obj, cfg)
		}
	}
	if _, ok := got["homeassistant/sensor/teslemetry_site_42/components/config"]; ok {
		t.Error("entity for the components JSON")
	}
	// A new key after that is announced at once.
	r.route(nil, parse(t, `{"id":"42","totals":{"total_home_usage":10}}`))
	if _, ok := discoveryTopics(rec, "42")["homeassistant/sensor/teslemetry_site_42/total_home_usage/config"]; !ok {
		t.Error("new total not announced")
	}
	// Renamed: everything again with the new name.
	before := rec.count(mqttpub.Discovery)
	r.route(nil, parse(t, `{"site_id":"42","site_info":{"site_name":"Barn","components":{"battery":true,"solar":false}}}`))
	for topic, dev := range discoveryTopics(rec, "42") {
		if !strings.Contains(dev, `"name":"Barn"`) {
			t.Errorf("%s not re-announced after the rename", topic)
		}
	}
	if rec.count(mqttpub.Discovery)-before < 7 {
		t.Errorf("only %d configs re-announced", rec.count(mqttpub.Discovery)-before)
	}
}

// Without site_info the entities come two minutes after the site's first
// event, under the fallback name.
func TestRouterSiteAnnouncesWithoutInfo(t *testing.T) {
	r, rec := testRouter(t, true)
	now := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	r.route(nil, parse(t, `{"site_id":"1234567","live_status":{"solar_power":1}}`))
	now = now.Add(siteAnnounceMax - time.Second)
	r.route(nil, parse(t, `{"site_id":"1234567","live_status":{"solar_power":2}}`))
	if n := len(discoveryTopics(rec, "1234567")); n != 0 {
		t.Fatalf("%d configs before the grace period", n)
	}
	now = now.Add(time.Second)
	r.route(nil, parse(t, `{"site_id":"1234567","live_status":{"solar_power":3}}`))
	cfg := discoveryTopics(rec, "1234567")["homeassistant/sensor/teslemetry_site_1234567/solar_power/config"]
	if !strings.Contains(cfg, `"name":"Energy site 234567"`) {
		t.Errorf("fallback announcement: %q", cfg)
	}
}

// With discovery off only values are published; with energy_sites off
// nothing at all.
func TestRouterSiteSwitches(t *testing.T) {
	r, rec := testRouter(t, false)
	r.route(nil, parse(t, `{"site_id":"42","site_info":{"site_name":"Home"}}`))
	if _, ok := rec.last("teslemetry/site/42/site_info/site_name"); !ok || rec.count(mqttpub.Discovery) != 0 {
		t.Errorf("discovery off: value %v, %d configs", ok, rec.count(mqttpub.Discovery))
	}
	r, rec = testRouter(t, true)
	r.cfg.Teslemetry.EnergySites = false
	r.route(nil, parse(t, `{"site_id":"42","site_info":{"site_name":"Home"},"live_status":{"solar_power":1}}`))
	if len(rec.msgs) != 0 {
		t.Errorf("energy_sites off published %v", rec.msgs)
	}
}

// A site that keeps inventing keys stops growing at MaxSiteTopics; the
// keys it has keep updating.
func TestRouterSiteTopicBound(t *testing.T) {
	r, rec := testRouter(t, true)
	for i := 0; i < MaxSiteTopics/100+2; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, `{"site_id":"7","live_status":{`)
		for j := 0; j < 100; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d_%d":%d`, i, j, j)
		}
		b.WriteString(`}}`)
		r.route(nil, parse(t, b.String()))
	}
	si := r.sites["7"]
	if len(si.topics) != MaxSiteTopics || len(si.entities) > MaxSiteTopics {
		t.Errorf("%d topics, %d entity sources; bound %d", len(si.topics), len(si.entities), MaxSiteTopics)
	}
	r.route(nil, parse(t, `{"site_id":"7","live_status":{"k0_1":99}}`))
	if v, _ := rec.last("teslemetry/site/7/live_status/k0_1"); v != "99" {
		t.Errorf("known key after the bound: %q", v)
	}
	if _, ok := rec.last(fmt.Sprintf("teslemetry/site/7/live_status/k%d_99", MaxSiteTopics/100+1)); ok {
		t.Error("a key beyond the bound was published")
	}
}

// Availability follows the stream that carries the site, and shutdown
// takes it offline.
func TestRouterSiteAvailability(t *testing.T) {
	r, rec := testRouter(t, false)
	st := &stream{path: "/sse", vins: map[string]bool{}, sites: map[string]bool{}, connected: true}
	r.route(st, parse(t, `{"site_id":"42","createdAt":"2026-12-04T05:59:58.250Z","live_status":{"solar_power":1}}`))
	if v, _ := rec.last("teslemetry/site/42/availability"); v != "online" || !st.sites["42"] {
		t.Errorf("availability %q, stream knows the site: %v", v, st.sites["42"])
	}
	if v, _ := rec.last("teslemetry/site/42/last_seen"); v != "2026-12-04T05:59:58Z" {
		t.Errorf("last_seen %q", v)
	}
	r.setStreamSitesAvailability(st, "offline")
	if v, _ := rec.last("teslemetry/site/42/availability"); v != "offline" {
		t.Errorf("after the stream went down: %q", v)
	}
	r.setStreamSitesAvailability(st, "online")
	r.offline()
	if v, _ := rec.last("teslemetry/site/42/availability"); v != "offline" {
		t.Errorf("after shutdown: %q", v)
	}
	// A site event without an id is dropped.
	n := len(rec.msgs)
	r.route(st, parse(t, `{"live_status":{"solar_power":1}}`))
	if len(rec.msgs) != n {
		t.Error("a site event without id published something")
	}
}

// A createdAt far in the future does not pin a site's last_seen.
func TestRouterSiteFutureCreatedAt(t *testing.T) {
	r, rec := testRouter(t, false)
	now := r.now()
	future := now.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	r.route(nil, parse(t, `{"site_id":"42","createdAt":"`+future+`","live_status":{"solar_power":1}}`))
	if v, _ := rec.last("teslemetry/site/42/last_seen"); v != now.UTC().Format(time.RFC3339) {
		t.Errorf("last_seen %q, want the time of arrival %s", v, now.UTC().Format(time.RFC3339))
	}
}

// A site_info from the stream announces the site controls whose values it
// shows (through the commands' siteInfoSeen), nested ones included, and
// nothing for a value it lacks.
func TestRouterSiteInfoAnnouncesControls(t *testing.T) {
	r, rec := commandRouter(t)
	r.route(nil, parse(t, `{"site_id":"42","site_info":{"site_name":"Home","backup_reserve_percent":20,`+
		`"components":{"battery":true,"customer_preferred_export_rule":"pv_only"},"user_settings":{"storm_mode_enabled":false}}}`))
	got := discoveryTopics(rec, "42")
	for _, cfg := range []string{"number/teslemetry_site_42/backup_reserve", "select/teslemetry_site_42/export_rule",
		"switch/teslemetry_site_42/storm_watch", "sensor/teslemetry_site_42/last_command"} {
		dev, ok := got["homeassistant/"+cfg+"/config"]
		if !ok || !strings.Contains(dev, `"name":"Home"`) {
			t.Errorf("%s: %q", cfg, dev)
		}
	}
	for _, cfg := range []string{"select/teslemetry_site_42/operation_mode", "switch/teslemetry_site_42/grid_charging",
		"number/teslemetry_site_42/off_grid_ev_reserve"} {
		if _, ok := got["homeassistant/"+cfg+"/config"]; ok {
			t.Errorf("%s announced without its value", cfg)
		}
	}
}
