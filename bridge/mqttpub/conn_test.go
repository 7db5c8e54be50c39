package mqttpub

import (
	"bufio"
	"bytes"
	"fmt"

	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// publishPacket is a QoS 1 PUBLISH as paho writes it.
func publishPacket(t *testing.T, topic string, id uint16, payload []byte) []byte {
	t.Helper()
	pk := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pk.TopicName, pk.Qos, pk.MessageID, pk.Payload = topic, 1, id, payload
	var b bytes.Buffer
	if err := pk.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pipeConn is a coalescingConn on one end of net.Pipe; reads returns what
// each Read of the other end got, one element per Read.
func pipeConn(t *testing.T, hold *int32Box) (*coalescingConn, <-chan []byte) {
	t.Helper()
	near, far := net.Pipe()
	cc := newCoalescingConn(near, &hold.v)
	cc.timeout = time.Second
	cc.safety = time.Hour // only TestCoalescingConnHoldAndRelease relies on the backstop
	reads := make(chan []byte, 100)
	go func() {
		defer close(reads)
		buf := make([]byte, 1<<20)
		for {
			n, err := far.Read(buf)
			if n > 0 {
				reads <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cc.Close(); far.Close() })
	return cc, reads
}

type int32Box struct{ v atomic.Int32 }

func next(t *testing.T, reads <-chan []byte) []byte {
	t.Helper()
	select {
	case b := <-reads:
		return b
	case <-time.After(2 * time.Second):
		t.Fatal("nothing written")
		return nil
	}
}

func nothing(t *testing.T, reads <-chan []byte) {
	t.Helper()
	select {
	case b := <-reads:
		t.Fatalf("written early: % x", b)
	default:
	}
}

// While paho has more PUBLISH packets in its pipeline (expected > written)
// they are queued, and go out together in one socket write with the last one.
func TestCoalescingConnBatchesExpectedPublishes(t *testing.T) {
	cc, reads := pipeConn(t, &int32Box{})
	var want []byte
	for range 3 {
		cc.expect()
	}
	for i := range 3 {
		pk := publishPacket(t, fmt.Sprintf("t/%d", i), uint16(i+1), []byte("v"))
		want = append(want, pk...)
		if _, err := cc.Write(pk); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			nothing(t, reads) // Write returned: a write would have been read by now (net.Pipe is synchronous)
		}
	}
	if got := next(t, reads); !bytes.Equal(got, want) {
		t.Errorf("one write of the three packets expected, got %d of %d bytes", len(got), len(want))
	}
}

// Anything but a PUBLISH (here PINGREQ) is written at once, behind the queue.
func TestCoalescingConnControlPacketsGoOutAtOnce(t *testing.T) {
	cc, reads := pipeConn(t, &int32Box{})
	cc.expect()
	cc.expect()
	pub := publishPacket(t, "t", 1, []byte("v"))
	cc.Write(pub)
	nothing(t, reads)
	ping := []byte{packets.Pingreq << 4, 0}
	cc.Write(ping)
	if got := next(t, reads); !bytes.Equal(got, append(bytes.Clone(pub), ping...)) {
		t.Errorf("got % x", got)
	}
}

// With the producer holding (more input in hand) a lone publish waits for
// Release (release), or at most safetyFlush.
func TestCoalescingConnHoldAndRelease(t *testing.T) {
	hold := &int32Box{}
	hold.v.Store(1)
	cc, reads := pipeConn(t, hold)
	cc.expect()
	pub := publishPacket(t, "t", 1, []byte("v"))
	cc.Write(pub)
	nothing(t, reads)
	hold.v.Store(0)
	go cc.release()
	if got := next(t, reads); !bytes.Equal(got, pub) {
		t.Errorf("got % x", got)
	}
	// The backstop: held, nothing releases it, the timer writes it.
	cc.mu.Lock()
	cc.safety = safetyFlush
	cc.mu.Unlock()
	hold.v.Store(1)
	cc.expect()
	start := time.Now()
	cc.Write(pub)
	next(t, reads)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("safety flush after %v", d)
	}
}

// Queued bytes go out at flushAt even while more is expected.
func TestCoalescingConnFlushesAtSize(t *testing.T) {
	cc, reads := pipeConn(t, &int32Box{})
	for range 100 {
		cc.expect()
	}
	pub := publishPacket(t, "t", 1, bytes.Repeat([]byte("x"), flushAt/4))
	for range 3 {
		cc.Write(pub)
	}
	nothing(t, reads)
	cc.Write(pub)
	if got := next(t, reads); len(got) != 4*len(pub) {
		t.Errorf("first write %d bytes, want %d", len(got), 4*len(pub))
	}
}

// wholePackets checks that every Write it gets is exactly one MQTT packet.
type wholePackets struct {
	net.Conn
	mu     sync.Mutex
	writes int
	bad    []string
}

func (w *wholePackets) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	r := bufio.NewReader(bytes.NewReader(p))
	_, err := packets.ReadPacket(r)
	if err != nil || r.Buffered() != 0 {
		w.bad = append(w.bad, fmt.Sprintf("write of %d bytes (type %d): %v, %d bytes left", len(p), p[0]>>4, err, r.Buffered()))
	}
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// The batching above counts PUBLISH packets per Write: it relies on paho
// writing each packet, whatever its size, in exactly one Write call. This
// test pins that with a real paho client talking to a minimal broker over
// net.Pipe.
func TestPahoWritesOnePacketPerWrite(t *testing.T) {
	near, far := net.Pipe()
	checker := &wholePackets{Conn: near}
	go fakeBroker(far)
	o := paho.NewClientOptions().AddBroker("tcp://pipe:1883").SetClientID("pin").
		SetAutoReconnect(false).SetStore(noStore{}).SetKeepAlive(time.Hour).
		SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) { return checker, nil })
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Subscribe("s/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	var toks []paho.Token
	for _, size := range []int{0, 1, 127, 128, 16383, 16384, 100 << 10} {
		toks = append(toks, c.Publish("t/x", 1, true, bytes.Repeat([]byte("p"), size)), c.Publish("t/y", 0, false, "q"))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	c.Disconnect(100)
	checker.mu.Lock()
	defer checker.mu.Unlock()
	if checker.writes < 17 {
		t.Errorf("%d writes, want ≥ 17 (connect, subscribe, 14 publishes, disconnect)", checker.writes)
	}
	for _, b := range checker.bad {
		t.Error(b)
	}
}

// fakeBroker answers CONNECT, SUBSCRIBE and QoS 1 PUBLISH until the pipe closes.
func fakeBroker(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		pk, err := packets.ReadPacket(r)
		if err != nil {
			return
		}
		var reply packets.ControlPacket
		switch p := pk.(type) {
		case *packets.ConnectPacket:
			reply = packets.NewControlPacket(packets.Connack)
		case *packets.SubscribePacket:
			ack := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
			ack.MessageID, ack.ReturnCodes = p.MessageID, make([]byte, len(p.Topics))
			reply = ack
		case *packets.PublishPacket:
			if p.Qos == 1 {
				ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				ack.MessageID = p.MessageID
				reply = ack
			}
		case *packets.DisconnectPacket:
			return
		}
		if reply != nil {
			if err := reply.Write(c); err != nil {
				return
			}
		}
	}
}
