package mqttpub

// Handing publishes to paho.

import (
	paho "github.com/eclipse/paho.mqtt.golang"
)

// publish hands one message to paho; caller holds p.mu. When e is given,
// it records where its payload went (see entry).
func (p *Publisher) publish(topic string, qos byte, retain bool, payload []byte, e *entry) paho.Token {
	c := p.conn
	if c != nil {
		seq := c.expect()
		if e != nil {
			e.conn, e.seq = c, seq
		}
	} else if e != nil {
		e.conn, e.seq = nil, untracked // websocket: the payload is never reused
	}
	tok := p.client.Publish(topic, qos, retain, payload)
	if c != nil {
		select {
		case <-tok.Done(): // refused before it reached the connection (or already acknowledged)
			if tok.Error() != nil {
				c.unexpect()
			}
		default:
		}
	}
	return tok
}

// send publishes the newest value of topic within the window, if session is
// still current. It returns the publish's token and payload size, or nil
// when nothing was sent.
func (p *Publisher) send(session uint64, topic string) (paho.Token, int) {
	p.acquire()
	p.mu.Lock()
	e := p.cache[topic]
	if p.client == nil || p.session != session || e == nil {
		p.mu.Unlock()
		p.releaseSlot()
		return nil, 0
	}
	qos, retain := p.qosRetain(Class(e.class))
	size := len(e.payload)
	tok := p.publish(topic, qos, retain, e.payload, e)
	p.mu.Unlock()
	p.tokens <- flight{tok: tok, topic: topic, size: size, session: session}
	return tok, size
}

func (p *Publisher) qosRetain(c Class) (byte, bool) {
	switch c {
	case Discovery:
		return 1, true
	case Availability:
		return p.opts.QoS, true
	default:
		return p.opts.QoS, p.opts.Retain
	}
}
