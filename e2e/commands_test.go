package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// TestCommandsEndToEnd drives the built binary through mosquitto: a retained
// command left on the broker never runs (not at start, not after a broker
// restart); a live set/ message reaches the REST API with the token, its
// result is published retained; a sleeping car is woken and the command sent
// once more; a 401 is reported and not retried; the token never shows.
func TestCommandsEndToEnd(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	api := testkit.NewFakeREST(t, token)
	origin := teslemetryOrigin(t, tesla, api)

	client := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL()).SetClientID(fmt.Sprintf("e2e-cmd-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond))
	if tok := client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { client.Disconnect(50) })
	send := func(topic, payload string, retained bool) {
		t.Helper()
		if tok := client.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	send("teslemetry/"+vin1+"/set/lock", "UNLOCK", true) // a stale retained command

	cfgPath := writeFile(t, "config.yaml", bridgeConfig(origin, mq.URL(), "commands: {timeout: 10s}\n"))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	sub.WaitFor("teslemetry/bridge/state", "online", 10*time.Second)
	sub.WaitUntil("lock control announced", 10*time.Second, func(l map[string]string) bool {
		return strings.Contains(l["homeassistant/lock/teslemetry_"+vin1+"/lock/config"], `"command_topic":"teslemetry/`+vin1+`/set/lock"`)
	})
	result := func(want string) string {
		t.Helper()
		var got string
		sub.WaitUntil("command_result "+want, 10*time.Second, func(l map[string]string) bool {
			got = l["teslemetry/"+vin1+"/command_result"]
			return strings.Contains(got, want)
		})
		return got
	}

	send("teslemetry/"+vin1+"/set/charge_limit", "75", false)
	got := result(`"control":"charge_limit"`)
	if !strings.Contains(got, `"ok":true`) || !strings.Contains(got, `"status":200`) {
		t.Fatalf("result %s", got)
	}
	rs := api.Requests()
	if len(rs) != 1 || rs[0].Path != "/api/1/vehicles/"+vin1+"/command/set_charge_limit" || rs[0].Body != `{"percent":75}` || rs[0].Auth != "Bearer "+token {
		t.Fatalf("requests %+v (the retained UNLOCK must not be among them)", rs)
	}

	// Broker restart without persistence: the bridge resubscribes; a
	// retained command published again is delivered flagged and ignored.
	mq.Kill()
	mq.Start()
	sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
	// The bridge subscribes again right after it is back; a live command
	// proves it before the retained one goes out.
	sub.WaitUntil("resubscribed", 15*time.Second, func(map[string]string) bool {
		if tok := client.Publish("teslemetry/"+vin1+"/set/flash_lights", 1, false, "PRESS"); !tok.WaitTimeout(time.Second) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
		r, _ := sub.Get("teslemetry/" + vin1 + "/command_result")
		return strings.Contains(r, `"control":"flash_lights"`)
	})
	if tok := client.Publish("teslemetry/"+vin1+"/set/lock", 1, true, "UNLOCK"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	// The bridge's subscription came before this publish, so it arrives live;
	// a later restart of the bridge must not run it again.
	result(`"control":"lock"`)
	n := len(api.Requests())
	if code, _ := br.Stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	br = StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub.WaitUntil("bridge back", 10*time.Second, func(l map[string]string) bool { return l["teslemetry/bridge/state"] == "online" })
	time.Sleep(time.Second)
	if len(api.Requests()) != n {
		t.Fatalf("a retained command ran after the bridge restarted: %v", api.Commands()[n:])
	}
	if !strings.Contains(br.Output(), "retained") {
		t.Errorf("the ignored retained message was not logged:\n%s", br.Output())
	}

	// Sleeping car: 408 → wake_up → online → once more.
	api.SetAsleep(vin1, true)
	api.SetWakeDelay(300 * time.Millisecond)
	send("teslemetry/"+vin1+"/set/sentry", "ON", false)
	got = result(`"control":"sentry"`)
	if !strings.Contains(got, `"ok":true`) || !strings.Contains(got, `"woke":true`) {
		t.Fatalf("wake result %s", got)
	}
	cmds := strings.Join(api.Commands()[n:], ",")
	if cmds != "set_sentry_mode,wake_up,set_sentry_mode" {
		t.Fatalf("sent %s", cmds)
	}

	// 401: reported, never retried.
	api.Script("honk_horn", testkit.RESTAnswer{Status: 401})
	send("teslemetry/"+vin1+"/set/honk_horn", "PRESS", false)
	got = result(`"control":"honk_horn"`)
	if !strings.Contains(got, `"ok":false`) || !strings.Contains(got, `"status":401`) {
		t.Fatalf("401 result %s", got)
	}
	time.Sleep(300 * time.Millisecond)
	honks := 0
	for _, c := range api.Commands() {
		if c == "honk_horn" {
			honks++
		}
	}
	if honks != 1 {
		t.Fatalf("honk_horn sent %d times", honks)
	}
	if code, _ := br.Stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(br.Output(), token) {
		t.Fatal("the token was printed")
	}
	for tp, p := range sub.Latest() {
		if strings.Contains(p, token) {
			t.Fatalf("the token was published on %s", tp)
		}
	}
}
