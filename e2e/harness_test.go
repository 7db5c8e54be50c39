// Package e2e runs the built teslemetry2mqtt binary against a real mosquitto
// process and a local server speaking Teslemetry's SSE format.
package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// The fast inner loop (make unit, go test -short ./...) leaves out the
		// binary build and every end-to-end test; make test runs them.
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "t2m-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "teslemetry2mqtt")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/teslemetry2mqtt")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Mosquitto is a real broker process on a free loopback port, without persistence.
type Mosquitto struct {
	t    testing.TB
	Port int
	conf string
	cmd  *exec.Cmd
	log  bytes.Buffer
}

// StartMosquitto starts mosquitto with extra config lines; it is killed with the test.
func StartMosquitto(t testing.TB, extra string) *Mosquitto {
	t.Helper()
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed (.ci/run installs it)")
		}
		t.Skip("mosquitto not installed: apt-get install mosquitto")
	}
	m := &Mosquitto{t: t, Port: freePort(t)}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n%s", m.Port, extra)
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("using %s", path)
	m.Start()
	t.Cleanup(m.Kill)
	return m
}

// URL is the broker's tcp:// URL.
func (m *Mosquitto) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.Port) }

// Start (re)starts the process and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.cmd = exec.Command("mosquitto", "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = &m.log, &m.log
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.t.Fatalf("mosquitto did not start: %s", m.log.String())
}

// Kill stops the broker abruptly (its retained store is lost: no persistence).
func (m *Mosquitto) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait() // also waits for the output copier
	m.cmd = nil
}

// Bridge is a running teslemetry2mqtt process.
type Bridge struct {
	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// StartBridge runs the binary with args, e.g. "run", "--config", path.
func StartBridge(t testing.TB, env []string, args ...string) *Bridge {
	t.Helper()
	b := &Bridge{t: t, done: make(chan error, 1)}
	b.cmd = exec.Command(binary, args...)
	b.cmd.Env = append(os.Environ(), env...)
	w := syncWriter{&b.mu, &b.out}
	b.cmd.Stdout, b.cmd.Stderr = w, w
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("bridge output:\n%s", b.Output())
		}
	})
	return b
}

// Output returns everything the process printed so far.
func (b *Bridge) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// Stop sends sig and returns the exit code and how long the process took to exit.
func (b *Bridge) Stop(sig syscall.Signal) (int, time.Duration) {
	b.t.Helper()
	start := time.Now()
	_ = b.cmd.Process.Signal(sig)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		b.t.Fatalf("bridge did not exit within 10 s of %v", sig)
	}
	return b.cmd.ProcessState.ExitCode(), time.Since(start)
}

// Wait waits for the process to exit by itself.
func (b *Bridge) Wait(timeout time.Duration) int {
	b.t.Helper()
	select {
	case <-b.done:
	case <-time.After(timeout):
		_ = b.cmd.Process.Kill()
		<-b.done
		b.t.Fatalf("bridge did not exit within %v", timeout)
	}
	return b.cmd.ProcessState.ExitCode()
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// streamAndBroker starts what a bridge connects to: mosquitto, and a fake
// Teslemetry that opens every stream with the sample transcript; sub sees
// filter on the broker from the start.
func streamAndBroker(t *testing.T, filter string) (*Mosquitto, *testkit.FakeTeslemetry, *testkit.Subscriber) {
	t.Helper()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	return mq, tesla, testkit.Subscribe(t, mq.URL(), filter)
}

// teslemetryOrigin serves the fake stream and the fake REST API on one
// origin, as Teslemetry does: /api/… to api, everything else to tesla. It
// answers the URL to configure as teslemetry.url.
func teslemetryOrigin(t *testing.T, tesla *testkit.FakeTeslemetry, api *testkit.FakeREST) string {
	t.Helper()
	both := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.Server.Config.Handler.ServeHTTP(w, r)
			return
		}
		tesla.Server.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(both.Close)
	return both.URL
}
