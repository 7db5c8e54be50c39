package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Command latency: set/charge_limit messages at a steady rate while
// telemetry streams, measured three ways in the same run:
//
//   - total: the MQTT publish (bench) → the REST request arriving at the
//     local Teslemetry API (bench); one clock for both ends;
//   - broker: the MQTT publish → an idle subscriber of the same set/
//     topics in a process of its own (mosquitto_sub, which stamps each
//     message with the wall clock); bridge: that subscriber → the REST
//     request. The broker writes the message to both subscribers in the
//     same loop, so "bridge" is the bridge's share seen from outside, the
//     wake-up of its process and the local HTTP hop included;
//   - in the bridge: teslemetry2mqtt_command_dispatch_seconds, the bridge's
//     own histogram from the message's receipt to the request written.
//
// Each run streams the same telemetry burst for as long without commands,
// so the throughput with and without commands is compared within the run
// (the two phases alternate their order with the run number), and then
// sends commands once more beside a paced stream of 1,000 values/s.

const (
	commandsPerSecond = 20
	pacedValues       = 1000 // values/s of the paced phase (the latency scenario's rate)
	probeTopic        = "bench/probe"
)

// arrivals records when each (car, value) key was seen, in order.
type arrivals struct {
	mu sync.Mutex
	at map[string][]time.Time
	n  int
}

func newArrivals() *arrivals { return &arrivals{at: map[string][]time.Time{}} }

func (a *arrivals) add(key string, t time.Time) {
	a.mu.Lock()
	a.at[key] = append(a.at[key], t)
	a.n++
	a.mu.Unlock()
}

// reset forgets every arrival.
func (a *arrivals) reset() {
	a.mu.Lock()
	a.at, a.n = map[string][]time.Time{}, 0
	a.mu.Unlock()
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// serveAPI answers a REST request like Teslemetry does and records it.
func (g *generator) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	at := time.Now()
	var b struct {
		Percent int `json:"percent"`
	}
	_ = json.Unmarshal(body, &b)
	// /api/1/vehicles/<VIN>/command/<name>
	vin := ""
	if parts := strings.Split(r.URL.Path, "/"); len(parts) >= 5 {
		vin = parts[4]
	}
	if s := g.commands.Load(); s != nil {
		s.add(vin+"/"+strconv.Itoa(b.Percent), at)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"response":{"result":true,"reason":""}}`)
}

// commandLatency is one phase with commands.
type commandLatency struct {
	sent, received int
	total          []int64 // µs, MQTT publish → REST request
	broker         []int64 // µs, MQTT publish → idle subscriber
	bridge         []int64 // µs, idle subscriber → REST request
	dispatch       histogram
	telemetry      float64 // bridge publishes/s meanwhile
}

type commandsResult struct {
	burst, paced commandLatency
	without      float64 // bridge publishes/s of the burst without commands
}

// runCommands measures one bridge (run numbers alternate the phase order).
func (e *env) runCommands(run int, d time.Duration) (commandsResult, error) {
	r, err := e.startBridgeRun(10, bridgeOpts{})
	if err != nil {
		return commandsResult{}, err
	}
	defer r.close()
	if err := r.warmUp(); err != nil {
		return commandsResult{}, err
	}
	commander := paho.NewClient(paho.NewClientOptions().AddBroker(r.m.url()).SetClientID("bench-commander"))
	if tok := commander.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return commandsResult{}, fmt.Errorf("commander: %v", tok.Error())
	}
	defer commander.Disconnect(50)
	obs, err := observe(r.m, commander)
	if err != nil {
		return commandsResult{}, err
	}
	defer obs.stop()

	var res commandsResult
	for phase := range 2 {
		if (phase+run)%2 == 0 {
			if res.without, err = r.telemetryFor(d, nil, false); err != nil {
				return commandsResult{}, err
			}
			continue
		}
		if res.burst, err = e.commandPhase(r, commander, obs, d, false); err != nil {
			return commandsResult{}, err
		}
	}
	res.paced, err = e.commandPhase(r, commander, obs, d, true)
	return res, err
}

// commandPhase sends commands for d beside telemetry (burst or paced).
func (e *env) commandPhase(r *bridgeRun, commander paho.Client, obs *observer, d time.Duration, paced bool) (commandLatency, error) {
	var c commandLatency
	h0, err := r.br.histogram("teslemetry2mqtt_command_dispatch_seconds")
	if err != nil {
		return c, err
	}
	sent, api := newArrivals(), newArrivals()
	obs.seen.reset()
	e.gen.commands.Store(api)
	defer e.gen.commands.Store(nil)
	c.telemetry, err = r.telemetryFor(d, func() {
		c.sent = sendCommands(commander, r.vins, d, sent)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && (api.count() < c.sent || obs.seen.count() < c.sent) {
			time.Sleep(50 * time.Millisecond)
		}
	}, paced)
	if err != nil {
		return c, err
	}
	h1, err := r.br.histogram("teslemetry2mqtt_command_dispatch_seconds")
	if err != nil {
		return c, err
	}
	c.dispatch = h1.minus(h0)
	c.received = api.count()
	c.total = matchLatencies(sent, api)
	c.broker = matchLatencies(sent, obs.seen)
	c.bridge = matchLatencies(obs.seen, api)
	return c, nil
}

// observer is mosquitto_sub on the set/ topics, in a process of its own.
type observer struct {
	cmd  *exec.Cmd
	seen *arrivals
	done chan struct{}
}

// observe starts mosquitto_sub and waits until it receives (a probe
// published by client).
func observe(m *mosquitto, client paho.Client) (*observer, error) {
	o := &observer{seen: newArrivals(), done: make(chan struct{})}
	o.cmd = exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", strconv.Itoa(m.port), "-q", "1", "-i", "bench-observer",
		"-t", baseTopic+"/+/set/#", "-t", probeTopic, "-F", "%U %t %p")
	out, err := o.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := o.cmd.Start(); err != nil {
		return nil, fmt.Errorf("mosquitto_sub (package mosquitto-clients): %w", err)
	}
	probed := make(chan struct{}, 1)
	go func() {
		defer close(o.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 {
				continue
			}
			if f[1] == probeTopic {
				select {
				case probed <- struct{}{}:
				default:
				}
				continue
			}
			at, ok := parseUnixNano(f[0])
			parts := strings.Split(f[1], "/")
			if !ok || len(parts) < 2 {
				continue
			}
			o.seen.add(parts[1]+"/"+f[2], at)
		}
	}()
	for range 50 {
		client.Publish(probeTopic, 0, false, "probe")
		select {
		case <-probed:
			return o, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	o.stop()
	return nil, fmt.Errorf("mosquitto_sub received nothing within 5 s")
}

func (o *observer) stop() {
	_ = o.cmd.Process.Kill()
	<-o.done
	_ = o.cmd.Wait()
}

// parseUnixNano reads mosquitto_sub's %U: seconds.nanoseconds.
func parseUnixNano(s string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	si, err1 := strconv.ParseInt(sec, 10, 64)
	ni, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, false
	}
	return time.Unix(si, ni), true
}

// telemetryFor streams telemetry for all cars (a burst as fast as the bridge
// takes it, or paced at pacedValues/s) for d, or with work until work
// returns, and answers the bridge's acknowledged publishes per second
// meanwhile. It returns once the bridge has published what it took.
func (r *bridgeRun) telemetryFor(d time.Duration, work func(), paced bool) (float64, error) {
	stop := make(chan struct{})
	done := make(chan error, 1)
	pub0, _, err := r.br.metrics()
	if err != nil {
		return 0, err
	}
	r.sub.lazy.Store(!paced)
	start := time.Now()
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			var err error
			if paced {
				err = r.conn.paced(len(r.vins), 1<<30, pacedValues/fieldsPerEvent, r.vins, r.perVIN, stop)
			} else {
				err = r.conn.burst(len(r.vins), 2000, r.vins, r.perVIN)
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	if work != nil {
		work()
	} else {
		time.Sleep(d)
	}
	elapsed := time.Since(start)
	pub1, _, err := r.br.metrics()
	close(stop)
	if berr := <-done; berr != nil {
		return 0, fmt.Errorf("telemetry: %w", berr)
	}
	if err != nil {
		return 0, err
	}
	return (pub1 - pub0) / elapsed.Seconds(), r.settle()
}

// settle waits until the bridge has published everything it read (its
// publish count stands still for 300 ms), so that a phase does not inherit
// the backlog of a burst.
func (r *bridgeRun) settle() error {
	last, _, err := r.br.metrics()
	still := time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		n, _, err := r.br.metrics()
		if err != nil {
			return err
		}
		if n != last {
			last, still = n, time.Now()
		} else if time.Since(still) >= 300*time.Millisecond {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("the bridge kept publishing for 60 s after the stream stopped")
}

// sendCommands publishes commandsPerSecond set/charge_limit messages for d,
// to the cars in turn, and records when each left. Each carries a distinct
// (car, value) within any 510 in a row, so an arrival is matched to its
// message.
func sendCommands(c paho.Client, vins []string, d time.Duration, sent *arrivals) int {
	interval := time.Second / commandsPerSecond
	n := int(d.Seconds() * commandsPerSecond)
	start := time.Now()
	for i := range n {
		if w := time.Until(start.Add(time.Duration(i) * interval)); w > 0 {
			time.Sleep(w)
		}
		vin := vins[i%len(vins)]
		v := strconv.Itoa(50 + (i/len(vins))%51)
		sent.add(vin+"/"+v, time.Now())
		c.Publish(baseTopic+"/"+vin+"/set/charge_limit", 1, false, v)
	}
	return n
}

// matchLatencies pairs the i-th arrival of a key at b with its i-th at a
// and answers the differences in µs.
func matchLatencies(a, b *arrivals) []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lat []int64
	for key, bs := range b.at {
		as := a.at[key]
		for i := range min(len(as), len(bs)) {
			lat = append(lat, bs[i].Sub(as[i]).Microseconds())
		}
	}
	return lat
}

func (rep *report) commands(rs []commandsResult, d time.Duration) {
	rep.printf("\n## Commands under telemetry load\n\n")
	rep.printf("set/charge_limit at %d commands/s to 10 cars in turn for %s, first while the generator bursts telemetry for all 10 "+
		"as fast as the bridge takes it (both cores busy), then beside a paced stream of %d values/s. "+
		"*total*: MQTT publish → REST request at the local Teslemetry API; *broker*: MQTT publish → an idle subscriber "+
		"of the set/ topics in its own process (mosquitto_sub); *bridge*: that subscriber → REST request (the bridge's share seen "+
		"from outside, its process's wake-up and the local HTTP hop included); *in the bridge*: the bridge's "+
		"`teslemetry2mqtt_command_dispatch_seconds` (receipt → request written; percentiles interpolated within its buckets) "+
		"and the share of commands at or under 5 ms. The bridge's publishes/s (its acknowledged publishes, all topics) with and "+
		"without commands come from the same run (the phase order alternates).\n\n", commandsPerSecond, d, pacedValues)
	rep.printf("| run | load | sent / REST requests | total p50 / p99 / max (ms) | broker p50 / p99 (ms) | bridge p50 / p99 (ms) | in the bridge p50 / p99 (ms), ≤ 5 ms | publishes/s with commands | without | ratio |\n")
	rep.printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for i, r := range rs {
		for _, ph := range []struct {
			name    string
			c       commandLatency
			without string
		}{{"burst", r.burst, fmt.Sprintf("%.0f | %.3f", r.without, r.burst.telemetry/r.without)}, {fmt.Sprintf("%d/s", pacedValues), r.paced, "– | –"}} {
			c := ph.c
			rep.printf("| %d | %s | %d / %d | %.2f / %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f, %.1f %% | %.0f | %s |\n",
				i+1, ph.name, c.sent, c.received,
				ms(percentile(c.total, 50)), ms(percentile(c.total, 99)), ms(percentile(c.total, 100)),
				ms(percentile(c.broker, 50)), ms(percentile(c.broker, 99)),
				ms(percentile(c.bridge, 50)), ms(percentile(c.bridge, 99)),
				1000*c.dispatch.quantile(0.50), 1000*c.dispatch.quantile(0.99), 100*c.dispatch.share(0.005),
				c.telemetry, ph.without)
		}
	}
}

func ms(us float64) float64 { return us / 1000 }
