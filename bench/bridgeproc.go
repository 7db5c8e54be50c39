package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// bridgeProc is a running bridge: the binary under test, or (for --cpuprofile)
// this program re-executed with --child bridge, which runs the same bridge
// package in-process with a CPU profile.
type bridgeProc struct {
	cmd      *exec.Cmd
	httpAddr string
	mu       sync.Mutex
	out      bytes.Buffer
}

func (b *bridgeProc) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.out.Len() < 1<<20 {
		b.out.Write(p)
	}
	return len(p), nil
}

func (b *bridgeProc) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

type bridgeOpts struct {
	discovery bool
	profile   string // non-empty: in-process child writing this CPU profile
	heap      string // non-empty: in-process child writing this heap profile when stopped
}

func writeBridgeConfig(dir, genURL, mqttURL, httpAddr string, discovery bool) (string, error) {
	cfg := fmt.Sprintf(`teslemetry:
  token: bench-token
  url: %s
  cache: false
  idle_timeout: 90s
mqtt:
  url: %s
  client_id: teslemetry2mqtt-bench
homeassistant:
  discovery: %t
commands:
  max_per_minute: 100000
log:
  level: %s
http:
  listen: %s
`, genURL, mqttURL, discovery, bridgeLogLevel, httpAddr)
	path := filepath.Join(dir, fmt.Sprintf("bridge-%d.yaml", time.Now().UnixNano()))
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func startBridge(dir, genURL, mqttURL string, o bridgeOpts) (*bridgeProc, error) {
	b := &bridgeProc{httpAddr: fmt.Sprintf("127.0.0.1:%d", freePort())}
	path, err := writeBridgeConfig(dir, genURL, mqttURL, b.httpAddr, o.discovery)
	if err != nil {
		return nil, err
	}
	if o.profile != "" || o.heap != "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		b.cmd = exec.Command(self, "--child", "bridge", "--config", path, "--cpuprofile", o.profile, "--heapprofile", o.heap)
	} else {
		b.cmd = exec.Command(binaryPath, "run", "--config", path)
	}
	b.cmd.Env = append(cleanEnv(), bridgeEnv...)
	b.cmd.Stdout, b.cmd.Stderr = b, b
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	return b, nil
}

// cleanEnv drops the variables that would override the bench's config file.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "TESLEMETRY_TOKEN", "TESLEMETRY_URL", "MQTT_URL", "MQTT_USERNAME", "MQTT_PASSWORD", "LOG_LEVEL", "TESLEMETRY2MQTT_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (b *bridgeProc) pid() int { return b.cmd.Process.Pid }

// stop sends SIGTERM and waits (bounded), then kills.
func (b *bridgeProc) stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// scrape returns the bridge's /metrics lines (name with labels, value).
func (b *bridgeProc) scrape(each func(name string, v float64)) error {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + b.httpAddr + "/metrics")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(strings.TrimSpace(val), 64)
		each(name, v)
	}
	return sc.Err()
}

// metrics reads the bridge's acknowledged publishes and publish errors from /metrics.
func (b *bridgeProc) metrics() (published, failed float64, err error) {
	err = b.scrape(func(name string, v float64) {
		switch {
		case name == "teslemetry2mqtt_publishes_total":
			published = v
		case strings.HasPrefix(name, "teslemetry2mqtt_publish_errors_total"):
			failed += v
		}
	})
	return published, failed, err
}

// histogram is a Prometheus histogram read from /metrics: cumulative counts
// at each finite upper bound, and the total.
type histogram struct {
	bounds []float64
	cum    []float64
	count  float64
}

// histogram reads the unlabelled histogram name.
func (b *bridgeProc) histogram(name string) (histogram, error) {
	var h histogram
	err := b.scrape(func(metric string, v float64) {
		switch {
		case strings.HasPrefix(metric, name+`_bucket{le="`):
			le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(metric, name+`_bucket{le="`), `"}`), 64)
			if err == nil && !math.IsInf(le, 1) {
				h.bounds, h.cum = append(h.bounds, le), append(h.cum, v)
			}
		case metric == name+"_count":
			h.count = v
		}
	})
	if err == nil && len(h.bounds) == 0 {
		err = fmt.Errorf("no histogram %s in /metrics", name)
	}
	return h, err
}

// minus is what was observed since h0.
func (h histogram) minus(h0 histogram) histogram {
	d := histogram{bounds: h.bounds, cum: make([]float64, len(h.cum)), count: h.count - h0.count}
	for i := range h.cum {
		d.cum[i] = h.cum[i]
		if i < len(h0.cum) {
			d.cum[i] -= h0.cum[i]
		}
	}
	return d
}

// share is the fraction of observations at or below the bucket bound le.
func (h histogram) share(le float64) float64 {
	for i, b := range h.bounds {
		if b == le && h.count > 0 {
			return h.cum[i] / h.count
		}
	}
	return math.NaN()
}

// quantile interpolates linearly within the bucket that holds it; beyond
// the last finite bound it answers that bound.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return math.NaN()
	}
	rank := q * h.count
	lower, below := 0.0, 0.0
	for i, b := range h.bounds {
		if h.cum[i] >= rank {
			if h.cum[i] == below {
				return b
			}
			return lower + (b-lower)*(rank-below)/(h.cum[i]-below)
		}
		lower, below = b, h.cum[i]
	}
	return h.bounds[len(h.bounds)-1]
}

// waitAcked polls /metrics until at least want publishes were acknowledged (bounded).
func (b *bridgeProc) waitAcked(want float64, timeout time.Duration) (float64, float64, error) {
	deadline := time.Now().Add(timeout)
	for {
		pub, failed, err := b.metrics()
		if err == nil && pub >= want {
			return pub, failed, nil
		}
		if time.Now().After(deadline) {
			return pub, failed, fmt.Errorf("only %.0f of %.0f publishes acknowledged (metrics error: %v)", pub, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bridgeChild runs the bridge package in this process with a CPU profile
// (used by --cpuprofile; mirrors cmd/teslemetry2mqtt's run command).
func bridgeChild(args []string) {
	fs := flag.NewFlagSet("bridge", flag.ExitOnError)
	path := fs.String("config", "", "config file")
	prof := fs.String("cpuprofile", "", "write a CPU profile here")
	heap := fs.String("heapprofile", "", "write a heap profile here when stopped")
	_ = fs.Parse(args)
	cfg, err := config.Load(*path, true, func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	m := bridge.NewMetrics()
	b, err := bridge.New(bridge.Options{Config: cfg, Version: "bench", Logger: log, Metrics: m})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: cfg.HTTP.Listen, Handler: bridge.HTTPHandler(b, m), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *heap != "" {
		go func() {
			<-ctx.Done()
			runtime.GC()
			if f, err := os.Create(*heap); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	_ = b.Run(ctx)
	_ = srv.Close()
}

// bridgeLogLevel is the bridge's log level (--bridge-log).
var bridgeLogLevel = "warn"

// bridgeEnv is extra environment for the bridge process (--bridge-env, for experiments).
var bridgeEnv []string
