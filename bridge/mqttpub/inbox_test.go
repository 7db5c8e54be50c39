package mqttpub_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Subscription handlers get the messages one at a time in the order the
// broker sent them (commands rely on it), and may publish from the handler
// even with a full window without stalling the connection.
func TestSubscriptionHandlersRunInOrder(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := testkit.Subscribe(t, b.URL(), "t/echo/#")
	var (
		mu      sync.Mutex
		got     []int
		running int
		overlap bool
		p       *mqttpub.Publisher
	)
	p = mqttpub.New(mqttpub.Options{
		URL: b.URL(), ClientID: fmt.Sprintf("inbox-%d", time.Now().UnixNano()), QoS: 1, Retain: true, Window: 4,
		Logger: quietLogger(),
		Subscriptions: map[string]func(mqttpub.Message){
			"t/in": func(m mqttpub.Message) {
				mu.Lock()
				running++
				overlap = overlap || running > 1
				mu.Unlock()
				n, _ := strconv.Atoi(string(m.Payload))
				p.Publish(mqttpub.Value, "t/echo/"+strconv.Itoa(n%10), m.Payload) // may wait for the window
				mu.Lock()
				got = append(got, n)
				running--
				mu.Unlock()
			},
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitConnected(t, p)
	time.Sleep(100 * time.Millisecond) // the subscription follows the connect

	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("inbox-sender"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	const n = 500
	for i := 0; i < n; i++ {
		c.Publish("t/in", 1, false, strconv.Itoa(i))
	}
	sub.WaitUntil("echoes of the last ten", 15*time.Second, func(l map[string]string) bool {
		for k := n - 10; k < n; k++ {
			if l["t/echo/"+strconv.Itoa(k%10)] != strconv.Itoa(k) {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n || overlap {
		t.Fatalf("%d messages handled (want %d), handlers overlapped: %v", len(got), n, overlap)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d handled as number %d: out of order", v, i)
		}
	}
}
