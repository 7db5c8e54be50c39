package mqttpub

import (
	"io"
	"testing"

	"github.com/sirupsen/logrus"
)

// A cached payload buffer is overwritten in place by the next value only once
// paho has written the PUBLISH that carries it: until then paho may still read it.
func TestPayloadBufferReusedOnlyAfterItWasWritten(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	p := New(Options{Logger: log})
	cc, reads := pipeConn(t, &int32Box{})
	handOver := func() { // what publish does when it hands the entry to paho
		p.mu.Lock()
		e := p.cache["t"]
		e.conn, e.seq = cc, cc.expect()
		p.mu.Unlock()
	}
	buf := func() []byte {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.cache["t"].payload
	}

	p.store(Value, "t", nil, []byte("aaaa"))
	first := buf()
	p.store(Value, "t", nil, []byte("bbbb")) // never handed over: reused
	if b := buf(); &b[0] != &first[0] || string(b) != "bbbb" {
		t.Fatalf("a buffer paho never had was not reused")
	}
	handOver()
	p.store(Value, "t", nil, []byte("cccc")) // handed over, not written yet: must not be touched
	if b := buf(); &b[0] == &first[0] || string(first) != "bbbb" {
		t.Fatalf("a buffer paho may still read was overwritten: %q", first)
	}
	second := buf()
	handOver()
	for i, v := range []string{"bbbb", "cccc"} { // paho writes both handed-over publishes
		if _, err := cc.Write(publishPacket(t, "t", uint16(i+1), []byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	next(t, reads)
	p.store(Value, "t", nil, []byte("dd")) // written: reused
	if b := buf(); &b[0] != &second[0] || string(b) != "dd" {
		t.Errorf("a written buffer was not reused")
	}
	// Without a connection to count on (websockets) a handed-over buffer is never reused.
	p.mu.Lock()
	p.cache["t"].conn, p.cache["t"].seq = nil, untracked
	p.mu.Unlock()
	third := buf()
	p.store(Value, "t", nil, []byte("ee"))
	if b := buf(); &b[0] == &third[0] || string(third) != "dd" {
		t.Errorf("an untracked buffer was reused")
	}
}
