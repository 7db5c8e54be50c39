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

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/jsonraw"
)

// Null is the payload of an invalid or absent value (docs/payloads.md): never an
// empty payload, which would delete a retained topic.
var Null = []byte("null")

// ErrWrongType reports a value whose JSON type does not fit its field.
var ErrWrongType = errors.New("wrong value type")

// Formatter turns raw telemetry values into published payloads for one units mode.
type Formatter struct {
	Units catalog.Units
}

// Format appends the payload for one value of field f to dst (docs/payloads.md).
// A value that cannot be read as the field's type returns ErrWrongType and is
// skipped by the caller; null and invalid markers become "null".
func (fm Formatter) Format(dst []byte, f *catalog.Field, raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || jsonraw.IsNull(raw) {
		return append(dst, Null...), nil
	}
	if raw[0] == '"' && isInvalidMarker(raw) {
		return append(dst, Null...), nil
	}
	switch f.Kind {
	case catalog.KindFloat, catalog.KindInt:
		return fm.number(dst, f, raw)
	case catalog.KindBool:
		return boolean(dst, raw)
	case catalog.KindEnum:
		return enum(dst, f, raw)
	case catalog.KindString:
		return text(dst, raw)
	case catalog.KindLocation:
		return location(dst, raw)
	case catalog.KindDoors:
		return doors(dst, raw)
	case catalog.KindTireLocation:
		return tires(dst, raw)
	case catalog.KindTime:
		return timeOfDay(dst, raw)
	case catalog.KindTimestamp:
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
func (fm Formatter) number(dst []byte, f *catalog.Field, raw []byte) ([]byte, error) {
	s := raw
	if s[0] == '"' && len(s) >= 2 {
		s = bytes.TrimSpace(s[1 : len(s)-1])
	}
	if fm.unconverted(f) {
		if canonicalDecimal(s) {
			return append(dst, s...), nil // what AppendNumber would write, without the float round trip
		}
		if raw[0] == '"' || raw[0] == '-' || isDigitByte(raw[0]) {
			if out, ok := appendDecimal(dst, s); ok {
				return out, nil // every digit as sent, written as a JSON number
			}
		}
	}
	v, err := parseNumber(raw)
	if err != nil {
		return dst, err
	}
	if c, ok := f.Convert(v, fm.Units); ok {
		v = c
	}
	return AppendNumber(dst, v), nil
}

// canonicalDecimal reports whether s is a decimal that AppendNumber writes
// back unchanged after parsing: at most 15 digits, or an integer below 2^53
// (so the float64 round trip is exact and shortest), no exponent, no leading zeros, no trailing zeros
// after a decimal point, not negative zero, and at least 1e-5 in magnitude.
func canonicalDecimal(s []byte) bool {
	i := 0
	if len(s) > 0 && s[0] == '-' {
		i = 1
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return false
	}
	digits, nonZero, dot, fracZeros := 0, false, -1, 0
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if c != '0' {
				nonZero = true
			} else if dot >= 0 && !nonZero {
				fracZeros++
			}
		case c == '.' && dot < 0 && j > i:
			dot = j
		default:
			return false
		}
	}
	switch {
	case digits > 16 || (digits == 16 && (dot >= 0 || string(s[i:]) > "9007199254740992")) || !nonZero || fracZeros > 4:
		return false // 16 digits only for integers below 2^53, which float64 holds exactly
	case s[i] == '0' && i+1 < len(s) && s[i+1] != '.': // leading zero
		return false
	case dot >= 0 && (dot == len(s)-1 || s[len(s)-1] == '0'): // "1." or trailing zero
		return false
	}
	return true
}

// appendDecimal writes the plain decimal s ("+5", ".5", "034.50", "5.",
// "123456789012345678") as a valid JSON number with every significant digit
// as sent: no "+", no leading zeros, a "0" before a leading point, no
// trailing point or trailing fractional zeros, "0" for any zero. It reports
// false, writing nothing, for anything else (exponents, hex, words), which
// goes the float64 way (README "Topics", docs/failures.md "Numbers").
func appendDecimal(dst, s []byte) ([]byte, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	intPart, frac := s, []byte(nil)
	if i := bytes.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if len(intPart)+len(frac) == 0 || !allDigits(intPart) || !allDigits(frac) {
		return dst, false
	}
	intPart = bytes.TrimLeft(intPart, "0")
	frac = bytes.TrimRight(frac, "0")
	if len(intPart) == 0 && len(frac) == 0 {
		return append(dst, '0'), true
	}
	if neg {
		dst = append(dst, '-')
	}
	if len(intPart) == 0 {
		dst = append(dst, '0')
	}
	dst = append(dst, intPart...)
	if len(frac) > 0 {
		dst = append(append(dst, '.'), frac...)
	}
	return dst, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigitByte(c) {
			return false
		}
	}
	return true
}

// unconverted reports whether f's values are published as streamed in fm's units.
func (fm Formatter) unconverted(f *catalog.Field) bool {
	if f.Quantity == "" {
		return true
	}
	if t := unconvertedByUnits[fm.Units]; f.Number >= 0 && f.Number < len(t) && catalogFields[f.Number] == f {
		return t[f.Number]
	}
	_, changed := f.Convert(1, fm.Units)
	return !changed
}

// catalogFields and unconvertedByUnits precompute unconverted for the catalog.
var (
	catalogFields      = catalog.All()
	unconvertedByUnits = func() map[catalog.Units][]bool {
		m := map[catalog.Units][]bool{}
		for _, u := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial, ""} {
			t := make([]bool, len(catalogFields))
			for i, f := range catalogFields {
				_, changed := f.Convert(1, u)
				t[i] = !changed
			}
			m[u] = t
		}
		return m
	}()
)

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
	// DriverSeatBelt may arrive as a BuckleStatus enum.
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
		if inner, ok := simpleInner(raw); ok {
			if b, ok := boolWords[string(inner)]; ok {
				return strconv.AppendBool(dst, b), nil
			}
		}
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
func enum(dst []byte, f *catalog.Field, raw []byte) ([]byte, error) {
	if raw[0] != '"' {
		return anyValue(dst, raw) // e.g. a Semi enum sent as an int or object
	}
	if opt, ok := simpleInner(raw); ok { // the same as below, without allocating
		if p := f.EnumPrefix; p != "" && len(opt) > len(p) && string(opt[:len(p)]) == p {
			opt = opt[len(p):]
		}
		switch {
		case string(opt) == "Unknown", len(opt) == 0:
			return append(dst, Null...), nil
		}
		return append(dst, opt...), nil
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
	if inner, ok := simpleInner(raw); ok && len(inner) > 0 {
		return append(dst, inner...), nil
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
	if lat, lon, ok := simpleLocation(raw); ok {
		return appendLocation(dst, lat, lon), nil
	}
	return locationSlow(dst, raw)
}

// simpleLocation reads the usual wire form, an object of exactly "latitude"
// and "longitude" with plain numbers, without allocating; any other shape is
// left to locationSlow (encoding/json's rules: case-insensitive names,
// unknown members, numbers as strings, …).
func simpleLocation(raw []byte) (lat, lon float64, ok bool) {
	var haveLat, haveLon, bad bool
	err := eachMemberRaw(raw, func(rawKey, v []byte) {
		if bad || !jsonraw.IsNumber(v) {
			bad = true
			return
		}
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			bad = true
			return
		}
		switch string(rawKey) {
		case `"latitude"`:
			lat, haveLat, bad = n, true, bad || haveLat
		case `"longitude"`:
			lon, haveLon, bad = n, true, bad || haveLon
		default:
			bad = true
		}
	})
	return lat, lon, err == nil && !bad && haveLat && haveLon
}

func locationSlow(dst []byte, raw []byte) ([]byte, error) {
	var ll latLon
	if raw[0] != '{' || json.Unmarshal(raw, &ll) != nil {
		return dst, fmt.Errorf("%w: %s where a location belongs", ErrWrongType, kindOf(raw))
	}
	lat, err1 := strconv.ParseFloat(string(ll.Latitude), 64)
	lon, err2 := strconv.ParseFloat(string(ll.Longitude), 64)
	if err1 != nil || err2 != nil {
		return append(dst, Null...), nil
	}
	return appendLocation(dst, lat, lon), nil
}

// appendLocation writes the published form of a location, {"latitude":…,
// "longitude":…}, for both the fast and the general path; a position off the
// globe is null.
func appendLocation(dst []byte, lat, lon float64) []byte {
	if math.Abs(lat) > 90 || math.Abs(lon) > 180 {
		return append(dst, Null...)
	}
	dst = append(dst, `{"latitude":`...)
	dst = AppendNumber(dst, lat)
	dst = append(dst, `,"longitude":`...)
	dst = AppendNumber(dst, lon)
	return append(dst, '}')
}

// doorNames are DoorState's six doors, in the order published; all six are
// always published.
var doorNames = catalog.Doors[:]

func doors(dst []byte, raw []byte) ([]byte, error) {
	var m boolMembers
	if simpleBools(raw, &m) && m.find("DoorState") < 0 {
		var out flagObject
		for i, name := range doorNames {
			j := m.find(name)
			if j < 0 {
				j = m.find(doorSnake[i])
			}
			out.set[i] = j >= 0 && m.val[j]
		}
		return out.appendJSON(dst, doorNames, len(doorNames)), nil
	}
	return doorsSlow(dst, raw)
}

var doorSnake = func() []string {
	out := make([]string, len(doorNames))
	for i, n := range doorNames {
		out[i] = SnakeCase(n)
	}
	return out
}()

// flagObject is the published value of DoorState or a TPMS warning field: one
// bool per name of the field's fixed list, by position. Both the fast and the
// general path of each field fill one in, so that the payload is written by
// one loop, appendJSON, and the two paths cannot drift apart.
type flagObject struct {
	set     [maxFlags]bool
	present [maxFlags]bool // read only for the names after the always-published ones
}

// maxFlags is the length of the longest list of names, tireNames.
const maxFlags = len(tireNames)

// appendJSON appends {"name":bool,…} for names in order: the first always
// names every time, the others only when present.
func (o *flagObject) appendJSON(dst []byte, names []string, always int) []byte {
	dst = append(dst, '{')
	firstMember := len(dst)
	for i, name := range names {
		if i >= always && !o.present[i] {
			continue
		}
		if len(dst) > firstMember {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendBool(dst, o.set[i])
	}
	return append(dst, '}')
}

// boolMembers holds the members of a small object of plain bools.
type boolMembers struct {
	n   int
	key [16][]byte
	val [16]bool
}

func (m *boolMembers) find(name string) int {
	for i := 0; i < m.n; i++ {
		if string(m.key[i]) == name {
			return i
		}
	}
	return -1
}

// simpleBools reads an object of at most 16 members with simple, distinct
// names and values true or false, without allocating; any other shape is left
// to the encoding/json path.
func simpleBools(raw []byte, m *boolMembers) bool {
	bad := false
	err := eachMemberRaw(raw, func(rawKey, v []byte) {
		inner, ok := simpleInner(rawKey)
		if bad || !ok || m.n == len(m.key) || m.find(string(inner)) >= 0 {
			bad = true
			return
		}
		switch string(v) {
		case "true":
			m.val[m.n] = true
		case "false":
			m.val[m.n] = false
		default:
			bad = true
			return
		}
		m.key[m.n] = inner
		m.n++
	})
	return err == nil && !bad
}

func doorsSlow(dst []byte, raw []byte) ([]byte, error) {
	m, err := boolObject(raw)
	if err != nil {
		return dst, err
	}
	if inner, ok := m["DoorState"]; ok { // nested variant {"DoorState":{"DoorState":{…}}}
		if m, err = boolObject(inner); err != nil {
			return dst, err
		}
	}
	var out flagObject
	for i, name := range doorNames {
		out.set[i] = lookupBool(m, name)
	}
	return out.appendJSON(dst, doorNames, len(doorNames)), nil
}

// tireNames are the TPMS warning keys as published (snake_case, proto order);
// the first alwaysTires are always published, the others only when sent.
var tireNames = catalog.Tires

const alwaysTires = catalog.AlwaysTires

func tires(dst []byte, raw []byte) ([]byte, error) {
	var m boolMembers
	if simpleBools(raw, &m) {
		var out flagObject
		var buf [64]byte
		clash := false
		for j := 0; j < m.n; j++ {
			sn := appendSnake(buf[:0], m.key[j])
			for i, name := range tireNames {
				if string(sn) == name {
					clash = clash || out.present[i]
					out.present[i], out.set[i] = true, m.val[j]
				}
			}
		}
		if !clash { // two spellings of one tyre: leave it to the slow path
			return out.appendJSON(dst, tireNames[:], alwaysTires), nil
		}
	}
	return tiresSlow(dst, raw)
}

// appendSnake is SnakeCase for ASCII names, appending to dst.
func appendSnake(dst, s []byte) []byte {
	for i, c := range s {
		upper := c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if i > 0 && (upper || (digit && !isDigitByte(s[i-1]))) && s[i-1] != '_' {
			dst = append(dst, '_')
		}
		if upper {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func tiresSlow(dst []byte, raw []byte) ([]byte, error) {
	m, err := boolObject(raw)
	if err != nil {
		return dst, err
	}
	snake := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		snake[SnakeCase(k)] = v
	}
	var out flagObject
	for i, name := range tireNames {
		v, present := snake[name]
		out.present[i], out.set[i] = present, present && isTrue(v)
	}
	return out.appendJSON(dst, tireNames[:], alwaysTires), nil
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
		if inner, ok := simpleInner(raw); ok {
			if out, ok := appendDecimal(dst, bytes.TrimSpace(inner)); ok {
				return out, nil // a numeric string: a JSON number, as Node-RED and HA expect
			}
		}
		return text(dst, raw)
	case '{', '[':
		if !json.Valid(raw) {
			return dst, fmt.Errorf("%w: malformed JSON value", ErrWrongType)
		}
		return jsonraw.AppendCompact(dst, raw), nil
	case 't', 'f':
		return boolean(dst, raw)
	default:
		if raw[0] == '-' || isDigitByte(raw[0]) {
			if out, ok := appendDecimal(dst, raw); ok {
				return out, nil
			}
		}
		v, err := parseNumber(raw)
		if err != nil {
			return dst, err
		}
		return AppendNumber(dst, v), nil
	}
}
