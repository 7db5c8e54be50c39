package teslemetry

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// sameString reports whether a and b share their bytes: one interned string.
func sameString(a, b string) bool {
	return a == b && unsafe.StringData(a) == unsafe.StringData(b)
}

func stateEvent(vin string) []byte {
	return []byte(`{"vin":"` + vin + `","isCache":true,"live_status":{}}`)
}

func TestParserInternsVINs(t *testing.T) {
	var p Parser
	first, _, err := p.Parse(stateEvent("5YJ3E7EB000000001"))
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := p.Parse(stateEvent("5YJ3E7EB000000001"))
	if again.VIN != "5YJ3E7EB000000001" || !sameString(first.VIN, again.VIN) {
		t.Errorf("VIN %q of the second event is not the interned %q", again.VIN, first.VIN)
	}
	var other Parser // the table belongs to its Parser
	if ev, _, _ := other.Parse(stateEvent("5YJ3E7EB000000001")); sameString(ev.VIN, first.VIN) {
		t.Error("two Parsers share a VIN table")
	}
	if ev, _, _ := Parse(stateEvent("5YJ3E7EB000000001")); sameString(ev.VIN, first.VIN) {
		t.Error("the free Parse interns")
	}

	data := stateEvent("5YJ3E7EB000000001")
	withTable := testing.AllocsPerRun(100, func() { _, _, _ = p.Parse(data) })
	without := testing.AllocsPerRun(100, func() { _, _, _ = Parse(data) })
	if without-withTable != 1 {
		t.Errorf("allocations per event: %v with a Parser, %v without; want one fewer", withTable, without)
	}
}

func TestParserTableIsBounded(t *testing.T) {
	var p Parser
	for i := 0; i < maxInternedVINs+10; i++ {
		if _, _, err := p.Parse(stateEvent(fmt.Sprintf("VIN%014d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(p.vins.m); n != maxInternedVINs {
		t.Errorf("table holds %d VINs, want the bound %d", n, maxInternedVINs)
	}
	late := fmt.Sprintf("VIN%014d", maxInternedVINs+5)
	a, _, _ := p.Parse(stateEvent(late))
	b, _, _ := p.Parse(stateEvent(late))
	if a.VIN != late || b.VIN != late || sameString(a.VIN, b.VIN) {
		t.Errorf("VIN beyond the bound: %q, %q; want it decoded, not interned", a.VIN, b.VIN)
	}
	early, _, _ := p.Parse(stateEvent(fmt.Sprintf("VIN%014d", 0)))
	if want := fmt.Sprintf("VIN%014d", 0); !sameString(early.VIN, p.vins.m[want]) {
		t.Errorf("VIN %q within the bound is no longer interned", early.VIN)
	}
}

// TestParserConcurrentUse is for the race detector: the bridge parses the
// events of several streams at once with one Parser.
func TestParserConcurrentUse(t *testing.T) {
	var p Parser
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				vin := fmt.Sprintf("VIN%014d", (g*7+i)%50)
				ev, _, err := p.Parse(stateEvent(vin))
				if err != nil || ev.VIN != vin {
					t.Errorf("goroutine %d: VIN %q, %v; want %q", g, ev.VIN, err, vin)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(p.vins.m); n != 50 {
		t.Errorf("table holds %d VINs, want 50", n)
	}
}
