package teslemetry

import (
	"encoding/json"
	"errors"
	"fmt"
)

// errNotObject reports JSON that is not an object where one is required.
var errNotObject = errors.New("not a JSON object")

// eachMember calls fn for every member of the JSON object in data, in wire
// order, with the raw bytes of each value. It is a small scanner rather than
// encoding/json so that member order is kept and one bad value cannot hide the
// rest; values are checked when they are decoded.
func eachMember(data []byte, fn func(key string, value []byte)) error {
	return eachMemberRaw(data, func(rawKey, value []byte) {
		key, _ := unquote(rawKey) // checked by eachMemberRaw
		fn(key, value)
	})
}

// eachMemberRaw is eachMember with each member name as its JSON literal,
// quotes included (see keyBytes); names are checked to be valid strings.
func eachMemberRaw(data []byte, fn func(rawKey, value []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return trailing(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return fmt.Errorf("expected a member name at offset %d", i)
		}
		kEnd, err := scanString(data, i)
		if err != nil {
			return err
		}
		if _, simple := simpleInner(data[i:kEnd]); !simple {
			if _, err := unquote(data[i:kEnd]); err != nil {
				return err
			}
		}
		rawKey := data[i:kEnd]
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return fmt.Errorf("expected ':' at offset %d", i)
		}
		i = skipSpace(data, i+1)
		vEnd, err := scanValue(data, i)
		if err != nil {
			return err
		}
		fn(rawKey, data[i:vEnd])
		i = skipSpace(data, vEnd)
		if i >= len(data) {
			return errors.New("unexpected end of object")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return trailing(data, i+1)
		default:
			return fmt.Errorf("expected ',' or '}' at offset %d", i)
		}
	}
}

// simpleInner returns the bytes between the quotes of a JSON string literal
// when they need no decoding (printable ASCII without backslashes), so that
// they are exactly the decoded string.
func simpleInner(lit []byte) ([]byte, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, false
	}
	inner := lit[1 : len(lit)-1]
	for _, c := range inner {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
	}
	return inner, true
}

// keyBytes returns the decoded member name of a raw key from eachMemberRaw,
// without allocating when it is simple.
func keyBytes(rawKey []byte) []byte {
	if inner, ok := simpleInner(rawKey); ok {
		return inner
	}
	s, _ := unquote(rawKey)
	return []byte(s)
}

// eachElement calls fn for every element of the JSON array in data.
func eachElement(data []byte, fn func(value []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return errors.New("not a JSON array")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return trailing(data, i+1)
	}
	for {
		end, err := scanValue(data, i)
		if err != nil {
			return err
		}
		fn(data[i:end])
		i = skipSpace(data, end)
		if i >= len(data) {
			return errors.New("unexpected end of array")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return trailing(data, i+1)
		default:
			return fmt.Errorf("expected ',' or ']' at offset %d", i)
		}
	}
}

func trailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index just past the closing quote of the string at data[i].
func scanString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// scanValue returns the index just past the JSON value starting at data[i].
func scanValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("missing value")
	}
	switch data[i] {
	case '"':
		return scanString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := scanString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	default:
		j := i
		for j < len(data) {
			c := data[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return 0, fmt.Errorf("missing value at offset %d", i)
		}
		return j, nil
	}
}

// unquote decodes a JSON string literal; the fast path avoids encoding/json.
func unquote(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", errors.New("not a JSON string")
	}
	if inner, ok := simpleInner(lit); ok {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", fmt.Errorf("bad string: %w", err)
	}
	return s, nil
}
