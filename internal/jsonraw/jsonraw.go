// Package jsonraw holds the few checks on raw JSON values that the decoders
// (stream events, webhooks) and the field catalog share. It is pure and
// allocation-free except for Compact.
package jsonraw

import (
	"bytes"
	"encoding/json"
)

// IsNull reports whether v is the JSON literal null (surrounding white space
// allowed).
func IsNull(v []byte) bool {
	if len(v) == 4 {
		return string(v) == "null"
	}
	return string(bytes.TrimSpace(v)) == "null"
}

// IsNumber reports whether b is exactly one JSON number, with nothing around it.
func IsNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

// Compact returns v without insignificant white space, in a new slice. A v
// that is not valid JSON is returned as a copy, unchanged.
func Compact(v []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return json.RawMessage(append([]byte(nil), v...))
	}
	return b.Bytes()
}
