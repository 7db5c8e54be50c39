package teslemetry

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

var testScheme = topic.New("teslemetry", "homeassistant")

// siteMessages parses one event and maps it, failing on any problem.
func siteMessages(t *testing.T, data string) (Event, map[string]string) {
	t.Helper()
	ev, problems, err := Parse([]byte(data))
	if err != nil || len(problems) > 0 {
		t.Fatalf("Parse(%s): %v %v", data, err, problems)
	}
	if !ev.EnergySite || ev.Site == nil || ev.IsVehicle() {
		t.Fatalf("not an energy-site event: %+v", ev)
	}
	got := map[string]string{}
	for _, m := range SiteMessages(testScheme, ev.Site) {
		if _, dup := got[m.Topic]; dup {
			t.Errorf("topic %s twice", m.Topic)
		}
		got[m.Topic] = string(m.Payload)
	}
	return ev, got
}

// sampleSiteEvents returns the energy-site events of the sample transcript.
func sampleSiteEvents(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/sse-sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if ok && (strings.Contains(line, `"site_id"`) || strings.Contains(line, `"totals"`)) {
			out = append(out, line)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d site events in the sample", len(out))
	}
	return out
}

func TestSiteLiveStatus(t *testing.T) {
	ev, got := siteMessages(t, sampleSiteEvents(t)[0])
	if !ev.IsCache || ev.Site.ID != "2252180000012345" || ev.VIN != "" {
		t.Errorf("envelope: cache %v, id %q, vin %q", ev.IsCache, ev.Site.ID, ev.VIN)
	}
	want := map[string]string{
		"live_status/solar_power":                                                 "3120",
		"live_status/energy_left":                                                 "9814.5",
		"live_status/total_pack_energy":                                           "13520",
		"live_status/percentage_charged":                                          "72.6",
		"live_status/battery_power":                                               "-1650",
		"live_status/load_power":                                                  "1210",
		"live_status/grid_status":                                                 "Active",
		"live_status/grid_power":                                                  "-260",
		"live_status/grid_services_power":                                         "0",
		"live_status/generator_power":                                             "0",
		"live_status/island_status":                                               "on_grid",
		"live_status/storm_mode_active":                                           "false",
		"live_status/timestamp":                                                   "2026-09-14T17:29:55+10:00",
		"wall_connectors/1457768-02-G--PGT23123000987/vin":                        "null", // "" is never a payload
		"wall_connectors/1457768-02-G--PGT23123000987/wall_connector_state":       "2",
		"wall_connectors/1457768-02-G--PGT23123000987/wall_connector_fault_state": "2",
		"wall_connectors/1457768-02-G--PGT23123000987/wall_connector_power":       "0",
	}
	checkSite(t, got, want)
}

func checkSite(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		topic := "teslemetry/site/2252180000012345/" + k
		if got[topic] != v {
			t.Errorf("%s = %q, want %q", topic, got[topic], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d topics, want %d: %v", len(got), len(want), got)
	}
}

func TestSiteInfo(t *testing.T) {
	_, got := siteMessages(t, sampleSiteEvents(t)[1])
	checkSite(t, got, map[string]string{
		"site_info/id":                     "STE20230314-00042",
		"site_info/site_name":              "Home",
		"site_info/backup_reserve_percent": "20",
		"site_info/default_real_mode":      "self_consumption",
		"site_info/installation_date":      "2023-03-14T09:12:00+10:00",
		"site_info/version":                "25.18.2 5d7e2f1a",
		"site_info/battery_count":          "1",
		"site_info/nameplate_power":        "5000",
		"site_info/nameplate_energy":       "13500",
		"site_info/components": `{"battery":true,"solar":true,"grid":true,"load_meter":true,` +
			`"wall_connectors":[{"din":"1457768-02-G--PGT23123000987","part_name":"Gen 3 Wall Connector"}]}`,
	})
}

func TestSiteTotalsWithNulls(t *testing.T) {
	ev, got := siteMessages(t, sampleSiteEvents(t)[2])
	if ev.Site.ID != "2252180000012345" || ev.Site.Totals == nil || !ev.IsCache {
		t.Fatalf("totals event: %+v", ev.Site)
	}
	if len(got) != 21 {
		t.Errorf("%d totals, want 21", len(got))
	}
	for k, v := range map[string]string{
		"total_home_usage": "12715", "generator_energy_exported": "null", "grid_energy_exported_from_battery": "0",
		"total_solar_generation": "14210", "battery_energy_imported_from_generator": "null",
	} {
		if p := got["teslemetry/site/2252180000012345/energy_totals/"+k]; p != v {
			t.Errorf("%s = %q, want %q", k, p, v)
		}
	}
}

func TestSiteTariffAndRemoval(t *testing.T) {
	var tariff, removed string
	for _, e := range sampleSiteEvents(t) {
		if strings.Contains(e, `"tariff_content_v2":null`) {
			removed = e
		} else if strings.Contains(e, `"tariff_content_v2"`) {
			tariff = e
		}
	}
	_, got := siteMessages(t, tariff)
	p := got["teslemetry/site/2252180000012345/tariff"]
	if len(got) != 1 || !strings.HasPrefix(p, `{"code":"EA-TOU-12",`) || strings.Contains(p, " \n") {
		t.Errorf("tariff: %v", got)
	}
	_, got = siteMessages(t, removed)
	if len(got) != 1 || got["teslemetry/site/2252180000012345/tariff"] != "null" {
		t.Errorf("removed tariff: %v", got)
	}
}

func TestSiteShapes(t *testing.T) {
	cases := []struct {
		name, data string
		want       map[string]string // topic under the site → payload
		id         string
	}{
		{"numeric id, unknown key, nested object", `{"site_id":99,"createdAt":"2026-09-14T07:00:00Z","live_status":{"solar_power":1.50,"new_thing":"x y","backup_capable":true,"detail":{"a":1}}}`,
			map[string]string{"live_status/solar_power": "1.5", "live_status/new_thing": "x y", "live_status/backup_capable": "true", "live_status/detail": `{"a":1}`}, "99"},
		{"second site, user settings as JSON", `{"site_id":"1000000000000002","site_info":{"site_name":"Barn","user_settings":{"storm_mode_enabled":true}}}`,
			map[string]string{"site_info/site_name": "Barn", "site_info/user_settings": `{"storm_mode_enabled":true}`}, "1000000000000002"},
		{"key sanitised", `{"site_id":"5","live_status":{"a/b+c":1,"wall_connectors":[{"din":"X/1","wall_connector_power":7}]}}`,
			map[string]string{"live_status/a_b_c": "1", "wall_connectors/X_1/wall_connector_power": "7"}, "5"},
		{"empty documents", `{"site_id":"5","live_status":null}`, map[string]string{}, "5"},
		{"numeric string and invalid marker", `{"id":"7","totals":{"a":"12.0","b":"<invalid>"}}`,
			map[string]string{"energy_totals/a": "12", "energy_totals/b": "null"}, "7"},
	}
	for _, c := range cases {
		ev, got := siteMessages(t, c.data)
		if ev.Site.ID != c.id {
			t.Errorf("%s: id %q, want %q", c.name, ev.Site.ID, c.id)
		}
		want := map[string]string{}
		for k, v := range c.want {
			want["teslemetry/site/"+c.id+"/"+k] = v
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, want)
		}
	}
}

func TestSiteProblems(t *testing.T) {
	cases := []struct{ data, kind string }{
		{`{"site_id":"12a","live_status":{}}`, "bad_site_id"},
		{`{"site_id":1.5,"live_status":{}}`, "bad_site_id"},
		{`{"site_id":"1","live_status":[1]}`, problemSiteBadPart},
		{`{"site_id":"1","tariff_content_v2":"flat"}`, problemSiteBadPart},
		{`{"site_id":"1","live_status":{"wall_connectors":[{"wall_connector_power":1}]}}`, problemSiteBadWallCon},
		{`{"site_id":"1","live_status":{"wall_connectors":{}}}`, problemSiteBadWallCon},
	}
	for _, c := range cases {
		ev, problems, err := Parse([]byte(c.data))
		if err != nil || ev.Site == nil {
			t.Errorf("%s: %v", c.data, err)
			continue
		}
		if len(problems) != 1 || problems[0].Kind != c.kind {
			t.Errorf("%s: problems %v, want one %s", c.data, problems, c.kind)
		}
	}
	// A site event without any id is reported and maps to nothing.
	ev, problems, _ := Parse([]byte(`{"live_status":{"solar_power":1}}`))
	if ev.Site == nil || ev.Site.ID != "" || SiteMessages(testScheme, ev.Site) != nil || len(problems) != 1 || problems[0].Kind != "bad_site_id" {
		t.Errorf("no id: %+v %v", ev.Site, problems)
	}
	// A car event has no site part.
	if ev, _, _ := Parse([]byte(`{"vin":"5YJ3E7EB9NF123456","data":{"id":1}}`)); ev.Site != nil {
		t.Errorf("car event with a site part: %+v", ev.Site)
	}
}

func TestSiteBounds(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"site_id":"1","live_status":{`)
	for i := 0; i < MaxSiteKeys+10; i++ {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"wall_connectors":[`)
	for i := 0; i < MaxWallConnectors+3; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"din":"d%d"`, i)
		for j := 0; j < MaxWallConnectorKeys+1; j++ {
			fmt.Fprintf(&b, `,"w%d":1`, j)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}}`)
	ev, problems, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ls := ev.Site.LiveStatus
	if len(ls.Values) != MaxSiteKeys || len(ls.WallConnectors) != MaxWallConnectors || len(ls.WallConnectors[0].Values) != MaxWallConnectorKeys {
		t.Errorf("kept %d values, %d wall connectors, %d values of one", len(ls.Values), len(ls.WallConnectors), len(ls.WallConnectors[0].Values))
	}
	n := 0
	for _, p := range problems {
		if p.Kind == problemSiteTooMany {
			n++
		}
	}
	if n != 1+1+MaxWallConnectors {
		t.Errorf("%d %s problems, want %d: %v", n, problemSiteTooMany, 2+MaxWallConnectors, problems)
	}
}

// FuzzParseSite checks the site decoder and its topic mapping on arbitrary
// input: no panic, every topic is the site's and well formed, and no payload
// is empty.
func FuzzParseSite(f *testing.F) {
	for _, e := range sampleSiteEventsF(f) {
		f.Add([]byte(e))
	}
	f.Add([]byte(`{"site_id":7,"live_status":{"wall_connectors":[{"din":"a","x":null}],"y":""}}`))
	f.Add([]byte(`{"id":"7","totals":{"a":null,"b":"1e3"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, _, err := Parse(data)
		if err != nil || ev.Site == nil {
			return
		}
		prefix := "teslemetry/site/" + ev.Site.ID + "/"
		for _, m := range SiteMessages(testScheme, ev.Site) {
			if len(m.Payload) == 0 {
				t.Fatalf("%s: empty payload", m.Topic)
			}
			if !strings.HasPrefix(m.Topic, prefix) || strings.ContainsAny(m.Topic, "+#\x00") || strings.Contains(m.Topic, "//") || strings.HasSuffix(m.Topic, "/") {
				t.Fatalf("bad topic %q", m.Topic)
			}
			if o := testScheme.Parse(m.Topic); o.Kind != topic.Site || o.ID != ev.Site.ID {
				t.Fatalf("%s parses as %+v", m.Topic, o)
			}
		}
	})
}

func sampleSiteEventsF(f *testing.F) []string {
	data, err := os.ReadFile("testdata/sse-sample.txt")
	if err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if l, ok := strings.CutPrefix(line, "data: "); ok && (strings.Contains(l, "site_id") || strings.Contains(l, `"totals"`)) {
			out = append(out, l)
		}
	}
	return out
}

func TestSiteDocHas(t *testing.T) {
	ev, _, err := Parse([]byte(`{"site_id":"1","site_info":{"backup_reserve_percent":20,"default_real_mode":null,` +
		`"components":{"customer_preferred_export_rule":"pv_only","disallow_charge_from_grid_with_solar_installed":null},` +
		`"user_settings":{"storm_mode_enabled":false},"list":[1]}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.Site.Info
	for path, want := range map[string]bool{
		"backup_reserve_percent": true, "default_real_mode": false, "components.customer_preferred_export_rule": true,
		"components.disallow_charge_from_grid_with_solar_installed": false, "user_settings.storm_mode_enabled": true,
		"off_grid_vehicle_charging_reserve_percent": false, "list.x": false, "backup_reserve_percent.x": false, "components": true,
	} {
		if d.Has(path) != want {
			t.Errorf("Has(%q) = %v", path, !want)
		}
	}
	for path, want := range map[string]string{
		"backup_reserve_percent": "20", "default_real_mode": "null", "components.customer_preferred_export_rule": "pv_only",
		"user_settings.storm_mode_enabled": "false", "components.disallow_charge_from_grid_with_solar_installed": "null",
	} {
		if p, ok := d.Lookup(path); !ok || string(p) != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", path, p, ok, want)
		}
	}
	if _, ok := d.Lookup("components.nothing"); ok {
		t.Error("Lookup of a missing member")
	}
	if (*SiteDoc)(nil).Has("x") {
		t.Error("nil doc has a value")
	}
}
