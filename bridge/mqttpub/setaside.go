package mqttpub

// Messages the broker refuses, and payloads above Options.MaxPayload.
//
// Some brokers answer a message they will not take by closing the
// connection: mosquitto with max_packet_size for a larger packet, others for
// a publish their ACL forbids. Because every connect republishes everything
// held, such a message would close every connection, forever, and nothing
// else would get through. So:
//
//   - when a connection is lost, the publishes it had not acknowledged are the
//     suspects (oldest first: a broker handles packets in order);
//   - the next session sends the suspects one at a time, each alone on the
//     connection and only after the bridge's own "online" was acknowledged,
//     before anything else; producers only record meanwhile;
//   - a message during whose lone round trip the connection dies twice in a
//     row is set aside: dropped from the cache, logged as an error with its
//     topic and size, counted (Stats.SetAside), and later values of that topic
//     that are at least as large are set aside too. A smaller value is sent.
//
// With QoS 0 values nothing is acknowledged, so only discovery and
// availability messages (always QoS 1) can be found this way.

import (
	"context"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"
)

const (
	maxSuspects = 32               // suspects kept per lost connection
	strikesOut  = 2                // lone deaths before a message is set aside
	probeWait   = 10 * time.Second // bound on each probe's round trip
)

// lostFlights collects the unacknowledged publishes the acknowledger saw fail.
type lostFlights struct {
	mu      sync.Mutex
	flights []flight
}

func (l *lostFlights) note(f flight) {
	l.mu.Lock()
	if len(l.flights) < maxSuspects {
		l.flights = append(l.flights, f)
	}
	l.mu.Unlock()
}

// take returns the failed publishes of session (oldest first) and forgets all.
func (l *lostFlights) take(session uint64) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, f := range l.flights {
		if f.session == session && !seen[f.topic] {
			seen[f.topic] = true
			out = append(out, f.topic)
		}
	}
	l.flights = l.flights[:0]
	return out
}

// refusedLocked reports whether payload for topic is not to be sent: above
// MaxPayload, or at least as large as a payload the broker refused. Caller holds p.mu.
func (p *Publisher) refusedLocked(topic string, size int) bool {
	if p.opts.MaxPayload > 0 && size > p.opts.MaxPayload {
		if p.opts.Stats.TooLarge != nil {
			p.opts.Stats.TooLarge()
		}
		level := logrus.DebugLevel
		if !p.largeLogged[topic] {
			p.largeLogged[topic] = true
			level = logrus.WarnLevel
		}
		p.log.WithFields(logrus.Fields{"topic": topic, "bytes": size, "max_payload": p.opts.MaxPayload}).
			Log(level, "MQTT payload larger than mqtt.max_payload; skipped (further ones on this topic are logged at debug level)")
		return true
	}
	if len(p.aside) == 0 {
		return false
	}
	if limit, ok := p.aside[topic]; ok && size >= limit {
		if p.opts.Stats.SetAside != nil {
			p.opts.Stats.SetAside()
		}
		return true
	}
	return false
}

// probe sends each suspect alone and waits for its acknowledgement; see the
// top of this file. Producers only record while it runs. It reports false
// when a suspect was struck: the connection is gone.
func (p *Publisher) probe(ctx context.Context, client paho.Client, session uint64, suspects []string) bool {
	p.mu.Lock()
	p.probing = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.probing = false
		p.mu.Unlock()
	}()
	if !p.Flush(probeWait) || !client.IsConnectionOpen() {
		return true // not even "online" went through: nothing to learn
	}
	for _, topic := range suspects {
		if ctx.Err() != nil || !client.IsConnectionOpen() {
			return true
		}
		tok, size := p.send(session, topic)
		if tok == nil {
			continue // no longer held, or the session is over
		}
		if !waitToken(ctx, tok, probeWait) {
			return true
		}
		if tok.Error() == nil {
			p.mu.Lock()
			delete(p.strikes, topic)
			p.mu.Unlock()
			continue
		}
		p.strike(topic, size)
		return false // the connection is gone
	}
	return true
}

// strike records that the connection died while topic was probed alone, and
// sets it aside at strikesOut.
func (p *Publisher) strike(topic string, size int) {
	p.mu.Lock()
	p.strikes[topic]++
	n := p.strikes[topic]
	if n < strikesOut {
		p.mu.Unlock()
		p.log.WithFields(logrus.Fields{"topic": topic, "bytes": size}).
			Warn("MQTT connection lost right after this message (the only one outstanding); trying it once more on the next connection")
		return
	}
	delete(p.strikes, topic)
	if limit, ok := p.aside[topic]; !ok || size < limit {
		p.aside[topic] = size
	}
	delete(p.cache, topic) // not republished; compact drops it from the order
	p.mu.Unlock()
	if p.opts.Stats.SetAside != nil {
		p.opts.Stats.SetAside()
	}
	p.log.WithFields(logrus.Fields{"topic": topic, "bytes": size}).
		Error("MQTT broker refused a message (it closed the connection right after it, twice, each time the only message outstanding); " +
			"message set aside: this and later values of the topic as large or larger are not sent (likely causes: larger than the broker's max_packet_size, see mqtt.max_payload; or not allowed by the broker's ACL)")
}

func waitToken(ctx context.Context, tok paho.Token, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tok.Done():
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
