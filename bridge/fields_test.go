package bridge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// startFieldsBridge runs the bridge against an embedded broker and one fake
// Teslemetry origin serving both the SSE stream and the field-config API.
// teslemetryExtra goes inside the teslemetry: section.
func startFieldsBridge(t *testing.T, api *testkit.FieldConfigAPI, teslemetryExtra string) *harness {
	t.Helper()
	return startHarness(t, harnessSpec{teslemetry: teslemetryExtra, origin: func(tesla *testkit.FakeTeslemetry) string {
		mux := http.NewServeMux()
		mux.Handle("/api/config/", api)
		mux.Handle("/", tesla.Server.Config.Handler)
		origin := httptest.NewServer(mux)
		t.Cleanup(origin.Close)
		return origin.URL
	}})
}

type fieldsStatus struct {
	At      string   `json:"at"`
	OK      bool     `json:"ok"`
	Changed []string `json:"changed"`
	Ignored []string `json:"ignored"`
	Pending bool     `json:"pending"`
	Error   *string  `json:"error"`
}

func statusOf(t *testing.T, payload string) fieldsStatus {
	t.Helper()
	var s fieldsStatus
	if err := json.Unmarshal([]byte(payload), &s); err != nil {
		t.Fatalf("fields_status %q: %v", payload, err)
	}
	if _, err := time.Parse(time.RFC3339, s.At); err != nil {
		t.Errorf("at %q: %v", s.At, err)
	}
	return s
}

// Account-wide stream: each car is configured when it is first seen, once,
// and the outcome is published retained with a Home Assistant sensor.
func TestFieldsAppliedOncePerCarWhenFirstSeen(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin1, map[string]string{"BatteryLevel": `{"interval_seconds":300}`, "VehicleSpeed": `{"interval_seconds":1}`})
	api.Ignore("Location")
	h := startFieldsBridge(t, api, "  fields:\n    BatteryLevel: 60\n    Location: {interval_seconds: 10, minimum_delta: 0.0001}\n    Odometer: null\n")
	h.snapshot(`{"vin":"`+vin1+`","data":{"BatteryLevel":50}}`, `{"vin":"`+vin2+`","data":{"BatteryLevel":70}}`)

	st1 := "teslemetry/" + vin1 + "/fields_status"
	st2 := "teslemetry/" + vin2 + "/fields_status"
	h.sub.WaitUntil("both fields_status", 10*time.Second, func(l map[string]string) bool { return l[st1] != "" && l[st2] != "" })
	s1 := statusOf(t, h.sub.Latest()[st1])
	if !s1.OK || strings.Join(s1.Changed, ",") != "BatteryLevel,Odometer" || strings.Join(s1.Ignored, ",") != "Location" || !s1.Pending || s1.Error != nil {
		t.Errorf("%s = %+v", vin1, s1)
	}
	s2 := statusOf(t, h.sub.Latest()[st2])
	if s2.OK || len(s2.Changed) != 0 || s2.Error == nil || !strings.Contains(*s2.Error, "no streaming config for this car yet") {
		t.Errorf("%s = %+v", vin2, s2)
	}
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"Location":{"interval_seconds":10,"minimum_delta":0.0001},"Odometer":null}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies %q\nwant [%s]", p, want)
	}
	if got := api.Fields(vin1)["VehicleSpeed"]; got != `{"interval_seconds":1}` {
		t.Errorf("unlisted field touched: %s", got)
	}

	// The Home Assistant sensor, on the car's device.
	cfgTopic := "homeassistant/sensor/teslemetry_" + vin1 + "/streaming_config/config"
	h.sub.WaitUntil("Streaming config sensor", 5*time.Second, func(l map[string]string) bool { return l[cfgTopic] != "" })
	var disc map[string]any
	_ = json.Unmarshal([]byte(h.sub.Latest()[cfgTopic]), &disc)
	if disc["name"] != "Streaming config" || disc["state_topic"] != st1 || disc["entity_category"] != "diagnostic" {
		t.Errorf("discovery config %v", disc)
	}

	// More events of the same cars: no second GET.
	before := len(api.Requests())
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":51}}`)
	h.tesla.Send(`{"vin":"` + vin2 + `","data":{"BatteryLevel":71}}`)
	h.sub.WaitFor("teslemetry/"+vin2+"/v/BatteryLevel", "71", 5*time.Second)
	select {
	case <-api.Changed():
		t.Fatalf("another request to the config API: %+v", api.Requests()[before:])
	case <-time.After(300 * time.Millisecond):
	}
	if n := len(api.Requests()); n != 3 { // GET vin1, PATCH vin1, GET vin2
		t.Fatalf("%d requests, want 3: %+v", n, api.Requests())
	}
	for _, r := range api.Requests() {
		if r.Auth != "Bearer "+token {
			t.Errorf("request without the token: %+v", r)
		}
	}
	for topic, payload := range h.sub.Latest() {
		if strings.Contains(payload, token) {
			t.Errorf("token leaked on %s", topic)
		}
	}
}

// With teslemetry.vins, the listed cars are configured at start, before any
// event arrives; an already matching config is left alone (GET only).
func TestFieldsAppliedAtStartForConfiguredVINs(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin1, map[string]string{"Odometer": `{"interval_seconds":3600}`})
	h := startFieldsBridge(t, api, "  vins: ["+vin1+"]\n  fields:\n    Odometer: null\n")
	st := "teslemetry/" + vin1 + "/fields_status"
	h.sub.WaitUntil("fields_status", 10*time.Second, func(l map[string]string) bool { return l[st] != "" })
	s := statusOf(t, h.sub.Latest()[st])
	if !s.OK || len(s.Changed) != 0 || len(s.Ignored) != 0 || s.Pending || s.Error != nil {
		t.Errorf("status %+v", s)
	}
	if reqs := api.Requests(); len(reqs) != 1 || reqs[0].Method != "GET" {
		t.Errorf("requests %+v, want one GET", reqs)
	}
}

// Without teslemetry.fields the bridge never calls the config API and
// publishes no fields_status.
func TestNoFieldsNoConfigAPI(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin1, map[string]string{})
	h := startFieldsBridge(t, api, "")
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":50}}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "50", 5*time.Second)
	select {
	case <-api.Changed():
		t.Fatalf("config API called: %+v", api.Requests())
	case <-time.After(300 * time.Millisecond):
	}
	for topic := range h.sub.Latest() {
		if strings.HasSuffix(topic, "/fields_status") || strings.Contains(topic, "streaming_config") {
			t.Errorf("published %s", topic)
		}
	}
}
