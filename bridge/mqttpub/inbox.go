package mqttpub

import (
	"context"
	"sync/atomic"
)

// inboxSize bounds the received messages waiting for their handlers.
const inboxSize = 1024

// inbox hands the messages of the subscriptions to their handlers one at a
// time, in the order the broker delivered them: paho calls put from its
// router (order matters) and put never blocks, so a slow handler never
// stalls paho's incoming traffic (acknowledgements of our publishes
// included). Commands depend on it: they run in arrival order, and the
// newest value of a slider must win (docs/commands.md).
type inbox struct {
	ch      chan delivery
	dropped atomic.Int64
}

type delivery struct {
	handler func(Message)
	msg     Message
}

func newInbox() *inbox { return &inbox{ch: make(chan delivery, inboxSize)} }

// put queues a message; false when the inbox is full (the message is dropped).
func (in *inbox) put(h func(Message), m Message) bool {
	select {
	case in.ch <- delivery{h, m}:
		return true
	default:
		in.dropped.Add(1)
		return false
	}
}

// run delivers queued messages until ctx ends.
func (in *inbox) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-in.ch:
			d.handler(d.msg)
		}
	}
}
