// Package broker runs an embedded MQTT broker (mochi-mqtt) for the demo and tests.
package broker

import (
	"fmt"
	"io"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an embedded MQTT 3.1.1/5 broker listening on one TCP address.
type Broker struct {
	server   *mqtt.Server
	listener *listeners.TCP
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until Close.
func Start(addr string) (*Broker, error) {
	s := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := s.AddListener(l); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	go func() { _ = s.Serve() }()
	return &Broker{server: s, listener: l}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.listener.Address() }

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Subscribe calls fn for every message matching filter (retained ones first).
func (b *Broker) Subscribe(filter string, fn func(topic string, payload []byte, retained bool)) error {
	return b.server.Subscribe(filter, 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload, pk.FixedHeader.Retain)
	})
}

// Close stops the broker.
func (b *Broker) Close() error { return b.server.Close() }
