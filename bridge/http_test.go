package bridge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHealthzAndMetrics(t *testing.T) {
	h := startBridge(t, "")
	srv := httptest.NewServer(bridge.HTTPHandler(h.bridge, h.stats))
	defer srv.Close()

	h.snapshot(`{"vin":"`+vin1+`","data":{"BatteryLevel":70,"Gear":"ShiftStateP"}}`, `{"vin":"`+vin1+`","data":{"Odometer":{"bad":1}}}`, `nonsense`)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 5*time.Second)
	waitStatus := func(want int) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := get(t, srv.URL+"/healthz")
			if code == want || time.Now().After(deadline) {
				if code != want {
					t.Fatalf("/healthz = %d %s, want %d", code, body, want)
				}
				return body
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitStatus(http.StatusOK)

	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`teslemetry2mqtt_values_total 2`,
		`teslemetry2mqtt_events_total{kind="data"} 2`,
		`teslemetry2mqtt_dropped_total{reason="wrong_type"} 1`,
		`teslemetry2mqtt_dropped_total{reason="bad_json"} 1`,
		`teslemetry2mqtt_stream_up{stream="/sse"} 1`,
		`teslemetry2mqtt_mqtt_connected 1`,
		`teslemetry2mqtt_last_event_timestamp_seconds{vin="` + vin1 + `"}`,
		`teslemetry2mqtt_publishes_total`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	h.tesla.SetStatus(503)
	h.tesla.DropAll()
	body := waitStatus(http.StatusServiceUnavailable)
	var reason map[string]any
	if err := json.Unmarshal([]byte(body), &reason); err != nil || reason["healthy"] != false || !strings.Contains(reason["reason"].(string), "/sse") {
		t.Errorf("503 body = %s", body)
	}
	_, metrics = get(t, srv.URL+"/metrics")
	if !strings.Contains(metrics, `teslemetry2mqtt_stream_up{stream="/sse"} 0`) || !strings.Contains(metrics, `teslemetry2mqtt_stream_reconnects_total{stream="/sse"}`) {
		t.Errorf("stream metrics after the drop:\n%s", grepLines(metrics, "stream"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
