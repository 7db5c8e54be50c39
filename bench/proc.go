package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on Linux).
const clkTck = 100

// cpuTime returns utime+stime of a process.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat: %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat: %q", b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad stat: %q", b)
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// memKB returns VmHWM (peak RSS) and VmRSS of a process, in kB.
func memKB(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// mosquitto is a broker process with its default configuration plus one
// loopback listener (mosquitto 2 needs allow_anonymous once a listener is set)
// and the lines of --broker-conf.
type mosquitto struct {
	port int
	conf string
	cmd  *exec.Cmd
	log  bytes.Buffer
}

func startMosquitto(dir string, port int) (*mosquitto, error) {
	m := &mosquitto{port: port, conf: filepath.Join(dir, fmt.Sprintf("mosquitto-%d.conf", port))}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n%s\n", port, brokerConf)
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	m.cmd = exec.Command(mosquittoPath, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = &m.log, &m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", m.addr(), time.Second); err == nil {
			c.Close()
			return m, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.stop()
	return nil, fmt.Errorf("mosquitto did not start: %s", m.log.String())
}

func (m *mosquitto) addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }
func (m *mosquitto) url() string  { return "tcp://" + m.addr() }
func (m *mosquitto) pid() int     { return m.cmd.Process.Pid }

func (m *mosquitto) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
}

var mosquittoPath = "mosquitto"

func findMosquitto() error {
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			mosquittoPath = path
			return nil
		}
	}
	return fmt.Errorf("mosquitto not found (apt-get install mosquitto)")
}

func mosquittoVersion() string {
	out, _ := exec.Command(mosquittoPath, "-h").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// brokerConf is extra mosquitto.conf text for every broker (--broker-conf, for experiments).
var brokerConf string
