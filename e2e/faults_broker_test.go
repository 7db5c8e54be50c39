package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Brokers that refuse a message or drop a connection soon after accepting it
// (docs/failures.md, "MQTT broker faults"), end to end against mosquitto.

// bigVehicleData is a vehicle_data event whose payload is about 4 KB: more
// than a mosquitto with max_packet_size 1500 accepts.
func bigVehicleData() string {
	return fmt.Sprintf(`{"vin":%q,"vehicle_data":{"blob":%q}}`, vin1, strings.Repeat("x", 4096))
}

// A message the broker refuses (mosquitto closes the connection on a packet
// above max_packet_size) is found and set aside; everything else flows again
// and the connection stays up.
func TestFaultBrokerRefusesOneMessage(t *testing.T) {
	mq := StartMosquitto(t, "max_packet_size 1500\n")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen})
	sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
	sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)

	sent := time.Now()
	tesla.Send(bigVehicleData())
	br.waitLog(60*time.Second, "set aside", "vehicle_data")
	setAside := time.Since(sent)
	// A new value sent now must arrive, and keep arriving.
	for i, v := range []string{"41", "42"} {
		tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":` + v + `}}`)
		sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", v, 20*time.Second)
		if i == 0 {
			t.Logf("refused 4 KB message: set aside %v after it was sent, values flowing again %v after it was sent (%d connects)",
				setAside.Round(100*time.Millisecond), time.Since(sent).Round(100*time.Millisecond), br.lines("MQTT connected"))
		}
	}
	if d := time.Since(sent); d > 20*time.Second {
		t.Errorf("values flowing again only %v after the refused message, want ≤ 20 s", d)
	}
	lost := br.lines("MQTT connection lost")
	time.Sleep(5 * time.Second) // the absence of reconnects is the thing measured
	if n := br.lines("MQTT connection lost"); n != lost {
		t.Errorf("connection still dropping after the message was set aside: %d → %d losses in 5 s", lost, n)
	}
	if v, ok := sub.Get("teslemetry/bridge/state"); !ok || v != "online" {
		t.Errorf("bridge/state = %q, want online", v)
	}
	m := scrape(t, listen)
	if m["teslemetry2mqtt_mqtt_messages_set_aside_total"] < 1 {
		t.Errorf("teslemetry2mqtt_mqtt_messages_set_aside_total = %v, want ≥ 1", m["teslemetry2mqtt_mqtt_messages_set_aside_total"])
	}
	if br.lines("level=error", "set aside", "teslemetry/"+vin1+"/vehicle_data", "bytes=") != 1 {
		t.Errorf("want one error line naming the topic and size")
	}
	// A later value of the topic as large is set aside without a reconnect.
	tesla.Send(bigVehicleData())
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":43}}`)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "43", 5*time.Second)
	if n := br.lines("MQTT connection lost"); n != lost {
		t.Errorf("a second large vehicle_data dropped the connection again")
	}
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}

// mqtt.max_payload: larger payloads are skipped and counted, never sent.
func TestFaultMaxPayloadSkipsLargePayloads(t *testing.T) {
	mq := StartMosquitto(t, "max_packet_size 1500\n")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen, MQTTExtra: "  max_payload: 1200\n"})
	sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
	tesla.Send(bigVehicleData())
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":44}}`)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "44", 5*time.Second)
	waitUntil(t, "the skip counted", 5*time.Second, func() bool {
		return scrape(t, listen)["teslemetry2mqtt_mqtt_payload_too_large_total"] >= 1
	})
	if n := br.lines("MQTT connection lost"); n != 0 {
		t.Errorf("%d connection losses: the large payload was sent", n)
	}
	if br.lines("level=warning", "max_payload", "teslemetry/"+vin1+"/vehicle_data", "bytes=4") != 1 {
		t.Error("want one warning naming the topic and size")
	}
}

// Two bridges with the same client id take the connection from each other;
// each reconnect now waits longer (1 s doubling to 30 s), and the log names
// the likely cause.
func TestFaultSharedClientIDBacksOff(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	a := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), ClientID: "same-id"})
	b := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), ClientID: "same-id"})
	start := time.Now()
	sleepUntil(start.Add(15 * time.Second)) // the number of connects in 15 s is the thing measured
	n := a.lines("MQTT connected") + b.lines("MQTT connected")
	t.Logf("two bridges with one client id: %d connects in 15 s", n)
	if n > 12 {
		t.Errorf("%d connects in 15 s, want ≤ 12 (backoff after connections that die soon)", n)
	}
	if a.lines("soon after connecting", "same client id")+b.lines("soon after connecting", "same client id") == 0 {
		t.Error("no log line naming the likely cause")
	}
}

// Without mqtt.client_id, two bridges with two base topics get two client
// ids and both stay connected; check-config shows the effective id.
func TestDefaultClientIDPerBaseTopic(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	idLine := regexp.MustCompile(`(?m)^\s*client_id: (teslemetry2mqtt-[0-9a-f]{8})$`)
	var ids []string
	var procs []*proc
	for _, base := range []string{"teslemetry", "car2"} {
		yaml := cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), ClientID: "REMOVE"}.yaml()
		yaml = strings.Replace(yaml, "  client_id: REMOVE\n", "  base_topic: "+base+"\n", 1)
		path := writeFile(t, "config.yaml", yaml)
		check := exec.Command(binary, "check-config", "--config", path)
		check.Env = append(check.Environ(), "T2M_TEST_TOKEN="+token)
		out, err := check.CombinedOutput()
		m := idLine.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("check-config: %v\n%s", err, out)
		}
		ids = append(ids, m[1])
		p := &proc{Bridge: StartBridge(t, []string{"T2M_TEST_TOKEN=" + token, "GORACE=atexit_sleep_ms=0"}, "run", "--config", path)}
		procs = append(procs, p)
	}
	if ids[0] == ids[1] {
		t.Fatalf("both base topics got client id %s", ids[0])
	}
	sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
	sub.WaitFor("car2/bridge/state", "online", 15*time.Second)
	time.Sleep(3 * time.Second) // the absence of takeovers is the thing measured
	for i, p := range procs {
		if n := p.lines("MQTT connected"); n != 1 || p.lines("connection lost") != 0 {
			t.Errorf("bridge %d (%s): %d connects, %d losses; want 1 and 0", i, ids[i], n, p.lines("connection lost"))
		}
	}
}
