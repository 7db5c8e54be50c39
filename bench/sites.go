package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The energy-site scenario: the car latency run (10 VINs, 1,000 values/s)
// with 50 energy sites alongside, each sending a live_status every second
// (docs/energy-sites.md). It shows what the site path costs the cars'
// latency and the bridge's CPU and memory.

const (
	benchSites     = 50
	siteFieldsSent = 13 // scalars per live_status, plus one wall connector
)

func benchSiteID(i int) string { return strconv.FormatInt(2252180000000000+int64(i), 10) }

// appendSiteEvent appends the k-th live_status of site i: the powers and the
// battery level move every second, the rest stays.
func appendSiteEvent(dst []byte, i, k int) []byte {
	dst = append(dst, `data: {"createdAt":"`...)
	dst = time.Now().UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, `","site_id":"`...)
	dst = append(dst, benchSiteID(i)...)
	solar := 3000 + (k*37+i)%900
	load := 800 + (k*53+i)%700
	battery := load - solar
	dst = fmt.Appendf(dst, `","live_status":{"solar_power":%d,"battery_power":%d,"load_power":%d,"grid_power":0,`+
		`"grid_services_power":0,"generator_power":0,"percentage_charged":%.1f,"energy_left":%d,"total_pack_energy":13520,`+
		`"grid_status":"Active","island_status":"on_grid","storm_mode_active":false,"timestamp":"%s",`+
		`"wall_connectors":[{"din":"1457768-02-G--PGT2312300%04d","vin":"","wall_connector_state":2,"wall_connector_fault_state":2,"wall_connector_power":0}]}}`,
		solar, battery, load, 50+float64(k%500)/10, 6760+k%500, time.Now().UTC().Format(time.RFC3339), i)
	return append(dst, "\n\n"...)
}

// pacedWithSites is paced with nSites site events per second spread evenly
// between the car events; it returns how many site events it wrote.
func (c *sseConn) pacedWithSites(nVINs, nEvents int, perSecond float64, vins []string, perVIN []int, nSites int, stop <-chan struct{}) (int, error) {
	interval := time.Duration(float64(time.Second) / perSecond)
	siteInterval := time.Second / time.Duration(nSites)
	start := time.Now()
	buf := make([]byte, 0, 8<<10)
	sites := 0
	for i := 0; i < nEvents; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-stop:
				return sites, nil
			}
		}
		buf = buf[:0]
		for start.Add(time.Duration(sites)*siteInterval).Compare(at) <= 0 {
			buf = appendSiteEvent(buf, sites%nSites, sites/nSites)
			sites++
		}
		v := i % nVINs
		buf = appendEvent(buf, vins[v], perVIN[v], nowMicros(), false)
		perVIN[v]++
		if err := c.write(buf); err != nil {
			return sites, err
		}
	}
	return sites, nil
}

// sitesResult is one run of the energy-site scenario.
type sitesResult struct {
	result
	siteEvents int
}

// runSites runs the latency scenario with benchSites sites alongside, for
// nValues car values at 1,000 values/s, and checks that the last site value
// reached the broker.
func (e *env) runSites(nValues int) (res sitesResult, err error) {
	const nVINs, rate = 10, 1000.0
	r, err := e.startBridgeRun(nVINs, bridgeOpts{})
	if err != nil {
		return sitesResult{}, err
	}
	defer r.close()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\nbridge output:\n%s", err, tail(r.br.output(), 2000))
		}
	}()
	if err := r.warmUp(); err != nil {
		return sitesResult{}, err
	}
	pid := r.br.pid()
	reached := r.sub.reset(nValues)
	cpu0, _ := cpuTime(pid)
	mcpu0, _ := cpuTime(r.m.pid())
	self0 := selfCPU()
	t0 := time.Now()
	type genResult struct {
		sites int
		err   error
	}
	gen := make(chan genResult, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		n, err := r.conn.pacedWithSites(nVINs, nValues/fieldsPerEvent, rate/fieldsPerEvent, r.vins, r.perVIN, benchSites, stop)
		gen <- genResult{n, err}
	}()
	if err := waitReached(reached, r.sub, runTimeout); err != nil {
		return sitesResult{}, err
	}
	self1 := selfCPU()
	g := <-gen
	if g.err != nil {
		return sitesResult{}, g.err
	}
	// The last site event's battery level is on the broker: the site path kept up.
	last := g.sites - 1
	want := strconv.FormatFloat(50+float64((last/benchSites)%500)/10, 'f', -1, 64)
	topic := baseTopic + "/site/" + benchSiteID(last%benchSites) + "/live_status/percentage_charged"
	if err := r.sub.waitState(topic, want, 30*time.Second); err != nil {
		return sitesResult{}, err
	}
	cpu1, _ := cpuTime(pid)
	mcpu1, _ := cpuTime(r.m.pid())
	hwm, _, _ := memKB(pid)
	count, _, lastAt, lat := r.sub.snapshot()
	if count != nValues {
		return sitesResult{}, fmt.Errorf("subscriber counted %d of %d car values", count, nValues)
	}
	return sitesResult{
		result:     result{values: nValues, elapsed: lastAt.Sub(t0), cpu: cpu1 - cpu0, brokerCPU: mcpu1 - mcpu0, benchCPU: self1 - self0, hwmKB: hwm, lat: lat},
		siteEvents: g.sites,
	}, nil
}

func (r *report) sites(rs []sitesResult) {
	r.printf("\n## Energy sites alongside the cars\n\n")
	r.printf("10 VINs at 1,000 values/s plus %d energy sites, each a live_status (%d values and a wall connector) every second; latency of the car values.\n\n",
		benchSites, siteFieldsSent)
	r.printf("| run | car values | site events | p50 (ms) | p99 (ms) | max (ms) | bridge CPU (%% of a core) | peak RSS (MB) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var p99 []string
	for i, x := range rs {
		p99 = append(p99, fmt.Sprintf("%.2f", percentile(x.lat, 99)/1000))
		r.printf("| %d | %d | %d | %.2f | %.2f | %.2f | %.1f | %.1f |\n", i+1, x.values, x.siteEvents,
			percentile(x.lat, 50)/1000, percentile(x.lat, 99)/1000, percentile(x.lat, 100)/1000,
			100*x.cpu.Seconds()/x.elapsed.Seconds(), float64(x.hwmKB)/1024)
	}
	r.printf("\nCompare with the latency table above (the same car load without sites); p99 per run: %s ms.\n", strings.Join(p99, ", "))
}
