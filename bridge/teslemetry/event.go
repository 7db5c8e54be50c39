// Package teslemetry knows Teslemetry's wire formats: it splits an SSE event
// into its parts (docs/topics.md) and turns each telemetry value into the payload
// the bridge publishes (docs/payloads.md). It does no I/O.
package teslemetry

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/jsonraw"
)

// Event is one decoded Teslemetry event. An event may carry several parts at
// once (e.g. data and credits); every part present is filled in.
type Event struct {
	VIN       string    // "" for account-level and energy-site events
	CreatedAt time.Time // zero when absent or unparsable
	IsCache   bool      // replayed snapshot (cache=true)

	Data         []Datum       // telemetry field deltas, in wire order
	State        string        // vehicle state: online / asleep / offline
	Connectivity *Connectivity // network interface change
	Alerts       []Alert
	Errors       []VehicleError
	Config       json.RawMessage // field configuration
	VehicleData  json.RawMessage // REST snapshot
	Credits      json.RawMessage // account credits (balance, quota, …)
	EnergySite   bool            // live_status, site_info, tariff_content_v2 or totals present
	Site         *Site           // the energy-site documents (site.go); nil without any
}

// Datum is one telemetry field with its raw JSON value.
type Datum struct {
	Field string
	Value json.RawMessage
}

// Connectivity is a change of one of the car's network interfaces.
type Connectivity struct {
	Interface string // lower-case: wifi, cellular, ethernet
	Status    string // lower-case: connected, disconnected, unknown
}

// Alert is one vehicle alert.
type Alert struct {
	Name      string    `json:"name"`
	Audiences []string  `json:"audiences"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
}

// Active reports whether the alert has not ended.
func (a Alert) Active() bool { return a.EndedAt.IsZero() }

// VehicleError is one error reported by the car.
type VehicleError struct {
	Name      string            `json:"name"`
	Body      string            `json:"body"`
	Tags      map[string]string `json:"tags"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Problem is a part of an event that was skipped; Kind is a short stable label
// for counting ("bad_json", "bad_vin", …).
type Problem struct {
	Kind   string
	Detail string
}

func (p Problem) Error() string { return p.Kind + ": " + p.Detail }

// IsVehicle reports whether the event carries vehicle parts.
func (e *Event) IsVehicle() bool {
	return len(e.Data) > 0 || e.State != "" || e.Connectivity != nil || e.Alerts != nil ||
		e.Errors != nil || e.Config != nil || e.VehicleData != nil
}

// Parser decodes SSE events like Parse and also interns their VINs: the same
// few cars send every event, so after the first event of a car its VIN costs
// no allocation. The zero Parser is ready to use; a Parser must not be copied
// after first use.
//
// A Parser is safe for concurrent use, because its owners call Parse from
// several goroutines at once: the bridge from one per SSE stream (outside its
// own lock, so that streams decode in parallel), the webhook receiver from one
// per request. A mutex held for one map lookup costs far less than the
// alternative, a Parser per goroutine, which would need plumbing into every
// stream and would hold the same VINs several times.
type Parser struct {
	vins vinTable
}

// Parse decodes the data of one SSE event, as the free function Parse does.
func (p *Parser) Parse(data []byte) (Event, []Problem, error) {
	return parse(data, &p.vins)
}

// Parse decodes the data of one SSE event. A malformed event returns a
// Problem error; a malformed part of an otherwise good event is left out and
// reported through problems, so the rest of the event is still used.
//
// Parse keeps no state between calls; a long-lived reader should use a Parser,
// which saves allocating the VIN of every event.
func Parse(data []byte) (Event, []Problem, error) {
	return parse(data, nil)
}

// parse is Parse, interning VINs in vins unless it is nil.
func parse(data []byte, vins *vinTable) (Event, []Problem, error) {
	var (
		ev       Event
		problems []Problem
		iface    string
		status   string
		recog    bool
		site     siteWire
	)
	bad := func(kind, format string, args ...any) {
		problems = append(problems, Problem{Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	err := eachMemberRaw(data, func(rawKey, v []byte) {
		switch string(keyBytes(rawKey)) {
		case "vin":
			if inner, ok := simpleInner(v); ok {
				ev.VIN = vins.intern(inner)
			} else if s, err := unquote(v); err == nil {
				ev.VIN = s
			} else {
				bad("bad_vin", "vin is not a string")
			}
		case "createdAt":
			if inner, ok := simpleInner(v); ok {
				ev.CreatedAt = parseTimeBytes(inner)
			} else if s, err := unquote(v); err == nil {
				ev.CreatedAt, _ = ParseTime(s)
			}
		case "isCache":
			ev.IsCache = string(v) == "true"
		case "data":
			recog = true
			if jsonraw.IsNull(v) {
				return
			}
			ev.Data = make([]Datum, 0, 8)
			if err := eachMemberRaw(v, func(rawField, value []byte) {
				ev.Data = append(ev.Data, Datum{Field: fieldName(rawField), Value: value})
			}); err != nil {
				ev.Data = nil
				bad("bad_data", "data: %v", err)
			}
		case "state":
			recog = true
			if s, err := unquote(v); err == nil && s != "" {
				ev.State = strings.ToLower(s)
			} else {
				bad("bad_state", "state is not a string")
			}
		case "networkInterface":
			recog = true
			iface, _ = unquote(v)
		case "status":
			status, _ = unquote(v)
		case "alerts":
			recog = true
			ev.Alerts = decodeItems(v, "bad_alert", bad, func(a alertWire) (Alert, bool) { return a.alert(), a.Name != "" })
		case "errors":
			recog = true
			ev.Errors = decodeItems(v, "bad_error", bad, func(e errorWire) (VehicleError, bool) { return e.vehicleError(), e.Name != "" })
		case "config":
			recog = true
			ev.Config = compactObject(v, "config", bad)
		case "vehicle_data":
			recog = true
			ev.VehicleData = compactObject(v, "vehicle_data", bad)
		case "credits":
			recog = true
			ev.Credits = compactObject(v, "credits", bad)
		case "site_id":
			site.siteID = v
		case "id":
			site.id = v
		case "live_status", "site_info", "tariff_content_v2", "totals":
			recog = true
			ev.EnergySite = true
			site.set(keyBytes(rawKey), v)
		}
	})
	if err != nil {
		return Event{}, nil, Problem{Kind: "bad_json", Detail: err.Error()}
	}
	ev.Site = site.decode(bad)
	if iface != "" {
		ev.Connectivity = &Connectivity{Interface: strings.ToLower(iface), Status: strings.ToLower(status)}
		if ev.Connectivity.Status == "" {
			ev.Connectivity.Status = "unknown"
		}
	}
	if !recog {
		return Event{}, problems, Problem{Kind: "unknown_event", Detail: "no known event key"}
	}
	return ev, problems, nil
}

// decodeItems decodes a JSON array of objects (alerts, errors), skipping and
// reporting items that are not of the wire shape W or that conv rejects.
func decodeItems[W, T any](v []byte, kind string, bad func(kind, format string, args ...any), conv func(W) (T, bool)) []T {
	out := []T{}
	err := eachElement(v, func(item []byte) {
		var w W
		if json.Unmarshal(item, &w) != nil {
			bad(kind, "item of the wrong shape")
			return
		}
		t, ok := conv(w)
		if !ok {
			bad(kind, "item without a name")
			return
		}
		out = append(out, t)
	})
	if err != nil && !jsonraw.IsNull(v) {
		bad(kind, "%v", err)
	}
	return out
}

// fieldNames interns the catalog's field names: decoding a known field name
// does not allocate.
var fieldNames = func() map[string]string {
	m := map[string]string{}
	for _, f := range catalog.All() {
		m[f.Name] = f.Name
	}
	return m
}()

// fieldName decodes a raw member name of a data object.
func fieldName(rawKey []byte) string {
	if inner, ok := simpleInner(rawKey); ok {
		if name, ok := fieldNames[string(inner)]; ok {
			return name
		}
		return string(inner)
	}
	s, _ := unquote(rawKey)
	return s
}

// vinTable interns VINs for a Parser. It is bounded, so that a stream of
// made-up VINs cannot grow it without limit: once full, further new VINs are
// allocated each time, as without a table.
type vinTable struct {
	mu sync.Mutex // held only for one map operation
	m  map[string]string
}

const maxInternedVINs = 4096

// intern returns inner as a string, the same string every time for a VIN
// already in the table. A nil table interns nothing.
func (t *vinTable) intern(inner []byte) string {
	if t == nil {
		return string(inner)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[string(inner)]; ok { // the conversion does not allocate
		return s
	}
	s := string(inner)
	if len(t.m) < maxInternedVINs {
		if t.m == nil {
			t.m = make(map[string]string)
		}
		t.m[s] = s
	}
	return s
}

// parseTimeBytes is ParseTime for the form Teslemetry sends,
// 2006-01-02T15:04:05[.fraction]Z, without allocating; anything else goes
// through ParseTime. Unparsable times are zero.
func parseTimeBytes(b []byte) time.Time {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		year, ok1 := num(b[0:4])
		month, ok2 := num(b[5:7])
		day, ok3 := num(b[8:10])
		hour, ok4 := num(b[11:13])
		minute, ok5 := num(b[14:16])
		sec, ok6 := num(b[17:19])
		frac, nsec, ok7 := b[19:len(b)-1], 0, true
		if len(frac) > 0 {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				ok7 = false
			} else if nsec, ok7 = num(frac[1:]); ok7 {
				for i := len(frac) - 1; i < 9; i++ {
					nsec *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && month >= 1 && month <= 12 && day >= 1 &&
			day <= daysIn(time.Month(month), year) && hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
		}
	}
	t, _ := ParseTime(string(b))
	return t
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// compactObject returns v compacted when it is a JSON object, else records a problem.
func compactObject(v []byte, name string, bad func(kind, format string, args ...any)) json.RawMessage {
	if jsonraw.IsNull(v) {
		return nil
	}
	if len(v) == 0 || v[0] != '{' || !json.Valid(v) {
		bad("bad_"+name, "%s is not a JSON object", name)
		return nil
	}
	return jsonraw.AppendCompact(make([]byte, 0, len(v)), v)
}

type alertWire struct {
	Name      string   `json:"name"`
	Audiences []string `json:"audiences"`
	StartedAt string   `json:"startedAt"`
	EndedAt   string   `json:"endedAt"`
}

func (a alertWire) alert() Alert {
	out := Alert{Name: a.Name, Audiences: a.Audiences}
	if out.Audiences == nil {
		out.Audiences = []string{}
	}
	out.StartedAt, _ = ParseTime(a.StartedAt)
	out.EndedAt, _ = ParseTime(a.EndedAt)
	return out
}

type errorWire struct {
	Name      string            `json:"name"`
	Body      string            `json:"body"`
	Tags      map[string]string `json:"tags"`
	CreatedAt string            `json:"createdAt"`
}

func (e errorWire) vehicleError() VehicleError {
	out := VehicleError{Name: e.Name, Body: e.Body, Tags: e.Tags}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	out.CreatedAt, _ = ParseTime(e.CreatedAt)
	return out
}

// ParseTime parses Teslemetry's ISO-8601 times leniently: any fraction, with or
// without a zone (no zone means UTC).
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO-8601 time", s)
}
