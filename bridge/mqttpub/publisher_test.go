package mqttpub_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func startPublisher(t *testing.T, url string, window int) (*mqttpub.Publisher, *atomic.Int64) {
	t.Helper()
	var acked atomic.Int64
	p := mqttpub.New(mqttpub.Options{
		URL: url, ClientID: fmt.Sprintf("pubtest-%d", time.Now().UnixNano()), QoS: 1, Retain: true,
		WillTopic: "t/bridge/state", Window: window, MaxBackoff: 200 * time.Millisecond, Logger: quietLogger(),
		Stats: mqttpub.Stats{Published: func(n int) { acked.Add(int64(n)) }},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, &acked
}

func waitConnected(t *testing.T, p *mqttpub.Publisher) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !p.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("publisher did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPipelinedPublishesAllArriveWithSmallWindow(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "t/#")
	p, acked := startPublisher(t, b.URL(), 8) // tiny window: back-pressure must slow, never drop
	waitConnected(t, p)
	const n = 5000
	for i := 0; i < n; i++ {
		p.Publish(mqttpub.Value, fmt.Sprintf("t/v/%d", i%100), []byte(fmt.Sprint(i)))
	}
	sub.WaitUntil("all topics at their last value", 15*time.Second, func(l map[string]string) bool {
		for k := 0; k < 100; k++ {
			if l[fmt.Sprintf("t/v/%d", k)] != fmt.Sprint(n-100+k) {
				return false
			}
		}
		return true
	})
	if !p.Flush(5 * time.Second) {
		t.Fatal("window not drained")
	}
	if got := acked.Load(); got < n {
		t.Errorf("acknowledged %d publishes, want ≥ %d (every value, none coalesced while connected)", got, n)
	}
}

func TestUnchangedPayloadIsNotSentAgain(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "t/#")
	p, _ := startPublisher(t, b.URL(), 0)
	waitConnected(t, p)
	if !p.Publish(mqttpub.Value, "t/x", []byte("1")) || p.Publish(mqttpub.Value, "t/x", []byte("1")) {
		t.Error("Publish should report a change only the first time")
	}
	p.Publish(mqttpub.Value, "t/x", []byte("2"))
	sub.WaitFor("t/x", "2", 5*time.Second)
	if c := sub.Count("t/x"); c != 2 {
		t.Errorf("t/x received %d times, want 2", c)
	}
}

// A broker that restarts with an empty retained store is healed: the newest
// value of every topic — including values published while it was down — comes back.
func TestRepublishAfterBrokerRestart(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	p, _ := startPublisher(t, b.URL(), 64)
	waitConnected(t, p)
	p.Publish(mqttpub.Discovery, "t/config/a", []byte(`{"a":1}`))
	p.Publish(mqttpub.Availability, "t/avail", []byte("online"))
	for i := 0; i < 300; i++ {
		p.Publish(mqttpub.Value, fmt.Sprintf("t/v/%d", i), []byte("old"))
	}
	if !p.Flush(5 * time.Second) {
		t.Fatal("not flushed")
	}
	b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for p.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 300; i++ { // newer values while the broker is down: kept, not lost
		p.Publish(mqttpub.Value, fmt.Sprintf("t/v/%d", i), []byte("new"))
	}
	b2, err := broker.Start(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	start := time.Now()
	sub := testkit.Subscribe(t, b2.URL(), "t/#")
	sub.WaitUntil("all state republished", 10*time.Second, func(l map[string]string) bool {
		if l["t/bridge/state"] != "online" || l["t/avail"] != "online" || l["t/config/a"] != `{"a":1}` {
			return false
		}
		for i := 0; i < 300; i++ {
			if l[fmt.Sprintf("t/v/%d", i)] != "new" {
				return false
			}
		}
		return true
	})
	t.Logf("healed %v after the broker came back", time.Since(start))
	for _, m := range sub.Messages() {
		if m.Payload == "old" {
			t.Errorf("stale value replayed on %s", m.Topic)
		}
	}
}

// ClearRetained deletes only topics the publisher does not hold, and a
// deleted topic never comes back with a republish; Publish refuses an empty
// payload (it would delete the topic).
func TestClearRetainedOnlyForeignTopicsAndNeverRepublished(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seed := testkit.Subscribe(t, b.URL(), "t/#")
	p, _ := startPublisher(t, b.URL(), 0)
	waitConnected(t, p)
	p.Publish(mqttpub.Discovery, "t/config/own", []byte(`{"own":1}`))
	seed.WaitFor("t/config/own", `{"own":1}`, 5*time.Second)
	if p.Publish(mqttpub.Discovery, "t/config/own", nil) || p.Publish(mqttpub.Value, "t/v/x", []byte{}) {
		t.Error("Publish accepted an empty payload")
	}
	// A retained config left by someone else (an older version).
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("seed"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c.Publish("t/config/old", 1, true, `{"old":1}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(50)
	seed.WaitFor("t/config/old", `{"old":1}`, 5*time.Second)
	if p.ClearRetained("t/config/own") {
		t.Error("ClearRetained deleted a topic the publisher holds")
	}
	if !p.ClearRetained("t/config/old") {
		t.Fatal("ClearRetained did not send")
	}
	seed.WaitUntil("old config deleted", 5*time.Second, func(l map[string]string) bool {
		_, ok := l["t/config/old"]
		return !ok && l["t/config/own"] == `{"own":1}`
	})
	p.RequestRepublish()
	// The republish (0.5–2 s later) sends discovery first: once the own
	// config came again, a marker published after it arrives behind
	// everything the republish sent on the same connection.
	seed.WaitUntil("own config republished", 5*time.Second, func(map[string]string) bool { return seed.Count("t/config/own") >= 2 })
	p.Publish(mqttpub.Value, "t/marker", []byte("m"))
	seed.WaitFor("t/marker", "m", 5*time.Second)
	for _, m := range seed.Messages() {
		if m.Topic == "t/config/old" && m.Payload != `{"old":1}` && m.Payload != "" {
			t.Errorf("unexpected payload on the deleted topic: %q", m.Payload)
		}
	}
	if n := seed.Count("t/config/own"); n < 2 {
		t.Errorf("own config republished %d times, want ≥ 2 (first publish + republish)", n)
	}
	if n := seed.Count("t/config/old"); n != 2 {
		t.Errorf("t/config/old received %d messages, want 2 (the seed, one deletion)", n)
	}
	for _, topic := range p.Topics() {
		if topic == "t/config/old" {
			t.Error("the deletion entered the cache")
		}
	}
}
