package mqttpub

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
)

// What the broker sends is acknowledged at once only while few publishes are
// in flight; under a heavy stream the kernel's delayed acknowledgements stay.
func TestSocketReaderAcknowledgesWhenQuiet(t *testing.T) {
	near, far := net.Pipe()
	t.Cleanup(func() { near.Close(); far.Close() })
	cc := newCoalescingConn(near, nil)
	var acks atomic.Int32
	var quiet atomic.Bool
	cc.ack = func() { acks.Add(1) }
	cc.quiet = quiet.Load
	read := func(payload string) {
		t.Helper()
		go func() { _, _ = far.Write([]byte(payload)) }()
		buf := make([]byte, len(payload))
		if _, err := io.ReadFull(cc, buf); err != nil || string(buf) != payload {
			t.Fatalf("read %q, %v", buf, err)
		}
	}
	read("busy")
	if n := acks.Load(); n != 0 {
		t.Fatalf("%d immediate acknowledgements with many publishes in flight", n)
	}
	quiet.Store(true)
	read("quiet")
	if n := acks.Load(); n != 1 {
		t.Fatalf("%d immediate acknowledgements for one read while quiet, want 1", n)
	}
}

// The publisher's connection can acknowledge at once (a TCP socket, also
// under TLS); it is quiet while fewer than quickAckBelow publishes wait.
func TestQuickAckerOnTCP(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_QUICKACK is Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ack := quickAcker(c)
	if ack == nil {
		t.Fatal("no quick acknowledgement on a TCP connection")
	}
	ack() // must not fail or block
	if quickAcker(tls.Client(c, &tls.Config{ServerName: "broker"})) == nil {
		t.Error("no quick acknowledgement under TLS")
	}
	if p1, p2 := net.Pipe(); quickAcker(p1) != nil {
		t.Error("quick acknowledgement on a pipe")
		p1.Close()
		p2.Close()
	}

	p := New(Options{URL: "tcp://127.0.0.1:1", Window: 2 * quickAckBelow})
	cc := newCoalescingConn(c, nil)
	p.setConn(cc)
	if !cc.quiet() {
		t.Error("not quiet with nothing in flight")
	}
	for range quickAckBelow {
		p.acquire()
	}
	if cc.quiet() {
		t.Errorf("quiet with %d publishes in flight", quickAckBelow)
	}
	p.releaseSlot()
	if !cc.quiet() {
		t.Errorf("not quiet with %d publishes in flight", quickAckBelow-1)
	}
}
