package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Command latency: the time from a set/ message leaving an MQTT client to
// the bridge's REST request arriving at the (local) Teslemetry API, at a
// steady command rate while telemetry streams as fast as the bridge takes
// it. Both ends are in this process, so one clock measures both; the broker
// hop is included.

// commandSink records the REST requests the bridge sends to the generator.
type commandSink struct {
	mu      sync.Mutex
	arrived []commandArrival
}

type commandArrival struct {
	at  time.Time
	key string // <VIN>/<percent>
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
		s.mu.Lock()
		s.arrived = append(s.arrived, commandArrival{at: at, key: vin + "/" + strconv.Itoa(b.Percent)})
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"response":{"result":true,"reason":""}}`)
}

type commandsResult struct {
	sent, received int
	lat            []int64 // µs
	values         int     // telemetry values published meanwhile
	elapsed        time.Duration
}

// runCommands sends perSecond set/charge_limit commands for d, to ten cars in
// turn, while the generator bursts telemetry for the same ten. A newer value
// for a control replaces a waiting older one (sliders), so commands that
// wait behind others may not all reach the API: the report counts them.
func (e *env) runCommands(perSecond float64, d time.Duration) (commandsResult, error) {
	r, err := e.startBridgeRun(10, bridgeOpts{})
	if err != nil {
		return commandsResult{}, err
	}
	defer r.close()
	if err := r.warmUp(); err != nil {
		return commandsResult{}, err
	}
	sink := &commandSink{}
	e.gen.commands.Store(sink)
	defer e.gen.commands.Store(nil)

	client := paho.NewClient(paho.NewClientOptions().AddBroker(r.m.url()).SetClientID("bench-commander"))
	if tok := client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return commandsResult{}, fmt.Errorf("commander: %v", tok.Error())
	}
	defer client.Disconnect(50)

	// Telemetry at full speed until the commands are done.
	stop := make(chan struct{})
	telemetry := make(chan error, 1)
	pub0, _, _ := r.br.metrics()
	r.sub.lazy.Store(true)
	go func() {
		for {
			select {
			case <-stop:
				telemetry <- nil
				return
			default:
			}
			if err := r.conn.burst(len(r.vins), 2000, r.vins, r.perVIN); err != nil {
				telemetry <- err
				return
			}
		}
	}()

	// Each command carries a distinct (car, value) within any 510 in a row,
	// so an arrival is matched to its message.
	sentAt := map[string][]time.Time{}
	interval := time.Duration(float64(time.Second) / perSecond)
	n := int(d.Seconds() * perSecond)
	start := time.Now()
	for i := 0; i < n; i++ {
		if w := time.Until(start.Add(time.Duration(i) * interval)); w > 0 {
			time.Sleep(w)
		}
		vin := r.vins[i%len(r.vins)]
		v := strconv.Itoa(50 + (i/len(r.vins))%51)
		key := vin + "/" + v
		sentAt[key] = append(sentAt[key], time.Now())
		client.Publish(baseTopic+"/"+vin+"/set/charge_limit", 1, false, v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sink.mu.Lock()
		got := len(sink.arrived)
		sink.mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	close(stop)
	if err := <-telemetry; err != nil {
		return commandsResult{}, fmt.Errorf("telemetry: %w", err)
	}
	pub1, _, _ := r.br.metrics()

	res := commandsResult{sent: n, values: int(pub1 - pub0), elapsed: elapsed}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	res.received = len(sink.arrived)
	for _, a := range sink.arrived {
		q := sentAt[a.key]
		if len(q) == 0 {
			continue
		}
		res.lat = append(res.lat, a.at.Sub(q[0]).Microseconds())
		sentAt[a.key] = q[1:]
	}
	return res, nil
}

func (rep *report) commands(c commandsResult, perSecond float64) {
	rep.printf("\n### Commands under telemetry load\n\n")
	rep.printf("set/charge_limit at %.0f commands/s to 10 cars in turn while the generator bursts telemetry for all 10; "+
		"latency from the MQTT publish to the REST request reaching the local Teslemetry API (broker hop included).\n\n", perSecond)
	rep.printf("| commands sent | REST requests | p50 (ms) | p99 (ms) | max (ms) | telemetry publishes meanwhile |\n| --- | --- | --- | --- | --- | --- |\n")
	maxLat := -1.0
	for _, l := range c.lat {
		maxLat = max(maxLat, float64(l))
	}
	rep.printf("| %d | %d | %.2f | %.2f | %.2f | %d (%.0f/s) |\n", c.sent, c.received,
		percentile(c.lat, 50)/1000, percentile(c.lat, 99)/1000, maxLat/1000, c.values, float64(c.values)/c.elapsed.Seconds())
}
