package mqttpub

import (
	"context"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Reading the broker's retained store, shared by purge and by the stale
// discovery cleanup: a short-lived client (DialShortLived) subscribes,
// gathers the retained messages the broker sends for the new subscription,
// and goes.

// RetainedWindow says how long CollectRetained listens: until Quiet has
// passed without a new message (when Quiet > 0), and never longer than Limit.
type RetainedWindow struct {
	Quiet, Limit time.Duration
}

// subscribeTimeout bounds the wait for a SUBACK.
const subscribeTimeout = 10 * time.Second

// CollectRetained subscribes client to filters and returns the payloads of
// the retained, non-empty messages whose topic keep accepts, newest per
// topic. Messages that are not retained (live traffic) and empty ones
// (deletions) are skipped. It unsubscribes before returning.
func CollectRetained(ctx context.Context, client paho.Client, filters []string, keep func(topic string) bool, w RetainedWindow) (map[string][]byte, error) {
	var (
		mu      sync.Mutex
		got     = map[string][]byte{}
		arrived = make(chan struct{}, 1) // a poke per message, coalesced
	)
	handler := func(_ paho.Client, m paho.Message) {
		if !m.Retained() || len(m.Payload()) == 0 || !keep(m.Topic()) {
			return
		}
		mu.Lock()
		got[m.Topic()] = m.Payload()
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}
	subs := make(map[string]byte, len(filters))
	for _, f := range filters {
		subs[f] = 1
	}
	tok := client.SubscribeMultiple(subs, handler)
	if !tok.WaitTimeout(subscribeTimeout) {
		return nil, fmt.Errorf("subscribing: no answer from the broker within %s", subscribeTimeout)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("subscribing: %w", err)
	}
	defer func() {
		if ctx.Err() == nil { // when stopping, the disconnect that follows is enough
			client.Unsubscribe(filters...).WaitTimeout(5 * time.Second)
		}
	}()

	limit := time.NewTimer(w.Limit)
	defer limit.Stop()
	var quiet *time.Timer
	var quietC <-chan time.Time // nil without Quiet: listen for all of Limit
	if w.Quiet > 0 {
		quiet = time.NewTimer(w.Quiet)
		defer quiet.Stop()
		quietC = quiet.C
	}
	for listening := true; listening; {
		select {
		case <-arrived:
			if quiet != nil {
				quiet.Reset(w.Quiet)
			}
		case <-quietC:
			listening = false
		case <-limit.C:
			listening = false
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string][]byte, len(got))
	for t, p := range got {
		out[t] = p
	}
	return out, nil
}
