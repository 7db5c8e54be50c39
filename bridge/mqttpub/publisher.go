// Package mqttpub publishes the bridge's retained topics to an MQTT broker
// with paho. It keeps the newest payload of every topic it owns, publishes a
// topic only when its payload changes, pipelines QoS 1 publishes inside a
// bounded window of unacknowledged messages (back-pressure instead of loss),
// and republishes everything it holds after every (re)connect.
//
// Files: publisher.go (the API), cache.go (last-value cache), window.go
// (in-flight window, acknowledgements, Flush), send.go (handing publishes to
// paho), session.go (connect, reconnect backoff, one session), republish.go
// (the full republish), setaside.go (messages the broker refuses,
// MaxPayload), conn.go (the coalescing network connection).
package mqttpub

import (
	"crypto/tls"
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
	Received time.Time // when the MQTT client handed it to the bridge
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
	MinBackoff time.Duration // first delay before reconnecting; default 1 s
	MaxBackoff time.Duration // between connection attempts; default 30 s
	// HealthyAfter is how long a connection must last to reset the
	// reconnect backoff; default 1 min. A connection that dies sooner is
	// retried with the backoff of a failed connection attempt.
	HealthyAfter time.Duration
	// MaxPayload skips (and counts, Stats.TooLarge) payloads larger than
	// this many bytes; 0 = no limit.
	MaxPayload int
	// Subscriptions are (re)made on every connect. Handlers run one at a
	// time, in the order the broker delivered the messages, on a goroutine
	// of the publisher's (inbox.go); they may publish.
	Subscriptions map[string]func(Message)
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
	// SetAside counts messages not sent because the broker refused them
	// (it closed the connection right after each; see setaside.go).
	SetAside func()
	// TooLarge counts payloads above Options.MaxPayload, skipped.
	TooLarge func()
}

// Publisher owns the MQTT connection and the last-value cache.
type Publisher struct {
	opts  Options
	log   logrus.FieldLogger
	inbox *inbox // received messages, in order, for the subscription handlers

	mu        sync.Mutex
	cache     map[string]*entry
	order     [numClasses][]string
	client    paho.Client     // nil while disconnected
	conn      *coalescingConn // the connection of the latest connect attempt
	session   uint64          // bumps on every connect; stale republish loops stop
	republish chan struct{}
	probing   bool // the session checks suspects one at a time: producers only record

	aside       map[string]int  // topic → smallest payload size the broker refused (see setaside.go)
	strikes     map[string]int  // topic → connections that died while it was probed alone
	largeLogged map[string]bool // topics whose too-large payload was logged
	lost        lostFlights     // unacknowledged publishes of the session that ended

	hold atomic.Int32 // Hold/Release nesting: > 0 while producers have more input in hand

	// The window: at most Window publishes unacknowledged. A producer that
	// finds it full waits until it has drained to a quarter free, so that at
	// saturation it wakes once per many acknowledgements, not once per each.
	win      sync.Mutex
	winCond  *sync.Cond
	inflight int
	waiting  int
	tokens   chan flight   // collected in order by the acknowledger
	drained  chan struct{} // closed when inflight drops to 0; made by a waiting Flush
}

// New returns a Publisher; call Run to connect.
func New(opts Options) *Publisher {
	if opts.Window <= 0 {
		opts.Window = 8192
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.HealthyAfter <= 0 {
		opts.HealthyAfter = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = logrus.StandardLogger()
	}
	p := &Publisher{
		opts:    opts,
		log:     opts.Logger,
		cache:   map[string]*entry{},
		aside:   map[string]int{},
		strikes: map[string]int{},

		largeLogged: map[string]bool{},
		republish:   make(chan struct{}, 1),
		tokens:      make(chan flight, opts.Window),
		inbox:       newInbox(),
	}
	p.winCond = sync.NewCond(&p.win)
	return p
}

// Publish records payload as the newest value of topic and sends it when it
// differs from the previous one. While connected it blocks when the window of
// unacknowledged publishes is full; while disconnected (or while a new
// session checks the suspects of a lost one, see setaside.go) it only
// records, and the value goes out with the next republish. It reports whether
// the value changed; a payload above MaxPayload, or set aside, is not
// recorded and reports false.
//
// An empty payload is refused (reported as unchanged): on a retained topic it
// would delete the topic (see README, "Payloads"); deletions go through ClearRetained.
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
	c.quiet = func() bool { return p.unacknowledged() < quickAckBelow }
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
}

// quickAckBelow: with fewer publishes than this unacknowledged, what the
// broker sends is acknowledged at once (socketReader).
const quickAckBelow = 256
