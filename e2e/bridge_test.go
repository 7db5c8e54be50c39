package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	vin1     = "5YJ3E7EB9NF123456"
	vin2     = "7SAYGDEE1PA098765"
	token    = "tok-e2e-SECRET-9f8e7d"
	password = "pw-e2e-SECRET-1a2b3c"
)

// sample returns the events of the reference transcript.
func sample(t testing.TB) []string { return testkit.SampleEvents(t) }

func bridgeConfig(teslaURL, brokerURL, extra string) string {
	return fmt.Sprintf(`teslemetry:
  token: ${T2M_TEST_TOKEN}
  url: %s
  idle_timeout: 2s
  offline_after: 1s
mqtt:
  url: %s
  username: user
  password: %s
  client_id: t2m-e2e
%s`, teslaURL, brokerURL, password, extra)
}

// TestEndToEnd drives the built binary through a mosquitto process: sample
// stream → retained topics, stream outage → availability offline and back,
// broker restart without persistence → everything republished, SIGTERM →
// offline states and exit 0 within 5 s; secrets never printed or published.
func TestEndToEnd(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	cfgPath := writeFile(t, "config.yaml", bridgeConfig(tesla.URL(), mq.URL(), ""))
	br := StartBridge(t, []string{"T2M_TEST_TOKEN=" + token}, "run", "--config", cfgPath)
	sub := testkit.Subscribe(t, mq.URL(), "#")

	avail := "teslemetry/" + vin1 + "/availability"
	sub.WaitFor("teslemetry/bridge/state", "online", 10*time.Second)
	sub.WaitFor(avail, "online", 10*time.Second)
	sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 10*time.Second)
	sub.WaitFor("teslemetry/"+vin2+"/v/DetailedChargeState", "Charging", 10*time.Second)
	sub.WaitUntil("discovery for BatteryLevel", 10*time.Second, func(l map[string]string) bool {
		return strings.Contains(l["homeassistant/sensor/teslemetry_"+vin1+"/BatteryLevel/config"], `"unique_id":"teslemetry_`+vin1+`_BatteryLevel"`)
	})

	// Stream outage: the server refuses and drops the stream → offline after offline_after, then online again.
	tesla.SetStatus(503)
	tesla.DropAll()
	took := sub.WaitFor(avail, "offline", 10*time.Second)
	t.Logf("availability offline %v after the stream dropped (offline_after 1s)", took)
	if took < 800*time.Millisecond {
		t.Errorf("offline after %v, before offline_after", took)
	}
	tesla.SetStatus(0)
	took = sub.WaitFor(avail, "online", 15*time.Second)
	t.Logf("availability online again %v after the server recovered", took)

	// A live value while connected.
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":55.5}}`)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "55.5", 5*time.Second)

	// Broker killed (retained store lost), values arrive meanwhile, broker back.
	mq.Kill()
	time.Sleep(300 * time.Millisecond)
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":56}}`)
	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":57}}`)
	time.Sleep(300 * time.Millisecond)
	mq.Start()
	restarted := time.Now()
	sub2 := testkit.Subscribe(t, mq.URL(), "#")
	sub2.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
	sub2.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "57", 15*time.Second)
	sub2.WaitFor(avail, "online", 15*time.Second)
	sub2.WaitFor("teslemetry/"+vin2+"/v/Odometer", "9521.442", 15*time.Second)
	sub2.WaitUntil("discovery republished", 15*time.Second, func(l map[string]string) bool {
		_, ok := l["homeassistant/sensor/teslemetry_"+vin1+"/BatteryLevel/config"]
		return ok
	})
	t.Logf("retained state healed %v after the broker restart", time.Since(restarted))

	code, d := br.Stop(syscall.SIGTERM)
	if code != 0 || d > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 5 s", code, d)
	}
	sub2.WaitFor("teslemetry/bridge/state", "offline", 3*time.Second)
	sub2.WaitFor(avail, "offline", 3*time.Second)

	out := br.Output()
	for _, secret := range []string{token, password} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed in the log", secret)
		}
		for topic, payload := range sub2.Latest() {
			if strings.Contains(topic+payload, secret) {
				t.Errorf("secret on topic %s", topic)
			}
		}
	}
}

func TestCheckConfigExitCodes(t *testing.T) {
	good := writeFile(t, "good.yaml", bridgeConfig("https://api.teslemetry.com", "tcp://127.0.0.1:1", ""))
	cmd := exec.Command(binary, "check-config", "--config", good)
	cmd.Env = append(os.Environ(), "T2M_TEST_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), password) || strings.Contains(string(out), token) || !strings.Contains(string(out), "<redacted>") {
		t.Errorf("valid config: %v\n%s", err, out)
	}
	bad := writeFile(t, "bad.yaml", "teslemetry:\n  token: x\nmqtt:\n  qos: 7\n  bogus: 1\n")
	cmd = exec.Command(binary, "check-config", "--config", bad)
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "mqtt.bogus") || !strings.Contains(string(out), "line 5") {
		t.Errorf("invalid config: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	cmd = exec.Command(binary, "run", "--config", bad)
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("run with invalid config: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	out, err = exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "teslemetry2mqtt") || !strings.Contains(string(out), "go1.") {
		t.Errorf("version: %v %s", err, out)
	}
}
