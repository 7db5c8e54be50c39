package e2e

// The Node-RED example examples/node-red/flow.json, tested in a real Node-RED
// by scripts/nodered-test.sh: it installs Node-RED with npm and passes the
// path of its red.js in T2M_NODERED; without it this test skips.
//
// The test runs the bridge against mosquitto and the fake Teslemetry (sample
// transcript), then starts Node-RED with the example flow, changed in exactly
// two test-only ways: the "Local broker" config node points at the test's
// mosquitto, and probe nodes are wired after the example's function nodes.
// Each probe republishes, to nrtest/<source>/<original topic>, a JSON
// description of the msg the example produced (the JavaScript type of
// msg.payload, its value, msg.vin, msg.field), so the Go side can check what a
// flow author gets against the "What arrives" table of the example's README.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	nrExampleFlow = "../examples/node-red/flow.json"
	nrSplitName   = "Split VIN out of topic" // function node: values on output 1, availability on 2
	nrLatestName  = "Latest values per car"  // function node: per-car summary
	nrProbeTopic  = "nrtest"
)

// nrFields are the fields of the example's four mqtt in nodes, in a fixed
// order; nrValueFields those that reach the summary node (output 1 of the
// split node: availability goes to output 2 only).
var (
	nrFields      = []string{"BatteryLevel", "DetailedChargeState", "Location", "availability"}
	nrValueFields = []string{"BatteryLevel", "DetailedChargeState", "Location"}
)

// nrFieldTypes is the "What arrives" table of examples/node-red/README.md for
// the topics the example flow subscribes to: field → typeof msg.payload.
var nrFieldTypes = map[string]string{
	"BatteryLevel":        "number",
	"DetailedChargeState": "string",
	"Location":            "object",
	"availability":        "string",
}

// nrProbe is what a probe node publishes about one msg.
type nrProbe struct {
	Type      string          `json:"type"` // "null", "array", "buffer" or typeof msg.payload
	Payload   json.RawMessage `json:"payload"`
	VIN       string          `json:"vin"`
	Field     string          `json:"field"`
	Source    string          `json:"source"`              // split-1, split-2 or summary
	Topic     string          `json:"topic"`               // msg.topic as the example left it
	ValueType string          `json:"valueType,omitempty"` // summary only: type of msg.payload.value
}

// nrSummary is msg.payload of the "Latest values per car" node.
type nrSummary struct {
	VIN   string                     `json:"vin"`
	Field string                     `json:"field"`
	Value json.RawMessage            `json:"value"`
	Car   map[string]json.RawMessage `json:"car"`
}

func TestNodeREDExampleFlow(t *testing.T) {
	red := os.Getenv("T2M_NODERED")
	if red == "" {
		t.Skip("Node-RED not installed: run scripts/nodered-test.sh")
	}
	vins := []string{vin1, vin2}

	// a. Broker, fake Teslemetry with the sample, the bridge; wait until its
	// retained state has settled, so the expected values are the final ones.
	mq, tesla, bridgeSub := streamAndBroker(t, "teslemetry/#")
	cfgPath := writeFile(t, "config.yaml", bridgeConfig(tesla.URL(), mq.URL(), ""))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	for _, vin := range vins {
		bridgeSub.WaitFor("teslemetry/"+vin+"/availability", "online", 15*time.Second)
	}
	nrWaitQuiet(t, bridgeSub, time.Second, 15*time.Second)
	want := bridgeSub.Latest()
	for _, vin := range vins {
		for _, field := range nrFields {
			if _, ok := want[nrTopic(vin, field)]; !ok {
				t.Fatalf("the bridge published no %s; the sample should have it", nrTopic(vin, field))
			}
		}
	}

	// b. The flow: the example plus the two kinds of test-only changes.
	example := nrLoadFlow(t, nrExampleFlow)
	flow, probeIDs := nrTestFlow(t, example, mq.Port)

	// c. Node-RED running it, connected to the broker.
	nr, probes, startup := nrDeploy(t, red, mq, example, flow, probeIDs)

	// d. Retained values through the flow, for both cars.
	for _, vin := range vins {
		for _, field := range nrFields {
			topic, typ := nrTopic(vin, field), nrFieldTypes[field]
			source := "split-1"
			if field == "availability" {
				source = "split-2"
			}
			m := nrWaitProbe(t, probes, source, topic, 15*time.Second, nrExpect(vin, field, typ, want[topic]))
			t.Logf("%s: bridge published %s, the flow got %s", topic, want[topic], m.Payload)
		}
		nrWaitSummary(t, probes, vin, 15*time.Second, func(car map[string]json.RawMessage) error {
			for _, field := range nrValueFields {
				if err := nrSameValue(nrFieldTypes[field], car[field], want[nrTopic(vin, field)]); err != nil {
					return fmt.Errorf("car.%s: %w", field, err)
				}
			}
			return nil
		})
	}
	// The README's headline for the summary node: flow.get("cars")[VIN].BatteryLevel.
	cars := nrFlowContext(t, nr, nrFind(t, flow, "tab", "")["id"].(string), "cars")
	for _, vin := range vins {
		var car map[string]json.RawMessage
		if err := json.Unmarshal(cars[vin], &car); err != nil {
			t.Fatalf("flow context cars[%q] = %s: %v", vin, cars[vin], err)
		}
		for _, field := range nrValueFields {
			if err := nrSameValue(nrFieldTypes[field], car[field], want[nrTopic(vin, field)]); err != nil {
				t.Errorf("flow context cars[%q].%s: %v", vin, field, err)
			}
		}
	}

	first := probes.Messages()[0].At.Sub(nr.started)
	t.Logf("first value through the flow %v after Node-RED started", first.Round(time.Millisecond))

	// A live value: Teslemetry → bridge → mosquitto → Node-RED → probe.
	level := "42.5"
	if want[nrTopic(vin1, "BatteryLevel")] == level {
		level = "43.5" // only changes are published
	}
	sent := time.Now()
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":` + level + `}}`)
	m := nrWaitProbe(t, probes, "split-1", nrTopic(vin1, "BatteryLevel"), 5*time.Second, nrExpect(vin1, "BatteryLevel", "number", level))
	live := m.At.Sub(sent)
	t.Logf("live BatteryLevel %s through the flow %v after it was sent", level, live.Round(time.Millisecond))
	nrWaitSummary(t, probes, vin1, 5*time.Second, func(car map[string]json.RawMessage) error {
		return nrSameValue("number", car["BatteryLevel"], level)
	})

	// The README's null row: an invalid value and an enum …Unknown arrive as null.
	tesla.Send(`{"vin":"` + vin1 + `","data":{"Location":null}}`)
	tesla.Send(`{"vin":"` + vin2 + `","data":{"DetailedChargeState":"DetailedChargeStateUnknown"}}`)
	nrWaitProbe(t, probes, "split-1", nrTopic(vin1, "Location"), 5*time.Second, nrExpect(vin1, "Location", "null", "null"))
	nrWaitProbe(t, probes, "split-1", nrTopic(vin2, "DetailedChargeState"), 5*time.Second, nrExpect(vin2, "DetailedChargeState", "null", "null"))

	// SIGTERM: the bridge marks both cars offline; the flow sees it on output 2.
	if code, d := br.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: bridge exit %d after %v", code, d)
	}
	for _, vin := range vins {
		nrWaitProbe(t, probes, "split-2", nrTopic(vin, "availability"), 5*time.Second, nrExpect(vin, "availability", "string", "offline"))
	}

	// Nothing in the example may have raised an error along the way.
	for _, line := range strings.Split(nr.Log(), "\n") {
		switch {
		case strings.Contains(line, "[error]"):
			t.Errorf("Node-RED logged an error: %s", line)
		case strings.Contains(line, "[warn]"):
			t.Logf("Node-RED warning: %s", line)
		}
	}
	t.Logf("timings: Node-RED start %v, first value through the flow %v, live value latency %v",
		startup.Round(time.Millisecond), first.Round(time.Millisecond), live.Round(time.Millisecond))
}

// nrTopic is the bridge's topic for a field of the example (base topic teslemetry).
func nrTopic(vin, field string) string {
	if field == "availability" {
		return "teslemetry/" + vin + "/availability"
	}
	return "teslemetry/" + vin + "/v/" + field
}

// nrWaitQuiet waits until sub has received nothing for quiet: the bridge has
// finished replaying the sample snapshot.
func nrWaitQuiet(t *testing.T, sub *testkit.Subscriber, quiet, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	n, since := len(sub.Messages()), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if m := len(sub.Messages()); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
	t.Fatalf("the bridge kept publishing for %v (%d messages)", timeout, n)
}

// --- the flow ----------------------------------------------------------------------

type nrNode = map[string]any

func nrLoadFlow(t *testing.T, path string) []nrNode {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []nrNode
	if err := json.Unmarshal(data, &nodes); err != nil {
		t.Fatalf("%s is not a Node-RED flow export (a JSON array of nodes): %v", path, err)
	}
	return nodes
}

// nrClone deep-copies nodes, so the example stays the reference to compare with.
func nrClone(t *testing.T, nodes []nrNode) []nrNode {
	t.Helper()
	data, err := json.Marshal(nodes)
	if err != nil {
		t.Fatal(err)
	}
	var out []nrNode
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// nrFind returns the one node of typ (and name, when not empty).
func nrFind(t *testing.T, nodes []nrNode, typ, name string) nrNode {
	t.Helper()
	var found []nrNode
	for _, n := range nodes {
		if n["type"] == typ && (name == "" || n["name"] == name) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the example flow has %d %s nodes named %q, want 1: the test needs updating", len(found), typ, name)
	}
	return found[0]
}

// nrProbeAt names an output of one of the example's function nodes that a
// probe is wired after; source labels what the probe publishes.
type nrProbeAt struct {
	node   string // name of the function node
	output int
	source string
}

// nrTestFlow returns the example with its broker moved to 127.0.0.1:port and
// probes wired after both outputs of the split node and after the summary
// node, and the ids of the added nodes.
func nrTestFlow(t *testing.T, example []nrNode, port int) ([]nrNode, []string) {
	t.Helper()
	return nrWithProbes(t, example, port,
		nrProbeAt{nrSplitName, 0, "split-1"}, nrProbeAt{nrSplitName, 1, "split-2"}, nrProbeAt{nrLatestName, 0, "summary"})
}

// nrWithProbes returns the example with its broker moved to 127.0.0.1:port
// and a probe after each of at, all publishing through one added mqtt out
// node, and the ids of the added nodes.
func nrWithProbes(t *testing.T, example []nrNode, port int, at ...nrProbeAt) ([]nrNode, []string) {
	t.Helper()
	flow := nrClone(t, example)
	broker := nrFind(t, flow, "mqtt-broker", "")
	broker["broker"], broker["port"] = "127.0.0.1", fmt.Sprint(port)
	tab := nrFind(t, flow, "function", at[0].node)["z"].(string)

	out := nrNode{
		"id": "t2mtest0000out01", "type": "mqtt out", "z": tab, "name": "test probe out",
		"topic": "", "qos": "1", "retain": "false", "respTopic": "", "contentType": "",
		"userProps": "", "correl": "", "expiry": "", "broker": broker["id"],
		"x": 1400, "y": 200, "wires": []any{},
	}
	ids := []string{out["id"].(string)}
	for i, a := range at {
		from := nrFind(t, flow, "function", a.node)
		p := nrNode{
			"id": "t2mtest00probe0" + fmt.Sprint(len(ids)), "type": "function", "z": tab,
			"name": "test probe " + a.source, "func": nrProbeFunc(a.source), "outputs": 1,
			"timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": []any{},
			"x": 1180, "y": 100 + 60*i, "wires": []any{[]any{out["id"]}},
		}
		wires := from["wires"].([]any)
		if a.output >= len(wires) {
			t.Fatalf("node %q has %d outputs, the test wires output %d", a.node, len(wires), a.output+1)
		}
		wires[a.output] = append(wires[a.output].([]any), p["id"])
		flow = append(flow, p)
		ids = append(ids, p["id"].(string))
	}
	flow = append(flow, out)
	return flow, ids
}

// nrProbeFunc is the code of a probe function node: it describes msg as a
// flow author sees it and publishes that to nrtest/<source>/<msg.topic>. It
// builds a new msg, so the mqtt in node's msg.retain/qos are not carried over
// to the probe's publish.
func nrProbeFunc(source string) string {
	return `// Test probe added by e2e/nodered_test.go: what did the example produce?
const SOURCE = "` + source + `";
function kind(v) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (Buffer.isBuffer(v)) return "buffer";
    return typeof v;
}
const out = { type: kind(msg.payload), payload: msg.payload, vin: msg.vin, field: msg.field, source: SOURCE, topic: msg.topic };
if (SOURCE === "summary" && msg.payload !== null && typeof msg.payload === "object") {
    out.valueType = kind(msg.payload.value);
}
return { topic: "` + nrProbeTopic + `/" + SOURCE + "/" + msg.topic, payload: JSON.stringify(out) };
`
}

// nrAssertOnlyTestChanges checks the test's own edit: every node of the
// example is still there, with the same type and properties, except the
// broker's address and the probe ids appended to wires; nothing else added.
func nrAssertOnlyTestChanges(t *testing.T, example, flow []nrNode, probeIDs []string) {
	t.Helper()
	isProbe := map[string]bool{}
	for _, id := range probeIDs {
		isProbe[id] = true
	}
	byID := map[string]nrNode{}
	for _, n := range nrClone(t, flow) {
		byID[n["id"].(string)] = n
	}
	if len(flow) != len(example)+len(probeIDs) {
		t.Fatalf("test flow has %d nodes, want the example's %d + %d probes", len(flow), len(example), len(probeIDs))
	}
	for _, orig := range example {
		id := orig["id"].(string)
		got, ok := byID[id]
		if !ok {
			t.Fatalf("node %s (%s) of the example is missing from the test flow", id, orig["type"])
		}
		if got["type"] == "mqtt-broker" {
			got["broker"], got["port"] = orig["broker"], orig["port"]
		}
		if wires, ok := got["wires"].([]any); ok {
			for i, w := range wires {
				kept := []any{}
				for _, target := range w.([]any) {
					if !isProbe[target.(string)] {
						kept = append(kept, target)
					}
				}
				wires[i] = kept
			}
		}
		if !reflect.DeepEqual(got, orig) {
			t.Fatalf("the test changed node %s (%s) beyond broker address and probe wires:\n got  %v\n want %v", id, orig["type"], got, orig)
		}
		delete(byID, id)
	}
	for id := range byID {
		if !isProbe[id] {
			t.Fatalf("unexpected node %s in the test flow", id)
		}
	}
}

// --- Node-RED ----------------------------------------------------------------------

// nrDeploy checks that flow is example plus test-only changes, runs it in
// Node-RED (red) and waits until it is deployed and connected to mq. The
// probes' output is subscribed to before Node-RED starts (they publish
// without retain). It answers how long Node-RED took to be ready.
func nrDeploy(t *testing.T, red string, mq *Mosquitto, example, flow []nrNode, probeIDs []string) (*nrProcess, *testkit.Subscriber, time.Duration) {
	t.Helper()
	nrAssertOnlyTestChanges(t, example, flow, probeIDs)
	userDir := t.TempDir()
	port := freePort(t)
	settings := nrWriteUserDir(t, userDir, port, flow)
	probes := testkit.Subscribe(t, mq.URL(), nrProbeTopic+"/#")
	nr := nrStart(t, red, userDir, settings, port)
	startup := nr.waitReady(60 * time.Second)
	t.Logf("Node-RED ready (admin API 200 and \"Started flows\") %v after start", startup.Round(time.Millisecond))
	nrAssertDeployed(t, nr, flow)
	nr.waitLog("Connected to broker", 15*time.Second)
	return nr, probes, startup
}

// nrWriteUserDir writes settings.js and flows.json into dir and returns the
// settings path. No credential secret (the example has no credentials, and
// Node-RED would otherwise generate and warn about one); telemetry and the
// editor tour off, so nothing reaches out or waits for a human.
func nrWriteUserDir(t *testing.T, dir string, port int, flow []nrNode) string {
	t.Helper()
	data, err := json.MarshalIndent(flow, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	settings := fmt.Sprintf(`// Written by e2e/nodered_test.go.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: %d,
    flowFile: "flows.json",
    credentialSecret: false,
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
};
`, port)
	path := filepath.Join(dir, "settings.js")
	if err := os.WriteFile(path, []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nrProcess is a running Node-RED.
type nrProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	port    int
	started time.Time
	mu      sync.Mutex
	out     bytes.Buffer
	done    chan struct{}
}

// nrStart runs Node-RED (red.js under node, or an executable such as
// node_modules/.bin/node-red); it is stopped with the test, and its log is
// printed when the test failed.
func nrStart(t *testing.T, red, userDir, settings string, port int) *nrProcess {
	t.Helper()
	args := []string{"--userDir", userDir, "--settings", settings}
	cmd := exec.Command(red, args...)
	if strings.HasSuffix(red, ".js") {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Fatalf("T2M_NODERED=%s needs node on PATH: %v", red, err)
		}
		cmd = exec.Command(node, append([]string{red}, args...)...)
	}
	n := &nrProcess{t: t, cmd: cmd, port: port, done: make(chan struct{})}
	w := syncWriter{&n.mu, &n.out}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Dir = userDir
	n.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("Node-RED log:\n%s", n.Log())
		}
	})
	return n
}

// Log returns everything Node-RED printed so far.
func (n *nrProcess) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.String()
}

func (n *nrProcess) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// stop asks Node-RED to stop its flows and exit (SIGINT, as Ctrl-C), and
// kills it if it has not within 10 s.
func (n *nrProcess) stop() {
	if n.exited() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// nrMissingTypes matches Node-RED's complaints about node types it has no
// implementation for: the flow would not be importable as shipped.
var nrMissingTypes = regexp.MustCompile(`(?i)missing types|unknown type|Error loading flows`)

// waitReady waits until the admin API answers GET /flows with 200 and the
// log says the flows started; it returns how long that took.
func (n *nrProcess) waitReady(timeout time.Duration) time.Duration {
	n.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/flows", n.port)
	deadline := time.Now().Add(timeout)
	apiOK := false
	for time.Now().Before(deadline) {
		if n.exited() {
			n.t.Fatal("Node-RED exited during start-up (its log follows)")
		}
		log := n.Log()
		if nrMissingTypes.MatchString(log) {
			n.t.Fatal("Node-RED cannot load every node type of the example flow (its log follows)")
		}
		if !apiOK {
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
				apiOK = resp.StatusCode == http.StatusOK
			}
		}
		if apiOK && strings.Contains(log, "Started flows") {
			return time.Since(n.started)
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatalf("Node-RED not ready after %v (admin API 200: %v, \"Started flows\" logged: %v; its log follows)",
		timeout, apiOK, strings.Contains(n.Log(), "Started flows"))
	return 0
}

// waitLog waits until Node-RED has logged s.
func (n *nrProcess) waitLog(s string, timeout time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(n.Log(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("Node-RED did not log %q within %v (its log follows)", s, timeout)
}

// nrAssertDeployed checks through the admin API that Node-RED runs every
// node of the test flow (the example's and the probes), each with its type.
func nrAssertDeployed(t *testing.T, n *nrProcess, flow []nrNode) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/flows", n.port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var deployed []nrNode // API v1 (the default): the bare array of nodes
	if err := json.NewDecoder(resp.Body).Decode(&deployed); err != nil {
		t.Fatalf("GET /flows: %v", err)
	}
	types := map[any]any{}
	for _, d := range deployed {
		types[d["id"]] = d["type"]
	}
	for _, want := range flow {
		if got, ok := types[want["id"]]; !ok || got != want["type"] {
			t.Errorf("deployed flow: node %v is %v (present %v), want %v", want["id"], got, ok, want["type"])
		}
	}
	if len(deployed) != len(flow) {
		t.Errorf("deployed flow has %d nodes, the flows file %d", len(deployed), len(flow))
	}
}

// nrFlowContext returns key of the flow context of tab, read through the
// admin API, as a JSON object (one entry per property). The API encodes the
// value as {"msg": "<JSON text>", "format": "Object"}.
func nrFlowContext(t *testing.T, n *nrProcess, tab, key string) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/context/flow/%s/%s", n.port, tab, key))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var encoded struct {
		Msg    string `json:"msg"`
		Format string `json:"format"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&encoded); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET flow context %s: status %d, %v", key, resp.StatusCode, err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(encoded.Msg), &v); err != nil {
		t.Fatalf("flow context %s is a %s, not an object: %s", key, encoded.Format, encoded.Msg)
	}
	return v
}

// --- what the probes saw -----------------------------------------------------------

// nrExpect checks a split probe's message for topic of vin: msg.vin and
// msg.field split out of the topic, typeof msg.payload as documented, and the
// value the bridge published (raw MQTT payload bridgeRaw).
func nrExpect(vin, field, typ, bridgeRaw string) func(nrProbe) error {
	return func(p nrProbe) error {
		if p.VIN != vin || p.Field != field {
			return fmt.Errorf("msg.vin %q, msg.field %q; want %q, %q", p.VIN, p.Field, vin, field)
		}
		if p.Topic != nrTopic(vin, field) {
			return fmt.Errorf("msg.topic %q, want %q", p.Topic, nrTopic(vin, field))
		}
		if p.Type != typ {
			return fmt.Errorf("typeof msg.payload is %s (%s), want %s", p.Type, p.Payload, typ)
		}
		if err := nrSameValue(typ, p.Payload, bridgeRaw); err != nil {
			return err
		}
		switch field {
		case "DetailedChargeState":
			if strings.HasPrefix(string(p.Payload), `"DetailedChargeState`) {
				return fmt.Errorf("msg.payload %s still has Tesla's type prefix", p.Payload)
			}
		case "Location":
			if typ == "object" {
				var loc map[string]any
				_ = json.Unmarshal(p.Payload, &loc)
				_, latOK := loc["latitude"].(float64)
				_, lonOK := loc["longitude"].(float64)
				if !latOK || !lonOK || len(loc) != 2 {
					return fmt.Errorf("msg.payload %s, want {latitude: number, longitude: number}", p.Payload)
				}
			}
		}
		return nil
	}
}

// nrSameValue compares a JavaScript value (as JSON) with the bridge's raw
// MQTT payload: a string payload is the raw text itself, anything else is
// the raw text parsed as JSON (what auto-detect does).
func nrSameValue(typ string, js json.RawMessage, bridgeRaw string) error {
	var got, want any
	if err := json.Unmarshal(js, &got); err != nil && len(js) > 0 {
		return fmt.Errorf("value %s: %v", js, err)
	}
	if typ == "string" {
		want = bridgeRaw
	} else if err := json.Unmarshal([]byte(bridgeRaw), &want); err != nil {
		return fmt.Errorf("bridge payload %q is not JSON: %v", bridgeRaw, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("value %s, want %q as the bridge published it", js, bridgeRaw)
	}
	return nil
}

// nrLatest returns the newest probe message on nrtest/<source>/<topic>.
func nrLatest(sub *testkit.Subscriber, source, topic string) (testkit.Message, bool) {
	all := sub.Messages()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Topic == nrProbeTopic+"/"+source+"/"+topic {
			return all[i], true
		}
	}
	return testkit.Message{}, false
}

// nrWaitProbe waits until the newest probe message from source about topic
// satisfies check, and returns it; on timeout it fails with check's last
// complaint.
func nrWaitProbe(t *testing.T, sub *testkit.Subscriber, source, topic string, timeout time.Duration, check func(nrProbe) error) testkit.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	why := "nothing arrived"
	for time.Now().Before(deadline) {
		if m, ok := nrLatest(sub, source, topic); ok {
			var p nrProbe
			err := json.Unmarshal([]byte(m.Payload), &p)
			if err == nil && p.Source != source {
				err = fmt.Errorf("probe source %q", p.Source)
			}
			if err == nil {
				err = check(p)
			}
			if err == nil {
				return m
			}
			why = fmt.Sprintf("%v (probe message %s)", err, m.Payload)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Node-RED, %s output for %s after %v: %s", source, topic, timeout, why)
	return testkit.Message{}
}

// nrWaitSummary waits until the newest output of the summary node for vin
// carries msg.vin/msg.field consistent with its payload and a car that
// satisfies check.
func nrWaitSummary(t *testing.T, sub *testkit.Subscriber, vin string, timeout time.Duration, check func(car map[string]json.RawMessage) error) {
	t.Helper()
	prefix := nrProbeTopic + "/summary/teslemetry/" + vin + "/"
	deadline := time.Now().Add(timeout)
	why := "nothing arrived"
	for time.Now().Before(deadline) {
		all := sub.Messages()
		for i := len(all) - 1; i >= 0; i-- {
			if !strings.HasPrefix(all[i].Topic, prefix) {
				continue
			}
			var p nrProbe
			var s nrSummary
			err := json.Unmarshal([]byte(all[i].Payload), &p)
			if err == nil {
				err = json.Unmarshal(p.Payload, &s)
			}
			switch {
			case err != nil:
			case p.Type != "object" || s.VIN != vin || p.VIN != vin || s.Field != p.Field:
				err = fmt.Errorf("msg.payload is a %s with vin %q field %q (msg.vin %q, msg.field %q)", p.Type, s.VIN, s.Field, p.VIN, p.Field)
			case p.ValueType != nrFieldTypes[s.Field]:
				err = fmt.Errorf("typeof msg.payload.value is %s (%s), want %s", p.ValueType, s.Value, nrFieldTypes[s.Field])
			case !reflect.DeepEqual(nrDecode(s.Value), nrDecode(s.Car[s.Field])):
				err = fmt.Errorf("value %s is not car.%s %s", s.Value, s.Field, s.Car[s.Field])
			default:
				err = check(s.Car)
			}
			if err == nil {
				return
			}
			why = fmt.Sprintf("%v (probe message %s)", err, all[i].Payload)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Node-RED, summary for %s after %v: %s", vin, timeout, why)
}

func nrDecode(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}
