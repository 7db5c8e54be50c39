package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// A bounded soak (~50 s): 20 cars × 20 fields stream changing values at
// thousands per second while the broker is restarted three times (without
// persistence) and the stream is dropped five times. Afterwards every
// retained value must be the last one sent, no subscriber may ever have seen
// a value go backwards, and the bridge's memory and goroutine count must be
// flat.

var soakFields = []string{
	"VehicleSpeed", "Odometer", "PackVoltage", "PackCurrent", "Soc", "IsolationResistance", "PedalPosition",
	"DiHeatsinkTR", "DiAxleSpeedR", "DiTorquemotor", "DiStatorTempR", "DiVBatR", "DiMotorCurrentR", "GpsHeading",
	"RatedRange", "DCChargingPower", "ACChargingPower", "EstBatteryRange", "IdealBatteryRange", "BatteryLevel",
}

type soakSample struct {
	at         time.Duration
	rssKB      int
	goroutines int
}

func vmRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

func TestSoakStreamUnderBrokerAndStreamRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped with -short")
	}
	const (
		cars     = 20
		round    = 100 * time.Millisecond // one value for every car and field per round
		duration = 40 * time.Second
	)
	vins := make([]string, cars)
	for i := range vins {
		vins[i] = fmt.Sprintf("5YJ3E7EB9NF1000%02d", i)
	}
	// mosquitto drops QoS 1 messages for a subscriber with more than 1000
	// queued (max_queued_messages): the watching subscriber must see everything.
	mq := StartMosquitto(t, "max_queued_messages 0\n")
	tesla := testkit.NewFakeTeslemetry(t, token)
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/+/v/#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen, Idle: "5s", Offline: "5s"})

	events := func(r int) []string {
		out := make([]string, 0, cars)
		for _, vin := range vins {
			var b strings.Builder
			fmt.Fprintf(&b, `{"vin":%q,"createdAt":%q,"data":{`, vin, time.Now().UTC().Format(time.RFC3339Nano))
			for j, f := range soakFields {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `%q:%d`, f, r)
			}
			b.WriteString("}}")
			out = append(out, b.String())
		}
		return out
	}

	// The sender: a new round every 100 ms. The snapshot always holds the
	// newest round, as Teslemetry's cache=true does, so a value sent while the
	// stream is down still arrives with the reconnect.
	var rounds atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(round)
		defer tick.Stop()
		for r := 1; ; r++ {
			evs := events(r)
			tesla.SetSnapshot(evs...)
			for _, e := range evs {
				tesla.Send(e)
			}
			rounds.Store(int64(r))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	// The sampler: RSS from /proc and go_goroutines from /metrics every second.
	var smu sync.Mutex
	var samples []soakSample
	start := time.Now()
	sample := func() soakSample {
		s := soakSample{at: time.Since(start).Round(100 * time.Millisecond), rssKB: vmRSS(br.pid())}
		if m, err := tryScrape(listen); err == nil {
			s.goroutines = int(m["go_goroutines"])
		}
		smu.Lock()
		samples = append(samples, s)
		smu.Unlock()
		return s
	}
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				sample()
			}
		}
	}()

	// Chaos, on a fixed timeline.
	at := func(d time.Duration) { sleepUntil(start.Add(d)) }
	restartBroker := func(n int) {
		mq.Kill()
		time.Sleep(500 * time.Millisecond)
		mq.Start()
		t.Logf("%5.1fs broker restart #%d (retained store lost), round %d", time.Since(start).Seconds(), n, rounds.Load())
	}
	dropStream := func(n int) {
		tesla.DropAll()
		t.Logf("%5.1fs stream drop #%d, round %d", time.Since(start).Seconds(), n, rounds.Load())
	}
	at(8 * time.Second)
	warm := sample()
	t.Logf("after warm-up: RSS %d kB, %d goroutines, round %d", warm.rssKB, warm.goroutines, rounds.Load())
	restartBroker(1)
	at(13 * time.Second)
	dropStream(1)
	at(18 * time.Second)
	restartBroker(2)
	at(22 * time.Second)
	dropStream(2)
	at(26 * time.Second)
	restartBroker(3)
	at(30 * time.Second)
	dropStream(3)
	at(33 * time.Second)
	dropStream(4)
	at(36 * time.Second)
	dropStream(5)
	at(duration)
	close(stop)
	wg.Wait()
	<-samplerDone
	final := int(rounds.Load())
	want := strconv.Itoa(final)
	sent := final * cars * len(soakFields)
	t.Logf("%5.1fs sender stopped: %d rounds, %d values (%.0f values/s)", time.Since(start).Seconds(), final, sent, float64(sent)/duration.Seconds())

	// Every value topic ends at the last value sent, seen by a fresh subscriber (retained)…
	converge := time.Now()
	fresh := testkit.Subscribe(t, mq.URL(), "teslemetry/+/v/#")
	allLast := func(l map[string]string) bool {
		for _, vin := range vins {
			for _, f := range soakFields {
				if l["teslemetry/"+vin+"/v/"+f] != want {
					return false
				}
			}
		}
		return true
	}
	staleValues := func(s *testkit.Subscriber) []string {
		var out []string
		for _, vin := range vins {
			for _, f := range soakFields {
				if got, _ := s.Get("teslemetry/" + vin + "/v/" + f); got != want {
					out = append(out, vin[len(vin)-2:]+"/"+f+"="+got)
				}
			}
		}
		return out
	}
	for !allLast(fresh.Latest()) {
		if time.Since(converge) > 30*time.Second {
			stale := staleValues(fresh)
			t.Logf("stale (car/field=value): %s", strings.Join(stale[:min(len(stale), 30)], " "))
			soakDiagnose(t, br, mq, listen, func() int { return len(staleValues(fresh)) })
			t.Fatalf("after 30 s, %d of %d retained values are not the last one sent (%s)", len(stale), cars*len(soakFields), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("all %d retained values = %s within %v after the sender stopped", cars*len(soakFields), want, time.Since(converge).Round(time.Millisecond))
	// …and by the subscriber that watched it all.
	sub.WaitUntil("the watching subscriber has the last values", 10*time.Second, allLast)

	// Nothing older was ever replayed: per topic, values never go backwards.
	last := map[string]int{}
	msgs := sub.Messages()
	backwards := 0
	for _, m := range msgs {
		v, err := strconv.Atoi(m.Payload)
		if err != nil {
			t.Fatalf("%s = %q", m.Topic, m.Payload)
		}
		if v < last[m.Topic] {
			if backwards < 5 {
				t.Errorf("%s went back from %d to %d (retained %v)", m.Topic, last[m.Topic], v, m.Retained)
			}
			backwards++
		}
		last[m.Topic] = v
	}
	t.Logf("%d messages watched, %d went backwards", len(msgs), backwards)

	// Flat resources.
	time.Sleep(2 * time.Second)
	end := sample()
	smu.Lock()
	var trace []string
	for _, s := range samples {
		trace = append(trace, fmt.Sprintf("%v:%dMB/%dg", s.at, s.rssKB>>10, s.goroutines))
	}
	smu.Unlock()
	t.Logf("RSS/goroutines over time: %s", strings.Join(trace, " "))
	t.Logf("RSS %d kB after warm-up → %d kB at the end (×%.2f); goroutines %d → %d", warm.rssKB, end.rssKB,
		float64(end.rssKB)/float64(warm.rssKB), warm.goroutines, end.goroutines)
	if warm.rssKB == 0 || float64(end.rssKB) > 1.5*float64(warm.rssKB) {
		t.Errorf("RSS grew from %d kB to %d kB", warm.rssKB, end.rssKB)
	}
	if warm.goroutines == 0 || float64(end.goroutines) > 1.5*float64(warm.goroutines) {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, end.goroutines)
	}
	if n := br.lines("MQTT connection lost"); n != 3 {
		t.Errorf("%d 'connection lost' lines for 3 broker restarts", n)
	}
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}

// soakDiagnose logs what helps to tell where values got lost: the bridge's
// counters, whether a full republish (Home Assistant's birth message) heals
// the retained state (then the bridge's cache was right), and a goroutine dump
// of the bridge (SIGQUIT; the harness prints the output of a failed test).
func soakDiagnose(t *testing.T, br *proc, mq *Mosquitto, listen string, stale func() int) {
	t.Helper()
	if m, err := tryScrape(listen); err == nil {
		var lines []string
		for k, v := range m {
			if strings.HasPrefix(k, "teslemetry2mqtt_") && !strings.Contains(k, "last_event") {
				lines = append(lines, fmt.Sprintf("%s=%v", k, v))
			}
		}
		t.Logf("metrics: %s", strings.Join(lines, " "))
	}
	birth := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL()).SetClientID("soak-birth"))
	if tok := birth.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		birth.Publish("homeassistant/status", 1, false, "online").WaitTimeout(5 * time.Second)
		birth.Disconnect(100)
	}
	time.Sleep(8 * time.Second)
	t.Logf("after a full republish: %d values stale", stale())
	_ = br.cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(2 * time.Second)
}
