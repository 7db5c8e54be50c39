package ha_test

import (
	"os"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// siteEvents returns the energy-site events of the sample transcript and the
// demo recording, plus made-up ones with every null and oddity the decoder
// lets through.
func siteEvents(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, path := range []string{"../../bridge/teslemetry/testdata/sse-sample.txt", "../../bridge/demo/recording.sse"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if l, ok := strings.CutPrefix(line, "data: "); ok && (strings.Contains(l, `"site_id"`) || strings.Contains(l, `"totals"`)) {
				out = append(out, l)
			}
		}
	}
	return append(out,
		`{"site_id":"1","live_status":{"solar_power":null,"percentage_charged":"<invalid>","grid_status":"","island_status":"off_grid_intentional",`+
			`"storm_mode_active":true,"backup_capable":null,"timestamp":null,"new_key":"`+strings.Repeat("x", 300)+`",`+
			`"wall_connectors":[{"din":"D1","vin":"","wall_connector_state":null,"wall_connector_power":"7.5"}]}}`,
		`{"site_id":"1","site_info":{"site_name":"","default_real_mode":"backup","installation_date":null,"battery_count":"2","nameplate_power":null}}`,
		`{"id":"1","totals":{"total_home_usage":null,"total_solar_generation":"1.5","brand_new_total":3}}`,
		`{"site_id":"1","tariff_content_v2":{"code":"X"}}`,
		`{"site_id":"1","tariff_content_v2":null}`,
	)
}

// TestHARulesEverySiteState publishes every site event of the sample, the
// demo and made-up edge cases through the decoder, and checks that Home
// Assistant can show every state under the entity that reads its topic.
func TestHARulesEverySiteState(t *testing.T) {
	o := ha.Options{Topics: topic.New("teslemetry", "homeassistant"), Units: catalog.UnitsNative, Version: "1"}
	sch := o.Topics
	checked := 0
	for _, data := range siteEvents(t) {
		ev, _, err := teslemetry.Parse([]byte(data))
		if err != nil || ev.Site == nil {
			t.Fatalf("%s: %v", data, err)
		}
		s := ev.Site
		site := ha.Site{ID: s.ID, Name: "Home"}
		// Every entity the bridge announces for this event, by state topic.
		var configs []ha.Message
		docs := map[string]*teslemetry.SiteDoc{topic.SiteLiveStatus: s.LiveStatus, topic.SiteInfo: s.Info, topic.SiteEnergyTotals: s.Totals}
		for level, d := range docs {
			if d == nil {
				continue
			}
			for _, v := range d.Values {
				kind := ha.SiteScalar
				if v.JSON {
					kind = ha.SiteJSON
				}
				configs = append(configs, o.SiteValueEntities(site, level, v.Key, kind)...)
			}
			for _, wc := range d.WallConnectors {
				for _, v := range wc.Values {
					configs = append(configs, o.WallConnectorEntities(site, wc.DIN, v.Key)...)
				}
			}
		}
		configs = append(configs, o.SiteEntities(site)...)
		byTopic := map[string][]ha.Message{}
		for _, m := range configs {
			st := ha.StateTopicOf(t, m)
			byTopic[st] = append(byTopic[st], m)
		}
		for _, m := range teslemetry.SiteMessages(sch, s) {
			if len(m.Payload) == 0 {
				t.Errorf("%s: empty payload", m.Topic)
			}
			for _, c := range byTopic[m.Topic] {
				checked++
				if err := ha.CheckSiteState(t, c, m.Payload); err != nil {
					t.Errorf("%s = %q under %s: %v", m.Topic, m.Payload, c.Topic, err)
				}
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d states checked", checked)
	}
}
