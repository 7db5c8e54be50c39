package config

import (
	"strings"
	"unicode/utf8"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

// knownField reports whether name is a field teslemetry.fields accepts: a
// catalog field other than a placeholder (Unknown, Deprecated_*, Experimental_*).
func knownField(name string) bool {
	f, ok := catalog.Lookup(name)
	return ok && !f.IsPlaceholder()
}

// closestField returns the known field name nearest to name by edit
// distance, ignoring case, and that distance.
func closestField(name string) (string, int) {
	low := strings.ToLower(name)
	best, bestD := "", -1
	for _, f := range catalog.All() {
		if f.IsPlaceholder() {
			continue
		}
		d := editDistance(low, strings.ToLower(f.Name))
		if bestD < 0 || d < bestD {
			best, bestD = f.Name, d
		}
	}
	return best, bestD
}

// likelyFieldName reports whether a key the user wrote is a field name or a
// near miss of one (at most a third of its characters differ): such a key is
// shown whole in messages. Anything else may be a pasted secret (keyName).
func likelyFieldName(s string) bool {
	if knownField(s) {
		return true
	}
	if utf8.RuneCountInString(s) > 64 {
		return false
	}
	_, d := closestField(s)
	return d >= 0 && 3*d <= utf8.RuneCountInString(s)
}

// editDistance is the Levenshtein distance between a and b, by runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
