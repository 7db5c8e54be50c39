package e2e

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// SIGHUP reloads the configuration (docs/failures.md "Signals"): a valid new
// file stops the running bridge cleanly (offline states) and starts a new one
// in the same process; an invalid one is logged with its key and changes
// nothing. The process never dies of SIGHUP.
func TestSignalHangupReloadsConfig(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 41))
	sub := testkit.Subscribe(t, mq.URL(), "#")
	o := cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()}
	path := writeFile(t, "config.yaml", o.yaml())
	env := []string{"T2M_TEST_TOKEN=" + token, "GORACE=atexit_sleep_ms=0"}
	br := &proc{Bridge: StartBridge(t, env, "run", "--config", path)}
	sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 15*time.Second)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "41", 5*time.Second)

	// Invalid: the error names the key; the bridge keeps running unchanged.
	bad := o
	bad.MQTTExtra = "  qos: 7\n"
	if err := os.WriteFile(path, []byte(bad.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = br.cmd.Process.Signal(syscall.SIGHUP)
	br.waitLog(10*time.Second, "level=error", "mqtt.qos")
	if !br.alive() {
		t.Fatal("the bridge exited after SIGHUP with an invalid configuration")
	}
	if v, _ := sub.Get("teslemetry/bridge/state"); v != "online" {
		t.Errorf("bridge/state %q after an invalid reload, want online", v)
	}
	tesla.Send(batteryEvent(vin1, 42))
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "42", 5*time.Second)

	// Valid: the old bridge says offline, the new one (new base topic) comes up.
	good := o
	good.MQTTExtra = "  base_topic: reloaded\n"
	if err := os.WriteFile(path, []byte(good.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	tesla.SetSnapshot(batteryEvent(vin1, 43))
	start := time.Now()
	_ = br.cmd.Process.Signal(syscall.SIGHUP)
	sub.WaitFor("teslemetry/"+vin1+"/availability", "offline", 10*time.Second)
	sub.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)
	sub.WaitFor("reloaded/bridge/state", "online", 10*time.Second)
	sub.WaitFor("reloaded/"+vin1+"/v/BatteryLevel", "43", 10*time.Second)
	t.Logf("SIGHUP with a valid new configuration: new bridge publishing %v later", time.Since(start).Round(time.Millisecond))
	if !br.alive() {
		t.Fatal("the bridge exited after SIGHUP")
	}
	if n := br.lines("starting teslemetry2mqtt"); n != 2 {
		t.Errorf("%d start lines, want 2 (one per configuration)", n)
	}

	code, d := br.stop(syscall.SIGTERM)
	if code != 0 || d > 5*time.Second {
		t.Errorf("SIGTERM after a reload: exit %d after %v, want 0 within 5 s", code, d)
	}
	sub.WaitFor("reloaded/"+vin1+"/availability", "offline", 5*time.Second)
}

// A log reader that went away (closed pipe) must not kill the bridge: the
// next log line meets a broken pipe, and the bridge keeps publishing and
// still stops cleanly.
func TestSignalBrokenLogPipe(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 51))
	sub := testkit.Subscribe(t, mq.URL(), "#")
	path := writeFile(t, "config.yaml", cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()}.yaml())

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--config", path)
	cmd.Env = append(os.Environ(), "T2M_TEST_TOKEN="+token, "GORACE=atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "51", 15*time.Second)
	r.Close() // the log reader is gone

	// Each of these writes a log line into the closed pipe.
	tesla.SetSnapshot(batteryEvent(vin1, 52))
	tesla.DropAll()
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "52", 15*time.Second)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	select {
	case <-done:
		t.Fatalf("the bridge died after its log pipe closed: %v", cmd.ProcessState)
	default:
	}
	tesla.Send(batteryEvent(vin1, 53))
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "53", 15*time.Second)

	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	t.Logf("closed log pipe: still publishing; SIGTERM → exit %d after %v", cmd.ProcessState.ExitCode(), time.Since(start).Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d (%v), want 0", code, cmd.ProcessState)
	}
	sub.WaitFor("teslemetry/"+vin1+"/availability", "offline", 5*time.Second)
}

// Commands other than run stop cleanly on SIGHUP, like on SIGTERM: demo
// publishing to a real broker leaves its cars offline, not retained online.
func TestSignalHangupStopsDemoCleanly(t *testing.T) {
	mq := StartMosquitto(t, "")
	sub := testkit.Subscribe(t, mq.URL(), "#")
	br := &proc{Bridge: StartBridge(t, []string{"GORACE=atexit_sleep_ms=0"}, "demo", "--speed", "20", "--mqtt-url", mq.URL())}
	sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 30*time.Second)
	code, d := br.stop(syscall.SIGHUP)
	t.Logf("demo: SIGHUP → exit %d after %v", code, d.Round(time.Millisecond))
	if code != 0 || d > 5*time.Second {
		t.Errorf("demo: exit %d after %v, want 0 within 5 s", code, d)
	}
	sub.WaitFor("teslemetry/"+vin1+"/availability", "offline", 5*time.Second)
}
