package mqttpub

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// maxPending bounds the bytes a coalescingConn holds before Write blocks.
const maxPending = 4 << 20

// coalescingConn is the network connection handed to paho. paho issues one
// small read per packet field and one write per packet; here reads go through
// a buffer and writes are queued and sent by one goroutine, so everything that
// queues up while a write is on the wire goes out in the next single write.
// Nothing waits for more data: a lone packet is written at once.
type coalescingConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	err     error
	closing bool
	done    chan struct{} // closed when the writer goroutine has exited
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10), done: make(chan struct{})}
	cc.cond = sync.NewCond(&cc.mu)
	go cc.writeLoop()
	return cc
}

func (c *coalescingConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > maxPending && c.err == nil && !c.closing {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closing {
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	c.cond.Broadcast()
	return len(p), nil
}

func (c *coalescingConn) writeLoop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.pending) == 0 && !c.closing && c.err == nil {
			c.cond.Wait()
		}
		if len(c.pending) == 0 || c.err != nil {
			c.mu.Unlock()
			return
		}
		out := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()

		_, err := c.Conn.Write(out)

		c.mu.Lock()
		c.spare = out
		if err != nil {
			c.err = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Close sends what is queued (bounded by a short deadline), then closes.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.cond.Broadcast()
	c.mu.Unlock()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	<-c.done
	return c.Conn.Close()
}

// openConnection dials tcp/mqtt and ssl/mqtts brokers itself so that the
// connection can be wrapped; paho's own dialer handles websockets.
func openConnection(tlsCfg *tls.Config, timeout time.Duration) paho.OpenConnectionFunc {
	return func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		host := u.Host
		var (
			c   net.Conn
			err error
		)
		switch u.Scheme {
		case "ssl", "tls", "mqtts", "tcps":
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
		return newCoalescingConn(c), nil
	}
}
