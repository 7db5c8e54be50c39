package mqttpub

// The in-flight window: at most Options.Window publishes unacknowledged.

import (
	"context"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// acquire takes a window slot. When the window is full, what is queued on
// the connection is written now (its acknowledgements free the slots) and
// the caller waits until a quarter of the window is free again.
func (p *Publisher) acquire() {
	p.win.Lock()
	if p.inflight < p.opts.Window {
		p.inflight++
		p.win.Unlock()
		return
	}
	p.win.Unlock()
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.setUrgent(true)
		defer c.setUrgent(false)
	}
	p.win.Lock()
	for p.inflight >= p.opts.Window {
		p.waiting++
		p.winCond.Wait()
		p.waiting--
	}
	p.inflight++
	p.win.Unlock()
}

// releaseSlot frees a window slot.
func (p *Publisher) releaseSlot() {
	p.win.Lock()
	p.inflight--
	if p.inflight == 0 && p.drained != nil {
		close(p.drained) // wakes every Flush
		p.drained = nil
	}
	if p.waiting > 0 && (p.inflight <= p.opts.Window-max(p.opts.Window/4, 1) || p.inflight == 0) {
		p.winCond.Broadcast()
	}
	p.win.Unlock()
}

// unacknowledged is the number of publishes in the window.
func (p *Publisher) unacknowledged() int {
	p.win.Lock()
	defer p.win.Unlock()
	return p.inflight
}

// flight is one publish in the window, as the acknowledger sees it.
type flight struct {
	tok     paho.Token
	topic   string // "" for a deletion (ClearRetained): never a suspect
	size    int
	session uint64
}

// track hands a token from outside the window to the acknowledger.
func (p *Publisher) track(tok paho.Token) {
	p.acquire()
	p.tokens <- flight{tok: tok}
}

// acknowledge waits for each token in publish order and frees its window slot.
func (p *Publisher) acknowledge(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var f flight
		select {
		case f = <-p.tokens:
		case <-ctx.Done():
			return
		}
		tok := f.tok
		select {
		case <-tok.Done():
		default:
			timer.Reset(30 * time.Second)
			select {
			case <-tok.Done():
			case <-timer.C:
				p.failed("timeout")
			}
		}
		if err := tok.Error(); err != nil {
			p.failed("error")
			p.log.WithError(err).Debug("publish not acknowledged")
			if f.topic != "" {
				p.lost.note(f)
			}
		} else if p.opts.Stats.Published != nil {
			p.opts.Stats.Published(1)
		}
		p.releaseSlot()
	}
}

func (p *Publisher) failed(reason string) {
	if p.opts.Stats.Failed != nil {
		p.opts.Stats.Failed(reason)
	}
}

// Flush waits until every publish made so far is acknowledged or timeout
// passes; it wakes on the acknowledgement that empties the window.
func (p *Publisher) Flush(timeout time.Duration) bool {
	p.win.Lock()
	if p.inflight == 0 {
		p.win.Unlock()
		return true
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	drained := p.drained
	p.win.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-drained:
		return true
	case <-t.C:
		return p.unacknowledged() == 0
	}
}
