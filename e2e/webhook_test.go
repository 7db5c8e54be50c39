package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// The same values, posted as webhooks in each of Teslemetry's three formats,
// land on the same retained topics with the same payloads as through the SSE
// stream. With webhooks only, a car is online while the receiver runs.
func TestWebhookFormatsMatchTheStream(t *testing.T) {
	const (
		sseData   = `{"VehicleSpeed":"34.797","Gear":"ShiftStateD","Locked":true,"Location":{"latitude":30.22,"longitude":-97.62},"ScheduledChargingStartTime":1789412400,"MinutesToArrival":null}`
		typedData = `[{"key":"VehicleSpeed","value":{"stringValue":"34.797"}},{"key":"Gear","value":{"shiftStateValue":"ShiftStateD"}},` +
			`{"key":"Locked","value":{"booleanValue":true}},{"key":"Location","value":{"locationValue":{"latitude":30.22,"longitude":-97.62}}},` +
			`{"key":"ScheduledChargingStartTime","value":{"longValue":"1789412400"}},{"key":"MinutesToArrival","value":{"invalid":true}}]`
		vinSSE, vinTyped, vinFlat, vinEvent = "5YJ3E7EB9NF000001", "5YJ3E7EB9NF000002", "5YJ3E7EB9NF000003", "5YJ3E7EB9NF000004"
		auth                                = "Bearer hook-SECRET-42"
	)
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(`{"createdAt":"2024-02-24T04:58:44.983Z","vin":"` + vinSSE + `","data":` + sseData + `}`)
	port := freePort(t)
	cfg := bridgeConfig(tesla.URL(), mq.URL(), fmt.Sprintf("webhook: {listen: '127.0.0.1:%d', authorization: '%s'}\n", port, auth))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", writeFile(t, "c.yaml", cfg))
	sub := testkit.Subscribe(t, mq.URL(), "#")
	sub.WaitFor("teslemetry/"+vinSSE+"/v/Gear", "D", 10*time.Second)

	url := fmt.Sprintf("http://127.0.0.1:%d/webhook", port)
	post := func(body, authz string) int {
		t.Helper()
		var resp *http.Response
		var err error
		for i := 0; i < 50; i++ { // the receiver may still be starting
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"data":`+sseData+`,"vin":"`+vinFlat+`"}`, ""); code != http.StatusUnauthorized {
		t.Errorf("no Authorization: %d, want 401", code)
	}
	for vin, body := range map[string]string{
		vinTyped: `{"data":` + typedData + `,"createdAt":"2024-02-24T04:58:44.983607402Z","vin":"` + vinTyped + `"}`,
		vinFlat:  `{"data":` + sseData + `,"createdAt":"2024-02-24T04:58:44.983Z","vin":"` + vinFlat + `"}`,
		vinEvent: `{"time":1708750724.983,"host":"us-west.teslemetry.com","source":"` + vinEvent + `","event":` + sseData + `}`,
	} {
		if code := post(body, auth); code != http.StatusNoContent {
			t.Errorf("%s: %d, want 204", vin, code)
		}
	}
	if code := post(`{"hello":1}`, auth); code != http.StatusUnprocessableEntity {
		t.Errorf("unknown format: %d, want 422", code)
	}
	if code := post(`{bad`, auth); code != http.StatusBadRequest {
		t.Errorf("malformed: %d, want 400", code)
	}

	fields := []string{"VehicleSpeed", "Gear", "Locked", "Location", "ScheduledChargingStartTime", "MinutesToArrival"}
	sub.WaitUntil("webhook values", 10*time.Second, func(l map[string]string) bool {
		for _, vin := range []string{vinTyped, vinFlat, vinEvent} {
			for _, f := range fields {
				if l["teslemetry/"+vin+"/v/"+f] == "" {
					return false
				}
			}
		}
		return true
	})
	latest := sub.Latest()
	for _, vin := range []string{vinTyped, vinFlat, vinEvent} {
		for _, f := range fields {
			want := latest["teslemetry/"+vinSSE+"/v/"+f]
			if got := latest["teslemetry/"+vin+"/v/"+f]; got != want {
				t.Errorf("%s %s: webhook %q, stream %q", vin, f, got, want)
			}
		}
		if latest["teslemetry/"+vin+"/availability"] != "online" {
			t.Errorf("%s availability = %q", vin, latest["teslemetry/"+vin+"/availability"])
		}
		if latest["homeassistant/sensor/teslemetry_"+vin+"/VehicleSpeed/config"] == "" {
			t.Errorf("%s: no discovery config", vin)
		}
	}
	if !strings.Contains(latest["teslemetry/"+vinEvent+"/last_seen"], "2024-02-24T04:58:44Z") {
		t.Errorf("event format time: last_seen %q", latest["teslemetry/"+vinEvent+"/last_seen"])
	}
	if strings.Contains(br.Output(), "hook-SECRET") {
		t.Error("webhook authorization printed in the log")
	}
}
