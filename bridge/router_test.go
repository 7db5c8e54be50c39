package bridge

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// recorder is a Publisher that records every message, in order.
type recorder struct{ msgs []recorded }

type recorded struct {
	class          mqttpub.Class
	topic, payload string
}

func (r *recorder) Publish(c mqttpub.Class, t string, p []byte) bool {
	r.msgs = append(r.msgs, recorded{c, t, string(p)})
	return true
}

func (r *recorder) PublishTopic(c mqttpub.Class, t, p []byte) bool {
	return r.Publish(c, string(t), p)
}

// last returns the last payload published on t.
func (r *recorder) last(t string) (string, bool) {
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if r.msgs[i].topic == t {
			return r.msgs[i].payload, true
		}
	}
	return "", false
}

func (r *recorder) count(class mqttpub.Class) int {
	n := 0
	for _, m := range r.msgs {
		if m.class == class {
			n++
		}
	}
	return n
}

// testRouter returns a router that publishes into a recorder, with the Home
// Assistant component when discovery is on; no broker is involved.
func testRouter(t *testing.T, discovery bool) (*router, *recorder) {
	t.Helper()
	cfg, err := config.Parse([]byte("teslemetry: {token: t}\nmqtt: {url: \"tcp://127.0.0.1:1\"}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	rec := &recorder{}
	topics := topic.New("teslemetry", "homeassistant")
	h := newHomeAssistant(discovery, ha.Options{Topics: topics, Units: catalog.UnitsNative, Version: "test"}, "homeassistant/status", log)
	if h != nil {
		h.pub = rec
	}
	now := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	r := newRouter(cfg, topics, rec, h, teslemetry.Formatter{Units: catalog.UnitsNative}, log, nil, func() time.Time { return now })
	return r, rec
}

func parse(t *testing.T, data string) *teslemetry.Event {
	t.Helper()
	var p teslemetry.Parser
	ev, _, err := p.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return &ev
}

// The routing core turns an event into its messages without a broker: the
// value, the car's status topics and (once) its discovery configs.
func TestRouterRoutesAnEventToItsTopics(t *testing.T) {
	const vin = "5YJ3E7EB9NF123456"
	r, rec := testRouter(t, true)
	ev := `{"vin":"` + vin + `","createdAt":"2026-12-04T05:59:58Z","data":{"BatteryLevel":71.5,"Gear":"ShiftStateD"},"state":"online"}`
	r.route(nil, parse(t, ev))

	for topicName, want := range map[string]string{
		"teslemetry/" + vin + "/v/BatteryLevel": "71.5",
		"teslemetry/" + vin + "/v/Gear":         "D",
		"teslemetry/" + vin + "/state":          "online",
		"teslemetry/" + vin + "/availability":   "online", // only webhooks carry it (st == nil)
		"teslemetry/" + vin + "/active_alerts":  "[]",
		"teslemetry/" + vin + "/last_seen":      "2026-12-04T05:59:58Z",
	} {
		if got, ok := rec.last(topicName); !ok || got != want {
			t.Errorf("%s = %q (published %v), want %q", topicName, got, ok, want)
		}
	}
	cfgTopic := "homeassistant/sensor/teslemetry_" + vin + "/BatteryLevel/config"
	if p, ok := rec.last(cfgTopic); !ok || !strings.Contains(p, `"state_topic":"teslemetry/`+vin+`/v/BatteryLevel"`) {
		t.Errorf("discovery config %s = %q", cfgTopic, p)
	}
	announced := rec.count(mqttpub.Discovery)
	r.route(nil, parse(t, ev))
	if n := rec.count(mqttpub.Discovery); n != announced {
		t.Errorf("a second event announced %d more configs, want none", n-announced)
	}

	// A new name changes the device block: everything is announced again.
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"VehicleName":"Sparky"}}`))
	if n := rec.count(mqttpub.Discovery); n <= announced {
		t.Errorf("renaming the car re-announced nothing (%d configs, %d before)", n, announced)
	}
	if p, _ := rec.last(cfgTopic); !strings.Contains(p, `"name":"Sparky"`) {
		t.Errorf("re-announced config has the old device name: %s", p)
	}

	// The snapshot copies the per-car state (the last event had no createdAt:
	// last seen is the router's clock).
	snap := r.vehicleSnapshots()
	want := VehicleSnapshot{VIN: vin, Name: "Sparky", Availability: "online", State: "online",
		LastSeen: time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC), ActiveAlerts: []string{}}
	if len(snap) != 1 || !reflect.DeepEqual(snap[0], want) {
		t.Errorf("snapshot %+v, want [%+v]", snap, want)
	}
}

// With discovery off the router publishes the same values and no config.
func TestRouterWithoutDiscoveryPublishesNoConfigs(t *testing.T) {
	const vin = "5YJ3E7EB9NF123456"
	r, rec := testRouter(t, false)
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"BatteryLevel":70,"ACChargingPower":7.2,"DetailedChargeState":"DetailedChargeStateCharging"},"networkInterface":"wifi","status":"CONNECTED"}`))
	if got, _ := rec.last("teslemetry/" + vin + "/v/BatteryLevel"); got != "70" {
		t.Errorf("BatteryLevel = %q, want 70", got)
	}
	if got, _ := rec.last("teslemetry/" + vin + "/derived/charger_power"); got != "7.2" {
		t.Errorf("charger power = %q, want 7.2", got)
	}
	if got, _ := rec.last("teslemetry/" + vin + "/connectivity/wifi"); got != "connected" {
		t.Errorf("connectivity = %q, want connected", got)
	}
	if n := rec.count(mqttpub.Discovery); n != 0 {
		t.Errorf("%d discovery configs published with discovery off", n)
	}
}

// Events with a VIN that is not one are dropped before any state is made.
func TestRouterDropsBadVIN(t *testing.T) {
	r, rec := testRouter(t, true)
	r.route(nil, parse(t, `{"vin":"not-a-vin","data":{"BatteryLevel":70}}`))
	if len(rec.msgs) != 0 || len(r.vehicles) != 0 {
		t.Errorf("bad VIN published %v and made %d cars", rec.msgs, len(r.vehicles))
	}
}
