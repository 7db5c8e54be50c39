package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// subscriber is a minimal MQTT 3.1.1 client that subscribes at QoS 0 and only
// counts. It is hand-written (a parser over one large buffered reader) so that
// it costs far less than the publishers it measures: mosquitto silently drops
// QoS 0 messages for a subscriber that falls 1,000 packets behind, so an exact
// count at the end of a run proves it kept up.
type subscriber struct {
	conn net.Conn
	// lazy makes the reader wait a little after a short read so that the
	// next read takes many messages at once: the subscriber then costs far
	// less CPU per message. Only for throughput runs: it adds up to
	// lazyWait to the measured latency.
	lazy atomic.Bool

	mu       sync.Mutex
	count    int // live (non-retained) messages under <base>/+/v/
	target   int
	reached  chan struct{}
	first    time.Time // first counted message
	last     time.Time // last counted message
	lat      []int64   // µs, from Odometer payloads
	topics   map[string]struct{}
	distinct bool  // record distinct value topics
	minStamp int64 // Odometer stamps below this are not latency samples
	// retainedTopics, when not nil, collects the value topics delivered as
	// retained messages (what the broker holds).
	retainedTopics map[string]struct{}
	states         map[string]string
	stateCond      *sync.Cond
	err            error
}

// subscribe connects to the broker at addr and subscribes to filter.
func subscribe(addr, clientID, filter string) (*subscriber, error) {
	return subscribeWith(addr, clientID, filter, nil)
}

func subscribeWith(addr, clientID, filter string, setup func(*subscriber)) (*subscriber, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	s := &subscriber{conn: c, states: map[string]string{}, topics: map[string]struct{}{}}
	s.stateCond = sync.NewCond(&s.mu)
	if setup != nil {
		setup(s)
	}
	if err := s.handshake(clientID, filter); err != nil {
		c.Close()
		return nil, err
	}
	go s.loop(&pacedReader{s: s, r: c})
	return s, nil
}

func (s *subscriber) handshake(clientID, filter string) error {
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = s.conn.SetDeadline(time.Time{}) }()
	var vh []byte
	vh = appendStr(vh, "MQTT")
	vh = append(vh, 4, 0x02, 0, 0) // level 4, clean session, keep-alive off
	vh = appendStr(vh, clientID)
	if _, err := s.conn.Write(packet(0x10, vh)); err != nil {
		return err
	}
	r := bufio.NewReader(io.LimitReader(s.conn, 4))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(r, ack); err != nil {
		return fmt.Errorf("connack: %w", err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		return fmt.Errorf("connack refused: % x", ack)
	}
	body := []byte{0, 1}
	body = appendStr(body, filter)
	body = append(body, 0) // QoS 0
	if _, err := s.conn.Write(packet(0x82, body)); err != nil {
		return err
	}
	sa := make([]byte, 5)
	if _, err := io.ReadFull(s.conn, sa); err != nil {
		return fmt.Errorf("suback: %w", err)
	}
	if sa[0] != 0x90 || sa[4] > 2 {
		return fmt.Errorf("suback refused: % x", sa)
	}
	return nil
}

func appendStr(b []byte, s string) []byte {
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

func packet(header byte, body []byte) []byte {
	out := []byte{header}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

var (
	valueMark    = []byte("/v/")
	odometerMark = []byte("/v/Odometer")
)

const lazyWait = 500 * time.Microsecond

// pacedReader reads the socket in large chunks; in lazy mode it sleeps after
// a short read (mosquitto keeps writing into the socket buffer meanwhile).
type pacedReader struct {
	s    *subscriber
	r    net.Conn
	wait bool
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.wait && p.s.lazy.Load() {
		time.Sleep(lazyWait)
	}
	n, err := p.r.Read(b)
	p.wait = n < len(b)/4
	return n, err
}

func (s *subscriber) loop(pr *pacedReader) {
	r := bufio.NewReaderSize(pr, 256<<10)
	buf := make([]byte, 0, 64<<10)
	for {
		h, err := r.ReadByte()
		if err != nil {
			s.fail(err)
			return
		}
		n, mult := 0, 1
		for i := 0; ; i++ {
			b, err := r.ReadByte()
			if err != nil || i == 4 {
				s.fail(errors.Join(err, errors.New("bad remaining length")))
				return
			}
			n += int(b&0x7f) * mult
			mult *= 128
			if b&0x80 == 0 {
				break
			}
		}
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			s.fail(err)
			return
		}
		if h>>4 != 3 || n < 2 { // not a PUBLISH
			continue
		}
		tl := int(buf[0])<<8 | int(buf[1])
		if 2+tl > n {
			s.fail(errors.New("bad publish"))
			return
		}
		topic := buf[2 : 2+tl]
		body := buf[2+tl:]
		if (h>>1)&3 > 0 {
			body = body[2:] // packet id (not expected: we subscribe at QoS 0)
		}
		s.onMessage(topic, body, h&1 == 1)
	}
}

func (s *subscriber) onMessage(topic, body []byte, retained bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !bytes.Contains(topic, valueMark) {
		s.states[string(topic)] = string(body)
		s.stateCond.Broadcast()
		return
	}
	if retained {
		if s.retainedTopics != nil {
			s.retainedTopics[string(topic)] = struct{}{}
		}
		return
	}
	if s.distinct {
		if _, ok := s.topics[string(topic)]; !ok {
			s.topics[string(topic)] = struct{}{}
		}
	}
	s.count++
	if s.count == 1 {
		s.first = now
	}
	s.last = now
	if bytes.HasSuffix(topic, odometerMark) {
		if v, err := strconv.ParseInt(string(body), 10, 64); err == nil && v >= s.minStamp {
			s.lat = append(s.lat, now.UnixMicro()-v)
		}
	}
	if s.reached != nil && s.count >= s.target {
		close(s.reached)
		s.reached = nil
	}
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.stateCond.Broadcast()
	s.mu.Unlock()
}

// reset starts a new measurement: it returns a channel closed when target
// live value messages have arrived.
func (s *subscriber) reset(target int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count, s.target = 0, target
	s.first, s.last = time.Time{}, time.Time{}
	s.lat = make([]int64, 0, target/fieldsPerEvent+16)
	ch := make(chan struct{})
	if target <= 0 {
		close(ch)
	} else {
		s.reached = ch
	}
	return ch
}

// snapshot returns the count, the time of the last counted message and the latency samples so far.
func (s *subscriber) snapshot() (count int, first, last time.Time, lat []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.first, s.last, append([]int64(nil), s.lat...)
}

// trackTopics starts recording distinct value topics (cleared).
func (s *subscriber) trackTopics() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.distinct = true
	s.topics = map[string]struct{}{}
}

func (s *subscriber) setMinStamp(us int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minStamp = us
}

func (s *subscriber) distinctTopics() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.topics)
}

// waitState waits until topic holds want (bounded by timeout).
func (s *subscriber) waitState(topic, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() { s.mu.Lock(); s.stateCond.Broadcast(); s.mu.Unlock() })
	defer t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.states[topic] != want {
		if s.err != nil {
			return fmt.Errorf("subscriber: %w", s.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s = %q (have %q)", topic, want, s.states[topic])
		}
		s.stateCond.Wait()
	}
	return nil
}

func (s *subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *subscriber) close() { s.conn.Close() }

// countRetained subscribes a fresh client and counts the distinct value
// topics the broker holds as retained messages, waiting until want arrived
// or nothing new came for quiet (bounded by timeout).
func countRetained(addr string, want int, quiet, timeout time.Duration) (int, error) {
	s, err := subscribeWith(addr, fmt.Sprintf("bench-check-%d", time.Now().UnixNano()), baseTopic+"/+/v/#", func(s *subscriber) {
		s.retainedTopics = map[string]struct{}{}
	})
	if err != nil {
		return 0, err
	}
	defer s.close()
	deadline := time.Now().Add(timeout)
	last, lastChange := -1, time.Now()
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.retainedTopics)
		s.mu.Unlock()
		if n >= want {
			return n, nil
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return n, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last, nil
}
