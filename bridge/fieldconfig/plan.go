// Package fieldconfig makes a car stream the fields listed under
// teslemetry.fields: it reads the car's streaming config from Teslemetry,
// compares it with what the user wants, and sends only the difference as a
// merge (docs/fields.md). Fields the user did not list are never touched and
// nothing is ever deleted.
package fieldconfig

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// Members of one field's streaming config.
const (
	keyInterval = "interval_seconds"
	keyDelta    = "minimum_delta"
	keyResend   = "resend_interval_seconds"
)

// Entry is one field's streaming config as Teslemetry reports it.
type Entry struct {
	IntervalSeconds       *int
	MinimumDelta          *float64
	ResendIntervalSeconds *int
	// Raw keeps every member as received, so that a change sends back the
	// members the user did not mention (including ones this version does not know).
	Raw map[string]json.RawMessage
}

// UnmarshalJSON reads an entry object (null reads as an empty entry).
func (e *Entry) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = Entry{Raw: raw}
	if v, ok := raw[keyInterval]; ok {
		n, err := wholeNumber(v)
		if err != nil {
			return fmt.Errorf("%s: %w", keyInterval, err)
		}
		e.IntervalSeconds = n
	}
	if v, ok := raw[keyResend]; ok {
		n, err := wholeNumber(v)
		if err != nil {
			return fmt.Errorf("%s: %w", keyResend, err)
		}
		e.ResendIntervalSeconds = n
	}
	if v, ok := raw[keyDelta]; ok && string(v) != "null" {
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("%s: %w", keyDelta, err)
		}
		e.MinimumDelta = &f
	}
	return nil
}

// wholeNumber reads a JSON number that should be whole seconds (2.0 is fine).
func wholeNumber(v json.RawMessage) (*int, error) {
	if string(v) == "null" {
		return nil, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return nil, err
	}
	n := int(f)
	return &n, nil
}

// Action is what the bridge does with one field.
type Action string

// Actions of a Plan item.
const (
	Add    Action = "add"    // listed, not streamed yet
	Change Action = "change" // listed, streamed with other settings
	Keep   Action = "keep"   // listed and already streamed as wanted
	Leave  Action = "leave"  // streamed, not listed: never touched
)

// Item is one row of a Plan.
type Item struct {
	Field   string
	Current *Entry            // nil when the car does not stream the field
	Wanted  *config.FieldSpec // nil when the field is not listed
	Action  Action
}

// Plan is the comparison of the wanted fields with a car's current config,
// one item per field that is listed or streamed, sorted by name.
type Plan struct {
	Items []Item
}

// Compare compares the wanted fields (teslemetry.fields) with the fields a
// car streams now. A listed field that is missing is added; one whose
// interval, minimum delta or resend interval differs from what the user set
// is changed. Members the user left out are not compared, so a listed null
// (Teslemetry's default interval) matches any existing entry.
func Compare(wanted map[string]config.FieldSpec, current map[string]Entry) Plan {
	names := slices.Collect(maps.Keys(wanted))
	for name := range current {
		if _, ok := wanted[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	p := Plan{Items: make([]Item, 0, len(names))}
	for _, name := range names {
		it := Item{Field: name}
		if c, ok := current[name]; ok {
			it.Current = &c
		}
		if w, ok := wanted[name]; ok {
			it.Wanted = &w
		}
		switch {
		case it.Wanted == nil:
			it.Action = Leave
		case it.Current == nil:
			it.Action = Add
		case matches(*it.Wanted, *it.Current):
			it.Action = Keep
		default:
			it.Action = Change
		}
		p.Items = append(p.Items, it)
	}
	return p
}

// matches reports whether every member the user set has that value in cur.
func matches(w config.FieldSpec, cur Entry) bool {
	return sameInt(w.IntervalSeconds, cur.IntervalSeconds) &&
		sameInt(w.ResendIntervalSeconds, cur.ResendIntervalSeconds) &&
		(w.MinimumDelta == nil || (cur.MinimumDelta != nil && *w.MinimumDelta == *cur.MinimumDelta))
}

func sameInt(want, have *int) bool { return want == nil || (have != nil && *want == *have) }

// Changes returns the fields to add or change, in name order.
func (p Plan) Changes() []string {
	var out []string
	for _, it := range p.Items {
		if it.Action == Add || it.Action == Change {
			out = append(out, it.Field)
		}
	}
	return out
}

// Body is the PATCH body that applies the plan, {"fields":{…}}, or nil when
// nothing needs to change. An added field is sent as the user wrote it (null
// for Teslemetry's default interval); a changed field is sent with its
// current members overlaid by the ones the user set, so nothing the user did
// not mention is lost.
func (p Plan) Body() []byte {
	fields := map[string]json.RawMessage{}
	for _, it := range p.Items {
		switch it.Action {
		case Add:
			fields[it.Field] = specJSON(*it.Wanted, nil)
		case Change:
			fields[it.Field] = specJSON(*it.Wanted, it.Current.Raw)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"fields": fields}) // map keys are sorted: the body is stable
	return b
}

// specJSON is the entry object for w over base (null when both are empty).
func specJSON(w config.FieldSpec, base map[string]json.RawMessage) json.RawMessage {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	if w.IntervalSeconds != nil {
		m[keyInterval] = json.RawMessage(strconv.Itoa(*w.IntervalSeconds))
	}
	if w.MinimumDelta != nil {
		m[keyDelta] = json.RawMessage(strconv.FormatFloat(*w.MinimumDelta, 'g', -1, 64))
	}
	if w.ResendIntervalSeconds != nil {
		m[keyResend] = json.RawMessage(strconv.Itoa(*w.ResendIntervalSeconds))
	}
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(m)
	return b
}
