package config

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// quoteValue shows a value the user wrote in an error message: quoted when it
// is short, otherwise only its length ("a 23-character value"). Every message
// that repeats a value from the file or the environment goes through it.
func quoteValue(s string) string { return redact.Value(s) }

// keyName shows a key the user chose (a VIN under vehicles, or an unknown
// key) as part of a dotted key path. Valid VINs and keys shaped like this
// file's own (lower-case words joined by _, such as a misspelt
// "insecure_skip_verfy") are not secret and are kept whole so the message
// points at the typo, and so are field names and near misses of them under
// teslemetry.fields; any other long key is described by its length, for the
// same reason as quoteValue.
func keyName(s string) string {
	if ValidVIN(s) || configKeyShape.MatchString(s) || likelyFieldName(s) {
		return s
	}
	if n := utf8.RuneCountInString(s); n > redact.MaxShownValue {
		return fmt.Sprintf("<a %d-character key>", n)
	}
	return s
}

// describeNode shows the value of a YAML node in an error message: its kind
// for lists and mappings, quoteValue for scalars. An alias is described by
// what it points to, not by the anchor's name.
func describeNode(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return quoteValue(n.Value)
}

// configKeyShape is the shape of the keys this configuration uses.
var configKeyShape = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// scrubYAML passes the text of a yaml.v3 syntax error through quoteValue, as
// "unknown anchor '…' referenced" repeats whatever followed a '*'.
func scrubYAML(msg string) string { return redact.Excerpts(msg) }

// valueError is an error from one of our own UnmarshalYAML methods: its
// message already shows the value through quoteValue, so it is safe to print
// as it is, unlike yaml.v3's own type errors.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }
