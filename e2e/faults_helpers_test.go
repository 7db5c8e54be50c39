package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Helpers shared by the fault-injection tests (faults_test.go, input_test.go,
// security_test.go, tls_test.go, soak_test.go).

// cfgOpts describes one bridge configuration; zero fields take test defaults.
type cfgOpts struct {
	Tesla, Broker      string
	Idle, Offline      string // durations; default 2s and 1s
	VINs               []string
	ClientID           string // default: unique per test
	Username, Password string
	MQTTExtra          string // more YAML inside mqtt:, indented by two spaces
	LogLevel           string // default info
	HTTP               string // http.listen, e.g. 127.0.0.1:port
	Extra              string // more YAML, top level
}

var clientSeq struct {
	sync.Mutex
	n int
}

func (o cfgOpts) yaml() string {
	if o.Idle == "" {
		o.Idle = "2s"
	}
	if o.Offline == "" {
		o.Offline = "1s"
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.ClientID == "" {
		clientSeq.Lock()
		clientSeq.n++
		o.ClientID = fmt.Sprintf("t2m-fault-%d-%d", os.Getpid(), clientSeq.n)
		clientSeq.Unlock()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "teslemetry:\n  token: ${T2M_TEST_TOKEN}\n  url: %s\n  idle_timeout: %s\n  offline_after: %s\n", o.Tesla, o.Idle, o.Offline)
	if len(o.VINs) > 0 {
		fmt.Fprintf(&b, "  vins: [%s]\n", strings.Join(o.VINs, ", "))
	}
	fmt.Fprintf(&b, "mqtt:\n  url: %s\n  client_id: %s\n", o.Broker, o.ClientID)
	if o.Username != "" {
		fmt.Fprintf(&b, "  username: %s\n", o.Username)
	}
	if o.Password != "" {
		fmt.Fprintf(&b, "  password: %q\n", o.Password)
	}
	b.WriteString(o.MQTTExtra)
	fmt.Fprintf(&b, "log:\n  level: %s\n", o.LogLevel)
	if o.HTTP != "" {
		fmt.Fprintf(&b, "http:\n  listen: %s\n", o.HTTP)
	}
	b.WriteString(o.Extra)
	return b.String()
}

// proc is a bridge process started by a fault test. Unlike the harness's
// cleanup it never reads the process state while the process may still run.
type proc struct {
	*Bridge
	reaped bool
}

// runBridge writes the configuration and starts `teslemetry2mqtt run` with the test token.
func runBridge(t *testing.T, o cfgOpts) *proc {
	t.Helper()
	path := writeFile(t, "config.yaml", o.yaml())
	// The race runtime sleeps 1 s at exit by default; without it the measured
	// stop times are those of a normal build.
	env := []string{"T2M_TEST_TOKEN=" + token, "GORACE=atexit_sleep_ms=0"}
	p := &proc{Bridge: StartBridge(t, env, "run", "--config", path)}
	t.Cleanup(func() { // runs before the harness's own cleanup
		if !p.reaped && p.alive() {
			_ = p.cmd.Process.Kill()
		}
		if !p.reaped {
			err := <-p.done
			p.done <- err
			p.reaped = true
		}
	})
	return p
}

// stop sends sig and returns the exit code and how long the exit took.
func (p *proc) stop(sig syscall.Signal) (int, time.Duration) {
	p.t.Helper()
	defer func() { p.reaped = true }() // Stop consumed the exit, even when it fails the test
	return p.Stop(sig)
}

// stopClean sends SIGTERM and fails the test unless the bridge exits 0.
func (p *proc) stopClean() {
	p.t.Helper()
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		p.t.Errorf("exit code %d", code)
	}
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	if p.reaped {
		return false
	}
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// lines counts the log lines that contain every one of subs.
func (p *proc) lines(subs ...string) int {
	n := 0
	for _, l := range strings.Split(p.Output(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			n++
		}
	}
	return n
}

// waitLog waits until a log line contains every one of subs.
func (p *proc) waitLog(timeout time.Duration, subs ...string) time.Duration {
	p.t.Helper()
	return waitUntil(p.t, fmt.Sprintf("a log line with %q", subs), timeout, func() bool { return p.lines(subs...) > 0 })
}

// waitUntil polls cond every 10 ms and fails the test after timeout.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("after %v still waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sleepUntil sleeps until at (used only where elapsed time itself is the
// thing measured, e.g. "no request within 10 s").
func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

// scrape reads the bridge's /metrics as "name{labels}" → value.
func scrape(t testing.TB, listen string) map[string]float64 {
	t.Helper()
	m, err := tryScrape(listen)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return m
}

func tryScrape(listen string) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://" + listen + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		out[l[:i]] = v
	}
	return out, sc.Err()
}

func freeAddr(t testing.TB) string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

// rootUser makes mosquitto keep its privileges when the tests run as root:
// otherwise it switches to the mosquitto user and cannot read the test's
// password or certificate files.
func rootUser() string {
	if os.Geteuid() == 0 {
		return "user root\n"
	}
	return ""
}

// tcpProxy forwards a loopback port to a broker; Down makes the broker look
// unreachable to the bridge while test subscribers stay connected to the
// broker itself.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.Down() })
	return p
}

func (p *tcpProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go pipe(c, up)
		go pipe(up, c)
	}
}

func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Down closes every forwarded connection and refuses new ones.
func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Up forwards new connections again.
func (p *tcpProxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// badTopic reports why a topic breaks the topic rules of docs/topics.md, or "".
func badTopic(topic string) string {
	switch {
	case strings.ContainsAny(topic, "+#"):
		return "contains + or #"
	case strings.ContainsRune(topic, 0):
		return "contains NUL"
	case strings.HasPrefix(topic, "/") || strings.HasSuffix(topic, "/") || strings.Contains(topic, "//"):
		return "has an empty level"
	}
	return ""
}
