package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

type collect struct{ events [][]byte }

func (c *collect) OnEvent(d []byte)    { c.events = append(c.events, bytes.Clone(d)) }
func (c *collect) OnStatus(sse.Status) {}

// The bundled recording stays valid: every event decodes, every field is in
// the catalog, and it covers what the demo promises.
func TestBundledRecordingIsValid(t *testing.T) {
	var c collect
	if err := sse.Replay(context.Background(), bytes.NewReader(Recording), 0, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.events) < 50 {
		t.Fatalf("only %d events", len(c.events))
	}
	seen := map[string]bool{}
	vins := map[string]bool{}
	fm := teslemetry.Formatter{Units: catalog.UnitsNative}
	for i, data := range c.events {
		ev, problems, err := teslemetry.Parse(data)
		if err != nil || len(problems) > 0 {
			t.Fatalf("event %d: %v %v", i, err, problems)
		}
		if ev.VIN != "" {
			vins[ev.VIN] = true
		}
		for _, d := range ev.Data {
			f, ok := catalog.Lookup(d.Field)
			if !ok {
				t.Errorf("event %d: field %s not in the catalog", i, d.Field)
				continue
			}
			if _, err := fm.Format(nil, f, d.Value); err != nil {
				t.Errorf("event %d: %s=%s: %v", i, d.Field, d.Value, err)
			}
			seen["field:"+d.Field] = true
		}
		seen["state"] = seen["state"] || ev.State == "asleep"
		seen["connectivity"] = seen["connectivity"] || ev.Connectivity != nil && ev.Connectivity.Status == "disconnected"
		seen["alert"] = seen["alert"] || len(ev.Alerts) > 0
		seen["credits"] = seen["credits"] || ev.Credits != nil
	}
	if len(vins) != 2 {
		t.Errorf("recording has %d cars, want 2", len(vins))
	}
	for _, want := range []string{"state", "connectivity", "alert", "credits", "field:VehicleSpeed", "field:Location",
		"field:DetailedChargeState", "field:ACChargingPower", "field:DoorState", "field:RdWindow", "field:Locked"} {
		if !seen[want] {
			t.Errorf("recording lacks %s", want)
		}
	}
}

// The demo plays through once and exits, leaving discovery configs and values
// of both cars on the broker.
func TestDemoOncePublishesBothCars(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "#")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := Run(ctx, Options{MQTTURL: b.URL(), Speed: 50, Once: true, Out: &out, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo --once at 50x took %v", time.Since(start))
	sub.WaitUntil("both cars with discovery", 5*time.Second, func(l map[string]string) bool {
		for _, vin := range []string{"5YJ3E7EB9NF123456", "7SAYGDEE1PA098765"} {
			if l["teslemetry/"+vin+"/v/BatteryLevel"] == "" || l["teslemetry/"+vin+"/v/Location"] == "" ||
				!strings.Contains(l["homeassistant/sensor/teslemetry_"+vin+"/BatteryLevel/config"], `"unique_id"`) {
				return false
			}
		}
		return l["teslemetry/7SAYGDEE1PA098765/v/DetailedChargeState"] == "Disconnected" &&
			l["teslemetry/5YJ3E7EB9NF123456/state"] == "asleep" && l["teslemetry/bridge/state"] == "offline"
	})
	// The energy site ends its day: night again, the day's totals in, and
	// its Energy-dashboard sensors announced under the site's name.
	site := "teslemetry/site/2252180000054321/"
	l := sub.Latest()
	if l[site+"live_status/solar_power"] != "0" || l[site+"energy_totals/total_solar_generation"] == "" ||
		l[site+"site_info/site_name"] != "Home" || l[site+"availability"] != "offline" ||
		!strings.Contains(l["homeassistant/sensor/teslemetry_site_2252180000054321/total_solar_generation/config"], `"default_entity_id":"sensor.home_total_solar_generation"`) {
		t.Errorf("demo site: solar %q, totals %q, name %q, availability %q", l[site+"live_status/solar_power"],
			l[site+"energy_totals/total_solar_generation"], l[site+"site_info/site_name"], l[site+"availability"])
	}
}

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With HTTP set the demo serves the status page, and /api/status has both cars.
func TestDemoServesTheStatusPage(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{MQTTURL: b.URL(), HTTP: "127.0.0.1:0", Speed: 5, Out: &out, Version: "test"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	addr := regexp.MustCompile(`# status page on (http://\S+)/`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			resp, err := http.Get(m[1] + "/api/status")
			if err == nil {
				var s struct {
					Vehicles []struct {
						VIN    string            `json:"vin"`
						Fields []json.RawMessage `json:"fields"`
					} `json:"vehicles"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if len(s.Vehicles) == 2 && len(s.Vehicles[0].Fields) > 3 && len(s.Vehicles[1].Fields) > 3 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status page with both cars within 20 s; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The demo answers commands itself: a lock and a charge limit sent over MQTT
// show in the simulated car's next values, with an ok result.
func TestDemoAnswersCommands(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "teslemetry/#")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{MQTTURL: b.URL(), Speed: 1, Out: io.Discard, Version: "test"}) }()
	defer func() { cancel(); <-done }()
	const vin = "7SAYGDEE1PA098765"
	sub.WaitFor("teslemetry/bridge/state", "online", 10*time.Second)
	sub.WaitUntil("first values", 10*time.Second, func(l map[string]string) bool { return l["teslemetry/"+vin+"/v/Locked"] != "" })
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("demo-cmd"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	// The bridge's subscriptions follow its connect: send again until the
	// simulated car shows the effect (both commands are idempotent).
	deadline := time.Now().Add(10 * time.Second)
	for {
		for topic, payload := range map[string]string{"set/lock": "UNLOCK", "set/charge_limit": "63"} {
			pub.Publish("teslemetry/"+vin+"/"+topic, 1, false, payload).Wait()
		}
		time.Sleep(200 * time.Millisecond)
		l := sub.Latest()
		if l["teslemetry/"+vin+"/v/Locked"] == "false" && l["teslemetry/"+vin+"/v/ChargeLimitSoc"] == "63" &&
			strings.Contains(l["teslemetry/"+vin+"/command_result"], `"ok":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no simulated effect: Locked=%q ChargeLimitSoc=%q result=%q", l["teslemetry/"+vin+"/v/Locked"],
				l["teslemetry/"+vin+"/v/ChargeLimitSoc"], l["teslemetry/"+vin+"/command_result"])
		}
	}
}

// The bundled recording's energy site lives through a plausible day: no sun
// at night, solar rising and falling, the battery charging from the sun and
// discharging in the evening, and daily totals that only grow.
func TestBundledRecordingSiteDay(t *testing.T) {
	var c collect
	if err := sse.Replay(context.Background(), bytes.NewReader(Recording), 0, &c); err != nil {
		t.Fatal(err)
	}
	var solar, battery []float64
	last := map[string]float64{}
	info, tariff := false, false
	for i, data := range c.events {
		ev, problems, err := teslemetry.Parse(data)
		if err != nil || len(problems) > 0 {
			t.Fatalf("event %d: %v %v", i, err, problems)
		}
		s := ev.Site
		if s == nil {
			continue
		}
		if s.ID != "2252180000054321" {
			t.Fatalf("event %d: site %q", i, s.ID)
		}
		info = info || s.Info != nil
		tariff = tariff || s.Tariff != nil
		num := func(d *teslemetry.SiteDoc, key string) float64 {
			p := d.Value(key)
			v, err := strconv.ParseFloat(string(p), 64)
			if err != nil {
				t.Fatalf("event %d: %s = %q", i, key, p)
			}
			return v
		}
		if s.LiveStatus != nil {
			solar = append(solar, num(s.LiveStatus, "solar_power"))
			battery = append(battery, num(s.LiveStatus, "battery_power"))
			if len(s.LiveStatus.WallConnectors) != 1 {
				t.Errorf("event %d: %d wall connectors", i, len(s.LiveStatus.WallConnectors))
			}
		}
		if s.Totals != nil {
			for _, k := range []string{"total_solar_generation", "total_home_usage", "grid_energy_imported", "total_grid_energy_exported",
				"total_battery_charge", "total_battery_discharge"} {
				v := num(s.Totals, k)
				if v < last[k] {
					t.Errorf("event %d: %s fell from %v to %v", i, k, last[k], v)
				}
				last[k] = v
			}
		}
	}
	n := len(solar)
	if n < 50 || !info || !tariff {
		t.Fatalf("%d live_status events, site_info %v, tariff %v", n, info, tariff)
	}
	if solar[0] != 0 || solar[n-1] != 0 || slices.Max(solar) < 5000 {
		t.Errorf("solar over the day: %v", solar)
	}
	if slices.Min(battery[:n/2+n/4]) >= 0 || slices.Max(battery[n*3/4:]) <= 0 {
		t.Errorf("battery neither charges by day nor discharges in the evening: %v", battery)
	}
	for _, k := range []string{"total_solar_generation", "total_home_usage", "total_battery_charge", "total_battery_discharge"} {
		if last[k] <= 0 {
			t.Errorf("%s stays %v", k, last[k])
		}
	}
}
