package mqttpub_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// faultyProxy sits between the publisher and the broker. It closes a
// connection when the client sends a PUBLISH with more than limit bytes after
// its fixed header (as mosquitto does above max_packet_size), and, with
// dropAfter set, closes every connection that long after accepting it.
type faultyProxy struct {
	ln        net.Listener
	target    string
	limit     int
	dropAfter time.Duration
	accepted  atomic.Int32
	wg        sync.WaitGroup
}

func newFaultyProxy(t *testing.T, target string, limit int, dropAfter time.Duration) *faultyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultyProxy{ln: ln, target: target, limit: limit, dropAfter: dropAfter}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *faultyProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func (p *faultyProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		var once sync.Once
		closeBoth := func() { once.Do(func() { c.Close(); b.Close() }) }
		if p.dropAfter > 0 {
			time.AfterFunc(p.dropAfter, closeBoth)
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, b); closeBoth() }()
		go func() { defer p.wg.Done(); p.forward(c, b); closeBoth() }()
	}
}

// forward copies client packets to the broker, refusing oversized PUBLISHes.
func (p *faultyProxy) forward(c, b net.Conn) {
	r := bufio.NewReader(c)
	for {
		var head bytes.Buffer
		first, err := r.ReadByte()
		if err != nil {
			return
		}
		head.WriteByte(first)
		n, mult := 0, 1
		for {
			d, err := r.ReadByte()
			if err != nil {
				return
			}
			head.WriteByte(d)
			n += int(d&127) * mult
			mult *= 128
			if d < 128 {
				break
			}
		}
		if first>>4 == 3 && p.limit > 0 && n > p.limit {
			return // refused: the caller closes both ends
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if _, err := b.Write(append(head.Bytes(), body...)); err != nil {
			return
		}
	}
}

type faultStats struct{ setAside, tooLarge, connects atomic.Int32 }

func startFaultPublisher(t *testing.T, url string, o mqttpub.Options) (*mqttpub.Publisher, *faultStats) {
	t.Helper()
	st := &faultStats{}
	o.URL, o.ClientID, o.QoS, o.Retain, o.WillTopic, o.Logger = url, fmt.Sprintf("fault-%d", time.Now().UnixNano()), 1, true, "t/bridge/state", quietLogger()
	o.Stats = mqttpub.Stats{
		SetAside: func() { st.setAside.Add(1) },
		TooLarge: func() { st.tooLarge.Add(1) },
		Connected: func(up bool) {
			if up {
				st.connects.Add(1)
			}
		},
	}
	p := mqttpub.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, st
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v still waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A message the broker answers by closing the connection is found, set
// aside and counted; everything else flows; later values as large are set
// aside without a reconnect, a smaller one is sent.
func TestRefusedMessageIsSetAside(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	proxy := newFaultyProxy(t, b.Addr(), 1000, 0)
	sub := testkit.Subscribe(t, b.URL(), "t/#")
	p, st := startFaultPublisher(t, proxy.URL(), mqttpub.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	waitConnected(t, p)
	p.Publish(mqttpub.Value, "t/v/a", []byte("1"))
	sub.WaitFor("t/v/a", "1", 5*time.Second)

	big := bytes.Repeat([]byte("x"), 2000)
	p.Publish(mqttpub.Value, "t/big", big)
	p.Publish(mqttpub.Value, "t/v/a", []byte("2"))
	waitFor(t, "the refused message set aside", 10*time.Second, func() bool { return st.setAside.Load() == 1 })
	sub.WaitFor("t/v/a", "2", 5*time.Second)
	connects := st.connects.Load()
	t.Logf("set aside after %d connects", connects)

	if p.Publish(mqttpub.Value, "t/big", append(big, 'y')) {
		t.Error("a value as large as the refused one was accepted")
	}
	if st.setAside.Load() != 2 {
		t.Errorf("set-aside count %d, want 2", st.setAside.Load())
	}
	p.Publish(mqttpub.Value, "t/big", []byte("small"))
	p.Publish(mqttpub.Value, "t/v/a", []byte("3"))
	sub.WaitFor("t/big", "small", 5*time.Second)
	sub.WaitFor("t/v/a", "3", 5*time.Second)
	if n := st.connects.Load(); n != connects {
		t.Errorf("%d connects after the set-aside, want %d", n, connects)
	}
	for _, m := range sub.Messages() {
		if m.Topic == "t/big" && len(m.Payload) > 1000 {
			t.Error("the refused message reached the broker")
		}
	}
}

// mqtt.max_payload: larger payloads are skipped and counted, not sent.
func TestMaxPayloadSkipsAndCounts(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "t/#")
	p, st := startFaultPublisher(t, b.URL(), mqttpub.Options{MaxPayload: 10})
	waitConnected(t, p)
	if p.Publish(mqttpub.Value, "t/x", []byte("01234567890")) {
		t.Error("an 11-byte payload was accepted with MaxPayload 10")
	}
	if !p.Publish(mqttpub.Value, "t/x", []byte("0123456789")) {
		t.Error("a 10-byte payload was refused")
	}
	sub.WaitFor("t/x", "0123456789", 5*time.Second)
	if st.tooLarge.Load() != 1 || sub.Count("t/x") != 1 {
		t.Errorf("too large %d, t/x received %d times; want 1 and 1", st.tooLarge.Load(), sub.Count("t/x"))
	}
}

// A broker that accepts the connection and drops it soon after is retried
// with a growing delay; a connection that lasted HealthyAfter resets it.
func TestShortLivedConnectionsBackOff(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // the subtests run after this function returns
	for _, tc := range []struct {
		name         string
		healthyAfter time.Duration
		atMost       int32
		atLeast      int32
	}{
		{"dropped soon: backoff grows", time.Minute, 7, 3},
		{"up long enough: backoff resets", 10 * time.Millisecond, 1000, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := newFaultyProxy(t, b.Addr(), 0, 40*time.Millisecond)
			startFaultPublisher(t, proxy.URL(), mqttpub.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 10 * time.Second, HealthyAfter: tc.healthyAfter})
			time.Sleep(1500 * time.Millisecond) // the number of connects in this time is the thing measured
			n := proxy.accepted.Load()
			t.Logf("%d connections in 1.5 s", n)
			if n > tc.atMost || n < tc.atLeast {
				t.Errorf("%d connections in 1.5 s, want %d..%d", n, tc.atLeast, tc.atMost)
			}
		})
	}
}
