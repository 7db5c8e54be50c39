package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// MQTT-side faults (docs/failures.md) and shutdown, end to end.

// owned reports whether topic is one the bridge publishes (its base topic or discovery).
func owned(topic string) bool {
	return strings.HasPrefix(topic, "teslemetry/") || strings.HasPrefix(topic, "homeassistant/")
}

// §8 "broker down at start → keeps retrying (backoff ≤ 30 s), logs once per
// state change, starts streaming anyway".
func TestFaultBrokerDownAtStart(t *testing.T) {
	mq := StartMosquitto(t, "")
	mq.Kill() // the port is known, nothing listens
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	started := time.Now()
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})

	tesla.WaitRequests(t, 1, 10*time.Second)
	tesla.WaitConnections(t, 1, 10*time.Second)
	t.Logf("broker down: stream requested %v after start", time.Since(started).Round(time.Millisecond))

	sleepUntil(started.Add(3 * time.Second))
	mq.Start()
	up := time.Now()
	sub := testkit.Subscribe(t, mq.URL(), "#")
	sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
	sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 15*time.Second)
	sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
	sub.WaitFor("teslemetry/"+vin2+"/v/Odometer", "9521.442", 15*time.Second)
	sub.WaitUntil("discovery", 15*time.Second, func(l map[string]string) bool {
		_, ok := l["homeassistant/sensor/teslemetry_"+vin1+"/BatteryLevel/config"]
		return ok
	})
	took := time.Since(up)
	t.Logf("broker started 3 s late: every retained topic present %v after it came up (%d topics)", took.Round(time.Millisecond), len(sub.Latest()))
	if took > 10*time.Second {
		t.Errorf("retained state %v after the broker came up, want ≤ 10 s", took)
	}
	if n := br.lines("MQTT broker unreachable"); n != 1 {
		t.Errorf("%d 'unreachable' log lines while the broker was down, want 1 (once per state change)", n)
	}
	if n := tesla.Requests(); n != 1 {
		t.Errorf("%d stream requests, want 1: the stream must not depend on the broker", n)
	}
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}

// §8 "broker lost / restarted → everything republished, so a broker that
// lost its retained store is healed". The broker is killed while the bridge
// is busy publishing a burst of values (the moment a publish can be caught
// half-way), restarted empty, and every retained topic — discovery,
// availability, bridge state, values, with the burst's newest values — must be
// back within 10 s.
func TestFaultBrokerRestartHealsEveryRetainedTopic(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})

	// An old createdAt keeps last_seen still, so the burst changes only its fields.
	burstEvent := func(v int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{"vin":%q,"createdAt":"2020-01-01T00:00:00Z","data":{`, vin1)
		for j, f := range soakFields {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q:%d`, f, v)
		}
		b.WriteString("}}")
		return b.String()
	}
	sub.WaitFor("teslemetry/"+vin2+"/v/Odometer", "9521.442", 15*time.Second)
	tesla.Send(burstEvent(0))
	sub.WaitFor("teslemetry/"+vin1+"/v/PackVoltage", "0", 15*time.Second)
	before := settle(t, sub)
	t.Logf("%d retained topics before the restarts", len(before))

	const rounds, burst = 3, 1000
	for round := 1; round <= rounds; round++ {
		last := round * 10000
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := last - burst + 1; i <= last; i++ {
				tesla.Send(burstEvent(i))
			}
		}()
		// Kill the broker while the bridge is publishing the burst.
		sub.WaitUntil("the burst under way", 10*time.Second, func(l map[string]string) bool {
			v, _ := strconv.Atoi(l["teslemetry/"+vin1+"/v/PackVoltage"])
			return v > last-burst+20
		})
		mq.Kill()
		<-done
		mq.Start()
		up := time.Now()
		for _, f := range soakFields {
			before["teslemetry/"+vin1+"/v/"+f] = strconv.Itoa(last)
		}
		fresh := testkit.Subscribe(t, mq.URL(), "#")
		fresh.WaitUntil("every retained topic back", 30*time.Second, func(l map[string]string) bool {
			for topic, payload := range before {
				got, ok := l[topic]
				if !ok || (got != payload && topic != "teslemetry/bridge/info") {
					return false
				}
			}
			return true
		})
		took := time.Since(up)
		t.Logf("restart #%d (killed mid-burst) without persistence: all %d retained topics back %v after the broker came up", round, len(before), took.Round(time.Millisecond))
		if took > 10*time.Second {
			t.Errorf("restart #%d: retained state healed only after %v, want ≤ 10 s", round, took)
		}
		for topic := range fresh.Latest() {
			if owned(topic) {
				if _, ok := before[topic]; !ok {
					t.Errorf("unexpected topic %s after the restart", topic)
				}
			}
		}
	}
	if n := br.lines("MQTT connection lost"); n != rounds {
		t.Errorf("%d 'connection lost' log lines for %d restarts", n, rounds)
	}
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}

// settle waits until the set of owned retained topics stops changing and returns it.
func settle(t *testing.T, sub *testkit.Subscriber) map[string]string {
	t.Helper()
	var last map[string]string
	stableSince := time.Now()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		cur := map[string]string{}
		for k, v := range sub.Latest() {
			if owned(k) {
				cur[k] = v
			}
		}
		if len(cur) != len(last) {
			last, stableSince = cur, time.Now()
		} else if time.Since(stableSince) > 700*time.Millisecond {
			return cur
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("retained topics never settled")
	return nil
}

// §8 "MQTT down while events arrive → the newest value per topic is kept and
// published on reconnect; nothing newer is lost, nothing older is replayed".
// The bridge reaches mosquitto through a proxy that is cut, so the subscriber
// stays connected to the broker and sees every message the bridge sends.
func TestFaultValuesWhileMQTTDownNewestOnly(t *testing.T) {
	mq := StartMosquitto(t, "")
	px := newProxy(t, fmt.Sprintf("127.0.0.1:%d", mq.Port))
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: px.URL(), HTTP: listen})
	battery := "teslemetry/" + vin1 + "/v/BatteryLevel"
	odo := "teslemetry/" + vin1 + "/v/Odometer"
	pack := "teslemetry/" + vin1 + "/v/PackVoltage" // never seen before the outage
	sub.WaitFor(battery, "71.4", 15*time.Second)
	settle(t, sub)

	px.Down()
	sub.WaitFor("teslemetry/bridge/state", "offline", 10*time.Second) // the last will: the bridge is cut off
	waitUntil(t, "mqtt_connected 0", 5*time.Second, func() bool {
		return scrape(t, listen)["teslemetry2mqtt_mqtt_connected"] == 0
	})
	mark := len(sub.Messages())
	valuesBefore := scrape(t, listen)["teslemetry2mqtt_values_total"]
	const n = 50
	for i := 1; i <= n; i++ {
		tesla.Send(fmt.Sprintf(`{"vin":%q,"data":{"BatteryLevel":%d,"Odometer":%d,"PackVoltage":%d}}`, vin1, i, 20000+i, 300+i))
	}
	waitUntil(t, "the bridge to decode every value", 10*time.Second, func() bool {
		return scrape(t, listen)["teslemetry2mqtt_values_total"] >= valuesBefore+3*n
	})
	if extra := len(sub.Messages()) - mark; extra != 0 {
		t.Fatalf("%d messages reached the broker through a cut connection", extra)
	}

	px.Up()
	up := time.Now()
	sub.WaitFor(battery, strconv.Itoa(n), 15*time.Second)
	sub.WaitFor(odo, strconv.Itoa(20000+n), 15*time.Second)
	sub.WaitFor(pack, strconv.Itoa(300+n), 15*time.Second)
	sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
	sub.WaitUntil("discovery for the field first seen during the outage", 15*time.Second, func(l map[string]string) bool {
		_, ok := l["homeassistant/sensor/teslemetry_"+vin1+"/PackVoltage/config"]
		return ok
	})
	t.Logf("MQTT back: newest values published %v after the connection was restored", time.Since(up).Round(time.Millisecond))
	time.Sleep(time.Second) // anything older would have arrived by now

	counts := map[string]int{}
	for _, m := range sub.Messages()[mark:] {
		want := map[string]string{battery: strconv.Itoa(n), odo: strconv.Itoa(20000 + n), pack: strconv.Itoa(300 + n)}[m.Topic]
		if want == "" {
			continue
		}
		counts[m.Topic]++
		if m.Payload != want {
			t.Errorf("%s = %s after the reconnect: an older value was replayed (newest is %s)", m.Topic, m.Payload, want)
		}
	}
	t.Logf("%d values per topic sent while MQTT was down → messages after reconnect: %v", n, counts)
	for _, topic := range []string{battery, odo, pack} {
		if counts[topic] < 1 {
			t.Errorf("%s: nothing published after the reconnect", topic)
		}
	}
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}

// §6/§8 "SIGINT / SIGTERM → publish offline states, disconnect, exit 0 within 5 s".
func TestFaultShutdownSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			mq := StartMosquitto(t, "")
			tesla := testkit.NewFakeTeslemetry(t, token)
			tesla.SetSnapshot(sample(t)...)
			sub := testkit.Subscribe(t, mq.URL(), "#")
			br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})
			for _, v := range []string{vin1, vin2} {
				sub.WaitFor("teslemetry/"+v+"/availability", "online", 15*time.Second)
			}
			code, d := br.stop(sig)
			t.Logf("%v: exit %d after %v", sig, code, d.Round(time.Millisecond))
			if code != 0 || d > 5*time.Second {
				t.Errorf("%v: exit %d after %v, want 0 within 5 s", sig, code, d)
			}
			// Published by the bridge itself (a clean disconnect sends no last will).
			sub.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)
			for _, v := range []string{vin1, vin2} {
				sub.WaitFor("teslemetry/"+v+"/availability", "offline", 5*time.Second)
			}
		})
	}
}

// Shutdown while the broker is gone (killed) or hung (SIGSTOP: TCP open, no
// answers) must still exit 0 within 5 s.
func TestFaultShutdownWithBrokerDown(t *testing.T) {
	for _, mode := range []string{"killed", "hung", "hung-loaded"} {
		t.Run(mode, func(t *testing.T) {
			mq := StartMosquitto(t, "")
			tesla := testkit.NewFakeTeslemetry(t, token)
			tesla.SetSnapshot(sample(t)...)
			sub := testkit.Subscribe(t, mq.URL(), "#")
			br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})
			sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 15*time.Second)
			switch mode {
			case "killed":
				mq.Kill()
				br.waitLog(10*time.Second, "MQTT connection lost")
			case "hung":
				if err := mq.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = mq.cmd.Process.Signal(syscall.SIGCONT) }()
				// Values keep coming: their publishes are never acknowledged.
				for i := 0; i < 200; i++ {
					tesla.Send(batteryEvent(vin1, i))
				}
				time.Sleep(500 * time.Millisecond)
			case "hung-loaded":
				// More unacknowledged bytes than the socket and the
				// publisher's write buffer hold: publishing blocks.
				if err := mq.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = mq.cmd.Process.Signal(syscall.SIGCONT) }()
				blob := strings.Repeat("x", 256<<10)
				for i := 0; i < 64; i++ {
					tesla.Send(fmt.Sprintf(`{"vin":%q,"vehicle_data":{"i":%d,"blob":%q}}`, vin1, i, blob))
				}
				time.Sleep(300 * time.Millisecond) // stop while publishing is blocked
			}
			code, d := br.stop(syscall.SIGTERM)
			t.Logf("broker %s: SIGTERM → exit %d after %v", mode, code, d.Round(time.Millisecond))
			if code != 0 || d > 5*time.Second {
				t.Errorf("broker %s: exit %d after %v, want 0 within 5 s", mode, code, d)
			}
		})
	}
}
