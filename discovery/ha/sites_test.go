package ha

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

var testSite = Site{ID: "2252180000012345", Name: "Home", Model: "Powerwall + Solar", SWVersion: "25.18.2"}

// siteEntitiesForTest returns every config the bridge can publish for one
// site: each catalogued member, an unknown member per document, a wall
// connector's members (and an unknown one), and the site's own entities.
func siteEntitiesForTest(o Options, s Site) []Message {
	var msgs []Message
	levels := []string{topic.SiteLiveStatus, topic.SiteInfo, topic.SiteEnergyTotals}
	for _, level := range levels {
		keys := make([]string, 0, len(siteCatalog[level]))
		for k := range siteCatalog[level] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			msgs = append(msgs, o.SiteValueEntities(s, level, k, SiteScalar)...)
		}
		msgs = append(msgs, o.SiteValueEntities(s, level, "some_future_key", SiteScalar)...)
	}
	for _, k := range []string{"wall_connector_power", "wall_connector_state", "wall_connector_fault_state", "vin", "new_member"} {
		msgs = append(msgs, o.WallConnectorEntities(s, "1457768-02-G--PGT23123000987", k)...)
	}
	return append(msgs, o.SiteEntities(s)...)
}

func TestHARulesEverySiteEntity(t *testing.T) {
	o := testOptions
	both := []string{"teslemetry/bridge/state", "teslemetry/site/" + testSite.ID + "/availability"}
	uniqueIDs, entityIDs := map[string]string{}, map[string]string{}
	msgs := siteEntitiesForTest(o, testSite)
	if len(msgs) < 55 {
		t.Fatalf("only %d site entities", len(msgs))
	}
	for _, m := range msgs {
		e := decode(t, m)
		avail := both
		if e.object == SiteStreamObject {
			avail = both[:1]
		}
		checkEntity(t, o, e, avail)
		if e.node != "teslemetry_site_"+testSite.ID {
			t.Errorf("%s: node %s", m.Topic, e.node)
		}
		dev := e.c["device"].(map[string]any)
		if dev["manufacturer"] != "Tesla" || dev["via_device"] != "teslemetry_bridge" || dev["name"] != "Home" ||
			dev["model"] != "Powerwall + Solar" || dev["sw_version"] != "25.18.2" {
			t.Errorf("%s: device %v", m.Topic, dev)
		}
		if !strings.HasPrefix(e.str("default_entity_id"), e.component+".home_") {
			t.Errorf("%s: default_entity_id %s lacks the site slug", m.Topic, e.str("default_entity_id"))
		}
		for id, seen := range map[string]map[string]string{e.str("unique_id"): uniqueIDs, e.str("default_entity_id"): entityIDs} {
			if prev, dup := seen[id]; dup {
				t.Errorf("%s and %s share id %s", prev, m.Topic, id)
			}
			seen[id] = m.Topic
		}
		if !strings.HasPrefix(e.str("state_topic"), "teslemetry/site/"+testSite.ID+"/") {
			t.Errorf("%s: state topic %s", m.Topic, e.str("state_topic"))
		}
		if !SitePublishable(e.component, e.object) {
			t.Errorf("%s: produced but not SitePublishable", m.Topic)
		}
		// Null (and anything unexpected) must show as unknown, not an error.
		if e.object != SiteStreamObject {
			if state, err := renderState(e, "null"); err != nil || state != "None" {
				t.Errorf("%s: null renders %q, %v", m.Topic, state, err)
			}
		}
	}
}

// TestSiteEnergyDashboard checks what the Energy dashboard needs: the totals
// for solar, grid import/export, battery charge/discharge and home usage are
// enabled energy sensors with total_increasing; the everyday entities are on
// and the long tail off.
func TestSiteEnergyDashboard(t *testing.T) {
	enabled := map[string]bool{}
	for _, m := range siteEntitiesForTest(testOptions, testSite) {
		e := decode(t, m)
		if on, _ := e.c["enabled_by_default"].(bool); on {
			enabled[e.object] = true
		}
		if strings.Contains(e.str("state_topic"), "/energy_totals/") &&
			(e.str("device_class") != "energy" || e.str("state_class") != "total_increasing" || e.str("unit_of_measurement") != "Wh") {
			t.Errorf("%s: total is not an energy total_increasing sensor in Wh", m.Topic)
		}
	}
	for _, obj := range []string{"total_solar_generation", "grid_energy_imported", "total_grid_energy_exported", "total_battery_charge",
		"total_battery_discharge", "total_home_usage", "solar_power", "battery_power", "load_power", "grid_power",
		"percentage_charged", "energy_left", "grid_status", "storm_mode_active", "default_real_mode",
		"wall_connector_1457768-02-G--PGT23123000987_power", "stream", "last_seen"} {
		if !enabled[obj] {
			t.Errorf("%s not enabled by default", obj)
		}
	}
	for _, obj := range []string{"generator_power", "total_pack_energy", "battery_energy_imported_from_generator", "gateway_id",
		"live_status_some_future_key", "site_info_some_future_key", "tariff", "status_time"} {
		if enabled[obj] {
			t.Errorf("%s enabled by default", obj)
		}
	}
}

func TestSiteEntityShapes(t *testing.T) {
	o := testOptions
	if o.SiteValueEntities(testSite, topic.SiteInfo, "components", SiteJSON) != nil ||
		o.SiteValueEntities(testSite, topic.SiteLiveStatus, "wall_connectors", SiteScalar) != nil ||
		o.SiteValueEntities(testSite, topic.SiteTariff, "x", SiteScalar) != nil ||
		o.WallConnectorEntities(testSite, "D", "din") != nil {
		t.Error("an entity for a JSON member, the wall connector list, another document or a DIN")
	}
	e := decode(t, o.SiteValueEntities(testSite, topic.SiteLiveStatus, "grid_status", SiteScalar)[0])
	if e.component != catalog.ComponentBinarySensor || e.str("device_class") != "power" || e.str("payload_on") != "Active" ||
		e.str("state_topic") != "teslemetry/site/2252180000012345/live_status/grid_status" {
		t.Errorf("grid status: %v", e.c)
	}
	e = decode(t, o.WallConnectorEntities(testSite, "1457768-02-G--PGT23123000987", "wall_connector_power")[0])
	if e.str("name") != "Wall connector 0987 power" ||
		e.str("state_topic") != "teslemetry/site/2252180000012345/wall_connectors/1457768-02-G--PGT23123000987/wall_connector_power" {
		t.Errorf("wall connector power: %v", e.c)
	}
	e = decode(t, o.SiteValueEntities(Site{ID: "2252180000012345"}, topic.SiteInfo, "default_real_mode", SiteScalar)[0])
	if dev := e.c["device"].(map[string]any); dev["name"] != "Energy site 012345" || dev["model"] != nil ||
		e.str("default_entity_id") != "sensor.energy_site_012345_default_real_mode" {
		t.Errorf("unnamed site: %v, %s", dev, e.str("default_entity_id"))
	}
	if SitePublishable(catalog.ComponentSensor, "made_up") || SitePublishable(catalog.ComponentDeviceTracker, "solar_power") ||
		SitePublishable(catalog.ComponentBinarySensor, "solar_power") || !SitePublishable(catalog.ComponentSensor, "energy_totals_x") {
		t.Error("SitePublishable")
	}
}

func TestSiteNameAndModel(t *testing.T) {
	for _, c := range []struct{ name, id, want string }{
		{"Cottage", "1", "Cottage"}, {" ", "2252180000012345", "Energy site 012345"}, {"null", "42", "Energy site 42"},
	} {
		if got := SiteName(c.name, c.id); got != c.want {
			t.Errorf("SiteName(%q, %q) = %q", c.name, c.id, got)
		}
	}
	if SiteModel(true, true) != "Powerwall + Solar" || SiteModel(true, false) != "Powerwall" || SiteModel(false, true) != "Solar" || SiteModel(false, false) != "" {
		t.Error("SiteModel")
	}
}

// --- states --------------------------------------------------------------

// renderState renders a payload through an entity's value template the way
// Home Assistant would, for the templates site entities use; an unknown
// template is an error, so a new template needs a rendering here first.
func renderState(e entity, payload string) (string, error) {
	tpl := e.str("value_template")
	if tpl == "" {
		return payload, nil
	}
	none := func(ok bool, s string) string {
		if !ok {
			return "None"
		}
		return s
	}
	switch {
	case tpl == tplValue:
		return none(payload != "null", payload), nil
	case tpl == tplText:
		if len(payload) > 255 {
			payload = payload[:255]
		}
		return none(payload != "null", payload), nil
	case tpl == tplZonedTime:
		return none(reZonedTime.MatchString(payload), payload), nil
	case tpl == tplTariff:
		var m map[string]any
		if json.Unmarshal([]byte(payload), &m) != nil || m == nil {
			return "None", nil
		}
		for _, k := range []string{"name", "code"} {
			if v, ok := m[k]; ok && v != nil && v != "" && v != false {
				s := fmt.Sprint(v)
				if len(s) > 255 {
					s = s[:255]
				}
				return s, nil
			}
		}
		return "tariff", nil
	}
	var opts []string
	if opt, ok := e.c["options"].([]any); ok {
		for _, o := range opt {
			opts = append(opts, o.(string))
		}
	} else if e.component == catalog.ComponentBinarySensor {
		opts = []string{e.str("payload_on"), e.str("payload_off")}
	}
	if tpl == tplIn(opts) {
		return none(slices.Contains(opts, payload), payload), nil
	}
	return "", fmt.Errorf("no rendering for template %q", tpl)
}

// reZonedTime is tplZonedTime's regular expression (Jinja's match test
// anchors at the start).
var reZonedTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d.*(Z|[+-]\d\d:\d\d)$`)

// checkState tells whether Home Assistant can show the state a payload
// renders to under entity e: None (unknown) always; otherwise a number for
// numeric sensors, an ISO time with zone for timestamps, an option for enums,
// payload_on/off for binary sensors, at most 255 characters for text.
func checkState(e entity, payload string) error {
	state, err := renderState(e, payload)
	if err != nil || state == "None" {
		return err
	}
	class := e.str("device_class")
	switch {
	case e.component == catalog.ComponentBinarySensor:
		if state != e.str("payload_on") && state != e.str("payload_off") {
			return fmt.Errorf("binary state %q is neither payload_on nor payload_off", state)
		}
	case class == "timestamp":
		if _, err := time.Parse(time.RFC3339Nano, state); err != nil {
			return fmt.Errorf("timestamp state %q: %v", state, err)
		}
	case class == "enum":
		// renderState already mapped anything else to None.
	case class != "" || e.str("unit_of_measurement") != "" || e.str("state_class") != "":
		if _, err := strconv.ParseFloat(state, 64); err != nil {
			return fmt.Errorf("numeric sensor state %q is not a number", state)
		}
	default:
		if len(state) > 255 {
			return fmt.Errorf("state of %d characters", len(state))
		}
	}
	return nil
}

func TestSiteStatesRejected(t *testing.T) {
	ent := func(level, key string) entity {
		return decode(t, testOptions.SiteValueEntities(testSite, level, key, SiteScalar)[0])
	}
	for _, c := range []struct {
		e       entity
		payload string
		ok      bool
	}{
		{ent(topic.SiteLiveStatus, "solar_power"), "3120", true},
		{ent(topic.SiteLiveStatus, "solar_power"), "lots", false},
		{ent(topic.SiteLiveStatus, "timestamp"), "2026-09-14T17:29:55+1000", true}, // unknown: HA would refuse it
		{ent(topic.SiteLiveStatus, "grid_status"), "Active", true},
		{ent(topic.SiteLiveStatus, "grid_status"), "Weird", true}, // unknown, not an error
		{ent(topic.SiteLiveStatus, "timestamp"), "2026-09-14T17:29:55+10:00", true},
		{ent(topic.SiteLiveStatus, "timestamp"), "yesterday", true},             // unknown, not an error
		{ent(topic.SiteInfo, "installation_date"), "2023-03-14T09:12:00", true}, // no zone: unknown
		{ent(topic.SiteInfo, "installation_date"), "2023-03-14T09:12:00Z", true},
		{ent(topic.SiteInfo, "default_real_mode"), "self_consumption", true},
		{ent(topic.SiteInfo, "default_real_mode"), "new_mode", true},
	} {
		if err := checkState(c.e, c.payload); (err == nil) != c.ok {
			t.Errorf("%s %q: %v", c.e.object, c.payload, err)
		}
	}
}
