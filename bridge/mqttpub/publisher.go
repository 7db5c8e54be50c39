// Package mqttpub publishes the bridge's retained topics to an MQTT broker
// with paho. It keeps the newest payload of every topic it owns, publishes a
// topic only when its payload changes, pipelines QoS 1 publishes inside a
// bounded window of unacknowledged messages (back-pressure instead of loss),
// and republishes everything it holds after every (re)connect.
package mqttpub

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"
)

// Class orders topics for a full republish: discovery configs first, then
// availability, then states (Home Assistant's start-up order).
type Class int

// Topic classes.
const (
	Discovery Class = iota
	Availability
	Value
	numClasses
)

// Message is one message received on a subscription. Retained is set when
// the broker delivered it from its retained store (on subscribe), not live.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Options configure a Publisher.
type Options struct {
	URL        string
	Username   string
	Password   string
	ClientID   string
	TLS        *tls.Config
	QoS        byte // for Availability and Value topics; Discovery always uses QoS 1
	Retain     bool // for Value topics; Discovery and Availability are always retained
	WillTopic  string
	Window     int           // unacknowledged publishes at most; default 8192
	MaxBackoff time.Duration // between connection attempts; default 30 s
	// Subscriptions are (re)made on every connect; handlers run on their own goroutine.
	Subscriptions map[string]func(Message)
	// OnConnect runs after every connect, before the full republish starts.
	OnConnect func()
	// OnRepublished runs, on the republish goroutine, when the full
	// republish of a connect has been handed to the broker (not after the
	// republishes Home Assistant's birth asks for, nor when the session ended first).
	OnRepublished func()
	Logger        logrus.FieldLogger
	Stats         Stats
}

// Stats receives counts; any field may be nil.
type Stats struct {
	Published func(n int)
	Failed    func(reason string)
	Connected func(up bool)
}

type entry struct {
	payload []byte
	topic   string
	// The payload buffer is overwritten in place by the next value unless
	// paho may still read it: handed over (seq != 0) and not yet written on
	// conn as its PUBLISH number seq (coalescingConn counts them); with no
	// conn to count on (websockets) seq is untracked and it is never reused.
	conn  *coalescingConn
	seq   uint64
	class class8 // 64 bytes in all: the cache holds one per topic
}

// class8 is a Class in one byte.
type class8 = uint8

const untracked = ^uint64(0)

// Publisher owns the MQTT connection and the last-value cache.
type Publisher struct {
	opts Options
	log  logrus.FieldLogger

	mu        sync.Mutex
	cache     map[string]*entry
	order     [numClasses][]string
	client    paho.Client     // nil while disconnected
	conn      *coalescingConn // the connection of the latest connect attempt
	session   uint64          // bumps on every connect; stale republish loops stop
	republish chan struct{}

	hold atomic.Int32 // Hold/Release nesting: > 0 while producers have more input in hand

	// The window: at most Window publishes unacknowledged. A producer that
	// finds it full waits until it has drained to a quarter free, so that at
	// saturation it wakes once per many acknowledgements, not once per each.
	win      sync.Mutex
	winCond  *sync.Cond
	inflight int
	waiting  int
	tokens   chan paho.Token // collected in order by the acknowledger
}

// New returns a Publisher; call Run to connect.
func New(opts Options) *Publisher {
	if opts.Window <= 0 {
		opts.Window = 8192
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = logrus.StandardLogger()
	}
	p := &Publisher{
		opts:      opts,
		log:       opts.Logger,
		cache:     map[string]*entry{},
		republish: make(chan struct{}, 1),
		tokens:    make(chan paho.Token, opts.Window),
	}
	p.winCond = sync.NewCond(&p.win)
	return p
}

// Publish records payload as the newest value of topic and sends it when it
// differs from the previous one. While connected it blocks when the window of
// unacknowledged publishes is full; while disconnected it only records, and
// the value goes out on the next connect. It reports whether the value changed.
//
// An empty payload is refused (reported as unchanged): on a retained topic it
// would delete the topic (contract §5); deletions go through Delete and
// ClearRetained.
func (p *Publisher) Publish(class Class, topic string, payload []byte) bool {
	changed, session, up, _ := p.store(class, topic, nil, payload)
	if changed && up {
		p.send(session, topic)
	}
	return changed
}

// PublishTopic is Publish with the topic as bytes, which the call does not
// keep: a topic seen before costs no allocation.
func (p *Publisher) PublishTopic(class Class, topic []byte, payload []byte) bool {
	changed, session, up, name := p.store(class, "", topic, payload)
	if changed && up {
		p.send(session, name)
	}
	return changed
}

// store records payload as the newest value of the topic given as a string
// or, when topicBytes is not nil, as bytes. It returns the topic's name.
func (p *Publisher) store(class Class, topic string, topicBytes []byte, payload []byte) (changed bool, session uint64, up bool, name string) {
	if len(payload) == 0 {
		return false, 0, false, topic // refused: see Publish
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var e *entry
	if topicBytes != nil {
		e = p.cache[string(topicBytes)]
	} else {
		e = p.cache[topic]
	}
	if e != nil && Class(e.class) == class && bytes.Equal(e.payload, payload) {
		return false, 0, false, e.topic
	}
	switch {
	case e == nil:
		if topicBytes != nil {
			topic = string(topicBytes)
		}
		e = &entry{topic: topic, class: class8(class)}
		p.cache[topic] = e
		p.order[class] = append(p.order[class], topic)
	case Class(e.class) != class:
		e.class = class8(class)
		p.order[class] = append(p.order[class], e.topic)
	}
	if cap(e.payload) >= len(payload) && (e.seq == 0 || (e.conn != nil && e.conn.wrote(e.seq))) {
		e.payload = append(e.payload[:0], payload...)
	} else {
		e.payload = bytes.Clone(payload)
	}
	e.seq, e.conn = 0, nil
	return true, p.session, p.client != nil, e.topic
}

// Delete forgets topic and clears its retained message on the broker.
func (p *Publisher) Delete(topic string) {
	p.mu.Lock()
	delete(p.cache, topic)
	var tok paho.Token
	if p.client != nil {
		tok = p.publish(topic, 1, true, []byte{}, nil)
	}
	p.mu.Unlock()
	if tok != nil {
		p.track(tok)
	}
}

// ClearRetained deletes the retained message of a topic the publisher does
// not hold (a stale discovery config left by an older version) with an empty
// retained QoS 1 publish, and reports whether it sent one. It sends nothing
// when the publisher holds a value for topic or is disconnected. The check
// and the publish happen under one lock, so a value published for topic
// later is sent after the deletion and wins. The cache is not touched: the
// deletion is never republished.
func (p *Publisher) ClearRetained(topic string) bool {
	p.mu.Lock()
	if _, held := p.cache[topic]; held || p.client == nil {
		p.mu.Unlock()
		return false
	}
	tok := p.publish(topic, 1, true, []byte{}, nil)
	p.mu.Unlock()
	p.track(tok)
	return true
}

// Topics returns every topic the publisher holds a value for.
func (p *Publisher) Topics() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.cache))
	for t := range p.cache {
		out = append(out, t)
	}
	return out
}

// Connected reports whether the broker connection is up.
func (p *Publisher) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client != nil
}

// RequestRepublish asks for a full republish (e.g. on Home Assistant's birth message).
func (p *Publisher) RequestRepublish() {
	select {
	case p.republish <- struct{}{}:
	default:
	}
}

// Hold tells the publisher that more publishes follow right away (the
// caller has more input in hand): small network writes are held back and
// coalesced. Every Hold must be followed by a Release.
func (p *Publisher) Hold() { p.hold.Add(1) }

// Release ends a Hold: what is queued is written as soon as paho has handed
// over every publish made so far.
func (p *Publisher) Release() {
	if p.hold.Add(-1) > 0 {
		return
	}
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.release()
	}
}

func (p *Publisher) setConn(c *coalescingConn) {
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
}

// acquire takes a window slot. When the window is full, what is queued on
// the connection is written now (its acknowledgements free the slots) and
// the caller waits until a quarter of the window is free again.
func (p *Publisher) acquire() {
	p.win.Lock()
	if p.inflight < p.opts.Window {
		p.inflight++
		p.win.Unlock()
		return
	}
	p.win.Unlock()
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.setUrgent(true)
		defer c.setUrgent(false)
	}
	p.win.Lock()
	for p.inflight >= p.opts.Window {
		p.waiting++
		p.winCond.Wait()
		p.waiting--
	}
	p.inflight++
	p.win.Unlock()
}

// releaseSlot frees a window slot.
func (p *Publisher) releaseSlot() {
	p.win.Lock()
	p.inflight--
	if p.waiting > 0 && (p.inflight <= p.opts.Window-max(p.opts.Window/4, 1) || p.inflight == 0) {
		p.winCond.Broadcast()
	}
	p.win.Unlock()
}

// unacknowledged is the number of publishes in the window.
func (p *Publisher) unacknowledged() int {
	p.win.Lock()
	defer p.win.Unlock()
	return p.inflight
}

// publish hands one message to paho; caller holds p.mu. When e is given,
// it records where its payload went (see entry).
func (p *Publisher) publish(topic string, qos byte, retain bool, payload []byte, e *entry) paho.Token {
	c := p.conn
	if c != nil {
		seq := c.expect()
		if e != nil {
			e.conn, e.seq = c, seq
		}
	} else if e != nil {
		e.conn, e.seq = nil, untracked // websocket: the payload is never reused
	}
	tok := p.client.Publish(topic, qos, retain, payload)
	if c != nil {
		select {
		case <-tok.Done(): // refused before it reached the connection (or already acknowledged)
			if tok.Error() != nil {
				c.unexpect()
			}
		default:
		}
	}
	return tok
}

// send publishes the newest value of topic within the window, if session is still current.
func (p *Publisher) send(session uint64, topic string) {
	p.acquire()
	p.mu.Lock()
	e := p.cache[topic]
	if p.client == nil || p.session != session || e == nil {
		p.mu.Unlock()
		p.releaseSlot()
		return
	}
	qos, retain := p.qosRetain(Class(e.class))
	tok := p.publish(topic, qos, retain, e.payload, e)
	p.mu.Unlock()
	p.tokens <- tok
}

// track hands a token from outside the window to the acknowledger.
func (p *Publisher) track(tok paho.Token) {
	p.acquire()
	p.tokens <- tok
}

func (p *Publisher) qosRetain(c Class) (byte, bool) {
	switch c {
	case Discovery:
		return 1, true
	case Availability:
		return p.opts.QoS, true
	default:
		return p.opts.QoS, p.opts.Retain
	}
}

// acknowledge waits for each token in publish order and frees its window slot.
func (p *Publisher) acknowledge(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var tok paho.Token
		select {
		case tok = <-p.tokens:
		case <-ctx.Done():
			return
		}
		select {
		case <-tok.Done():
		default:
			timer.Reset(30 * time.Second)
			select {
			case <-tok.Done():
			case <-timer.C:
				p.failed("timeout")
			}
		}
		if err := tok.Error(); err != nil {
			p.failed("error")
			p.log.WithError(err).Debug("publish not acknowledged")
		} else if p.opts.Stats.Published != nil {
			p.opts.Stats.Published(1)
		}
		p.releaseSlot()
	}
}

func (p *Publisher) failed(reason string) {
	if p.opts.Stats.Failed != nil {
		p.opts.Stats.Failed(reason)
	}
}

// Flush waits until every publish made so far is acknowledged or timeout passes.
func (p *Publisher) Flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.unacknowledged() == 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p.unacknowledged() == 0
}

// Run keeps the broker connection up until ctx ends, then disconnects.
func (p *Publisher) Run(ctx context.Context) error {
	ackCtx, stopAck := context.WithCancel(context.Background())
	defer stopAck()
	go p.acknowledge(ackCtx)

	backoff := time.Second
	wasDown := false
	for ctx.Err() == nil {
		client, lost, err := p.connect(ctx)
		if err != nil {
			if !wasDown {
				p.log.WithError(err).Warn("MQTT broker unreachable; retrying")
				wasDown = true
			}
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(backoff*2, p.opts.MaxBackoff)
			continue
		}
		wasDown = false
		backoff = time.Second
		p.log.WithField("broker", redactURL(p.opts.URL)).Info("MQTT connected")
		err = p.serve(ctx, client, lost)
		if ctx.Err() != nil {
			p.disconnect(client)
			break
		}
		p.log.WithError(err).Warn("MQTT connection lost; reconnecting")
		if !sleep(ctx, jitter(time.Second)) {
			break
		}
	}
	// Let the acknowledger drain what the final disconnect completed.
	p.Flush(time.Second)
	return nil
}

// connect makes one connection attempt with a fresh paho client.
func (p *Publisher) connect(ctx context.Context) (paho.Client, chan error, error) {
	lost := make(chan error, 1)
	o := paho.NewClientOptions().
		AddBroker(p.opts.URL).
		SetClientID(p.opts.ClientID).
		SetUsername(p.opts.Username).
		SetPassword(p.opts.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(writeTimeout). // bounds how long Publish waits for paho's writer
		SetStore(noStore{}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if p.opts.TLS != nil {
		o.SetTLSConfig(p.opts.TLS)
	}
	if p.opts.WillTopic != "" {
		o.SetWill(p.opts.WillTopic, "offline", 1, true)
	}
	if !isWebsocket(p.opts.URL) {
		o.SetCustomOpenConnectionFn(openConnection(p.opts.TLS, 10*time.Second, &p.hold, p.setConn))
	}
	client := paho.NewClient(o)
	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		client.Disconnect(0)
		return nil, nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, nil, scrub(err, p.opts.Password)
	}
	return client, lost, nil
}

// serve runs one connected session: bridge online, subscriptions, full republish.
func (p *Publisher) serve(ctx context.Context, client paho.Client, lost chan error) error {
	p.mu.Lock()
	p.client = client
	p.session++
	session := p.session
	p.mu.Unlock()
	if p.opts.Stats.Connected != nil {
		p.opts.Stats.Connected(true)
	}
	defer func() {
		p.mu.Lock()
		p.client = nil
		p.mu.Unlock()
		if p.opts.Stats.Connected != nil {
			p.opts.Stats.Connected(false)
		}
	}()

	if p.opts.WillTopic != "" {
		// First thing on every connect, whether or not the cached value changed.
		p.store(Availability, p.opts.WillTopic, nil, []byte("online"))
		p.send(session, p.opts.WillTopic)
	}
	for topic, handler := range p.opts.Subscriptions {
		handler := handler
		client.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
			handler(Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()})
		})
	}
	if p.opts.OnConnect != nil {
		p.opts.OnConnect()
	}

	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(done func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.republishAll(sessCtx, session) && done != nil {
				done()
			}
		}()
	}
	start(p.opts.OnRepublished)
	for {
		select {
		case err := <-lost:
			cancel()
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-p.republish:
			// Home Assistant restarted: give it a moment, then send everything again.
			if !sleep(sessCtx, time.Duration(500+rand.IntN(1500))*time.Millisecond) {
				continue
			}
			wg.Wait()
			start(nil)
		}
	}
}

// republishAll sends the newest value of every topic, discovery first, spread
// out so that tens of thousands of topics take a few seconds, not one burst.
// It reports whether it got through them all before ctx ended.
func (p *Publisher) republishAll(ctx context.Context, session uint64) bool {
	p.mu.Lock()
	var topics []string
	for c := range numClasses {
		p.order[c] = compact(p.order[c], p.cache, c)
		topics = append(topics, p.order[c]...)
	}
	p.mu.Unlock()
	const chunk = 500
	pause := time.Duration(0)
	if n := len(topics) / chunk; n > 0 {
		pause = min(50*time.Millisecond, 5*time.Second/time.Duration(n))
	}
	for i, topic := range topics {
		if i > 0 && i%chunk == 0 && !sleep(ctx, pause) {
			return false
		}
		if ctx.Err() != nil {
			return false
		}
		if topic != p.opts.WillTopic { // already sent first by serve
			p.send(session, topic)
		}
	}
	p.log.WithField("topics", len(topics)).Debug("republished all topics")
	return true
}

// compact drops topics that were deleted or moved to another class.
func compact(order []string, cache map[string]*entry, c Class) []string {
	out := order[:0]
	seen := make(map[string]bool, len(order))
	for _, t := range order {
		if e := cache[t]; e != nil && Class(e.class) == c && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (p *Publisher) disconnect(client paho.Client) {
	p.mu.Lock()
	p.client = nil
	p.mu.Unlock()
	client.Disconnect(250)
}

func isWebsocket(u string) bool {
	return len(u) >= 5 && (u[:5] == "ws://" || (len(u) >= 6 && u[:6] == "wss://"))
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))/2
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// scrub removes a secret from an error's text.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !bytes.Contains([]byte(err.Error()), []byte(secret)) {
		return err
	}
	return errors.New(string(bytes.ReplaceAll([]byte(err.Error()), []byte(secret), []byte("<redacted>"))))
}

// redactURL drops user info from a broker URL for logs.
func redactURL(u string) string {
	if i := bytes.IndexByte([]byte(u), '@'); i >= 0 {
		if j := bytes.Index([]byte(u), []byte("://")); j >= 0 && j < i {
			return u[:j+3] + u[i+1:]
		}
	}
	return u
}
