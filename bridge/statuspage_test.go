package bridge_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	mqttPassword = "mqtt-Pass-9876543"
	hookAuth     = "Bearer webhook-auth-24680"
)

// statusPageBridge runs the bridge with every kind of secret configured and
// serves its HTTP endpoint.
func statusPageBridge(t *testing.T) (*harness, *httptest.Server) {
	t.Helper()
	h := startBridge(t, "  username: bridge\n  password: "+mqttPassword+"\n"+
		"webhook: {listen: \"127.0.0.1:0\", authorization: \""+hookAuth+"\"}\n"+
		"vehicles: {"+vin1+": {name: \"Daily driver\"}}\n")
	srv := httptest.NewServer(bridge.HTTPHandler(h.bridge, h.stats))
	t.Cleanup(srv.Close)
	return h, srv
}

type pageSnapshot struct {
	Bridge struct {
		Version string `json:"version"`
		MQTT    struct {
			URL       string `json:"url"`
			Connected bool   `json:"connected"`
		} `json:"mqtt"`
		Streams []struct {
			Path      string `json:"path"`
			Connected bool   `json:"connected"`
		} `json:"streams"`
		Webhook bool           `json:"webhook"`
		Credits map[string]any `json:"credits"`
	} `json:"bridge"`
	Vehicles []struct {
		VIN          string   `json:"vin"`
		Name         string   `json:"name"`
		Availability string   `json:"availability"`
		State        string   `json:"state"`
		LastSeen     *string  `json:"last_seen"`
		ActiveAlerts []string `json:"active_alerts"`
		Fields       []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
			Unit  string          `json:"unit"`
		} `json:"fields"`
	} `json:"vehicles"`
}

func (p pageSnapshot) field(vin, name string) string {
	for _, v := range p.Vehicles {
		if v.VIN == vin {
			for _, f := range v.Fields {
				if f.Name == name {
					return string(f.Value) + " " + f.Unit
				}
			}
		}
	}
	return ""
}

func TestStatusPageShowsTheBridge(t *testing.T) {
	h, srv := statusPageBridge(t)
	h.snapshot(
		`{"vin":"`+vin1+`","createdAt":"2026-12-04T06:00:00Z","data":{"BatteryLevel":70,"Gear":"ShiftStateP","VehicleName":"Car `+token+`"}}`,
		`{"vin":"`+vin1+`","state":"online"}`,
		`{"vin":"`+vin1+`","alerts":[{"name":"ChargePortFault","audiences":["Customer"],"startedAt":"2026-12-04T05:59:00Z"}]}`,
		`{"credits":{"balance":4321}}`,
	)
	h.sub.WaitFor("teslemetry/"+vin1+"/state", "online", 5*time.Second)
	h.sub.WaitFor("teslemetry/"+vin1+"/active_alerts", `["ChargePortFault"]`, 5*time.Second)

	code, body := get(t, srv.URL+"/api/status")
	var p pageSnapshot
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil {
		t.Fatalf("/api/status = %d %v: %s", code, err, body)
	}
	if p.Bridge.Version != "test" || !p.Bridge.MQTT.Connected || !strings.HasPrefix(p.Bridge.MQTT.URL, "tcp://127.0.0.1:") || !p.Bridge.Webhook {
		t.Errorf("bridge = %+v", p.Bridge)
	}
	if len(p.Bridge.Streams) != 1 || p.Bridge.Streams[0].Path != "/sse" || !p.Bridge.Streams[0].Connected {
		t.Errorf("streams = %+v", p.Bridge.Streams)
	}
	if p.Bridge.Credits["balance"] != 4321.0 {
		t.Errorf("credits = %v", p.Bridge.Credits)
	}
	if len(p.Vehicles) != 1 {
		t.Fatalf("vehicles = %+v", p.Vehicles)
	}
	v := p.Vehicles[0]
	if v.VIN != vin1 || v.Name != "Daily driver" || v.Availability != "online" || v.State != "online" ||
		v.LastSeen == nil || *v.LastSeen < "2026-12-04T06:00:00Z" || len(v.ActiveAlerts) != 1 || v.ActiveAlerts[0] != "ChargePortFault" {
		t.Errorf("vehicle = %+v", v)
	}
	if got := p.field(vin1, "BatteryLevel"); got != "70 %" {
		t.Errorf("BatteryLevel = %q", got)
	}
	if got := p.field(vin1, "Gear"); got != `"P" ` {
		t.Errorf("Gear = %q", got)
	}

	// No secret anywhere: the streamed name carried the token on purpose.
	pages := map[string]string{"/api/status": body}
	for _, path := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		_, pages[path] = get(t, srv.URL+path)
	}
	events, stop := openEvents(t, srv.URL)
	defer stop()
	pages["/api/events"] = nextStatus(t, events)
	for path, text := range pages {
		for _, secret := range []string{token, mqttPassword, hookAuth, "webhook-auth", "Pass-98"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the secret %q", path, secret)
			}
		}
	}
	if !strings.Contains(body, "Car <redacted>") {
		t.Errorf("the token in a streamed value is not redacted: %s", p.field(vin1, "VehicleName"))
	}

	// Live: new data reaches an open page within 2 s.
	start := time.Now()
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":71}}`)
	for {
		var q pageSnapshot
		if err := json.Unmarshal([]byte(nextStatus(t, events)), &q); err != nil {
			t.Fatal(err)
		}
		if q.field(vin1, "BatteryLevel") == "71 %" {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("the page still shows %q after 2 s", q.field(vin1, "BatteryLevel"))
		}
	}
	t.Logf("new value on the event stream after %v", time.Since(start))
}

// A page client that stops reading holds up nothing: the stream's values
// keep flowing to MQTT at full speed.
func TestStuckPageDoesNotHoldUpPublishing(t *testing.T) {
	h, srv := statusPageBridge(t)
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":1}}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "1", 5*time.Second)

	burst := func(from int) time.Duration {
		start := time.Now()
		const n = 300
		for i := from; i < from+n; i++ {
			h.tesla.Send(fmt.Sprintf(`{"vin":"%s","data":{"BatteryLevel":%d,"Custom000":"%d"}}`, vin1, i, i))
		}
		h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", fmt.Sprint(from+n-1), 15*time.Second)
		return time.Since(start)
	}
	baseline := burst(100)

	// Two stuck pages: they asked for the event stream and never read.
	for range 2 {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.(*net.TCPConn).SetReadBuffer(1024)
		fmt.Fprintf(conn, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	// A big snapshot (many fields with long values) fills their sockets fast.
	var data []string
	for i := range 300 {
		data = append(data, fmt.Sprintf(`"Custom%03d":"%s"`, i, strings.Repeat("v", 200)))
	}
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{` + strings.Join(data, ",") + `}}`)
	// Let the stuck clients' sockets fill up, then time a burst of events.
	time.Sleep(time.Second)
	stuck := burst(1000)
	t.Logf("300 events reached MQTT in %v with two stuck page clients, %v without", stuck, baseline)
	if stuck > 3*baseline+3*time.Second {
		t.Errorf("300 events took %v with stuck page clients", stuck)
	}
	// The page still answers others.
	if code, _ := get(t, srv.URL+"/api/status"); code != 200 {
		t.Errorf("/api/status = %d", code)
	}
}

func openEvents(t *testing.T, base string) (*bufio.Reader, func()) {
	t.Helper()
	resp, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/api/events = %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	return bufio.NewReader(resp.Body), func() { resp.Body.Close() }
}

// nextStatus returns the data of the next "status" event.
func nextStatus(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	event := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: ") && event == "status":
			return line[6:]
		}
	}
}

// The field-configuration outcome reaches the page as fields_status.
func TestStatusPageShowsFieldsStatus(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin1, map[string]string{"BatteryLevel": `{"interval_seconds":300}`})
	h := startFieldsBridge(t, api, "  fields:\n    BatteryLevel: 60\n")
	srv := httptest.NewServer(bridge.HTTPHandler(h.bridge, nil))
	t.Cleanup(srv.Close)
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":50}}`)
	h.sub.WaitUntil("fields_status", 10*time.Second, func(l map[string]string) bool { return l["teslemetry/"+vin1+"/fields_status"] != "" })
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := get(t, srv.URL+"/api/status")
		var p struct {
			Vehicles []struct {
				FieldsStatus *fieldsStatus `json:"fields_status"`
			} `json:"vehicles"`
		}
		_ = json.Unmarshal([]byte(body), &p)
		if len(p.Vehicles) == 1 && p.Vehicles[0].FieldsStatus != nil {
			if fs := p.Vehicles[0].FieldsStatus; !fs.OK || strings.Join(fs.Changed, ",") != "BatteryLevel" {
				t.Errorf("fields_status on the page = %+v", fs)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fields_status on the page: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
