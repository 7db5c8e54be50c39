package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// `demo --once` on its own port: a subscriber sees discovery configs and values
// of both cars, and the command exits 0 by itself.
func TestDemoOnceOnItsOwnPort(t *testing.T) {
	port := freePort(t)
	br := StartBridge(t, nil, "demo", "--once", "--speed", "20", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	sub := testkit.Subscribe(t, fmt.Sprintf("tcp://127.0.0.1:%d", port), "#")
	sub.WaitUntil("both cars with discovery", 30*time.Second, func(l map[string]string) bool {
		for _, vin := range []string{vin1, vin2} {
			if l["teslemetry/"+vin+"/v/Odometer"] == "" || l["homeassistant/sensor/teslemetry_"+vin+"/Odometer/config"] == "" {
				return false
			}
		}
		return l["teslemetry/"+vin1+"/v/VehicleName"] == "Sparky"
	})
	if code := br.Wait(60 * time.Second); code != 0 {
		t.Errorf("demo --once exited %d", code)
	}
	if out := br.Output(); !strings.Contains(out, "teslemetry/"+vin2+"/v/DetailedChargeState Charging") {
		t.Errorf("demo did not print what it publishes:\n%.2000s", out)
	}
}

func TestDemoPortTaken(t *testing.T) {
	mq := StartMosquitto(t, "")
	br := StartBridge(t, nil, "demo", "--once", "--listen", fmt.Sprintf("127.0.0.1:%d", mq.Port))
	if code := br.Wait(10 * time.Second); code != 2 || !strings.Contains(br.Output(), "--listen") {
		t.Errorf("port taken: exit %d, output:\n%s", code, br.Output())
	}
}

// record → replay: a recording of the live stream, replayed through the bridge,
// reproduces the retained topics of the live run; the token is not in the file.
func TestRecordReplayRoundTrip(t *testing.T) {
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	env := []string{"T2M_TEST_TOKEN=" + token}

	// Live run.
	mqLive := StartMosquitto(t, "")
	live := StartBridge(t, env, "run", "--config", writeFile(t, "live.yaml", bridgeConfig(tesla.URL(), mqLive.URL(), "")))
	subLive := testkit.Subscribe(t, mqLive.URL(), "#")
	subLive.WaitFor("teslemetry/"+vin1+"/last_seen", "2026-09-14T07:31:46Z", 15*time.Second)

	// Record the same stream.
	rec := filepath.Join(t.TempDir(), "rec.sse")
	recorder := StartBridge(t, env, "record", "--config", writeFile(t, "rec.yaml", bridgeConfig(tesla.URL(), "tcp://127.0.0.1:1", "")),
		"--out", rec, "--duration", "2s")
	if code := recorder.Wait(20 * time.Second); code != 0 {
		t.Fatalf("record exited %d:\n%s", code, recorder.Output())
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "\ndata: ")+1 < len(sample(t)) || !strings.HasPrefix(string(data), ": t=") || strings.Contains(string(data), token) {
		t.Fatalf("recording has %d events (want %d), starts %q", strings.Count(string(data), "data: "), len(sample(t)), string(data[:min(40, len(data))]))
	}
	time.Sleep(500 * time.Millisecond) // let the live run settle
	if code, _ := live.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("live run exit %d", code)
	}

	// Replay against a fresh broker.
	mqReplay := StartMosquitto(t, "")
	replay := StartBridge(t, env, "run", "--config", writeFile(t, "replay.yaml", bridgeConfig("https://api.teslemetry.com", mqReplay.URL(), "")),
		"--replay", rec, "--speed", "100")
	subReplay := testkit.Subscribe(t, mqReplay.URL(), "#")
	subReplay.WaitFor("teslemetry/"+vin1+"/last_seen", "2026-09-14T07:31:46Z", 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	if code, _ := replay.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("replay run exit %d", code)
	}
	subLive.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)
	subReplay.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)

	liveTopics, replayTopics := subLive.Latest(), subReplay.Latest()
	compared := 0
	for topic, want := range liveTopics {
		if strings.HasPrefix(topic, "teslemetry/bridge/info") {
			continue // stream paths and times differ by design
		}
		if got := replayTopics[topic]; got != want {
			t.Errorf("%s: live %q, replay %q", topic, want, got)
		}
		compared++
	}
	if len(replayTopics) != len(liveTopics) {
		t.Errorf("live run has %d topics, replay %d", len(liveTopics), len(replayTopics))
	}
	t.Logf("%d retained topics identical between the live run and the replay", compared)
}
