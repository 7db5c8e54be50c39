package broker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func connect(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// Retained publishes from one client and wildcard subscriptions from others
// at the same time: each new subscription gets the retained messages, and
// (under -race) mochi's unguarded read of the retained index no longer races
// with the writer.
func TestRetainedPublishesBesideSubscriptions(t *testing.T) {
	b, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pub := connect(t, b.URL(), "publisher")
	defer pub.Disconnect(50)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			payload := fmt.Sprint(i)
			if i%3 == 2 {
				payload = "" // deletions change the index too
			}
			pub.Publish(fmt.Sprintf("t/%d/v/%d", i%7, i%11), 1, true, payload).WaitTimeout(time.Second)
		}
	}()
	var got atomic.Int64
	for i := range 20 {
		sub := connect(t, b.URL(), fmt.Sprintf("sub-%d", i))
		tok := sub.Subscribe("t/+/v/#", 1, func(paho.Client, paho.Message) { got.Add(1) })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		sub.Disconnect(0)
	}
	if err := b.Subscribe("t/#", func(string, []byte, bool) { got.Add(1) }); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if got.Load() == 0 {
		t.Error("no subscription received a retained message")
	}
}

// Close returns promptly while clients leave: mochi's own shutdown path
// could deadlock on its client list when one left at that moment (see Close).
func TestCloseWhileClientsLeave(t *testing.T) {
	for round := range 30 {
		b, err := Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		clients := make([]paho.Client, 20)
		for i := range clients {
			clients[i] = connect(t, b.URL(), fmt.Sprintf("leaver-%d-%d", round, i))
		}
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func() { defer wg.Done(); c.Disconnect(0) }()
		}
		closed := make(chan struct{})
		go func() { _ = b.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Close did not return within 5 s", round)
		}
		wg.Wait()
		if n := len(b.server.Clients.GetAll()); n > 1 { // the inline client stays
			t.Errorf("round %d: %d clients left after Close", round, n)
		}
	}
}
