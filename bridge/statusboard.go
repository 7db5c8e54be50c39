package bridge

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/status"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// statusBoard is the router's Publisher as the status page sees it: it
// passes every message on to the MQTT publisher and, when a car's or an
// energy site's topic changed, keeps its payload and the time of the change
// (docs/status-page.md). It never blocks on a page: it only signals a
// Notifier. Its own lock is held for a map update per change.
type statusBoard struct {
	next  Publisher
	base  string // "<base>/"
	now   func() time.Time
	notif status.Notifier
	// stamp is the time of the event being routed (Unix ns), 0 between
	// events: the values of one event changed at the same moment, and
	// reading the clock once per event rather than per value is cheaper.
	stamp atomic.Int64

	mu    sync.Mutex
	cars  map[string]*boardItem // by VIN
	sites map[string]*boardItem // by site id
	last  *boardItem            // the item of the previous change: an event's values share it
}

// boardItem is the shown topics of one car or site, by the topic levels
// after <base>/<VIN>/ or <base>/site/<id>/ ("v/BatteryLevel", "state", …).
type boardItem struct {
	kind    topic.Kind
	id      string
	entries map[string]*boardEntry
}

type boardEntry struct {
	payload []byte // reused: a change of value allocates nothing
	at      time.Time
}

// Bounds of what the board keeps: a page is no reason for unbounded memory.
const (
	boardMaxItems   = 1000     // cars or sites each
	boardMaxEntries = 2000     // topics per car or site
	boardMaxPayload = 16 << 10 // larger payloads (documents, not values) are not shown
)

func newStatusBoard(next Publisher, topics topic.Scheme, now func() time.Time) *statusBoard {
	return &statusBoard{
		next: next, base: topics.Base() + "/", now: now,
		cars: map[string]*boardItem{}, sites: map[string]*boardItem{},
	}
}

// eventAt sets the time of change for the values of the event about to be
// routed; the zero time ends it (the clock is read per change again).
func (s *statusBoard) eventAt(t time.Time) {
	if t.IsZero() {
		s.stamp.Store(0)
		return
	}
	s.stamp.Store(t.UnixNano())
}

func (s *statusBoard) Publish(class mqttpub.Class, t string, payload []byte) bool {
	changed := s.next.Publish(class, t, payload)
	if changed && len(t) > len(s.base) && t[:len(s.base)] == s.base {
		record(s, t[len(s.base):], payload)
	}
	return changed
}

func (s *statusBoard) PublishTopic(class mqttpub.Class, t []byte, payload []byte) bool {
	changed := s.next.PublishTopic(class, t, payload)
	if changed && len(t) > len(s.base) && string(t[:len(s.base)]) == s.base {
		record(s, t[len(s.base):], payload)
	}
	return changed
}

// record keeps the payload of rest (a topic without "<base>/") when it is
// one the page shows. It is generic over string and []byte so that neither
// the value hot path ([]byte topics) nor the others convert topic names: a
// change of a known topic allocates nothing.
func record[T ~string | ~[]byte](s *statusBoard, rest T, payload []byte) {
	kind, id, key := splitRest(rest)
	if kind == topic.None || !shown(kind, key) || len(payload) > boardMaxPayload {
		return
	}
	var now time.Time
	if ns := s.stamp.Load(); ns != 0 {
		now = time.Unix(0, ns).UTC()
	} else {
		now = s.now().UTC()
	}
	s.mu.Lock()
	it := s.last
	if it == nil || it.kind != kind || it.id != string(id) {
		items := s.cars
		if kind == topic.Site {
			items = s.sites
		}
		if it = items[string(id)]; it == nil {
			if len(items) >= boardMaxItems {
				s.mu.Unlock()
				return
			}
			it = &boardItem{kind: kind, id: string(id), entries: map[string]*boardEntry{}}
			items[it.id] = it
		}
		s.last = it
	}
	e := it.entries[string(key)]
	if e == nil {
		if len(it.entries) >= boardMaxEntries {
			s.mu.Unlock()
			return
		}
		e = &boardEntry{}
		it.entries[string(key)] = e
	}
	e.payload = append(e.payload[:0], payload...)
	e.at = now
	s.mu.Unlock()
	s.notif.Notify()
}

// splitRest splits "<VIN>/<key>" and "site/<id>/<key>".
func splitRest[T ~string | ~[]byte](rest T) (kind topic.Kind, id, key T) {
	if hasPrefix(rest, topic.LevelSite+"/") {
		r := rest[len(topic.LevelSite)+1:]
		for i := 0; i < len(r); i++ {
			if r[i] == '/' {
				if i == 0 || i == len(r)-1 {
					break
				}
				return topic.Site, r[:i], r[i+1:]
			}
		}
		return topic.None, id, key
	}
	const vinLen = 17
	if len(rest) <= vinLen+1 || rest[vinLen] != '/' {
		return topic.None, id, key
	}
	for i := 0; i < vinLen; i++ {
		if c := rest[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return topic.None, id, key
		}
	}
	return topic.Vehicle, rest[:vinLen], rest[vinLen+1:]
}

// shown reports whether the page shows the topic key of a car or site:
// values, derived values, connectivity and the per-car status topics (the
// bridge's Snapshot has the rest); for a site everything but its controls and its tariff document.
func shown[T ~string | ~[]byte](kind topic.Kind, key T) bool {
	if kind == topic.Site {
		return !hasPrefix(key, topic.LevelSet+"/") && string(key) != "tariff"
	}
	if hasPrefix(key, topic.LevelValue+"/") || hasPrefix(key, topic.LevelDerived+"/") || hasPrefix(key, topic.LevelConnectivity+"/") {
		return true
	}
	switch string(key) {
	case topic.Availability, topic.LastSeen, topic.CommandResult, topic.FieldsStatus:
		return true
	}
	return false
}

func hasPrefix[T ~string | ~[]byte](s T, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

// fill adds the board's topics to the cars of snap (which the bridge filled
// from its own state) and adds the energy sites. Under the board's lock it
// only copies the entries into one buffer; decoding, unit lookups and
// sorting happen after, so a large fleet holds up no publish for long.
func (s *statusBoard) fill(snap *status.Snapshot, units catalog.Units) {
	cars, sites, buf := s.copyEntries(snap)
	payload := func(e rawEntry) []byte { return buf[e.off : e.off+e.n] }
	for i := range snap.Vehicles {
		v := &snap.Vehicles[i]
		for _, e := range cars[i] {
			p := payload(e)
			switch e.key {
			case topic.State:
				v.State = string(p)
			case topic.CommandResult:
				v.LastCommand = status.PayloadValue(p)
			case topic.FieldsStatus:
				v.FieldsStatus = status.PayloadValue(p)
			case topic.Availability, topic.LastSeen:
				// the bridge's own state has them
			default:
				name := strings.TrimPrefix(e.key, topic.LevelValue+"/")
				v.Fields = append(v.Fields, status.Field{
					Name: name, Value: status.PayloadValue(p), Unit: unitOf(e.key, name, units), UpdatedAt: e.at,
				})
			}
		}
		slices.SortFunc(v.Fields, func(a, b status.Field) int { return strings.Compare(a.Name, b.Name) })
	}
	for id, entries := range sites {
		site := status.Site{ID: id, Name: "Energy site " + last(id, 6)}
		for _, e := range entries {
			p := payload(e)
			switch e.key {
			case topic.Availability:
				site.Availability = string(p)
			case topic.LastSeen:
				if t, err := time.Parse(time.RFC3339, string(p)); err == nil {
					site.LastSeen = &t
				}
			default:
				if e.key == "site_info/site_name" && len(p) > 0 {
					site.Name = string(p)
				}
				site.Values = append(site.Values, status.Field{Name: e.key, Value: status.PayloadValue(p), Unit: siteUnit(e.key), UpdatedAt: e.at})
			}
		}
		slices.SortFunc(site.Values, func(a, b status.Field) int { return strings.Compare(a.Name, b.Name) })
		snap.Sites = append(snap.Sites, site)
	}
	slices.SortFunc(snap.Sites, func(a, b status.Site) int { return strings.Compare(a.ID, b.ID) })
}

// rawEntry is a board entry copied out: its payload is buf[off:off+n].
type rawEntry struct {
	key    string
	off, n int
	at     time.Time
}

// copyEntries copies, under the lock, the entries of snap's cars (by index)
// and of every site, with all payloads in one buffer.
func (s *statusBoard) copyEntries(snap *status.Snapshot) (cars [][]rawEntry, sites map[string][]rawEntry, buf []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copyItem := func(it *boardItem) []rawEntry {
		out := make([]rawEntry, 0, len(it.entries))
		for key, e := range it.entries {
			out = append(out, rawEntry{key: key, off: len(buf), n: len(e.payload), at: e.at})
			buf = append(buf, e.payload...)
		}
		return out
	}
	cars = make([][]rawEntry, len(snap.Vehicles))
	for i, v := range snap.Vehicles {
		if it := s.cars[v.VIN]; it != nil {
			cars[i] = copyItem(it)
		}
	}
	sites = make(map[string][]rawEntry, len(s.sites))
	for id, it := range s.sites {
		sites[id] = copyItem(it)
	}
	return cars, sites, buf
}

// unitOf is the unit of a car topic under the configured units: the
// catalog's for a field, the charger's power for derived/charger_power.
func unitOf(key, name string, units catalog.Units) string {
	switch {
	case key == topic.LevelDerived+"/charger_power":
		name = "ACChargingPower"
	case !strings.HasPrefix(key, topic.LevelValue+"/"):
		return ""
	}
	if f, ok := catalog.Lookup(name); ok {
		return f.UnitFor(units)
	}
	return ""
}

// siteUnit is the unit of an energy-site value, which Teslemetry sends in
// W, Wh and percent: powers in W, stored energy and the energy totals in
// Wh, percentages in %.
func siteUnit(key string) string {
	name := key[strings.LastIndexByte(key, '/')+1:]
	switch {
	case strings.HasSuffix(name, "_power"):
		return "W"
	case strings.HasPrefix(key, "energy_totals/"), name == "energy_left", name == "total_pack_energy":
		return "Wh"
	case name == "percentage_charged", strings.HasSuffix(name, "_percent"):
		return "%"
	}
	return ""
}

func last(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// statusSource is the bridge as the status page reads it (status.Source):
// the bridge's Snapshot, the board's topics, and the board's notifications.
type statusSource struct{ b *Bridge }

func (src statusSource) Snapshot() status.Snapshot {
	b := src.b
	bs := b.Snapshot()
	s := status.Snapshot{Now: b.now(), Bridge: status.Bridge{
		Version: b.version, StartedAt: bs.StartedAt, Webhook: b.webhook, Credits: bs.Credits,
		MQTT: status.MQTT{URL: status.PasswordFreeURL(b.cfg.MQTT.URL), BaseTopic: b.cfg.MQTT.BaseTopic, Connected: b.pub.Connected()},
	}}
	for _, st := range bs.Streams {
		s.Bridge.Streams = append(s.Bridge.Streams, status.Stream{
			Path: st.Path, Connected: st.Connected, Since: timeOrNil(st.Since),
			Reconnects: st.Reconnects, LastEventAt: timeOrNil(st.LastEventAt),
		})
	}
	for _, v := range bs.Vehicles { // sorted by VIN
		s.Vehicles = append(s.Vehicles, status.Vehicle{
			VIN: v.VIN, Name: v.Name, Availability: v.Availability, State: v.State,
			LastSeen: timeOrNil(v.LastSeen), ActiveAlerts: v.ActiveAlerts,
		})
	}
	b.board.fill(&s, b.units)
	return s
}

func (src statusSource) Subscribe() (<-chan struct{}, func()) { return src.b.board.notif.Subscribe() }

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
