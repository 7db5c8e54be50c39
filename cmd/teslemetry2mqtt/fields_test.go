package main

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const (
	fieldsToken = "tok-FIELDS-SECRET"
	carA        = "5YJ3E7EB9NF123456"
	carB        = "7SAYGDEE1PA654321"
)

// fieldsServer is a fake Teslemetry with the field-config API and a product
// list of carA and carB.
func fieldsServer(t *testing.T) (*testkit.FieldConfigAPI, string) {
	t.Helper()
	api := testkit.NewFieldConfigAPI(fieldsToken)
	mux := http.NewServeMux()
	mux.Handle("/api/config/", api)
	mux.HandleFunc("/api/1/products", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fieldsToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"response":null,"error":"invalid_token"}`)
			return
		}
		_, _ = io.WriteString(w, `{"response":[{"vin":"`+carA+`"},{"energy_site_id":1},{"vin":"`+carB+`"}],"count":3}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return api, srv.URL
}

func fieldsConfig(t *testing.T, url, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	body := "teslemetry:\n  token: " + fieldsToken + "\n  url: " + url + "\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const wantedFields = "  fields:\n    BatteryLevel: 60\n    Location: {interval_seconds: 10, minimum_delta: 0.0001}\n    Odometer: null\n    InsideTemp: {minimum_delta: 0.5}\n"

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", p, got, want)
	}
}

func TestFieldsShowsTheComparison(t *testing.T) {
	api, url := fieldsServer(t)
	api.SetConfig(carA, map[string]string{
		"BatteryLevel": `{"interval_seconds":300}`,
		"Odometer":     `{"interval_seconds":3600}`,
		"InsideTemp":   `{"interval_seconds":120,"minimum_delta":0.5}`,
		"VehicleSpeed": `{"interval_seconds":1}`,
	})
	api.SetPending(carA, true)
	api.SetConfig(carB, map[string]string{
		"BatteryLevel": `{"interval_seconds":60}`,
		"Location":     `{"interval_seconds":10,"minimum_delta":0.0001}`,
		"Odometer":     `{}`,
		"InsideTemp":   `{"minimum_delta":0.5}`,
	})
	cfg := fieldsConfig(t, url, wantedFields) // no vins: the account's cars
	code, out, errOut := run(t, "fields", "--config", cfg)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "fields_show", out)
	if p := api.Patches(); len(p) != 0 {
		t.Fatalf("without --apply nothing is sent, got %q", p)
	}
	if strings.Contains(out, fieldsToken) {
		t.Fatal("the token is printed")
	}
}

func TestFieldsApplySendsTheDifference(t *testing.T) {
	api, url := fieldsServer(t)
	api.SetConfig(carA, map[string]string{
		"BatteryLevel": `{"interval_seconds":300}`,
		"InsideTemp":   `{"interval_seconds":120,"minimum_delta":1}`,
		"VehicleSpeed": `{"interval_seconds":1}`,
	})
	api.Ignore("Location")
	cfg := fieldsConfig(t, url, wantedFields+"  vins: ["+carA+"]\n")
	code, out, errOut := run(t, "fields", "--config", cfg, "--apply")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	golden(t, "fields_apply", out)
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"InsideTemp":{"interval_seconds":120,"minimum_delta":0.5},` +
		`"Location":{"interval_seconds":10,"minimum_delta":0.0001},"Odometer":null}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies %q\nwant [%s]", p, want)
	}
	if got := api.Fields(carA)["VehicleSpeed"]; got != `{"interval_seconds":1}` {
		t.Fatalf("an unlisted field was touched: %s", got)
	}

	// Applying again finds nothing to send (Location stays ignored: it is sent again).
	code, out, _ = run(t, "fields", "--config", cfg, "--vin", strings.ToLower(carA))
	if code != 0 || !strings.Contains(out, "1 to add or change: Location") {
		t.Fatalf("second look: exit %d\n%s", code, out)
	}
}

func TestFieldsErrors(t *testing.T) {
	api, url := fieldsServer(t)
	api.SetConfig(carB, map[string]string{})
	api.Reject("Odometer")
	cfg := fieldsConfig(t, url, wantedFields)

	// carA has no config (404), carB refuses the PATCH (400): exit 1, both reported.
	code, out, errOut := run(t, "fields", "--config", cfg, "--apply")
	if code != 1 || !strings.Contains(errOut, "for 2 of 2 cars") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "fields_errors", out)

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--vin", "nope"}, 2, "--vin: \"nope\" is not a VIN"},
		{[]string{"--bogus"}, 2, "bogus"},
	}
	for _, tc := range cases {
		code, out, errOut := run(t, append([]string{"fields", "--config", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d; output %q%q should contain %q", tc.args, code, tc.code, out, errOut, tc.want)
		}
	}

	// A bad field name is a bad config: exit 2, naming the field and the closest one.
	bad := fieldsConfig(t, url, "  fields: {BatteryLevle: 60}\n")
	code, _, errOut = run(t, "fields", "--config", bad)
	if code != 2 || !strings.Contains(errOut, "teslemetry.fields.BatteryLevle (line 4): is not a field the bridge knows; did you mean BatteryLevel?") {
		t.Fatalf("bad name: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "check-config", "--config", bad)
	if code != 2 || !strings.Contains(errOut, "did you mean BatteryLevel?") {
		t.Fatalf("check-config: exit %d, stderr %q", code, errOut)
	}

	// No token: exit 2 with a clear message.
	noToken := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(noToken, []byte("webhook: {listen: ':0', authorization: x}\n"), 0o600)
	code, _, errOut = run(t, "fields", "--config", noToken)
	if code != 2 || !strings.Contains(errOut, "fields needs teslemetry.token") {
		t.Fatalf("no token: exit %d, stderr %q", code, errOut)
	}

	// The account's cars cannot be listed: exit 1, asking for --vin.
	wrong := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(wrong, []byte("teslemetry: {token: other, url: '"+url+"'}\n"), 0o600)
	code, _, errOut = run(t, "fields", "--config", wrong)
	if code != 1 || !strings.Contains(errOut, "finding the account's cars: Teslemetry answered 401 invalid_token (name one with --vin)") {
		t.Fatalf("products: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut+out, fieldsToken) {
		t.Fatal("the token is printed")
	}
}

func TestFieldsWithoutWantedFieldsSendsNothing(t *testing.T) {
	api, url := fieldsServer(t)
	api.SetConfig(carA, map[string]string{"Soc": `{"interval_seconds":5}`})
	cfg := fieldsConfig(t, url, "")
	code, out, errOut := run(t, "fields", "--config", cfg, "--vin", carA, "--apply")
	if code != 0 || errOut != "" || !strings.Contains(out, "teslemetry.fields lists no fields: nothing to send") ||
		!strings.Contains(strings.Join(strings.Fields(out), " "), "Soc every 5 s (not listed) leave") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	if len(api.Patches()) != 0 || len(api.Requests()) != 1 {
		t.Fatalf("requests %+v", api.Requests())
	}
}
