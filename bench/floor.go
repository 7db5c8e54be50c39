package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// The wake-up floor: one message from this process to another over
// loopback TCP, at the latency runs' event rate, timed from the write to the
// moment the sleeping receiver has it. Every hop of the measured paths
// (SSE server → bridge → mosquitto → subscriber) pays at least this, so it
// says how much of a latency figure is the machine rather than the bridge.

// echoChild receives 8-byte send stamps (µs) and prints the one-way latencies.
func echoChild(args []string) {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	n := fs.Int("n", 2000, "samples")
	_ = fs.Parse(args)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	c, err := l.Accept()
	if err != nil {
		os.Exit(1)
	}
	buf := make([]byte, 8)
	lat := make([]int64, 0, *n)
	for len(lat) < *n {
		if _, err := io.ReadFull(c, buf); err != nil {
			break
		}
		lat = append(lat, time.Now().UnixMicro()-int64(binary.LittleEndian.Uint64(buf)))
	}
	fmt.Printf("%.3f %.3f %.3f\n", percentile(lat, 50)/1000, percentile(lat, 99)/1000, percentile(lat, 100)/1000)
}

// wakeupFloor measures n one-way hops at perSecond.
func wakeupFloor(n int, perSecond float64) (p50, p99, max float64, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.Command(self, "--child", "echo", "-n", fmt.Sprint(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		return 0, 0, 0, errors.New("echo child did not start")
	}
	c, err := net.DialTimeout("tcp", strings.TrimSpace(lines.Text()), 5*time.Second)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	interval := time.Duration(float64(time.Second) / perSecond)
	start := time.Now()
	buf := make([]byte, 8)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		binary.LittleEndian.PutUint64(buf, uint64(time.Now().UnixMicro()))
		if _, err := c.Write(buf); err != nil {
			return 0, 0, 0, err
		}
	}
	done := make(chan bool, 1)
	go func() { done <- lines.Scan() }()
	select {
	case ok := <-done:
		if !ok {
			return 0, 0, 0, errors.New("echo child gave no result")
		}
	case <-time.After(10 * time.Second):
		return 0, 0, 0, errors.New("echo child timed out")
	}
	_, err = fmt.Sscanf(lines.Text(), "%f %f %f", &p50, &p99, &max)
	return p50, p99, max, err
}
