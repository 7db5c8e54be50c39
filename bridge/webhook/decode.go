package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/jsonraw"
)

var (
	// ErrMalformed reports a body that is not JSON, or a known format whose
	// parts have the wrong JSON type (a VIN that is not a string, a typed
	// datum without a key, …). It wraps the underlying error.
	ErrMalformed = errors.New("malformed webhook body")
	// ErrUnknownFormat reports valid JSON in none of the three webhook formats.
	ErrUnknownFormat = errors.New("unknown webhook format")
)

// Format names, as logged.
const (
	formatTyped = "teslemetry" // {"data":[{"key":…,"value":{"stringValue":…}}],"createdAt":…,"vin":…}
	formatFlat  = "flat"       // {"data":{"Field":value,…},"createdAt":…,"vin":…}
	formatEvent = "event"      // {"time":…,"host":…,"source":VIN,"event":{"Field":value,…}}
)

// Decode detects the format of one webhook body and turns it into the event
// the SSE stream would have produced: every Datum.Value is the compact JSON
// the SSE `data` object carries for that field, in wire order.
//
// Formats, tried in this order:
//   - "data" is an array: Teslemetry's typed format; each value wrapper is
//     unwrapped (see unwrap).
//   - "data" is an object (or null): the flat format, which is the SSE event
//     itself and is parsed by teslemetry.Parse.
//   - "event" is an object (or null): the event format; VIN from "source",
//     CreatedAt from "time" (epoch seconds).
//
// Anything else that is valid JSON returns ErrUnknownFormat; invalid JSON and
// parts of the wrong type return ErrMalformed. On error the event is zero.
//
// Decode keeps no state between calls; the receiver served by Handler decodes
// with a teslemetry.Parser of its own, which interns VINs.
func Decode(body []byte) (teslemetry.Event, error) {
	ev, _, err := decode(teslemetry.Parse, body)
	return ev, err
}

// sseParser decodes the data of one SSE event: teslemetry.Parse, or the Parse
// method of a long-lived teslemetry.Parser.
type sseParser func(data []byte) (teslemetry.Event, []teslemetry.Problem, error)

// decode is Decode, parsing the flat and event formats with parse; it also
// returns the name of the format.
func decode(parse sseParser, body []byte) (teslemetry.Event, string, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil { // validates the whole body
		return teslemetry.Event{}, "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if kind(raw) != '{' {
		return teslemetry.Event{}, "", fmt.Errorf("%w: body is a JSON %s, not an object", ErrUnknownFormat, kindName(raw))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return teslemetry.Event{}, "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var (
		ev     teslemetry.Event
		format string
		err    error
	)
	if data, ok := top["data"]; ok {
		switch kind(data) {
		case '[':
			format = formatTyped
			ev, err = decodeTyped(top, data)
		case '{', 'n':
			format = formatFlat
			ev, err = decodeFlat(parse, raw)
		default:
			return teslemetry.Event{}, "", fmt.Errorf("%w: \"data\" is a JSON %s", ErrUnknownFormat, kindName(data))
		}
	} else if event, ok := top["event"]; ok {
		switch kind(event) {
		case '{', 'n':
			format = formatEvent
			ev, err = decodeEvent(parse, top, event)
		default:
			return teslemetry.Event{}, "", fmt.Errorf("%w: \"event\" is a JSON %s", ErrUnknownFormat, kindName(event))
		}
	} else {
		return teslemetry.Event{}, "", fmt.Errorf("%w: neither \"data\" nor \"event\"", ErrUnknownFormat)
	}
	if err != nil {
		return teslemetry.Event{}, format, err
	}
	return ev, format, nil
}

// decodeTyped reads Teslemetry's typed format: data is a list of
// {"key": Field, "value": Value} in protobuf JSON.
func decodeTyped(top map[string]json.RawMessage, data json.RawMessage) (teslemetry.Event, error) {
	var ev teslemetry.Event
	var err error
	if ev.VIN, err = optString(top, "vin"); err != nil {
		return ev, err
	}
	if t, ok := top["createdAt"]; ok && !jsonraw.IsNull(t) {
		ev.CreatedAt = parseWhen(t)
	} else if t, ok := top["created_at"]; ok {
		ev.CreatedAt = parseWhen(t)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return ev, fmt.Errorf("%w: data: %w", ErrMalformed, err)
	}
	if len(items) > 0 {
		ev.Data = make([]teslemetry.Datum, 0, len(items))
	}
	for i, item := range items {
		if kind(item) != '{' {
			return ev, fmt.Errorf("%w: data[%d] is a JSON %s, not an object", ErrMalformed, i, kindName(item))
		}
		var d struct {
			Key   json.RawMessage `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(item, &d); err != nil {
			return ev, fmt.Errorf("%w: data[%d]: %w", ErrMalformed, i, err)
		}
		if kind(d.Key) != '"' {
			return ev, fmt.Errorf("%w: data[%d].key is not a string", ErrMalformed, i)
		}
		var key string
		if err := json.Unmarshal(d.Key, &key); err != nil {
			return ev, fmt.Errorf("%w: data[%d].key: %w", ErrMalformed, i, err)
		}
		v, err := unwrap(d.Value)
		if err != nil {
			return ev, fmt.Errorf("%w: data[%d] (%s): %w", ErrMalformed, i, key, err)
		}
		ev.Data = append(ev.Data, teslemetry.Datum{Field: key, Value: v})
	}
	return ev, nil
}

// decodeFlat reads the flat format, which is the SSE event verbatim.
func decodeFlat(parse sseParser, body []byte) (teslemetry.Event, error) {
	ev, problems, err := parse(body)
	if err != nil {
		return teslemetry.Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for _, p := range problems {
		if p.Kind == "bad_vin" || p.Kind == "bad_data" {
			return teslemetry.Event{}, fmt.Errorf("%w: %w", ErrMalformed, p)
		}
	}
	compactData(ev.Data)
	return ev, nil
}

// decodeEvent reads the event format: the event object is an SSE data object.
func decodeEvent(parse sseParser, top map[string]json.RawMessage, event json.RawMessage) (teslemetry.Event, error) {
	vin, err := optString(top, "source")
	if err != nil {
		return teslemetry.Event{}, err
	}
	var ev teslemetry.Event
	if !jsonraw.IsNull(event) {
		wrapped := make([]byte, 0, len(event)+9)
		wrapped = append(wrapped, `{"data":`...)
		wrapped = append(wrapped, event...)
		wrapped = append(wrapped, '}')
		if ev, err = decodeFlat(parse, wrapped); err != nil {
			return teslemetry.Event{}, err
		}
	}
	ev.VIN = vin
	if t, ok := top["time"]; ok {
		ev.CreatedAt = parseWhen(t)
	}
	return ev, nil
}

func compactData(data []teslemetry.Datum) {
	for i := range data {
		data[i].Value = jsonraw.Compact(data[i].Value)
	}
}

// optString returns the string member name of top: "" when absent or null,
// ErrMalformed when it has another type.
func optString(top map[string]json.RawMessage, name string) (string, error) {
	v, ok := top[name]
	if !ok || jsonraw.IsNull(v) {
		return "", nil
	}
	var s string
	if kind(v) != '"' {
		return "", fmt.Errorf("%w: %q is a JSON %s, not a string", ErrMalformed, name, kindName(v))
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrMalformed, name, err)
	}
	return s, nil
}

var jsonNull = json.RawMessage("null")

// unwrap turns one protobuf-JSON Value wrapper into the SSE value:
//
//	absent, null, {} or {"invalid":…}        → null
//	{"stringValue":"34.797"}                   → "34.797"
//	{"intValue"|"longValue"|"floatValue"|"doubleValue": n or "n"} → n
//	    ("NaN"/"Infinity" → null; any other string passes through)
//	{"booleanValue":true} (or "true")          → true
//	{"locationValue":{…}}                      → the object, latitude/longitude filled with 0 when omitted
//	{"timeValue":{…}}                          → the object, hour/minute/second filled with 0 when omitted
//	{"doorValue":{…}}                          → the object, the six doors filled with false when omitted
//	{"tireLocationValue":{…}}                  → the object
//	{"<anything else>": x} (enum members …)    → x, e.g. "ShiftStateD"
//
// Member names match in camelCase or snake_case, case-insensitively. A value
// that is not a one-member object is taken as an SSE value already and passed
// through.
func unwrap(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || jsonraw.IsNull(raw) {
		return jsonNull, nil
	}
	if kind(raw) != '{' {
		return jsonraw.Compact(raw), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return jsonNull, nil
	}
	if len(m) > 1 {
		return jsonraw.Compact(raw), nil
	}
	var key string
	var v json.RawMessage
	for k, val := range m { // the only member
		key, v = k, val
	}
	if jsonraw.IsNull(v) {
		return jsonNull, nil
	}
	switch normKey(key) {
	case "invalid":
		return jsonNull, nil
	case "intvalue", "longvalue", "floatvalue", "doublevalue":
		return number(v), nil
	case "booleanvalue":
		return boolean(v), nil
	case "locationvalue":
		return fill(v, locationDefaults), nil
	case "timevalue":
		return fill(v, timeDefaults), nil
	case "doorvalue":
		if kind(v) == '{' && hasMember(v, "DoorState") { // nested variant: leave alone
			return jsonraw.Compact(v), nil
		}
		return fill(v, doorDefaults), nil
	default: // stringValue, tireLocationValue, every enum member, future members
		return jsonraw.Compact(v), nil
	}
}

type member struct{ name, value string }

var (
	locationDefaults = []member{{"latitude", "0"}, {"longitude", "0"}}
	timeDefaults     = []member{{"hour", "0"}, {"minute", "0"}, {"second", "0"}}
	doorDefaults     = func() []member {
		out := make([]member, 0, len(catalog.Doors))
		for _, d := range catalog.Doors {
			out = append(out, member{d, "false"})
		}
		return out
	}()
)

// fill returns the object v compacted, with each default member that v lacks
// appended: protobuf JSON leaves out zero-valued members, the SSE stream does
// not. A v that is not an object passes through.
func fill(v json.RawMessage, defaults []member) json.RawMessage {
	out := jsonraw.Compact(v)
	if kind(out) != '{' {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(out, &m) != nil {
		return out
	}
	empty := len(m) == 0
	var missing []member
	for _, d := range defaults {
		if _, ok := m[d.name]; !ok {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		return out
	}
	b := append([]byte(nil), out[:len(out)-1]...) // drop the closing brace
	for _, d := range missing {
		if !empty {
			b = append(b, ',')
		}
		empty = false
		b = strconv.AppendQuote(b, d.name)
		b = append(b, ':')
		b = append(b, d.value...)
	}
	return append(b, '}')
}

func hasMember(v json.RawMessage, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// number returns a numeric wrapper's content as a bare JSON number; protobuf
// JSON writes 64-bit integers (and may write any number) as strings.
func number(v json.RawMessage) json.RawMessage {
	if kind(v) != '"' {
		return jsonraw.Compact(v)
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return jsonraw.Compact(v)
	}
	s = strings.TrimSpace(s)
	switch strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")) {
	case "nan", "infinity", "inf":
		return jsonNull
	}
	if jsonraw.IsNumber([]byte(s)) {
		return json.RawMessage(s)
	}
	return jsonraw.Compact(v)
}

// boolean returns a boolean wrapper's content; "true"/"false" strings become bools.
func boolean(v json.RawMessage) json.RawMessage {
	if kind(v) == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				return json.RawMessage("true")
			case "false":
				return json.RawMessage("false")
			}
		}
	}
	return jsonraw.Compact(v)
}

// normKey lower-cases a member name and drops underscores, so that
// shiftStateValue, shift_state_value and ShiftStateValue compare equal.
func normKey(k string) string {
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// parseWhen reads a creation time: an ISO-8601 string, or epoch seconds (or
// milliseconds) as a number or numeric string. Anything else is the zero time.
func parseWhen(v json.RawMessage) time.Time {
	switch kind(v) {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return time.Time{}
		}
		s = strings.TrimSpace(s)
		if t, err := teslemetry.ParseTime(s); err == nil {
			return t
		}
		return epoch(s)
	case '0':
		return epoch(string(v))
	}
	return time.Time{}
}

// maxEpoch bounds plausible epoch seconds (year 5138); larger values are
// taken as milliseconds.
const maxEpoch = 1e11

// epoch converts epoch seconds to a UTC time. A plain decimal is converted
// exactly (1708737795.9836073 → …15.9836073Z); other forms go through float64.
func epoch(s string) time.Time {
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart != "" && len(intPart) <= 11 && allDigits(intPart) && allDigits(frac) {
		sec, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return time.Time{}
		}
		if len(frac) > 9 {
			frac = frac[:9]
		}
		ns := 0
		if frac != "" {
			ns, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
		}
		if sec == 0 && ns == 0 {
			return time.Time{}
		}
		return time.Unix(sec, int64(ns)).UTC()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}
	}
	if f > maxEpoch {
		f /= 1000
	}
	if f > maxEpoch {
		return time.Time{}
	}
	sec, fr := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(fr*1e6))*1e3).UTC()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// kind returns the first byte of a JSON value: '{', '[', '"', 't', 'f', 'n',
// or '0' for every number; 0 when empty.
func kind(v []byte) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	if c := v[0]; c == '-' || (c >= '0' && c <= '9') {
		return '0'
	}
	return v[0]
}

func kindName(v []byte) string {
	switch kind(v) {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	case '0':
		return "number"
	}
	return "value"
}
