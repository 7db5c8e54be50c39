package command

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// brokerFixture runs the command path against a real (embedded) broker: a
// publisher subscribed with the dispatcher's subscriptions, the executor
// sending to a fake Teslemetry, results published to command_result.
type brokerFixture struct {
	t       *testing.T
	br      *broker.Broker
	fake    *testkit.FakeREST
	sub     *testkit.Subscriber
	client  paho.Client
	ignored *counter
	pub     *mqttpub.Publisher
	stop    func() // stops the publisher and the executor (idempotent)
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(k string) { c.mu.Lock(); c.n[k]++; c.mu.Unlock() }
func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// seededBroker starts a broker and runs seed (retained messages left behind).
func seededBroker(t *testing.T) *broker.Broker {
	br, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return br
}

func mqttClient(t *testing.T, url string) paho.Client {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("cmdtest-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func send(t *testing.T, c paho.Client, topic, payload string, retained bool) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func startCommandPath(t *testing.T, br *broker.Broker, o DispatcherOptions) *brokerFixture {
	t.Helper()
	fake := testkit.NewFakeREST(t, testToken)
	client, _ := rest.New(rest.Options{BaseURL: fake.URL(), Token: testToken})
	scheme := topic.New("teslemetry", "homeassistant")
	f := &brokerFixture{t: t, br: br, fake: fake, ignored: &counter{n: map[string]int{}}}
	log := logrus.New()
	log.SetOutput(io.Discard)
	exec := NewExecutor(ExecutorOptions{Sender: client, Wake: true, MaxPerMinute: 100, Timeout: 5 * time.Second,
		WakeWait: 2 * time.Second, PollEvery: 50 * time.Millisecond, RetryDelay: 50 * time.Millisecond,
		OnResult: func(r Result) {
			var tp string
			if r.Target == Site {
				tp = scheme.Site(r.ID, topic.CommandResult)
			} else {
				tp = scheme.Vehicle(r.ID, topic.CommandResult)
			}
			f.pub.Publish(mqttpub.Value, tp, r.JSON())
		}})
	o.Scheme, o.Executor, o.Logger, o.Ignored = scheme, exec, log, f.ignored.inc
	d := NewDispatcher(o)
	// Subscriber and sender connect first: the embedded broker (mochi) races
	// when a client subscribes while another publishes retained messages.
	f.sub = testkit.Subscribe(t, br.URL(), "teslemetry/#")
	f.client = mqttClient(t, br.URL())
	f.pub = mqttpub.New(mqttpub.Options{URL: br.URL(), ClientID: fmt.Sprintf("bridge-%d", time.Now().UnixNano()), QoS: 1, Retain: true,
		WillTopic: scheme.BridgeState(), Subscriptions: d.Subscriptions(), Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = exec.Run(ctx) }()
	go func() { defer wg.Done(); _ = f.pub.Run(ctx) }()
	var once sync.Once
	f.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(f.stop)
	// The subscriptions follow the connect: a probe on a site control that
	// does not exist is ignored once they are in place.
	deadline := time.Now().Add(10 * time.Second)
	for f.ignored.get("unknown_control") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the command subscriptions were not made")
		}
		if f.pub.Connected() {
			send(t, f.client, "teslemetry/site/1/set/probe", "x", false)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.ignored.mu.Lock()
	delete(f.ignored.n, "unknown_control")
	f.ignored.mu.Unlock()
	return f
}

func (f *brokerFixture) result(id string, site bool, want func(map[string]any) bool) map[string]any {
	f.t.Helper()
	tp := "teslemetry/" + id + "/command_result"
	if site {
		tp = "teslemetry/site/" + id + "/command_result"
	}
	var got map[string]any
	f.sub.WaitUntil("command_result on "+tp, 5*time.Second, func(latest map[string]string) bool {
		got = nil
		if json.Unmarshal([]byte(latest[tp]), &got) != nil {
			return false
		}
		return want(got)
	})
	return got
}

// TestRetainedCommandNeverRuns: a retained UNLOCK the broker kept (from
// before the bridge started) is delivered on subscribe and must not run;
// a live message afterwards runs.
func TestRetainedCommandNeverRuns(t *testing.T) {
	br := seededBroker(t)
	old := mqttClient(t, br.URL())
	send(t, old, "teslemetry/"+testVIN+"/set/lock", "UNLOCK", true)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) && f.ignored.get("retained") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if f.ignored.get("retained") != 1 {
		t.Fatalf("retained message not counted as ignored: %v", f.ignored.n)
	}
	if rs := f.fake.Requests(); len(rs) != 0 {
		t.Fatalf("retained command sent: %+v", rs)
	}
	if _, ok := f.sub.Get("teslemetry/" + testVIN + "/command_result"); ok {
		t.Fatal("a result for a retained message")
	}
	send(t, f.client, "teslemetry/"+testVIN+"/set/lock", "LOCK", false)
	got := f.result(testVIN, false, func(m map[string]any) bool { return m["ok"] == true })
	if got["command"] != "door_lock" || got["control"] != "lock" || got["status"] != float64(200) {
		t.Fatalf("result %v", got)
	}
	if cmds := f.fake.Commands(); len(cmds) != 1 || cmds[0] != "door_lock" {
		t.Fatalf("sent %v", cmds)
	}
}

// TestRetainedAfterBridgeRestart: a message published with the retain flag
// reaches a subscriber that is already there without the flag (MQTT 3.1.1),
// so it runs once; after a bridge restart the broker's retained copy arrives
// flagged and is ignored.
func TestRetainedAfterBridgeRestart(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	send(t, f.client, "teslemetry/"+testVIN+"/set/flash_lights", "PRESS", true)
	f.result(testVIN, false, func(m map[string]any) bool { return m["ok"] == true })
	if n := len(f.fake.Requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
	// The bridge restarts and gets the retained copy: ignored.
	f.stop()
	g := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && g.ignored.get("retained") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if g.ignored.get("retained") != 1 || len(g.fake.Requests()) != 0 {
		t.Fatalf("restarted bridge: ignored %v, sent %v", g.ignored.n, g.fake.Commands())
	}
}

func TestDeniedAndInvalidGetResults(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true, Deny: []string{"lock", "set_valet_mode"}, Raw: true})
	send(t, f.client, "teslemetry/"+testVIN+"/set/lock", "UNLOCK", false)
	got := f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "lock" })
	if got["ok"] != false || got["reason"] != "denied" || got["status"] != nil {
		t.Fatalf("denied result %v", got)
	}
	send(t, f.client, "teslemetry/"+testVIN+"/set/charge_limit", "120", false)
	got = f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "charge_limit" })
	if got["ok"] != false || !strings.Contains(got["reason"].(string), "outside 50..100") {
		t.Fatalf("invalid result %v", got)
	}
	send(t, f.client, "teslemetry/"+testVIN+"/command/set_valet_mode", `{"on":true,"password":"1234"}`, false)
	got = f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "command/set_valet_mode" })
	if got["reason"] != "denied" {
		t.Fatalf("denied raw %v", got)
	}
	send(t, f.client, "teslemetry/"+testVIN+"/command/honk_horn", ``, false)
	got = f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "command/honk_horn" })
	if got["ok"] != true {
		t.Fatalf("raw result %v", got)
	}
	send(t, f.client, "teslemetry/site/12345/set/backup_reserve", `25`, false)
	got = f.result("12345", true, func(m map[string]any) bool { return m["control"] == "backup_reserve" })
	if got["ok"] != true || got["command"] != "backup" {
		t.Fatalf("site result %v", got)
	}
	if cmds := f.fake.Commands(); strings.Join(cmds, ",") != "honk_horn,backup" {
		t.Fatalf("sent %v, want only honk_horn and backup", cmds)
	}
	send(t, f.client, "teslemetry/"+testVIN+"/set/no_such_control", `ON`, false)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && f.ignored.get("unknown_control") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if f.ignored.get("unknown_control") != 1 {
		t.Errorf("unknown control not ignored: %v", f.ignored.n)
	}
}

func TestRawNeedsOptIn(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	send(t, f.client, "teslemetry/"+testVIN+"/command/remote_start_drive", ``, false)
	send(t, f.client, "teslemetry/"+testVIN+"/set/honk_horn", `PRESS`, false)
	f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "honk_horn" })
	if cmds := f.fake.Commands(); len(cmds) != 1 || cmds[0] != "honk_horn" {
		t.Fatalf("sent %v", cmds)
	}
}

func TestDisabledSubscribesToNothing(t *testing.T) {
	d := NewDispatcher(DispatcherOptions{Scheme: topic.New("teslemetry", "homeassistant"), Enabled: false, Raw: true})
	if subs := d.Subscriptions(); len(subs) != 0 {
		t.Fatalf("subscriptions with commands disabled: %v", subs)
	}
	d = NewDispatcher(DispatcherOptions{Scheme: topic.New("teslemetry", "homeassistant"), Enabled: true})
	subs := d.Subscriptions()
	if _, ok := subs["teslemetry/+/set/+"]; !ok || len(subs) != 2 {
		t.Fatalf("subscriptions %v", subs)
	}
	if _, ok := subs["teslemetry/site/+/set/+"]; !ok {
		t.Fatalf("subscriptions %v", subs)
	}
}

// TestWakeThenRetryThroughBroker: the full path with a sleeping car.
func TestWakeThenRetryThroughBroker(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	f.fake.SetAsleep(testVIN, true)
	f.fake.SetWakeDelay(100 * time.Millisecond)
	send(t, f.client, "teslemetry/"+testVIN+"/set/charge_limit", "85", false)
	got := f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "charge_limit" })
	if got["ok"] != true || got["woke"] != true {
		t.Fatalf("result %v", got)
	}
	if cmds := strings.Join(f.fake.Commands(), ","); cmds != "set_charge_limit,wake_up,set_charge_limit" {
		t.Fatalf("sent %s", cmds)
	}
}

// With teslemetry.vins set, commands for other cars are ignored.
func TestCommandsOnlyForConfiguredVINs(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true, VINs: []string{testVIN}})
	send(t, f.client, "teslemetry/5YJ3E7EB9NF000001/set/honk_horn", "PRESS", false)
	send(t, f.client, "teslemetry/"+testVIN+"/set/flash_lights", "PRESS", false)
	f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "flash_lights" })
	if cmds := f.fake.Commands(); len(cmds) != 1 || cmds[0] != "flash_lights" {
		t.Fatalf("sent %v", cmds)
	}
	if f.ignored.get("vin_not_configured") != 1 {
		t.Errorf("ignored %v", f.ignored.n)
	}
}

// TestCoalescingThroughBroker: a slider's values sent while a command runs:
// only the newest reaches Teslemetry, the others are superseded.
func TestCoalescingThroughBroker(t *testing.T) {
	br := seededBroker(t)
	f := startCommandPath(t, br, DispatcherOptions{Enabled: true})
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 500 * time.Millisecond})
	send(t, f.client, "teslemetry/"+testVIN+"/set/lock", "LOCK", false)
	f.fake.WaitStarted(t, 1, 5*time.Second) // the lock is in flight
	for v := 60; v <= 80; v++ {
		f.client.Publish("teslemetry/"+testVIN+"/set/charge_limit", 1, false, strconv.Itoa(v))
	}
	f.result(testVIN, false, func(m map[string]any) bool { return m["control"] == "charge_limit" && m["ok"] == true })
	var bodies []string
	for _, r := range f.fake.Requests() {
		if r.Command() == "set_charge_limit" {
			bodies = append(bodies, r.Body)
		}
	}
	if len(bodies) != 1 || bodies[0] != `{"percent":80}` {
		t.Fatalf("charge limits sent %v, want only the newest (80)", bodies)
	}
}

// The dispatcher hands the message's receipt time on: a command that waited
// in the bridge longer than commands.timeout is not sent late.
func TestDispatcherKeepsReceiptTime(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.Timeout = time.Second })
	d := NewDispatcher(DispatcherOptions{Scheme: topic.New("teslemetry", "homeassistant"), Enabled: true, Executor: f.exec,
		Logger: logrus.New()})
	d.Handle(mqttpub.Message{Topic: "teslemetry/" + testVIN + "/set/honk_horn", Payload: []byte("PRESS"), Received: time.Now().Add(-2 * time.Second)})
	d.Handle(mqttpub.Message{Topic: "teslemetry/" + testVIN + "/set/flash_lights", Payload: []byte("PRESS"), Received: time.Now()})
	got := f.res.wait(t, 2, 5*time.Second)
	if got[0].Control != "honk_horn" || got[0].Outcome != OutcomeTimeout || got[0].Sent != 0 {
		t.Errorf("received 2 s ago, timeout 1 s: %+v", got[0])
	}
	if got[1].Control != "flash_lights" || !got[1].OK || got[1].Dispatch <= 0 {
		t.Errorf("received now: %+v", got[1])
	}
	if c := f.fake.Commands(); len(c) != 1 || c[0] != "flash_lights" {
		t.Errorf("commands sent %v, want only flash_lights", c)
	}
}
