// Package jsonraw holds the few checks on raw JSON values that the decoders
// (stream events, webhooks) and the field catalog share. It is pure and
// allocation-free except for the compacting.
package jsonraw

import (
	"bytes"
	"encoding/json"
)

// IsNull reports whether v is the JSON literal null (surrounding white space
// allowed). It does not allocate.
func IsNull(v []byte) bool {
	if string(v) == "null" {
		return true
	}
	if n := len(v); n > 4 && (isSpace(v[0]) || isSpace(v[n-1])) {
		return string(bytes.TrimSpace(v)) == "null"
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

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
func Compact(v []byte) json.RawMessage { return AppendCompact(nil, v) }

// AppendCompact appends v without insignificant white space to dst; a v
// that is not valid JSON is appended unchanged.
func AppendCompact(dst, v []byte) []byte {
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, v); err != nil {
		return append(dst, v...)
	}
	return b.Bytes()
}
