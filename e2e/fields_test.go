package e2e

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// The built binary's fields command against a fake field-config API: the
// table, then --apply sends exactly the difference and leaves the rest alone.
func TestFieldsCommandAppliesTheDifference(t *testing.T) {
	const token = "tok-E2E-FIELDS-SECRET"
	const vin = "5YJ3E7EB9NF123456"
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
