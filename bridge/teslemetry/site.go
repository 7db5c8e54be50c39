package teslemetry

import (
	"encoding/json"
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/jsonraw"
)

// Energy-site events (Powerwall, solar, wall connectors; docs/energy-sites.md).
// Each carries a whole document rather than a delta: live_status, site_info,
// tariff_content_v2 and energy_totals ("totals", whose site is named in "id"
// instead of "site_id").

// Bounds on what one site document may contribute, so that a misbehaving
// stream cannot grow the bridge's memory without limit; whatever is beyond
// them is skipped and reported as a Problem of kind "limit_site_members".
const (
	MaxSiteKeys           = 128 // values of one live_status, site_info or totals document
	MaxWallConnectors     = 16  // wall connectors of one live_status
	MaxWallConnectorKeys  = 32  // values of one wall connector
	maxSiteIDLen          = 20
	problemSiteTooMany    = "limit_site_members"
	problemSiteBadPart    = "bad_site_part"
	problemSiteBadValue   = "bad_site_value"
	problemSiteBadWallCon = "bad_wall_connector"
)

// Site is the energy-site part of an event. Only the documents the event
// carried are set.
type Site struct {
	ID string // site id as digits ("" when the event names none or an invalid one)

	LiveStatus *SiteDoc // live_status scalars and wall connectors
	Info       *SiteDoc // site_info: scalars, objects (components, …) as one JSON value each
	Totals     *SiteDoc // energy_totals: each total (null when absent)
	// Tariff is the compact tariff_content_v2 document, or "null" when
	// Teslemetry says the tariff was removed; nil when the event has none.
	Tariff json.RawMessage
}

// SiteDoc is one decoded site document.
type SiteDoc struct {
	Values         []SiteValue
	WallConnectors []WallConnector // live_status only, in wire order
}

// SiteValue is one member of a site document with its payload ready to
// publish: numbers bare, bools true/false, strings as text, null for null or
// an empty string, objects and arrays as compact JSON (JSON true). Key is the
// member name as sent; the mapping to topics sanitises it.
type SiteValue struct {
	Key     string
	Payload []byte
	JSON    bool // an object or array
}

// WallConnector is one wall connector of a live_status, named by its DIN.
type WallConnector struct {
	DIN    string
	Values []SiteValue // every scalar except din
}

// Value returns the payload of key, or nil.
func (d *SiteDoc) Value(key string) []byte {
	if d == nil {
		return nil
	}
	for _, v := range d.Values {
		if v.Key == key {
			return v.Payload
		}
	}
	return nil
}

// siteWire collects the raw energy-site members of one event while parse
// scans it.
type siteWire struct {
	siteID, id                        []byte
	live, info, totals, tariff        []byte
	hasLive, hasInfo, hasTotals, hasT bool
}

func (w *siteWire) set(key []byte, v []byte) {
	switch string(key) {
	case "live_status":
		w.live, w.hasLive = v, true
	case "site_info":
		w.info, w.hasInfo = v, true
	case "totals":
		w.totals, w.hasTotals = v, true
	case "tariff_content_v2":
		w.tariff, w.hasT = v, true
	}
}

// decode turns the collected members into a Site; nil when the event had no
// energy-site document.
func (w *siteWire) decode(bad func(kind, format string, args ...any)) *Site {
	if !w.hasLive && !w.hasInfo && !w.hasTotals && !w.hasT {
		return nil
	}
	s := &Site{}
	// live_status, site_info and tariff name their site in site_id,
	// energy_totals in id.
	raw := w.siteID
	if raw == nil {
		raw = w.id
	}
	switch {
	case raw == nil:
		bad("bad_site_id", "energy-site event without a site id")
	default:
		if s.ID = siteID(raw); s.ID == "" {
			bad("bad_site_id", "site id is not 1–%d digits", maxSiteIDLen)
		}
	}
	if w.hasLive {
		s.LiveStatus = decodeSiteDoc(w.live, "live_status", bad)
	}
	if w.hasInfo {
		s.Info = decodeSiteDoc(w.info, "site_info", bad)
	}
	if w.hasTotals {
		s.Totals = decodeSiteDoc(w.totals, "totals", bad)
	}
	if w.hasT {
		switch {
		case jsonraw.IsNull(w.tariff):
			s.Tariff = json.RawMessage(Null)
		case len(w.tariff) > 0 && w.tariff[0] == '{' && json.Valid(w.tariff):
			s.Tariff = jsonraw.AppendCompact(make([]byte, 0, len(w.tariff)), w.tariff)
		default:
			bad(problemSiteBadPart, "tariff_content_v2 is not a JSON object or null")
		}
	}
	return s
}

// siteID reads a site id sent as a JSON string or number; "" unless it is
// 1–20 digits.
func siteID(raw []byte) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		u, err := unquote(raw)
		if err != nil {
			return ""
		}
		s = u
	} else {
		s = string(raw)
	}
	if !topic.IsSiteID(s) {
		return ""
	}
	return s
}

// decodeSiteDoc decodes one document. A null document is an empty one; a
// document that is not an object is reported and nil. In live_status, the
// wall_connectors array is split per DIN instead of published as JSON; in
// totals, numeric strings are numbers.
func decodeSiteDoc(raw []byte, name string, bad func(kind, format string, args ...any)) *SiteDoc {
	wallConnectors, numeric := name == "live_status", name == "totals"
	doc := &SiteDoc{}
	if jsonraw.IsNull(raw) {
		return doc
	}
	skipped := 0
	err := eachMember(raw, func(key string, v []byte) {
		if wallConnectors && key == "wall_connectors" {
			doc.WallConnectors = decodeWallConnectors(v, bad)
			return
		}
		if len(doc.Values) >= MaxSiteKeys {
			skipped++
			return
		}
		sv, ok := siteValue(key, v)
		if ok && numeric && v[0] == '"' && sv.Payload[0] != 'n' {
			if f, err := parseNumber(v); err == nil {
				sv.Payload = AppendNumber(sv.Payload[:0], f)
			}
		}
		if !ok {
			bad(problemSiteBadValue, "%s: value of %.40q is not valid JSON", name, key)
			return
		}
		doc.Values = append(doc.Values, sv)
	})
	if err != nil {
		bad(problemSiteBadPart, "%s is not a JSON object: %v", name, err)
		return nil
	}
	if skipped > 0 {
		bad(problemSiteTooMany, "%s: %d members beyond the first %d skipped", name, skipped, MaxSiteKeys)
	}
	return doc
}

// decodeWallConnectors splits a live_status wall_connectors array.
func decodeWallConnectors(raw []byte, bad func(kind, format string, args ...any)) []WallConnector {
	out := []WallConnector{}
	if jsonraw.IsNull(raw) {
		return out
	}
	skipped := 0
	err := eachElement(raw, func(item []byte) {
		if len(out) >= MaxWallConnectors {
			skipped++
			return
		}
		wc := WallConnector{}
		extra := 0
		err := eachMember(item, func(key string, v []byte) {
			if key == "din" {
				if s, err := unquote(v); err == nil {
					wc.DIN = s
				} else if len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
					wc.DIN = string(v)
				}
				return
			}
			if len(wc.Values) >= MaxWallConnectorKeys {
				extra++
				return
			}
			if sv, ok := siteValue(key, v); ok {
				wc.Values = append(wc.Values, sv)
			}
		})
		if err != nil || wc.DIN == "" {
			bad(problemSiteBadWallCon, "wall connector without a din or not an object")
			return
		}
		if extra > 0 {
			bad(problemSiteTooMany, "wall connector: %d members beyond the first %d skipped", extra, MaxWallConnectorKeys)
		}
		out = append(out, wc)
	})
	if err != nil {
		bad(problemSiteBadWallCon, "wall_connectors is not an array: %v", err)
	}
	if skipped > 0 {
		bad(problemSiteTooMany, "%d wall connectors beyond the first %d skipped", skipped, MaxWallConnectors)
	}
	return out
}

// siteValue formats one member value (the payload rules of cars: numbers as
// sent, strings bare, never empty).
func siteValue(key string, raw []byte) (SiteValue, bool) {
	if len(raw) == 0 || jsonraw.IsNull(raw) || (raw[0] == '"' && isInvalidMarker(raw)) {
		return SiteValue{Key: key, Payload: Null}, true
	}
	p, err := anyValue(nil, raw)
	if err != nil {
		return SiteValue{}, false
	}
	return SiteValue{Key: key, Payload: p, JSON: raw[0] == '{' || raw[0] == '['}, true
}

// SiteMessage is one topic and payload of a site event.
type SiteMessage struct {
	Topic   string
	Payload []byte
}

// SiteMessages maps a decoded site part onto its topics under
// <base>/site/<id>/ (docs/energy-sites.md), in document order: live_status
// values, wall connectors, site_info, energy_totals, tariff. s.ID must be
// set. Keys and DINs are sanitised into topic levels.
func SiteMessages(sch topic.Scheme, s *Site) []SiteMessage {
	if s == nil || s.ID == "" {
		return nil
	}
	var out []SiteMessage
	values := func(level string, d *SiteDoc) {
		if d == nil {
			return
		}
		for _, v := range d.Values {
			out = append(out, SiteMessage{sch.Site(s.ID, level, topic.Segment(v.Key)), v.Payload})
		}
	}
	values(topic.SiteLiveStatus, s.LiveStatus)
	if s.LiveStatus != nil {
		for _, wc := range s.LiveStatus.WallConnectors {
			din := topic.Segment(wc.DIN)
			for _, v := range wc.Values {
				out = append(out, SiteMessage{sch.Site(s.ID, topic.SiteWallConnectors, din, topic.Segment(v.Key)), v.Payload})
			}
		}
	}
	values(topic.SiteInfo, s.Info)
	values(topic.SiteEnergyTotals, s.Totals)
	if s.Tariff != nil {
		out = append(out, SiteMessage{sch.Site(s.ID, topic.SiteTariff), s.Tariff})
	}
	return out
}

// Has reports whether the document carries a non-null value at path (see
// Lookup).
func (d *SiteDoc) Has(path string) bool {
	p, ok := d.Lookup(path)
	return ok && !jsonraw.IsNull(p)
}

// Lookup returns the payload at path: a member ("backup_reserve_percent")
// or a member of an object member ("components.customer_preferred_export_rule"),
// formatted like every site value; false when the document has none.
func (d *SiteDoc) Lookup(path string) ([]byte, bool) {
	if d == nil {
		return nil, false
	}
	key, rest, nested := strings.Cut(path, ".")
	for _, v := range d.Values {
		if v.Key != key {
			continue
		}
		if !nested {
			return v.Payload, true
		}
		if !v.JSON || v.Payload[0] != '{' {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v.Payload, &m) != nil {
			return nil, false
		}
		inner, ok := m[rest]
		if !ok {
			return nil, false
		}
		sv, ok := siteValue(rest, inner)
		return sv.Payload, ok
	}
	return nil, false
}
