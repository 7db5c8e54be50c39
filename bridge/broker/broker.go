// Package broker runs an embedded MQTT broker (mochi-mqtt) for the demo and tests.
package broker

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an embedded MQTT 3.1.1/5 broker listening on one TCP address.
type Broker struct {
	server   *mqtt.Server
	listener *listeners.TCP
	retained sync.Mutex // see retainedHook
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until Close.
func Start(addr string) (*Broker, error) {
	s := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	b := &Broker{server: s}
	if err := s.AddHook(&retainedHook{mu: &b.retained, aliasMax: s.Options.Capabilities.TopicAliasMaximum}, nil); err != nil {
		return nil, err
	}
	b.listener = listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := s.AddListener(b.listener); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	go func() { _ = s.Serve() }()
	return b, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.listener.Address() }

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Subscribe calls fn for every message matching filter (retained ones first).
func (b *Broker) Subscribe(filter string, fn func(topic string, payload []byte, retained bool)) error {
	b.retained.Lock()
	defer b.retained.Unlock()
	return b.server.Subscribe(filter, 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload, pk.FixedHeader.Retain)
	})
}

// Close stops accepting connections, disconnects every client and stops the
// broker.
//
// It does not leave this to mochi's Server.Close: in v2.7.9 that lists the
// clients under a read lock which it takes a second time inside
// (Clients.GetByListener calls Len), so a client connecting or leaving at
// that moment (a writer waiting between the two) deadlocks the shutdown.
// Closing the listener first with a closer of our own marks it closed, and
// Server.Close then skips that path.
func (b *Broker) Close() error {
	b.listener.Close(func(string) {}) // no new connections; clients are ours to close
	for _, cl := range b.server.Clients.GetAll() {
		if !cl.Net.Inline && !cl.Closed() {
			_ = b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	return b.server.Close()
}

// retainedHook runs retained publishes and subscriptions one at a time.
// mochi v2.7.9 reads a topic's retained path without a lock while it finds
// the retained messages for a new subscription (TopicsIndex.scanMessages)
// and writes it under the topic's lock when a message is retained: a data
// race between two clients. The lock is taken when such a packet has been
// read and released when it has been processed; packets that mochi rejects
// before processing (and so before OnPacketProcessed) are not guarded.
type retainedHook struct {
	mqtt.HookBase
	mu       *sync.Mutex
	aliasMax uint16
}

func (h *retainedHook) ID() string { return "retained-one-at-a-time" }

func (h *retainedHook) Provides(b byte) bool {
	return b == mqtt.OnPacketRead || b == mqtt.OnPacketProcessed
}

func (h *retainedHook) OnPacketRead(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if h.guarded(pk) {
		h.mu.Lock()
	}
	return pk, nil
}

func (h *retainedHook) OnPacketProcessed(_ *mqtt.Client, pk packets.Packet, _ error) {
	if h.guarded(pk) {
		h.mu.Unlock()
	}
}

// guarded: a subscription, or a retained publish, that mochi will process.
func (h *retainedHook) guarded(pk packets.Packet) bool {
	switch pk.FixedHeader.Type {
	case packets.Subscribe:
		return pk.SubscribeValidate() == packets.CodeSuccess
	case packets.Publish:
		return pk.FixedHeader.Retain && pk.PublishValidate(h.aliasMax) == packets.CodeSuccess
	}
	return false
}
