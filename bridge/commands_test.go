package bridge_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

type cmdHarness struct {
	*harness
	rest   *testkit.FakeREST
	client paho.Client
}

// startCommandBridge runs the bridge with commands against an embedded
// broker, a fake stream and a fake REST API; seed runs against the broker first.
func startCommandBridge(t *testing.T, yamlExtra string, seed func(brokerURL string)) *cmdHarness {
	t.Helper()
	fake := testkit.NewFakeREST(t, token)
	client, err := rest.New(rest.Options{BaseURL: fake.URL(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, harnessSpec{yaml: yamlExtra, seed: seed, options: func(o *bridge.Options) { o.CommandSender = client }})
	br, cfg := h.broker, h.cfg
	c := &cmdHarness{harness: h, rest: fake}
	c.client = paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID(fmt.Sprintf("cmd-%d", time.Now().UnixNano())))
	if tok := c.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.client.Disconnect(50) })
	// The subscriptions follow the connect: a probe on a site control that
	// does not exist is ignored (and counted) once they are in place.
	h.sub.WaitFor("teslemetry/bridge/state", "online", 5*time.Second)
	if cfg.Commands.Enabled {
		deadline := time.Now().Add(10 * time.Second)
		for counterValue(t, h.stats, "teslemetry2mqtt_dropped_total", "reason", "command_unknown_control") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the command subscriptions were not made")
			}
			c.send("teslemetry/site/1/set/probe", "x", false)
			time.Sleep(20 * time.Millisecond)
		}
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

func (c *cmdHarness) send(topic, payload string, retained bool) {
	c.t.Helper()
	if tok := c.client.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		c.t.Fatal(tok.Error())
	}
}

func (c *cmdHarness) result(vin string, want func(map[string]any) bool) map[string]any {
	c.t.Helper()
	var got map[string]any
	c.sub.WaitUntil("command_result", 5*time.Second, func(latest map[string]string) bool {
		got = nil
		return json.Unmarshal([]byte(latest["teslemetry/"+vin+"/command_result"]), &got) == nil && want(got)
	})
	return got
}

// TestCommandsThroughTheBridge: controls are announced from the stream's
// fields, a set/ message reaches Teslemetry, its result is published,
// counted, and a retained message left on the broker is never run.
func TestCommandsThroughTheBridge(t *testing.T) {
	h := startCommandBridge(t, "", func(url string) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("seed"))
		c.Connect().Wait()
		c.Publish("teslemetry/"+vin1+"/set/lock", 1, true, "UNLOCK").Wait()
		c.Disconnect(50)
	})
	h.snapshot(testkit.SampleEvents(t)...)
	// Controls announced from fields the sample streams (Locked, ChargeLimitSoc…), buttons with the car.
	for _, tp := range []string{
		"homeassistant/lock/teslemetry_" + vin1 + "/lock/config",
		"homeassistant/number/teslemetry_" + vin2 + "/charge_limit/config",
		"homeassistant/cover/teslemetry_" + vin2 + "/windows/config",
		"homeassistant/cover/teslemetry_" + vin2 + "/trunk/config",
		"homeassistant/switch/teslemetry_" + vin1 + "/charging/config",
		"homeassistant/switch/teslemetry_" + vin1 + "/sentry/config",
		"homeassistant/climate/teslemetry_" + vin2 + "/climate/config",
		"homeassistant/button/teslemetry_" + vin1 + "/honk_horn/config",
		"homeassistant/sensor/teslemetry_" + vin1 + "/last_command/config",
	} {
		h.sub.WaitUntil(tp, 5*time.Second, func(l map[string]string) bool { return l[tp] != "" })
	}
	if n := len(h.rest.Requests()); n != 0 {
		t.Fatalf("the retained UNLOCK was sent: %v", h.rest.Commands())
	}
	if v := counterValue(t, h.stats, "teslemetry2mqtt_dropped_total", "reason", "command_retained"); v != 1 {
		t.Errorf("retained messages counted: %v", v)
	}
	h.send("teslemetry/"+vin1+"/set/charge_limit", "80", false)
	got := h.result(vin1, func(m map[string]any) bool { return m["control"] == "charge_limit" })
	if got["ok"] != true || got["command"] != "set_charge_limit" || got["status"] != float64(200) {
		t.Fatalf("result %v", got)
	}
	rs := h.rest.Requests()
	if len(rs) != 1 || rs[0].Body != `{"percent":80}` {
		t.Fatalf("requests %+v", rs)
	}
	if v := counterValue(t, h.stats, "teslemetry2mqtt_commands_total", "control", "charge_limit", "outcome", "ok"); v != 1 {
		t.Errorf("commands_total{charge_limit,ok} = %v", v)
	}
	// One request written: its time in the bridge is counted once, and is
	// part of the command's whole duration.
	n, dispatch := histogram(t, h.stats, "teslemetry2mqtt_command_dispatch_seconds")
	_, whole := histogram(t, h.stats, "teslemetry2mqtt_command_duration_seconds")
	if n != 1 || dispatch <= 0 || dispatch > whole {
		t.Errorf("command_dispatch_seconds count %d sum %v (duration sum %v)", n, dispatch, whole)
	}
	if w, _ := h.sub.Get("teslemetry/" + vin2 + "/derived/windows"); w != "open" {
		t.Errorf("derived windows of %s: %q, want open (RdWindow is PartiallyOpen)", vin2, w)
	}
	// Windows close with the car's streamed position.
	h.send("teslemetry/"+vin1+"/set/windows", "CLOSE", false)
	got = h.result(vin1, func(m map[string]any) bool { return m["control"] == "windows" })
	if got["ok"] != true {
		t.Fatalf("windows %v", got)
	}
	last := h.rest.Requests()[len(h.rest.Requests())-1]
	if last.Command() != "window_control" || !strings.Contains(last.Body, `"command":"close"`) || !strings.Contains(last.Body, `"lat":`) {
		t.Fatalf("window request %+v", last)
	}
}

// TestCommandsWakeOnStateEvent: a sleeping car is woken; the stream's state
// event ends the wait.
func TestCommandsWakeOnStateEvent(t *testing.T) {
	h := startCommandBridge(t, "", nil)
	h.snapshot(testkit.SampleEvents(t)...)
	h.rest.SetAsleep(vin1, true)
	h.rest.SetWakeDelay(time.Hour) // only the state event tells it is awake
	h.send("teslemetry/"+vin1+"/set/flash_lights", "PRESS", false)
	h.rest.WaitRequests(t, 2, 5*time.Second)
	h.rest.SetAsleep(vin1, false)
	h.tesla.Send(`{"createdAt":"2026-09-14T08:00:00Z","vin":"` + vin1 + `","state":"online"}`)
	got := h.result(vin1, func(m map[string]any) bool { return m["control"] == "flash_lights" })
	if got["ok"] != true || got["woke"] != true {
		t.Fatalf("result %v", got)
	}
	if cmds := strings.Join(h.rest.Commands(), ","); cmds != "flash_lights,wake_up,flash_lights" {
		t.Fatalf("sent %s", cmds)
	}
}

// TestCommandsDisabled: no subscriptions, no control entities.
func TestCommandsDisabled(t *testing.T) {
	h := startCommandBridge(t, "commands: {enabled: false}\n", nil)
	h.snapshot(testkit.SampleEvents(t)...)
	h.sub.WaitUntil("sample published", 5*time.Second, func(l map[string]string) bool {
		return l["homeassistant/binary_sensor/teslemetry_"+vin1+"/Locked/config"] != ""
	})
	h.send("teslemetry/"+vin1+"/set/lock", "UNLOCK", false)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.rest.Requests()); n != 0 {
		t.Fatalf("disabled commands sent %v", h.rest.Commands())
	}
	for tp := range h.sub.Latest() {
		for _, p := range []string{"/lock/", "/switch/", "/number/", "/button/", "/select/", "/cover/", "/climate/", "last_command"} {
			if strings.HasPrefix(tp, "homeassistant/") && strings.Contains(tp, p) {
				t.Errorf("control entity %s with commands disabled", tp)
			}
		}
	}
	if _, ok := h.sub.Get("teslemetry/" + vin1 + "/command_result"); ok {
		t.Error("a result with commands disabled")
	}
}

// TestCommandsDenyHidesControl: a denied control is refused and not announced.
func TestCommandsDenyHidesControl(t *testing.T) {
	h := startCommandBridge(t, "commands: {deny: [lock]}\n", nil)
	h.snapshot(testkit.SampleEvents(t)...)
	h.sub.WaitUntil("charging control", 5*time.Second, func(l map[string]string) bool {
		return l["homeassistant/switch/teslemetry_"+vin1+"/charging/config"] != ""
	})
	if _, ok := h.sub.Get("homeassistant/lock/teslemetry_" + vin1 + "/lock/config"); ok {
		t.Error("denied lock announced")
	}
	h.send("teslemetry/"+vin1+"/set/lock", "UNLOCK", false)
	got := h.result(vin1, func(m map[string]any) bool { return m["control"] == "lock" })
	if got["ok"] != false || got["reason"] != "denied" || len(h.rest.Requests()) != 0 {
		t.Fatalf("result %v, sent %v", got, h.rest.Commands())
	}
}

// histogram returns the sample count and sum of the (unlabelled) histogram name.
func histogram(t *testing.T, m *bridge.Metrics, name string) (uint64, float64) {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0, 0
}

// counterValue reads a counter from the bridge's registry; labels are name, value pairs.
func counterValue(t *testing.T, m *bridge.Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, metric := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range metric.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return metric.GetCounter().GetValue()
		}
	}
	return 0
}
