// Package testkit holds test helpers shared by the project's integration tests:
// a real MQTT subscriber that tracks retained state, and a local SSE server that
// speaks Teslemetry's wire format.
package testkit

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one received MQTT message.
type Message struct {
	Topic    string
	Payload  string
	Retained bool
	At       time.Time
}

// Subscriber is a paho client subscribed to a filter that keeps every message
// and the latest payload per topic.
type Subscriber struct {
	t      testing.TB
	client paho.Client
	mu     sync.Mutex
	latest map[string]string
	all    []Message
}

// Subscribe connects to brokerURL and subscribes to filter (QoS 1).
func Subscribe(t testing.TB, brokerURL, filter string) *Subscriber {
	t.Helper()
	return SubscribeWith(t, brokerURL, filter, nil)
}

// SubscribeWith is Subscribe with extra client options (TLS, credentials…)
// applied by configure before connecting.
func SubscribeWith(t testing.TB, brokerURL, filter string, configure func(*paho.ClientOptions)) *Subscriber {
	t.Helper()
	s := &Subscriber{t: t, latest: map[string]string{}}
	opts := paho.NewClientOptions().AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("testsub-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe(filter, 1, s.receive)
		})
	if configure != nil {
		configure(opts)
	}
	s.client = paho.NewClient(opts)
	tok := s.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect to %s: %v", brokerURL, tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(50) })
	return s
}

func (s *Subscriber) receive(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := string(m.Payload())
	s.all = append(s.all, Message{Topic: m.Topic(), Payload: p, Retained: m.Retained(), At: time.Now()})
	if p == "" {
		delete(s.latest, m.Topic())
	} else {
		s.latest[m.Topic()] = p
	}
}

// Get returns the latest payload of topic.
func (s *Subscriber) Get(topic string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.latest[topic]
	return p, ok
}

// Latest returns a copy of the latest payload per topic.
func (s *Subscriber) Latest() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.latest))
	for k, v := range s.latest {
		out[k] = v
	}
	return out
}

// Messages returns every message received so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.all...)
}

// Count returns how many messages arrived on topic.
func (s *Subscriber) Count(topic string) int {
	n := 0
	for _, m := range s.Messages() {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// WaitFor waits until topic's latest payload equals want, failing the test after timeout.
func (s *Subscriber) WaitFor(topic, want string, timeout time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if got, ok := s.Get(topic); ok && got == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	got, ok := s.Get(topic)
	s.t.Fatalf("after %v, %s = %q (present %v), want %q\nknown topics:\n%s", timeout, topic, got, ok, want, s.dump())
	return 0
}

// WaitUntil polls cond until it holds, failing after timeout.
func (s *Subscriber) WaitUntil(what string, timeout time.Duration, cond func(latest map[string]string) bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond(s.Latest()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("after %v still waiting for %s\nknown topics:\n%s", timeout, what, s.dump())
}

func (s *Subscriber) dump() string {
	latest := s.Latest()
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := latest[k]
		if len(v) > 120 {
			v = v[:120] + "…"
		}
		fmt.Fprintf(&b, "  %s = %s\n", k, v)
	}
	return b.String()
}
