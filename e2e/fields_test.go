package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// The built binary's fields command against a fake field-config API: the
// table, then --apply sends exactly the difference and leaves the rest alone.
func TestFieldsCommandAppliesTheDifference(t *testing.T) {
	const vin = vin1
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin, map[string]string{
		"BatteryLevel": `{"interval_seconds":300}`,
		"VehicleSpeed": `{"interval_seconds":1}`,
	})
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := writeFile(t, "config.yaml", "teslemetry:\n  token: "+token+"\n  url: "+srv.URL+"\n  vins: ["+vin+"]\n"+
		"  fields:\n    BatteryLevel: 60\n    Odometer: null\n")

	b := StartBridge(t, nil, "fields", "--config", cfg)
	if code := b.Wait(30 * time.Second); code != 0 {
		t.Fatalf("fields: exit %d\n%s", code, b.Output())
	}
	out := strings.Join(strings.Fields(b.Output()), " ") // columns are aligned with runs of spaces
	for _, want := range []string{
		"BatteryLevel every 300 s every 60 s change",
		"Odometer - default add",
		"VehicleSpeed every 1 s (not listed) leave",
		"2 to add or change: BatteryLevel, Odometer (run with --apply to send them)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(api.Patches()) != 0 {
		t.Fatalf("sent without --apply: %q", api.Patches())
	}

	b = StartBridge(t, nil, "fields", "--config", cfg, "--apply")
	if code := b.Wait(30 * time.Second); code != 0 {
		t.Fatalf("fields --apply: exit %d\n%s", code, b.Output())
	}
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"Odometer":null}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies %q, want [%s]", p, want)
	}
	if got := api.Fields(vin)["VehicleSpeed"]; got != `{"interval_seconds":1}` {
		t.Fatalf("unlisted field changed: %s", got)
	}
	if out := b.Output(); !strings.Contains(out, "changed: BatteryLevel, Odometer") || strings.Contains(out, token) {
		t.Fatalf("apply output:\n%s", out)
	}
	for _, r := range api.Requests() {
		if r.Auth != "Bearer "+token || r.Status != 200 {
			t.Fatalf("request %+v", r)
		}
	}

	// Teslemetry refusing the token: exit 1, with the reason.
	api.SetToken("another")
	b = StartBridge(t, nil, "fields", "--config", cfg, "--apply")
	if code := b.Wait(30 * time.Second); code != 1 || !strings.Contains(b.Output(), "401 invalid_token") {
		t.Fatalf("refused token: exit %d\n%s", code, b.Output())
	}
}

// The built binary's run: the car seen on the account-wide stream gets its
// streaming config patched once, and the outcome is published retained on
// mosquitto with the Home Assistant sensor; the token never appears.
func TestRunAppliesFieldsAndPublishesStatus(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":50}}`)
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin1, map[string]string{"BatteryLevel": `{"interval_seconds":300}`, "VehicleSpeed": `{"interval_seconds":1}`})
	mux := http.NewServeMux()
	mux.Handle("/api/config/", api)
	mux.Handle("/", tesla.Server.Config.Handler)
	origin := httptest.NewServer(mux)
	defer origin.Close()
	cfg := strings.Replace(bridgeConfig(origin.URL, mq.URL(), ""), "  offline_after: 1s\n",
		"  offline_after: 1s\n  fields:\n    BatteryLevel: 60\n    Odometer: null\n", 1)
	cfgPath := writeFile(t, "config.yaml", cfg)
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub := testkit.Subscribe(t, mq.URL(), "#")

	st := "teslemetry/" + vin1 + "/fields_status"
	took := sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "50", 10*time.Second)
	sub.WaitUntil("fields_status and its sensor", 10*time.Second, func(l map[string]string) bool {
		return l[st] != "" && l["homeassistant/sensor/teslemetry_"+vin1+"/streaming_config/config"] != ""
	})
	t.Logf("first value after %v; fields_status: %s", took, sub.Latest()[st])
	var status struct {
		OK      bool     `json:"ok"`
		Changed []string `json:"changed"`
		Ignored []string `json:"ignored"`
		Pending bool     `json:"pending"`
		Error   *string  `json:"error"`
	}
	if err := json.Unmarshal([]byte(sub.Latest()[st]), &status); err != nil || !status.OK ||
		strings.Join(status.Changed, ",") != "BatteryLevel,Odometer" || status.Ignored == nil || len(status.Ignored) != 0 || !status.Pending || status.Error != nil {
		t.Fatalf("fields_status %s (%v)", sub.Latest()[st], err)
	}
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"Odometer":null}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies %q, want [%s]", p, want)
	}
	if code, _ := br.Stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := br.Output()
	if !strings.Contains(out, "streaming config updated") || strings.Contains(out, token) {
		t.Fatalf("log:\n%s", out)
	}
	for topic, payload := range sub.Latest() {
		if strings.Contains(payload, token) {
			t.Errorf("token on %s", topic)
		}
	}
}
