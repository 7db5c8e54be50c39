package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	nrCommandsFlow   = "../examples/node-red/commands.json"
	nrCommandsInject = "Charge limit 80 %" // inject node: payload 80, msg.vin of the example car
	nrCommandsResult = "Read the result"   // function node: msg.payload {vin, ok, text, result}
)

// nrResult is msg.payload of the commands example's "Read the result" node.
type nrResult struct {
	VIN    string          `json:"vin"`
	OK     bool            `json:"ok"`
	Text   string          `json:"text"`
	Result json.RawMessage `json:"result"`
}

// TestNodeREDCommandsFlow runs examples/node-red/commands.json in a real
// Node-RED (scripts/nodered-test.sh) against the built bridge, mosquitto and
// the fake Teslemetry REST API: pressing the inject button sets the charge
// limit of the example's car (one REST request, the documented body, sent
// without retain), and the flow reads the result, both when Teslemetry
// accepts the command and when the car refuses it.
func TestNodeREDCommandsFlow(t *testing.T) {
	red := os.Getenv("T2M_NODERED")
	if red == "" {
		t.Skip("Node-RED not installed: run scripts/nodered-test.sh")
	}
	mq, tesla, sub := streamAndBroker(t, "teslemetry/#")
	api := testkit.NewFakeREST(t, token)
	cfgPath := writeFile(t, "config.yaml", bridgeConfig(teslemetryOrigin(t, tesla, api), mq.URL(), "commands: {timeout: 10s}\n"))
	StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 15*time.Second)

	example := nrLoadFlow(t, nrCommandsFlow)
	inject := nrFind(t, example, "inject", nrCommandsInject)
	if vin := nrInjectProp(t, inject, "vin"); vin != vin1 {
		t.Fatalf("the example's inject node sets msg.vin %q; the test's car is %s", vin, vin1)
	}
	flow, probeIDs := nrWithProbes(t, example, mq.Port, nrProbeAt{nrCommandsResult, 0, "result"})
	nr, probes, _ := nrDeploy(t, red, mq, example, flow, probeIDs)
	resultTopic := "teslemetry/" + vin1 + "/command_result"

	// Accepted: one request with the documented body; the flow shows ok.
	pressed := time.Now()
	nrPressInject(t, nr, inject["id"].(string))
	rs := api.WaitRequests(t, 1, 10*time.Second)
	if r := rs[0]; r.Method != http.MethodPost || r.Path != "/api/1/vehicles/"+vin1+"/command/set_charge_limit" || r.Body != `{"percent":80}` {
		t.Fatalf("REST request %+v, want POST set_charge_limit {\"percent\":80}", r)
	}
	got := nrWaitResult(t, probes, resultTopic, 10*time.Second, func(r nrResult) bool { return r.OK })
	if got.VIN != vin1 || got.Text != "charge_limit: ok" {
		t.Errorf("the flow read %+v, want vin %s and text \"charge_limit: ok\"", got, vin1)
	}
	t.Logf("inject → REST request %v, → result in the flow %v",
		rs[0].At.Sub(pressed).Round(time.Millisecond), time.Since(pressed).Round(time.Millisecond))
	for _, m := range sub.Messages() {
		if m.Topic == "teslemetry/"+vin1+"/set/charge_limit" && (m.Retained || m.Payload != "80") {
			t.Errorf("the flow published %q retained=%v on %s, want \"80\" without retain", m.Payload, m.Retained, m.Topic)
		}
	}
	kept := testkit.Subscribe(t, mq.URL(), "teslemetry/+/set/#")
	time.Sleep(500 * time.Millisecond)
	if m := kept.Messages(); len(m) != 0 {
		t.Errorf("the broker kept a retained command from the flow: %+v", m)
	}

	// Refused by the car: the reason reaches the flow.
	api.Script("set_charge_limit", testkit.RESTAnswer{Status: 200, Body: `{"response":{"result":false,"reason":"could_not_wake_buses"}}`})
	nrPressInject(t, nr, inject["id"].(string))
	api.WaitRequests(t, 2, 10*time.Second)
	got = nrWaitResult(t, probes, resultTopic, 10*time.Second, func(r nrResult) bool { return !r.OK })
	if got.Text != "charge_limit: could_not_wake_buses" {
		t.Errorf("refused: the flow read %+v, want text \"charge_limit: could_not_wake_buses\"", got)
	}
	if n := len(api.Requests()); n != 2 {
		t.Errorf("%d REST requests for two presses", n)
	}
	for _, line := range strings.Split(nr.Log(), "\n") {
		if strings.Contains(line, "[error]") {
			t.Errorf("Node-RED logged an error: %s", line)
		}
	}
}

// nrInjectProp returns the string value of property p of an inject node.
func nrInjectProp(t *testing.T, inject nrNode, p string) string {
	t.Helper()
	props, _ := inject["props"].([]any)
	for _, x := range props {
		if m, _ := x.(map[string]any); m["p"] == p {
			v, _ := m["v"].(string)
			return v
		}
	}
	t.Fatalf("inject node %q sets no msg.%s", inject["name"], p)
	return ""
}

// nrPressInject presses an inject node's button through the admin API, as
// the editor does.
func nrPressInject(t *testing.T, n *nrProcess, id string) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/inject/%s", n.port, id), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /inject/%s: %s", id, resp.Status)
	}
}

// nrWaitResult waits for a probe message about the result on topic whose
// payload satisfies ok.
func nrWaitResult(t *testing.T, probes *testkit.Subscriber, topic string, timeout time.Duration, ok func(nrResult) bool) nrResult {
	t.Helper()
	var last nrResult
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m, found := nrLatest(probes, "result", topic); found {
			var p nrProbe
			if err := json.Unmarshal([]byte(m.Payload), &p); err != nil || p.Type != "object" {
				t.Fatalf("probe message %s: msg.payload is not an object (%v)", m.Payload, err)
			}
			if err := json.Unmarshal(p.Payload, &last); err != nil {
				t.Fatalf("probe payload %s: %v", p.Payload, err)
			}
			if ok(last) {
				return last
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no matching result from the flow on %s within %v; last %+v", topic, timeout, last)
	return last
}
