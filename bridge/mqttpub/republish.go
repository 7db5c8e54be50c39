package mqttpub

// The full republish after every connect.

import (
	"context"
	"time"
)

// republishAll sends the newest value of every topic, discovery first, spread
// out so that tens of thousands of topics take a few seconds, not one burst.
// It reports whether it got through them all before ctx ended.
func (p *Publisher) republishAll(ctx context.Context, session uint64) bool {
	p.mu.Lock()
	var topics []string
	for c := range numClasses {
		p.order[c] = compact(p.order[c], p.cache, c)
		topics = append(topics, p.order[c]...)
	}
	p.mu.Unlock()
	const chunk = 500
	pause := time.Duration(0)
	if n := len(topics) / chunk; n > 0 {
		pause = min(50*time.Millisecond, 5*time.Second/time.Duration(n))
	}
	for i, topic := range topics {
		if i > 0 && i%chunk == 0 && !sleep(ctx, pause) {
			return false
		}
		if ctx.Err() != nil {
			return false
		}
		if topic != p.opts.WillTopic { // already sent first by serve
			p.send(session, topic)
		}
	}
	p.log.WithField("topics", len(topics)).Debug("republished all topics")
	return true
}
