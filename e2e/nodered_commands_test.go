package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The Node-RED commands example is a valid flow: every wire and broker
// reference resolves, the command goes out on set/charge_limit without
// retain, and the result is read from command_result as JSON.
func TestNodeRedCommandsFlowIsValid(t *testing.T) {
	data, err := os.ReadFile("../examples/node-red/commands.json")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []map[string]any
	if err := json.Unmarshal(data, &nodes); err != nil {
		t.Fatalf("commands.json is not a flow: %v", err)
	}
	byID := map[string]map[string]any{}
	for _, n := range nodes {
		id, _ := n["id"].(string)
		if id == "" || byID[id] != nil {
			t.Fatalf("node without id or duplicate id %q", id)
		}
		byID[id] = n
	}
	var out, in, fn map[string]any
	for _, n := range nodes {
		if z, ok := n["z"].(string); ok && byID[z] == nil {
			t.Errorf("node %v on a missing tab %s", n["id"], z)
		}
		if b, ok := n["broker"].(string); ok && n["type"] != "mqtt-broker" && (byID[b] == nil || byID[b]["type"] != "mqtt-broker") {
			t.Errorf("node %v uses a missing broker %s", n["id"], b)
		}
		wires, _ := n["wires"].([]any)
		for _, port := range wires {
			for _, w := range port.([]any) {
				if byID[w.(string)] == nil {
					t.Errorf("node %v wired to a missing node %v", n["id"], w)
				}
			}
		}
		switch n["type"] {
		case "mqtt out":
			out = n
		case "mqtt in":
			in = n
		case "function":
			if strings.Contains(n["func"].(string), "/set/charge_limit") {
				fn = n
			}
		}
	}
	if out == nil || out["retain"] != "false" {
		t.Errorf("mqtt out node %v: commands must not be retained", out)
	}
	if fn == nil || !strings.Contains(fn["func"].(string), "msg.retain = false") {
		t.Errorf("no function node building set/charge_limit without retain")
	}
	if in == nil || in["topic"] != "teslemetry/+/command_result" || in["datatype"] != "json" {
		t.Errorf("mqtt in node %v", in)
	}
	// The original example flow stays valid JSON.
	if data, err := os.ReadFile("../examples/node-red/flow.json"); err != nil || !json.Valid(data) {
		t.Errorf("flow.json: %v", err)
	}
}
