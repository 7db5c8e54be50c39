package bridge

import (
	"encoding/json"
	"slices"
	"time"
)

// Snapshot is a read-only copy of what the bridge knows right now, for a
// status page or a health report. It shares nothing with the bridge.
type Snapshot struct {
	StartedAt time.Time
	Vehicles  []VehicleSnapshot // sorted by VIN
	Sites     []SiteSnapshot    // energy sites, sorted by id (sites.go)
	Streams   []StreamSnapshot  // in configuration order
	Credits   json.RawMessage   // the merged credits events as on <base>/bridge/credits; nil before the first
}

// VehicleSnapshot is one car in a Snapshot.
type VehicleSnapshot struct {
	VIN          string
	Name         string    // the Home Assistant device name
	Availability string    // "online", "offline" or "" before the first
	State        string    // the car's own state (online, asleep, offline); "" before the first state event
	LastSeen     time.Time // zero before the first event
	ActiveAlerts []string  // sorted
}

// StreamSnapshot is one source in a Snapshot.
type StreamSnapshot struct {
	Path        string
	Connected   bool
	Since       time.Time // of the last connect or drop; zero before the first
	Reconnects  int
	LastEventAt time.Time
}

// Snapshot returns a copy of the bridge's state.
func (b *Bridge) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{StartedAt: b.startedAt, Vehicles: b.router.vehicleSnapshots(), Sites: b.router.siteSnapshots()}
	if len(b.router.credits) > 0 {
		s.Credits, _ = json.Marshal(b.router.credits)
	}
	for _, st := range b.streams {
		s.Streams = append(s.Streams, StreamSnapshot{
			Path: st.path, Connected: st.connected, Since: st.since, Reconnects: st.reconnects, LastEventAt: st.lastEventAt,
		})
	}
	return s
}

// vehicleSnapshots copies the per-car state, sorted by VIN.
func (r *router) vehicleSnapshots() []VehicleSnapshot {
	out := make([]VehicleSnapshot, 0, len(r.vehicles))
	for _, v := range r.vehicles {
		vs := VehicleSnapshot{
			VIN: v.vin, Name: v.device.Name, Availability: v.available, State: v.state, LastSeen: v.lastSeen,
			ActiveAlerts: []string{},
		}
		for name, on := range v.alerts {
			if on {
				vs.ActiveAlerts = append(vs.ActiveAlerts, name)
			}
		}
		slices.Sort(vs.ActiveAlerts)
		out = append(out, vs)
	}
	slices.SortFunc(out, func(a, b VehicleSnapshot) int {
		switch {
		case a.VIN < b.VIN:
			return -1
		case a.VIN > b.VIN:
			return 1
		}
		return 0
	})
	return out
}
