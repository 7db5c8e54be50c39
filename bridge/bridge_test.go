package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	vin1  = "5YJ3E7EB9NF123456"
	vin2  = "7SAYGDEE1PA098765"
	token = "test-token-0123456789"
)

type harness struct {
	t      *testing.T
	broker *broker.Broker
	tesla  *testkit.FakeTeslemetry
	sub    *testkit.Subscriber
	cancel context.CancelFunc
	done   chan error
	cfg    *config.Config
	bridge *bridge.Bridge
	stats  *bridge.Metrics
}

// startBridge runs the bridge in-process against an embedded broker and a fake Teslemetry.
func startBridge(t *testing.T, yamlExtra string) *harness {
	t.Helper()
	return startBridgeSeeded(t, yamlExtra, nil)
}

// startBridgeSeeded is startBridge with seed run against the broker before
// the bridge starts (e.g. retained topics a previous run left); seed may be nil.
func startBridgeSeeded(t *testing.T, yamlExtra string, seed func(brokerURL string)) *harness {
	t.Helper()
	return startHarness(t, harnessSpec{yaml: yamlExtra, seed: seed})
}

// harnessSpec is what the bridge tests' set-ups differ in; the zero value is
// startBridge's.
type harnessSpec struct {
	yaml       string                                     // extra top-level YAML
	teslemetry string                                     // extra lines inside teslemetry:
	seed       func(brokerURL string)                     // run against the broker before the bridge starts
	origin     func(tesla *testkit.FakeTeslemetry) string // teslemetry.url; the fake stream's when nil
	options    func(o *bridge.Options)                    // last changes to the bridge's options
}

// startHarness runs a bridge in-process against an embedded broker and a
// fake Teslemetry, as spec says, and stops it when the test ends.
func startHarness(t *testing.T, spec harnessSpec) *harness {
	t.Helper()
	br, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	if spec.seed != nil {
		spec.seed(br.URL())
	}
	tesla := testkit.NewFakeTeslemetry(t, token)
	url := tesla.URL()
	if spec.origin != nil {
		url = spec.origin(tesla)
	}
	yml := "teslemetry:\n  token: " + token + "\n  url: " + url + "\n  offline_after: 300ms\n  idle_timeout: 2s\n" +
		spec.teslemetry + "mqtt:\n  url: " + br.URL() + "\n" + spec.yaml
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, broker: br, tesla: tesla, cfg: cfg, done: make(chan error, 1)}
	h.sub = testkit.Subscribe(t, br.URL(), "#")
	log := logrus.New()
	log.SetOutput(io.Discard)
	if testing.Verbose() {
		log.SetOutput(os.Stderr)
		log.SetLevel(logrus.DebugLevel)
	}
	h.stats = bridge.NewMetrics()
	opts := bridge.Options{Config: cfg, Version: "test", Logger: log, Metrics: h.stats}
	if spec.options != nil {
		spec.options(&opts)
	}
	b, err := bridge.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.bridge = b
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- b.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// snapshot sets the events every new stream starts with and also sends them to
// a stream the bridge may already have opened (it connects as soon as it runs).
func (h *harness) snapshot(events ...string) {
	h.tesla.SetSnapshot(events...)
	if h.tesla.Connections() > 0 {
		for _, e := range events {
			h.tesla.Send(e)
		}
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		h.t.Error("bridge did not stop within 5 s")
	}
}

func TestSampleStreamBecomesRetainedTopics(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(testkit.SampleEvents(t)...)
	s := h.sub
	wait := 5 * time.Second
	s.WaitFor("teslemetry/bridge/state", "online", wait)
	want := map[string]string{
		"teslemetry/" + vin1 + "/availability":                 "online",
		"teslemetry/" + vin2 + "/availability":                 "online",
		"teslemetry/" + vin1 + "/v/BatteryLevel":               "71.4",
		"teslemetry/" + vin2 + "/v/BatteryLevel":               "88.9",
		"teslemetry/" + vin2 + "/v/Odometer":                   "9521.442",
		"teslemetry/" + vin1 + "/v/Odometer":                   "18349.1",
		"teslemetry/" + vin1 + "/v/Gear":                       "P",
		"teslemetry/" + vin1 + "/v/VehicleSpeed":               "0",
		"teslemetry/" + vin1 + "/v/Location":                   `{"latitude":-27.451198,"longitude":153.041902}`,
		"teslemetry/" + vin1 + "/v/MinutesToArrival":           "null",
		"teslemetry/" + vin1 + "/v/DestinationName":            "Work",
		"teslemetry/" + vin1 + "/v/Locked":                     "true",
		"teslemetry/" + vin2 + "/v/ChargePortDoorOpen":         "true",
		"teslemetry/" + vin2 + "/v/DetailedChargeState":        "Charging",
		"teslemetry/" + vin2 + "/v/TpmsPressureFl":             "2.951",
		"teslemetry/" + vin2 + "/v/DoorState":                  `{"DriverFront":true,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":false}`,
		"teslemetry/" + vin2 + "/v/RdWindow":                   "PartiallyOpen",
		"teslemetry/" + vin2 + "/v/ScheduledChargingStartTime": "2026-09-14T19:00:00Z",
		"teslemetry/" + vin1 + "/v/VehicleName":                "Sparky",
		"teslemetry/" + vin1 + "/v/Version":                    "2026.26.6 3c0a1d2b9e7f",
		"teslemetry/" + vin1 + "/state":                        "online",
		"teslemetry/" + vin2 + "/state":                        "online",
		"teslemetry/" + vin1 + "/connectivity/wifi":            "connected",
		"teslemetry/" + vin1 + "/connectivity/cellular":        "connected",
		"teslemetry/" + vin2 + "/active_alerts":                `["VCSEC_a180_lowKeyFobBattery"]`,
		"teslemetry/" + vin1 + "/active_alerts":                `[]`,
		"teslemetry/" + vin1 + "/last_seen":                    "2026-09-14T07:31:46Z",
	}
	// Derived charger power: vin1 is Disconnected, vin2 charging with AC 10.9 kW.
	want["teslemetry/"+vin1+"/derived/charger_power"] = "0"
	want["teslemetry/"+vin2+"/derived/charger_power"] = "10.9"
	s.WaitUntil("sample topics", wait, func(latest map[string]string) bool {
		for k, v := range want {
			if latest[k] != v {
				return false
			}
		}
		return true
	})
	latest := s.Latest()
	tpms := latest["teslemetry/"+vin2+"/v/TpmsSoftWarnings"]
	if !strings.HasPrefix(tpms, `{"front_left":false,"front_right":false,"rear_left":true,"rear_right":false`) {
		t.Errorf("TPMS warnings = %s", tpms)
	}
	var alert map[string]any
	if err := json.Unmarshal([]byte(latest["teslemetry/"+vin2+"/alerts/BMS_a079_SW_Cell_Temp_Sensor"]), &alert); err != nil || alert["active"] != false || alert["ended_at"] == nil {
		t.Errorf("ended alert payload = %v (%v)", alert, err)
	}
	var credits map[string]any
	if err := json.Unmarshal([]byte(latest["teslemetry/bridge/credits"]), &credits); err != nil || credits["balance"] != 4600.0 || credits["quota"] == nil {
		t.Errorf("credits = %s", latest["teslemetry/bridge/credits"])
	}
	for topic, payload := range latest {
		if strings.ContainsAny(topic, "+#") || strings.Contains(topic, "//") {
			t.Errorf("bad topic %q", topic)
		}
		if payload == "" {
			t.Errorf("empty payload on %s", topic)
		}
		// The sample's energy site lives under its own topics (sites_test.go).
		if strings.Contains(topic, "2252180000012345") && !strings.HasPrefix(topic, "teslemetry/site/2252180000012345/") &&
			!strings.Contains(topic, "/teslemetry_site_2252180000012345/") {
			t.Errorf("energy-site event published on %s", topic)
		}
		if strings.Contains(payload, token) {
			t.Errorf("token leaked on %s", topic)
		}
	}
	if auth, url := h.tesla.LastRequest(); auth != "Bearer "+token || strings.Contains(url, token) || !strings.Contains(url, "cache=true") {
		t.Errorf("request auth=%q url=%q", auth, url)
	}
}

func TestAvailabilityFollowsStreamHealth(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"vin":"` + vin1 + `","data":{"BatteryLevel":50}}`)
	avail := "teslemetry/" + vin1 + "/availability"
	h.sub.WaitFor(avail, "online", 5*time.Second)
	h.tesla.SetStatus(503)
	h.tesla.DropAll()
	took := h.sub.WaitFor(avail, "offline", 5*time.Second)
	if took < 250*time.Millisecond {
		t.Errorf("went offline after %v, before offline_after (300ms)", took)
	}
	h.tesla.SetStatus(0)
	h.sub.WaitFor(avail, "online", 10*time.Second)
	if got, _ := h.sub.Get("teslemetry/" + vin1 + "/v/BatteryLevel"); got != "50" {
		t.Errorf("value lost across outage: %q", got)
	}
}

func TestUnchangedValuesAreNotRepublished(t *testing.T) {
	h := startBridge(t, "homeassistant: {discovery: false}\n")
	h.tesla.WaitConnections(t, 1, 5*time.Second)
	topic := "teslemetry/" + vin1 + "/v/BatteryLevel"
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":"42.0"}}`)
	h.sub.WaitFor(topic, "42", 5*time.Second)
	// Counted from here: the first value may arrive before the MQTT session
	// is up, and that session's first full republish may repeat it.
	h.bridge.Publisher().Flush(5 * time.Second)
	before := h.sub.Count(topic)
	for i := 0; i < 4; i++ {
		h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":"42.0"}}`)
	}
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":43}}`)
	h.sub.WaitFor(topic, "43", 5*time.Second)
	if n := h.sub.Count(topic) - before; n != 1 {
		t.Errorf("%s published %d more times after the first 42, want 1 (43)", topic, n)
	}
}

func TestHostileInputIsSkipped(t *testing.T) {
	h := startBridge(t, "homeassistant: {discovery: false}\n")
	h.tesla.WaitConnections(t, 1, 5*time.Second)
	for _, bad := range []string{
		`not json`, `[1,2,3]`, `42`, `{"vin":"../#+","data":{"BatteryLevel":1}}`, `{"data":{"BatteryLevel":1}}`,
		`{"vin":"` + vin1 + `","data":{"BatteryLevel":{"x":1}}}`, `{"vin":"` + vin1 + `","data":"nope"}`,
		`{"vin":"` + vin1 + `","unknown":1}`, `{"vin":"` + vin1 + `","data":{"Weird/Field+#":7}}`,
		`{"vin":"` + vin1 + `","data":{"VehicleSpeed":"fast"}}`, `{"vin":"` + vin1 + `","data":{"Locked":"maybe"}}`,
	} {
		h.tesla.Send(bad)
	}
	h.tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":61}}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "61", 5*time.Second)
	h.sub.WaitFor("teslemetry/"+vin1+"/v/Weird_Field__", "7", 5*time.Second)
	for topic := range h.sub.Latest() {
		if strings.Contains(topic, "..") || strings.Contains(topic, "VehicleSpeed") || strings.Contains(topic, "Locked") {
			t.Errorf("hostile input published on %s", topic)
		}
	}
}

func TestShutdownPublishesOffline(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"vin":"` + vin1 + `","state":"asleep"}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 5*time.Second)
	start := time.Now()
	h.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	h.sub.WaitFor("teslemetry/bridge/state", "offline", 2*time.Second)
	h.sub.WaitFor("teslemetry/"+vin1+"/availability", "offline", 2*time.Second)
	if got, _ := h.sub.Get("teslemetry/" + vin1 + "/state"); got != "asleep" {
		t.Errorf("state = %q", got)
	}
}
