package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// instanceConfig is the configuration of one of two bridges on one broker:
// its own base topic and client id, discovery under the shared prefix.
func instanceConfig(teslaURL, brokerURL, base, extra string) string {
	return fmt.Sprintf(`teslemetry:
  token: ${T2M_TEST_TOKEN}
  url: %s
  idle_timeout: 2s
  offline_after: 1s
mqtt:
  url: %s
  username: user
  password: %s
  client_id: t2m-%s
  base_topic: %s
%s`, teslaURL, brokerURL, password, base, base, extra)
}

// owner tells which instance a retained topic belongs to: "A" (base topic
// teslemetry), "B" (teslemetry_garage) or "" (neither).
func owner(topic string) string {
	switch {
	case strings.HasPrefix(topic, "teslemetry/"):
		return "A"
	case strings.HasPrefix(topic, "teslemetry_garage/"):
		return "B"
	case strings.HasPrefix(topic, "homeassistant/"):
		parts := strings.Split(topic, "/")
		if len(parts) != 5 {
			return ""
		}
		node := parts[2]
		switch {
		case strings.HasPrefix(node, "teslemetry_garage_"):
			return "B"
		case strings.HasPrefix(node, "teslemetry_"):
			return "A"
		}
	}
	return ""
}

func byOwner(latest map[string]string, who string) map[string]string {
	out := map[string]string{}
	for t, p := range latest {
		if owner(t) == who {
			out[t] = p
		}
	}
	return out
}

// Two instances on one broker, base topics teslemetry and
// teslemetry_garage, both with discovery. Purging the first deletes all of
// its retained topics and configs and none of the second's, although the
// second's node ids (teslemetry_garage_<VIN>) start with the first's
// (teslemetry_).
func TestPurgeTwoInstancesOnOneBroker(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	env := []string{"T2M_TEST_TOKEN=" + token}
	cfgA := writeFile(t, "a.yaml", instanceConfig(tesla.URL(), mq.URL(), "teslemetry", ""))
	cfgB := writeFile(t, "b.yaml", instanceConfig(tesla.URL(), mq.URL(), "teslemetry_garage", ""))
	a := StartBridge(t, env, "run", "--config", cfgA)
	b := StartBridge(t, env, "run", "--config", cfgB)

	for _, base := range []string{"teslemetry", "teslemetry_garage"} {
		sub.WaitFor(base+"/"+vin1+"/v/Gear", "P", 15*time.Second)
		sub.WaitFor(base+"/"+vin2+"/v/DetailedChargeState", "Charging", 15*time.Second)
		cfg := "homeassistant/sensor/" + base + "_" + vin1 + "/BatteryLevel/config"
		bridgeCfg := "homeassistant/binary_sensor/" + base + "_bridge/connection_state/config"
		sub.WaitUntil(base+" discovery", 15*time.Second, func(l map[string]string) bool {
			return l[cfg] != "" && l[bridgeCfg] != ""
		})
	}
	for _, br := range []*Bridge{a, b} {
		if code, _ := br.Stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("bridge exit %d", code)
		}
	}
	sub.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)
	sub.WaitFor("teslemetry_garage/bridge/state", "offline", 5*time.Second)

	// What is retained now: both instances' topics and configs.
	before := testkit.Subscribe(t, mq.URL(), "#")
	want, nA := byOwner(sub.Latest(), "B"), len(byOwner(sub.Latest(), "A"))
	before.WaitUntil("both instances retained", 10*time.Second, func(l map[string]string) bool {
		return len(byOwner(l, "B")) == len(want) && len(byOwner(l, "A")) == nA
	})
	if len(want) < 50 || nA < 50 {
		t.Fatalf("only %d topics of A and %d of B retained before the purge", nA, len(want))
	}

	purge := exec.Command(binary, "purge", "--config", cfgA, "--wait", "1500ms")
	purge.Env = append(os.Environ(), env...)
	out, err := purge.CombinedOutput()
	if err != nil {
		t.Fatalf("purge: %v\n%s", err, out)
	}
	t.Logf("purge of A: %s", strings.TrimSpace(string(out)))
	if !strings.Contains(string(out), fmt.Sprintf("purged %d retained topic(s)", nA)) {
		t.Errorf("purge reported %q, want %d topics (A's)", strings.TrimSpace(string(out)), nA)
	}

	after := testkit.Subscribe(t, mq.URL(), "#")
	after.WaitUntil("B's topics retained", 10*time.Second, func(l map[string]string) bool {
		return len(byOwner(l, "B")) == len(want)
	})
	time.Sleep(500 * time.Millisecond) // the rest of the retained burst, if any
	latest := after.Latest()
	for topic := range byOwner(latest, "A") {
		t.Errorf("A's %s is still retained after purging A", topic)
	}
	for topic, payload := range want {
		if latest[topic] != payload {
			t.Errorf("B's %s = %q after purging A, want %q", topic, latest[topic], payload)
		}
	}
}

// The stale discovery cleanup of one instance never touches the configs of
// another whose base topic starts with its own: a config on
// teslemetry_garage's node that the teslemetry instance would call stale if
// it were its own stays.
func TestCleanupLeavesTheOtherInstance(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)

	// A config the garage instance (not running) published in an older
	// version, on its own node: an object this version never publishes.
	foreign := "homeassistant/sensor/teslemetry_garage_" + vin1 + "/OldEntity_gone/config"
	stale := map[string]any{
		"name": "Old", "unique_id": "teslemetry_garage_" + vin1 + "_OldEntity_gone",
		"state_topic": "teslemetry_garage/" + vin1 + "/v/OldEntity_gone",
		"device":      map[string]any{"identifiers": []string{"teslemetry_garage_" + vin1}, "name": "Car", "manufacturer": "Tesla"},
		"origin":      map[string]any{"name": "teslemetry2mqtt", "sw_version": "0.1.0", "support_url": "https://example.invalid"},
	}
	payload, _ := json.Marshal(stale)
	// And one of its own that this instance must remove (proof that a pass ran).
	own := "homeassistant/sensor/teslemetry_" + vin1 + "/OldEntity_gone/config"
	stale["unique_id"], stale["state_topic"] = "teslemetry_"+vin1+"_OldEntity_gone", "teslemetry/"+vin1+"/v/OldEntity_gone"
	stale["device"] = map[string]any{"identifiers": []string{"teslemetry_" + vin1}, "name": "Car", "manufacturer": "Tesla"}
	ownPayload, _ := json.Marshal(stale)
	seed := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL()).SetClientID("seed"))
	if tok := seed.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("seed connect: %v", tok.Error())
	}
	for topic, p := range map[string][]byte{foreign: payload, own: ownPayload} {
		if tok := seed.Publish(topic, 1, true, p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("seed publish: %v", tok.Error())
		}
	}
	seed.Disconnect(50)

	sub := testkit.Subscribe(t, mq.URL(), "#")
	cfg := writeFile(t, "a.yaml", instanceConfig(tesla.URL(), mq.URL(), "teslemetry", ""))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfg)
	sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
	sub.WaitUntil("own stale config removed", 15*time.Second, func(l map[string]string) bool {
		_, there := l[own]
		return !there
	})
	if code, _ := br.Stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("bridge exit %d", code)
	}
	check := testkit.Subscribe(t, mq.URL(), foreign)
	check.WaitFor(foreign, string(payload), 5*time.Second)
	for _, m := range sub.Messages() {
		if m.Topic == foreign && m.Payload == "" {
			t.Errorf("the teslemetry instance deleted %s", foreign)
		}
	}
}
