package mqttpub

// The last-value cache: the newest payload of every topic, in republish order.

import (
	"bytes"
)

type entry struct {
	payload []byte
	topic   string
	// The payload buffer is overwritten in place by the next value unless
	// paho may still read it: handed over (seq != 0) and not yet written on
	// conn as its PUBLISH number seq (coalescingConn counts them); with no
	// conn to count on (websockets) seq is untracked and it is never reused.
	conn  *coalescingConn
	seq   uint64
	class class8 // 64 bytes in all: the cache holds one per topic
}

// class8 is a Class in one byte.
type class8 = uint8

const untracked = ^uint64(0)

// store records payload as the newest value of the topic given as a string
// or, when topicBytes is not nil, as bytes. It returns the topic's name.
func (p *Publisher) store(class Class, topic string, topicBytes []byte, payload []byte) (changed bool, session uint64, up bool, name string) {
	if len(payload) == 0 {
		return false, 0, false, topic // refused: see Publish
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var e *entry
	if topicBytes != nil {
		e = p.cache[string(topicBytes)]
	} else {
		e = p.cache[topic]
	}
	if e != nil && Class(e.class) == class && bytes.Equal(e.payload, payload) {
		return false, 0, false, e.topic
	}
	if p.opts.MaxPayload > 0 || len(p.aside) > 0 {
		name := topic
		if topicBytes != nil {
			name = string(topicBytes)
		}
		if p.refusedLocked(name, len(payload)) {
			return false, 0, false, name
		}
	}
	switch {
	case e == nil:
		if topicBytes != nil {
			topic = string(topicBytes)
		}
		e = &entry{topic: topic, class: class8(class)}
		p.cache[topic] = e
		p.order[class] = append(p.order[class], topic)
	case Class(e.class) != class:
		e.class = class8(class)
		p.order[class] = append(p.order[class], e.topic)
	}
	if cap(e.payload) >= len(payload) && (e.seq == 0 || (e.conn != nil && e.conn.wrote(e.seq))) {
		e.payload = append(e.payload[:0], payload...)
	} else {
		e.payload = bytes.Clone(payload)
	}
	e.seq, e.conn = 0, nil
	return true, p.session, p.client != nil && !p.probing, e.topic
}

// compact drops topics that were deleted or moved to another class.
func compact(order []string, cache map[string]*entry, c Class) []string {
	out := order[:0]
	seen := make(map[string]bool, len(order))
	for _, t := range order {
		if e := cache[t]; e != nil && Class(e.class) == c && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
