package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is one run of one scenario.
type result struct {
	values    int
	elapsed   time.Duration
	cpu       time.Duration // publisher process (bridge or baseline)
	brokerCPU time.Duration
	benchCPU  time.Duration // this process: SSE generator (bridge runs) and counting subscriber
	hwmKB     int64
	lat       []int64 // µs
	note      string
}

func (r result) rate() float64 { return float64(r.values) / r.elapsed.Seconds() }
func (r result) cpuPerValue() float64 {
	return float64(r.cpu.Microseconds()) / float64(r.values)
}
func (r result) brokerPerValue() float64 {
	return float64(r.brokerCPU.Microseconds()) / float64(r.values)
}
func (r result) benchPerValue() float64 {
	return float64(r.benchCPU.Microseconds()) / float64(r.values)
}

// selfCPU is this process's user+system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const runTimeout = 180 * time.Second

// env is what every run shares.
type env struct {
	dir         string
	gen         *generator
	heapProfile string // cache scenario: run the bridge package in-process and write a heap profile
}

// runBaseline runs the raw-paho child on a fresh broker.
func (e *env) runBaseline(nVINs, nValues int, rate float64) (result, error) {
	m, err := startMosquitto(e.dir, freePort())
	if err != nil {
		return result{}, err
	}
	defer m.stop()
	sub, err := subscribe(m.addr(), "bench-counter", baseTopic+"/#")
	if err != nil {
		return result{}, err
	}
	defer sub.close()
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "--child", "baseline", "--broker", m.url(), "--vins", strconv.Itoa(nVINs),
		"--values", strconv.Itoa(nValues), "--rate", strconv.FormatFloat(rate, 'f', -1, 64))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	warm := sub.reset(nVINs * fieldsPerEvent) // the child's warm-up: one value per topic
	sub.lazy.Store(rate == 0)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	readLine := func(timeout time.Duration) (string, error) {
		select {
		case l, ok := <-lines:
			if !ok {
				return "", errors.New("baseline child exited")
			}
			return l, nil
		case <-time.After(timeout):
			return "", errors.New("baseline child timed out")
		}
	}
	if l, err := readLine(30 * time.Second); err != nil || l != "ready" {
		return result{}, fmt.Errorf("baseline not ready: %q %v", l, err)
	}
	if err := waitReached(warm, sub, 30*time.Second); err != nil {
		return result{}, fmt.Errorf("baseline warm-up: %w", err)
	}
	reached := sub.reset(nValues)
	pid := cmd.Process.Pid
	cpu0, _ := cpuTime(pid)
	mcpu0, _ := cpuTime(m.pid())
	self0 := selfCPU()
	t0 := time.Now()
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		return result{}, err
	}
	if err := waitReached(reached, sub, runTimeout); err != nil {
		return result{}, err
	}
	l, err := readLine(60 * time.Second)
	if err != nil || !strings.HasPrefix(l, "done ") {
		return result{}, fmt.Errorf("baseline did not finish: %q %v", l, err)
	}
	var ackNs int64
	var errs int
	fmt.Sscanf(l, "done %d %d", &ackNs, &errs)
	if errs > 0 {
		return result{}, fmt.Errorf("baseline: %d publishes failed", errs)
	}
	cpu1, _ := cpuTime(pid)
	mcpu1, _ := cpuTime(m.pid())
	self1 := selfCPU()
	hwm, _, _ := memKB(pid)
	count, _, last, lat := sub.snapshot()
	if count != nValues {
		return result{}, fmt.Errorf("subscriber counted %d of %d", count, nValues)
	}
	return result{values: nValues, elapsed: last.Sub(t0), cpu: cpu1 - cpu0, brokerCPU: mcpu1 - mcpu0, benchCPU: self1 - self0, hwmKB: hwm, lat: lat}, nil
}

func waitReached(reached <-chan struct{}, sub *subscriber, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-reached:
			return nil
		case <-t.C:
			n, _, _, _ := sub.snapshot()
			return fmt.Errorf("timed out: subscriber counted %d values", n)
		case <-tick.C:
			if err := sub.Err(); err != nil {
				return fmt.Errorf("subscriber: %w", err)
			}
		}
	}
}

// bridgeRun is a bridge connected to a fresh broker, its stream and a counting subscriber.
type bridgeRun struct {
	m      *mosquitto
	sub    *subscriber
	br     *bridgeProc
	conn   *sseConn
	vins   []string
	perVIN []int
}

func (e *env) startBridgeRun(nVINs int, o bridgeOpts) (*bridgeRun, error) {
	r := &bridgeRun{vins: make([]string, nVINs), perVIN: make([]int, nVINs)}
	for i := range r.vins {
		r.vins[i] = vinOf(i)
	}
	var err error
	if r.m, err = startMosquitto(e.dir, freePort()); err != nil {
		return nil, err
	}
	if r.sub, err = subscribe(r.m.addr(), "bench-counter", baseTopic+"/#"); err != nil {
		r.close()
		return nil, err
	}
	if r.br, err = startBridge(e.dir, e.gen.url, r.m.url(), o); err != nil {
		r.close()
		return nil, err
	}
	if r.conn, err = e.gen.accept(15 * time.Second); err != nil {
		r.close()
		return nil, fmt.Errorf("%w\n%s", err, r.br.output())
	}
	if err := r.sub.waitState(baseTopic+"/bridge/state", "online", 15*time.Second); err != nil {
		r.close()
		return nil, fmt.Errorf("%w\n%s", err, r.br.output())
	}
	return r, nil
}

// warmUp sends one event per VIN and waits until its values arrived.
func (r *bridgeRun) warmUp() error {
	reached := r.sub.reset(len(r.vins) * fieldsPerEvent)
	if err := r.conn.burst(len(r.vins), len(r.vins), r.vins, r.perVIN); err != nil {
		return err
	}
	return waitReached(reached, r.sub, 60*time.Second)
}

func (r *bridgeRun) close() {
	if r.conn != nil {
		r.conn.close()
	}
	if r.br != nil {
		r.br.stop()
	}
	if r.sub != nil {
		r.sub.close()
	}
	if r.m != nil {
		r.m.stop()
	}
}

// runBridge measures the bridge on a burst (rate 0) or a paced stream.
func (e *env) runBridge(nVINs, nValues int, rate float64, o bridgeOpts) (res result, err error) {
	r, err := e.startBridgeRun(nVINs, o)
	if err != nil {
		return result{}, err
	}
	defer r.close()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\nbridge output:\n%s", err, tail(r.br.output(), 2000))
		}
	}()
	if err := r.warmUp(); err != nil {
		return result{}, err
	}
	pub0, _, err := r.br.metrics()
	if err != nil {
		return result{}, err
	}
	pid := r.br.pid()
	r.sub.lazy.Store(rate == 0)
	reached := r.sub.reset(nValues)
	cpu0, _ := cpuTime(pid)
	mcpu0, _ := cpuTime(r.m.pid())
	self0 := selfCPU()
	t0 := time.Now()
	genErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		if rate > 0 {
			genErr <- r.conn.paced(nVINs, nValues/fieldsPerEvent, rate/fieldsPerEvent, r.vins, r.perVIN, stop)
		} else {
			genErr <- r.conn.burst(nVINs, nValues/fieldsPerEvent, r.vins, r.perVIN)
		}
	}()
	if err := waitReached(reached, r.sub, runTimeout); err != nil {
		return result{}, err
	}
	self1 := selfCPU()
	if err := <-genErr; err != nil {
		return result{}, err
	}
	_, failed, err := r.br.waitAcked(pub0+float64(nValues), 30*time.Second)
	if err != nil {
		return result{}, err
	}
	if failed > 0 {
		return result{}, fmt.Errorf("bridge: %.0f publishes failed", failed)
	}
	cpu1, _ := cpuTime(pid)
	mcpu1, _ := cpuTime(r.m.pid())
	hwm, _, _ := memKB(pid)
	count, _, last, lat := r.sub.snapshot()
	if count != nValues {
		return result{}, fmt.Errorf("subscriber counted %d of %d", count, nValues)
	}
	return result{values: nValues, elapsed: last.Sub(t0), cpu: cpu1 - cpu0, brokerCPU: mcpu1 - mcpu0, benchCPU: self1 - self0, hwmKB: hwm, lat: lat}, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// percentile of µs samples (nearest rank); -1 without samples.
func percentile(lat []int64, p float64) float64 {
	if len(lat) == 0 {
		return -1
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i])
}

// twoCars measures steady RSS with two cars streaming, then idle CPU with keep-alives only.
type twoCarsResult struct {
	rssKB, hwmKB int64
	idleCPU      time.Duration
	idleFor      time.Duration
}

func (e *env) runTwoCars(steady, idle time.Duration) (twoCarsResult, error) {
	r, err := e.startBridgeRun(2, bridgeOpts{discovery: true})
	if err != nil {
		return twoCarsResult{}, err
	}
	defer r.close()
	// A cache=true style snapshot of 60 fields per car, then two cars driving:
	// one event of five values per car per second.
	reached := r.sub.reset(2 * len(wideFields))
	if err := r.conn.snapshot(r.vins); err != nil {
		return twoCarsResult{}, err
	}
	if err := waitReached(reached, r.sub, 30*time.Second); err != nil {
		return twoCarsResult{}, err
	}
	stop := make(chan struct{})
	n := int(steady.Seconds() * 2)
	if err := r.conn.paced(2, n, 2, r.vins, r.perVIN, stop); err != nil {
		return twoCarsResult{}, err
	}
	time.Sleep(time.Second)
	hwm, rss, err := memKB(r.br.pid())
	if err != nil {
		return twoCarsResult{}, err
	}
	// Idle: keep-alive comments every 10 s, nothing else.
	time.Sleep(2 * time.Second)
	cpu0, _ := cpuTime(r.br.pid())
	t0 := time.Now()
	for time.Since(t0) < idle {
		if err := r.conn.keepalive(); err != nil {
			return twoCarsResult{}, err
		}
		time.Sleep(min(10*time.Second, idle-time.Since(t0)))
	}
	cpu1, _ := cpuTime(r.br.pid())
	return twoCarsResult{rssKB: rss, hwmKB: hwm, idleCPU: cpu1 - cpu0, idleFor: time.Since(t0)}, nil
}

// cacheResult is the 1,000 VINs × 60 fields scenario.
type cacheResult struct {
	cached        int   // topics in the cache after the snapshot
	topics        int   // topics the broker must hold after the republish (cache + live-only fields)
	rssKB, hwmKB  int64 // after the snapshot
	hwmAfterKB    int64 // after the republish
	republish     time.Duration
	liveLat       []int64
	reconnectWait time.Duration // broker restart → bridge online again
	note          string
}

func (e *env) runCache(nVINs int) (res cacheResult, err error) {
	r, err := e.startBridgeRun(nVINs, bridgeOpts{heap: e.heapProfile})
	if err != nil {
		return cacheResult{}, err
	}
	defer r.close()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\nbridge output:\n%s", err, tail(r.br.output(), 2000))
		}
	}()
	want := nVINs * len(wideFields)
	reached := r.sub.reset(want)
	if err := r.conn.snapshot(r.vins); err != nil {
		return res, err
	}
	if err := waitReached(reached, r.sub, 120*time.Second); err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second)
	res.cached = want
	res.hwmKB, res.rssKB, _ = memKB(r.br.pid())

	// Live traffic at 1,000 values/s on the first 10 VINs while the broker restarts.
	live := min(10, nVINs)
	// The live stream adds the event fields that are not among the 60.
	for _, f := range eventFields {
		if !slices.Contains(wideFields, f) {
			want += live
		}
	}
	res.topics = want
	stop := make(chan struct{})
	genErr := make(chan error, 1)
	go func() {
		genErr <- r.conn.paced(live, 1000000, 1000.0/fieldsPerEvent, r.vins[:live], r.perVIN, stop)
	}()
	defer func() {
		close(stop)
		<-genErr
	}()
	time.Sleep(2 * time.Second)
	port := r.m.port
	r.m.stop()
	restart := time.Now()
	if r.m, err = startMosquitto(e.dir, port); err != nil {
		return res, err
	}
	r.sub.close()
	if r.sub, err = subscribe(r.m.addr(), "bench-counter", baseTopic+"/#"); err != nil {
		return res, err
	}
	r.sub.trackTopics()
	r.sub.reset(1 << 30)
	// Only live values sent after the restart are latency samples: the
	// republished cache carries older stamps.
	r.sub.setMinStamp(restart.UnixMicro())
	if err := r.sub.waitState(baseTopic+"/bridge/state", "online", 30*time.Second); err != nil {
		return res, err
	}
	online := time.Now()
	res.reconnectWait = online.Sub(restart)
	// From here on, live values measure how the republish affects the stream
	// (values that waited for the reconnect are left out).
	r.sub.setMinStamp(online.UnixMicro())
	deadline := online.Add(20 * time.Second)
	for r.sub.distinctTopics() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	res.republish = time.Since(online)
	if got := r.sub.distinctTopics(); got < want {
		// The live subscriber may have missed some (mosquitto drops QoS 0
		// messages for a subscriber 1,000 behind): ask the broker what it holds.
		n, err := countRetained(r.m.addr(), want, 2*time.Second, 30*time.Second)
		if err != nil || n < want {
			return res, fmt.Errorf("republish incomplete: live subscriber saw %d, broker holds %d of %d topics after %s (%v)", got, n, want, res.republish, err)
		}
		res.note = fmt.Sprintf("the live subscriber saw %d of %d topics; the broker held all %d when checked %s after the bridge came back",
			got, want, n, time.Since(online).Round(time.Millisecond))
		res.republish = 0
	} else if n, err := countRetained(r.m.addr(), want, 2*time.Second, 30*time.Second); err != nil || n < want {
		return res, fmt.Errorf("broker holds %d of %d topics after the republish (%v)", n, want, err)
	}
	_, _, _, res.liveLat = r.sub.snapshot()
	res.hwmAfterKB, _, _ = memKB(r.br.pid())
	return res, nil
}
