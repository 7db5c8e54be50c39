package mqttpub

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const (
	// flushAt is the size at which queued bytes are written even while more
	// publishes are known to follow.
	flushAt = 32 << 10
	// safetyFlush bounds how long queued bytes can wait if the accounting
	// below ever says "more is coming" when nothing is: a backstop, not the
	// normal path.
	safetyFlush = 2 * time.Millisecond
	readBuffer  = 16 << 10
	// writeTimeout bounds every write to the socket (and paho's wait to hand
	// a publish to its writer, see connect): a broker that takes nothing for
	// this long is treated as gone, so that nothing blocks for longer —
	// shutdown included (README, "Reliability": exit within 5 s).
	writeTimeout = 2 * time.Second
)

// coalescingConn is the network connection handed to paho.
//
// paho issues one small read per packet field and one write system call per
// packet. Here reads go through a buffer (filled by socketReader, which also
// decides when what arrived is acknowledged at once), and writes are queued
// and sent in one system call per batch. A batch is written as soon as nothing more is
// coming, so a lone publish is not delayed:
//
//   - the Publisher counts the PUBLISH packets it hands to paho (expect) and
//     this connection counts the ones paho writes; while paho still has some
//     in its pipeline (written < expected), the next one will follow at once;
//   - while the producer has more input in hand (Publisher.Hold, e.g. the SSE
//     stream has unprocessed events in its buffer), small writes wait for the
//     rest of that input; Publisher.Release sends them;
//   - anything that is not a PUBLISH (CONNECT, SUBSCRIBE, PINGREQ, PUBACK,
//     DISCONNECT) is written at once, behind what is queued;
//   - at flushAt bytes a batch goes out regardless, and a timer makes sure
//     nothing queued ever waits longer than safetyFlush.
//
// Every socket write has a deadline of writeTimeout; paho's own per-packet
// write deadlines are ignored (they would apply to whichever batch happens
// to be written).
//
// Writes happen on the calling goroutine (paho's writer, or the producer in
// Release), serialised by wmu so that batches keep their order.
type coalescingConn struct {
	net.Conn
	r    *bufio.Reader
	hold *atomic.Int32 // > 0: the producer has more input in hand (shared with the Publisher)
	ack  func()        // acknowledges received data at once (quickAcker); nil: cannot
	// quiet reports whether few publishes wait for their acknowledgement
	// (set by the Publisher before paho uses the connection); nil: never.
	quiet func() bool

	wmu sync.Mutex // held while a batch is taken and written: keeps batches in order

	mu       sync.Mutex
	buf      []byte // queued, not yet written
	spare    []byte
	expected uint64 // PUBLISH packets handed to paho for this connection
	written  uint64 // PUBLISH packets paho wrote here
	urgent   int    // > 0: a producer waits for the window: ignore hold
	err      error  // first write error; returned by every later Write
	closed   bool
	armed    bool
	timer    *time.Timer
	timeout  time.Duration // deadline of each socket write
	safety   time.Duration // safetyFlush; tests lengthen it
}

func newCoalescingConn(c net.Conn, hold *atomic.Int32) *coalescingConn {
	if hold == nil {
		hold = new(atomic.Int32)
	}
	cc := &coalescingConn{Conn: c, hold: hold, ack: quickAcker(c), timeout: writeTimeout, safety: safetyFlush}
	cc.r = bufio.NewReaderSize(socketReader{cc}, readBuffer)
	cc.timer = time.AfterFunc(time.Hour, cc.onTimer)
	cc.timer.Stop()
	return cc
}

// Read serves paho's small reads from a buffer. Before the buffer goes back
// to the socket it lets the other goroutines run once: acknowledgements then
// arrive many per read instead of one system call (and wake-up) each.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if c.r.Buffered() == 0 {
		runtime.Gosched()
	}
	return c.r.Read(p)
}

// socketReader fills the read buffer from the socket. While few publishes
// wait for their acknowledgement (quiet) it has what arrived acknowledged at
// once (quickAcker), so that the broker's next write, a command perhaps, is
// not held back by its Nagle algorithm. Under a heavy stream it does not:
// the broker's batching of its PUBACKs is what keeps reads few and large
// (acknowledging every read at once cost 2.6 times the CPU per value).
type socketReader struct{ c *coalescingConn }

func (r socketReader) Read(p []byte) (int, error) {
	n, err := r.c.Conn.Read(p)
	if n > 0 && r.c.ack != nil && r.c.quiet != nil && r.c.quiet() {
		r.c.ack()
	}
	return n, err
}

// SetWriteDeadline ignores paho's per-packet deadlines: every socket write
// gets its own (see timeout).
func (c *coalescingConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline (paho: while connecting) applies to reads only, for the same reason.
func (c *coalescingConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Write queues p; it writes the queue when nothing more is coming.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.buf = append(c.buf, p...)
	publish := len(p) > 0 && p[0]>>4 == 3
	if publish {
		c.written++
	}
	now := !publish || len(c.buf) >= flushAt || (c.written >= c.expected && (c.hold.Load() <= 0 || c.urgent > 0))
	if !now && !c.armed {
		c.armed = true
		c.timer.Reset(c.safety)
	}
	c.mu.Unlock()
	if now {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes everything queued.
func (c *coalescingConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	out := c.buf
	if len(out) == 0 || c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.buf = c.spare[:0]
	c.spare = nil
	if c.armed {
		c.armed = false
		c.timer.Stop()
	}
	timeout := c.timeout
	c.mu.Unlock()

	err := c.Conn.SetWriteDeadline(time.Now().Add(timeout))
	if err == nil {
		_, err = c.Conn.Write(out)
	}

	c.mu.Lock()
	if cap(out) <= 4*flushAt { // keep the buffer unless one huge packet grew it
		c.spare = out[:0]
	}
	if err != nil && c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	return err
}

func (c *coalescingConn) onTimer() {
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
	_ = c.flush()
}

// expect counts a PUBLISH handed to paho and returns its number; unexpect
// takes it back when paho refused it without writing it.
func (c *coalescingConn) expect() uint64 {
	c.mu.Lock()
	c.expected++
	n := c.expected
	c.mu.Unlock()
	return n
}

// wrote reports whether paho has written PUBLISH number seq (and so no
// longer reads its payload).
func (c *coalescingConn) wrote(seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written >= seq
}

func (c *coalescingConn) unexpect() {
	c.mu.Lock()
	c.expected--
	now := len(c.buf) > 0 && c.written >= c.expected
	c.mu.Unlock()
	if now {
		_ = c.flush()
	}
}

// release writes what is queued if paho has written everything it was given;
// otherwise the last packet still on its way will be written at once.
func (c *coalescingConn) release() {
	c.mu.Lock()
	now := len(c.buf) > 0 && c.written >= c.expected
	c.mu.Unlock()
	if now {
		_ = c.flush()
	}
}

// setUrgent marks (or unmarks) a producer waiting for a window slot: while
// one waits, queued publishes go out regardless of hold.
func (c *coalescingConn) setUrgent(on bool) {
	c.mu.Lock()
	if on {
		c.urgent++
	} else {
		c.urgent--
	}
	now := on && len(c.buf) > 0
	c.mu.Unlock()
	if now {
		_ = c.flush()
	}
}

// Close writes what is queued (bounded by a short deadline), then closes.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.timer.Stop()
	c.armed = false
	c.timeout = min(c.timeout, time.Second)
	c.mu.Unlock()
	_ = c.flush()
	return c.Conn.Close()
}

// openConnection dials tcp/mqtt and ssl/mqtts brokers itself so that the
// connection can be wrapped; paho's own dialer handles websockets. opened
// gets every connection made.
func openConnection(tlsCfg *tls.Config, timeout time.Duration, hold *atomic.Int32, opened func(*coalescingConn)) paho.OpenConnectionFunc {
	return func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		host := u.Host
		var (
			c   net.Conn
			err error
		)
		switch {
		case SecureScheme(u.Scheme) && u.Scheme != "wss":
			if u.Port() == "" {
				host = net.JoinHostPort(u.Hostname(), "8883")
			}
			cfg := tlsCfg
			if cfg == nil {
				cfg = &tls.Config{}
			}
			d := tls.Dialer{Config: cfg}
			c, err = d.DialContext(ctx, "tcp", host)
		default:
			if u.Port() == "" {
				host = net.JoinHostPort(u.Hostname(), "1883")
			}
			var d net.Dialer
			c, err = d.DialContext(ctx, "tcp", host)
		}
		if err != nil {
			return nil, err
		}
		cc := newCoalescingConn(c, hold)
		if opened != nil {
			opened(cc)
		}
		return cc, nil
	}
}
