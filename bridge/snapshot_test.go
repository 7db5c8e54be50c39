package bridge_test

import (
	"testing"
	"time"
)

// Bridge.Snapshot reports the cars, streams and credits the bridge knows.
func TestSnapshot(t *testing.T) {
	h := startBridge(t, "")
	h.snapshot(`{"vin":"`+vin1+`","createdAt":"2026-12-04T06:00:00Z","data":{"BatteryLevel":70}}`,
		`{"vin":"`+vin1+`","state":"asleep"}`,
		`{"credits":{"balance":42}}`)
	h.sub.WaitFor("teslemetry/"+vin1+"/state", "asleep", 5*time.Second)
	h.sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 5*time.Second)
	h.sub.WaitFor("teslemetry/bridge/credits", `{"balance":42}`, 5*time.Second)

	s := h.bridge.Snapshot()
	if s.StartedAt.IsZero() || len(s.Streams) != 1 || s.Streams[0].Path != "/sse" || !s.Streams[0].Connected {
		t.Errorf("streams %+v, started %v", s.Streams, s.StartedAt)
	}
	if len(s.Vehicles) != 1 {
		t.Fatalf("vehicles %+v, want one", s.Vehicles)
	}
	v := s.Vehicles[0]
	if v.VIN != vin1 || v.Availability != "online" || v.State != "asleep" || v.Name != "Tesla 123456" || v.LastSeen.IsZero() {
		t.Errorf("vehicle %+v", v)
	}
	if string(s.Credits) != `{"balance":42}` {
		t.Errorf("credits %s", s.Credits)
	}
}
