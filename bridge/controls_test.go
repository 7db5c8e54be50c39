package bridge

import (
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/command"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
)

// commandRouter is testRouter with the command side attached (sending to
// nothing: these tests only look at what is published).
func commandRouter(t *testing.T, deny ...string) (*router, *recorder) {
	t.Helper()
	r, rec := testRouter(t, true)
	r.cfg.Commands.Deny = deny
	c, err := newCommands(r.cfg, "test", r.topics, rec, command.NoSender{}, "native", r.log, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.cmds = c
	r.ha.enableControls(c.denied)
	return r, rec
}

// Controls are announced when their state field is first seen, buttons and
// Last command with the car; the charge current maximum follows the car.
func TestRouterAnnouncesControls(t *testing.T) {
	const vin = "5YJ3E7EB9NF123456"
	r, rec := commandRouter(t, "sentry")
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"Locked":true,"SentryMode":"SentryModeStateOff","ChargeCurrentRequest":16}}`))
	cfg := func(platform, object string) string {
		p, _ := rec.last("homeassistant/" + platform + "/teslemetry_" + vin + "/" + object + "/config")
		return p
	}
	if !strings.Contains(cfg("lock", "lock"), `"command_topic":"teslemetry/`+vin+`/set/lock"`) {
		t.Errorf("lock not announced")
	}
	if cfg("switch", "sentry") != "" {
		t.Errorf("denied sentry announced")
	}
	if cfg("button", "honk_horn") == "" || cfg("sensor", "last_command") == "" {
		t.Errorf("buttons / last command not announced with the car")
	}
	if cfg("number", "charge_limit") != "" || cfg("cover", "windows") != "" {
		t.Errorf("controls announced before their field was seen")
	}
	if !strings.Contains(cfg("number", "charge_current"), `"max":48`) {
		t.Errorf("charge current max: %s", cfg("number", "charge_current"))
	}
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"ChargeCurrentRequestMax":32,"FdWindow":"WindowStateClosed","RdWindow":"WindowStateOpened"}}`))
	if !strings.Contains(cfg("number", "charge_current"), `"max":32`) {
		t.Errorf("charge current max after ChargeCurrentRequestMax: %s", cfg("number", "charge_current"))
	}
	if cfg("cover", "windows") == "" {
		t.Errorf("windows cover not announced with the first window field")
	}
	if w, _ := rec.last("teslemetry/" + vin + "/derived/windows"); w != "open" {
		t.Errorf("derived windows %q", w)
	}
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"RdWindow":"WindowStateClosed"}}`))
	if w, _ := rec.last("teslemetry/" + vin + "/derived/windows"); w != "closed" {
		t.Errorf("derived windows %q after closing", w)
	}
	// A new device name re-announces the controls with it.
	n := rec.count(0)
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"VehicleName":"Bolt"}}`))
	if rec.count(0) <= n || !strings.Contains(cfg("lock", "lock"), `"name":"Bolt"`) {
		t.Errorf("controls not re-announced with the new device name: %s", cfg("lock", "lock"))
	}
}

// Site controls are announced by the site_info values they reflect.
func TestRouterAnnouncesSiteControls(t *testing.T) {
	r, rec := commandRouter(t)
	site := ha.Site{ID: "123456", Name: "Home"}
	r.siteInfoSeen(site, "backup_reserve_percent", []byte("20"))
	r.siteInfoSeen(site, "backup_reserve_percent", []byte("25"))
	r.siteInfoSeen(site, "components.customer_preferred_export_rule", []byte("pv_only"))
	var got []string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m.topic, "homeassistant/") {
			got = append(got, m.topic)
		}
	}
	want := []string{
		"homeassistant/sensor/teslemetry_site_123456/last_command/config",
		"homeassistant/number/teslemetry_site_123456/backup_reserve/config",
		"homeassistant/select/teslemetry_site_123456/export_rule/config",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("site configs %v, want %v", got, want)
	}
}
