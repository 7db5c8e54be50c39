package status

import (
	"sync"
	"sync/atomic"
)

// Notifier tells page clients that the snapshot changed. Notify never blocks
// and never allocates: each subscriber has a one-slot channel, and a change
// that finds the slot full is merged with the one already waiting. The zero
// value is ready to use.
type Notifier struct {
	n    atomic.Int32 // subscribers, so that Notify is one atomic load when nobody watches
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Notify signals a change to every subscriber without waiting for any of them.
func (n *Notifier) Notify() {
	if n.n.Load() == 0 {
		return
	}
	n.mu.Lock()
	for c := range n.subs {
		select {
		case c <- struct{}{}:
		default: // a change is already pending for this subscriber
		}
	}
	n.mu.Unlock()
}

// Subscribe returns a channel that receives a value after changes, and the
// function that ends the subscription.
func (n *Notifier) Subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	n.mu.Lock()
	if n.subs == nil {
		n.subs = map[chan struct{}]struct{}{}
	}
	n.subs[c] = struct{}{}
	n.n.Store(int32(len(n.subs)))
	n.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.subs, c)
			n.n.Store(int32(len(n.subs)))
			n.mu.Unlock()
		})
	}
}

// Subscribers is the number of current subscriptions.
func (n *Notifier) Subscribers() int { return int(n.n.Load()) }
