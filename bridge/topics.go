package bridge

import "strings"

// Segment makes one topic level from stream data (VIN, field, alert or error
// name, interface): only A-Za-z0-9_.- survive, anything else becomes "_", and
// an empty level becomes "_" (contract §4).
func Segment(s string) string {
	if s == "" {
		return "_"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !segmentByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if segmentByte(s[i]) {
			b.WriteByte(s[i])
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func segmentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// topics builds the bridge's topic names under one base topic.
type topics struct{ base string }

func (t topics) bridgeState() string   { return t.base + "/bridge/state" }
func (t topics) bridgeInfo() string    { return t.base + "/bridge/info" }
func (t topics) bridgeCredits() string { return t.base + "/bridge/credits" }

// vehicle returns "<base>/<VIN>/<parts…>"; vin and parts must already be segments.
func (t topics) vehicle(vin string, parts ...string) string {
	return t.base + "/" + vin + "/" + strings.Join(parts, "/")
}
