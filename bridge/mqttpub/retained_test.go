package mqttpub_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
)

// CollectRetained keeps retained, non-empty messages on accepted topics,
// skips live (non-retained) traffic, and stops after the quiet period.
func TestCollectRetainedSkipsLiveTrafficAndStopsWhenQuiet(t *testing.T) {
	br, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	seed := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("seed"))
	if tok := seed.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer seed.Disconnect(50)
	pub := func(topic, payload string, retained bool) {
		if tok := seed.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pub("p/sensor/n/kept/config", "{}", true)
	pub("p/sensor/n/ignored/config", "{}", true)

	client, err := mqttpub.DialShortLived(context.Background(), mqttpub.DialOptions{URL: br.URL(), ClientID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(50)
	go func() { // live traffic while collecting: not retained for this subscriber
		time.Sleep(200 * time.Millisecond)
		pub("p/sensor/n/live/config", "{}", true)
	}()
	start := time.Now()
	got, err := mqttpub.CollectRetained(context.Background(), client, []string{"p/+/+/+/config"},
		func(topic string) bool { return !strings.Contains(topic, "ignored") },
		mqttpub.RetainedWindow{Quiet: 600 * time.Millisecond, Limit: 5 * time.Second})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got["p/sensor/n/kept/config"]) != "{}" {
		t.Errorf("collected %v, want only the retained, accepted config", got)
	}
	if took > 2*time.Second {
		t.Errorf("collection took %v: the quiet period did not end it", took)
	}

	// The limit bounds a collection that never goes quiet; ctx ends it at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mqttpub.CollectRetained(ctx, client, []string{"p/#"}, func(string) bool { return true },
		mqttpub.RetainedWindow{Quiet: time.Second, Limit: time.Minute}); err == nil {
		t.Error("cancelled collection returned no error")
	}
}

// A broker that accepts the connection but never answers: the dial gives up
// after its timeout with an error that says so (not "...: <nil>").
func TestDialShortLivedTimesOutWithAReason(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent: never a CONNACK
		}
	}()
	start := time.Now()
	_, err = mqttpub.DialShortLived(context.Background(), mqttpub.DialOptions{
		URL: "tcp://" + ln.Addr().String(), ClientID: "test", Password: "s3cret-pw", Timeout: 300 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("dial to a silent broker succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("dial took %v with a 300ms timeout", took)
	}
	if msg := err.Error(); strings.HasSuffix(msg, "<nil>") || !strings.HasPrefix(msg, "connecting to MQTT broker: ") || strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error %q: want a reason, without the password", msg)
	}
}
