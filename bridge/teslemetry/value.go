package teslemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery"
)

// Null is the payload of an invalid or absent value (contract §5): never an
// empty payload, which would delete a retained topic.
var Null = []byte("null")

// ErrWrongType reports a value whose JSON type does not fit its field.
var ErrWrongType = errors.New("wrong value type")

// Formatter turns raw telemetry values into published payloads for one units mode.
type Formatter struct {
	Units discovery.Units
}

// Format appends the payload for one value of field f to dst (contract §5).
// A value that cannot be read as the field's type returns ErrWrongType and is
// skipped by the caller; null and invalid markers become "null".
func (fm Formatter) Format(dst []byte, f *discovery.Field, raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return append(dst, Null...), nil
	}
	if raw[0] == '"' && isInvalidMarker(raw) {
		return append(dst, Null...), nil
	}
	switch f.Kind {
	case discovery.KindFloat, discovery.KindInt:
		return fm.number(dst, f, raw)
	case discovery.KindBool:
		return boolean(dst, raw)
	case discovery.KindEnum:
		return enum(dst, f, raw)
	case discovery.KindString:
		return text(dst, raw)
	case discovery.KindLocation:
		return location(dst, raw)
	case discovery.KindDoors:
		return doors(dst, raw)
	case discovery.KindTireLocation:
		return tires(dst, raw)
	case discovery.KindTime:
		return timeOfDay(dst, raw)
	case discovery.KindTimestamp:
		return timestamp(dst, raw)
	default:
		return anyValue(dst, raw)
	}
}

func isInvalidMarker(raw []byte) bool {
	s := string(raw)
	return s == `"<invalid>"` || s == `"invalid"` || s == `""` || s == `"<nil>"`
}

// number formats a JSON number or numeric string as a bare number, converting units.
func (fm Formatter) number(dst []byte, f *discovery.Field, raw []byte) ([]byte, error) {
	v, err := parseNumber(raw)
	if err != nil {
		return dst, err
	}
	if c, ok := f.Convert(v, fm.Units); ok {
		v = c
	}
	return AppendNumber(dst, v), nil
}

// parseNumber reads a JSON number, or a string holding one; NaN and ±Inf are refused.
func parseNumber(raw []byte) (float64, error) {
	s := raw
	if len(s) == 0 {
		return 0, fmt.Errorf("%w: empty value", ErrWrongType)
	}
	if s[0] == '"' && len(s) >= 2 {
		s = bytes.TrimSpace(s[1 : len(s)-1])
	} else if s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return 0, fmt.Errorf("%w: %s where a number belongs", ErrWrongType, kindOf(raw))
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: %.40q is not a number", ErrWrongType, raw)
	}
	return v, nil
}

// AppendNumber writes v as a bare JSON number: integers without ".0", no exponent
// for ordinary magnitudes, shortest form that reads back as the same float64.
func AppendNumber(dst []byte, v float64) []byte {
	if v == 0 {
		return append(dst, '0') // also for -0
	}
	if a := math.Abs(v); a >= 1e21 || a < 1e-6 {
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

func kindOf(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	default:
		return "a number"
	}
}

// boolWords maps the string forms of booleans seen on the wire.
var boolWords = map[string]bool{
	"true": true, "false": false, "1": true, "0": false,
	// DriverSeatBelt may arrive as a BuckleStatus enum (teslemetry-sse.md §4.5).
	"BuckleStatusLatched": true, "BuckleStatusUnlatched": false,
}

func boolean(dst []byte, raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return dst, fmt.Errorf("%w: empty value", ErrWrongType)
	case string(raw) == "true" || string(raw) == "false":
		return append(dst, raw...), nil
	case raw[0] == '"':
		s, err := unquote(raw)
		if err != nil {
			return dst, err
		}
		if b, ok := boolWords[strings.TrimSpace(s)]; ok {
			return strconv.AppendBool(dst, b), nil
		}
		if b, ok := boolWords[strings.ToLower(strings.TrimSpace(s))]; ok {
			return strconv.AppendBool(dst, b), nil
		}
		if strings.HasSuffix(s, "Unknown") || strings.HasSuffix(s, "SNA") {
			return append(dst, Null...), nil
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		v, err := parseNumber(raw)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, v != 0), nil
	}
	return dst, fmt.Errorf("%w: %s where a bool belongs", ErrWrongType, kindOf(raw))
}

// enum strips the wire prefix (ShiftStateD → D); …Unknown becomes null and an
// unknown string passes through unchanged.
func enum(dst []byte, f *discovery.Field, raw []byte) ([]byte, error) {
	if raw[0] != '"' {
		return anyValue(dst, raw) // e.g. a Semi enum sent as an int or object
	}
	s, err := unquote(raw)
	if err != nil {
		return dst, err
	}
	opt := s
	if f.EnumPrefix != "" && strings.HasPrefix(s, f.EnumPrefix) && len(s) > len(f.EnumPrefix) {
		opt = s[len(f.EnumPrefix):]
	}
	if opt == "Unknown" {
		return append(dst, Null...), nil
	}
	return appendText(dst, opt), nil
}

// text publishes a plain string as the text itself (not JSON-quoted).
func text(dst []byte, raw []byte) ([]byte, error) {
	if raw[0] != '"' {
		return anyValue(dst, raw)
	}
	s, err := unquote(raw)
	if err != nil {
		return dst, err
	}
	return appendText(dst, s), nil
}

func appendText(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, Null...)
	}
	return append(dst, s...)
}

type latLon struct {
	Latitude  json.Number `json:"latitude"`
	Longitude json.Number `json:"longitude"`
}

func location(dst []byte, raw []byte) ([]byte, error) {
	var ll latLon
	if raw[0] != '{' || json.Unmarshal(raw, &ll) != nil {
		return dst, fmt.Errorf("%w: %s where a location belongs", ErrWrongType, kindOf(raw))
	}
	lat, err1 := strconv.ParseFloat(string(ll.Latitude), 64)
	lon, err2 := strconv.ParseFloat(string(ll.Longitude), 64)
	if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
		return append(dst, Null...), nil
	}
	dst = append(dst, `{"latitude":`...)
	dst = AppendNumber(dst, lat)
	dst = append(dst, `,"longitude":`...)
	dst = AppendNumber(dst, lon)
	return append(dst, '}'), nil
}

// doorNames are DoorState's six doors, in the order published.
var doorNames = []string{"DriverFront", "DriverRear", "PassengerFront", "PassengerRear", "TrunkFront", "TrunkRear"}

func doors(dst []byte, raw []byte) ([]byte, error) {
	m, err := boolObject(raw)
	if err != nil {
		return dst, err
	}
	if inner, ok := m["DoorState"]; ok { // nested variant {"DoorState":{"DoorState":{…}}}
		if m, err = boolObject(inner); err != nil {
			return dst, err
		}
	}
	dst = append(dst, '{')
	for i, name := range doorNames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendBool(dst, lookupBool(m, name))
	}
	return append(dst, '}'), nil
}

// tireNames are the TPMS warning keys as published (snake_case, proto order);
// the first four are always present.
var tireNames = []string{"front_left", "front_right", "rear_left", "rear_right",
	"semi_middle_axle_left_2", "semi_middle_axle_right_2", "semi_rear_axle_left",
	"semi_rear_axle_right", "semi_rear_axle_left_2", "semi_rear_axle_right_2"}

func tires(dst []byte, raw []byte) ([]byte, error) {
	m, err := boolObject(raw)
	if err != nil {
		return dst, err
	}
	snake := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		snake[SnakeCase(k)] = v
	}
	dst = append(dst, '{')
	for i, name := range tireNames {
		v, present := snake[name]
		if i >= 4 && !present {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendBool(dst, present && isTrue(v))
	}
	return append(dst, '}'), nil
}

func boolObject(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, fmt.Errorf("%w: %s where an object of bools belongs", ErrWrongType, kindOf(raw))
	}
	return m, nil
}

func lookupBool(m map[string]json.RawMessage, name string) bool {
	v, ok := m[name]
	if !ok {
		v, ok = m[SnakeCase(name)]
	}
	return ok && isTrue(v)
}

// isTrue reports whether a raw value reads as boolean true.
func isTrue(raw []byte) bool {
	b, err := boolean(nil, raw)
	return err == nil && string(b) == "true"
}

// SnakeCase turns frontLeft / DriverFront / semiMiddleAxleLeft2 into
// front_left / driver_front / semi_middle_axle_left_2; snake_case stays.
func SnakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		digit := r >= '0' && r <= '9'
		if i > 0 && (upper || (digit && !isDigitByte(s[i-1]))) && s[i-1] != '_' {
			b.WriteByte('_')
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// timeOfDay publishes HH:MM:SS from {hour,minute,second}, "H:M[:S]" or seconds since midnight.
func timeOfDay(dst []byte, raw []byte) ([]byte, error) {
	var h, m, s int
	switch raw[0] {
	case '{':
		var t struct{ Hour, Minute, Second int }
		if json.Unmarshal(raw, &t) != nil {
			return dst, fmt.Errorf("%w: bad time object", ErrWrongType)
		}
		h, m, s = t.Hour, t.Minute, t.Second
	case '"':
		str, err := unquote(raw)
		if err != nil {
			return dst, err
		}
		parts := strings.Split(str, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return appendText(dst, str), nil
		}
		vals := make([]int, 3)
		for i, p := range parts {
			if vals[i], err = strconv.Atoi(strings.TrimSpace(p)); err != nil {
				return appendText(dst, str), nil
			}
		}
		h, m, s = vals[0], vals[1], vals[2]
	default:
		v, err := parseNumber(raw)
		if err != nil {
			return dst, err
		}
		sec := int(v)
		h, m, s = sec/3600, sec/60%60, sec%60
	}
	if h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60 {
		return append(dst, Null...), nil
	}
	return fmt.Appendf(dst, "%02d:%02d:%02d", h, m, s), nil
}

// timestamp publishes epoch seconds (or milliseconds) or an ISO time as RFC 3339 UTC.
func timestamp(dst []byte, raw []byte) ([]byte, error) {
	if raw[0] == '"' {
		str, err := unquote(raw)
		if err != nil {
			return dst, err
		}
		if t, err := ParseTime(str); err == nil {
			return t.AppendFormat(dst, time.RFC3339), nil
		}
	}
	v, err := parseNumber(raw)
	if err != nil {
		if raw[0] == '"' {
			return text(dst, raw) // unverified formats pass through as text
		}
		return dst, err
	}
	if v <= 0 {
		return append(dst, Null...), nil
	}
	if v > 1e11 { // milliseconds
		v /= 1000
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Truncate(time.Second).AppendFormat(dst, time.RFC3339), nil
}

// anyValue publishes a value of a field the catalog does not know, best effort:
// numbers bare, bools as is, strings as text, objects and arrays as compact JSON.
func anyValue(dst []byte, raw []byte) ([]byte, error) {
	switch raw[0] {
	case '"':
		return text(dst, raw)
	case '{', '[':
		if !json.Valid(raw) {
			return dst, fmt.Errorf("%w: malformed JSON value", ErrWrongType)
		}
		return jsonCompact(dst, raw), nil
	case 't', 'f':
		return boolean(dst, raw)
	default:
		v, err := parseNumber(raw)
		if err != nil {
			return dst, err
		}
		return AppendNumber(dst, v), nil
	}
}
