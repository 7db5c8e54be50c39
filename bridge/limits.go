package bridge

import "time"

// Caps on what upstream input can make the bridge create: every name below
// becomes retained topics (and discovery configs) and memory that lives as
// long as the process. They are far above what any real car or fleet sends;
// beyond them the input is skipped, counted in
// teslemetry2mqtt_dropped_total{reason} and logged once per car and kind
// (README "Reliability", docs/failures.md "Limits").
const (
	// MaxUnknownFields bounds the field names per car that the catalog does
	// not know (the catalog itself has about 260; new firmware adds a few).
	MaxUnknownFields = 200
	// MaxAlertNames bounds the distinct alert names per car.
	MaxAlertNames = 500
	// MaxErrorNames bounds the distinct error names per car.
	MaxErrorNames = 500
	// MaxInterfaces bounds the connectivity interfaces per car (a car has
	// three or four: wifi, cellular, bluetooth, …).
	MaxInterfaces = 16
	// MaxVINs bounds the cars one bridge tracks, from every stream and the
	// webhook receiver together.
	MaxVINs = 1000
	// MaxCreditKeys bounds the members of the account's credits object.
	MaxCreditKeys = 64
	// MaxClockSkew is how far ahead of the bridge's clock an event's
	// createdAt may be before it is not believed (last_seen).
	MaxClockSkew = time.Minute
)

// limitKind is one kind of name a car's cap set counts.
type limitKind int

const (
	limitUnknownField limitKind = iota
	limitAlert
	limitError
	limitInterface
	numLimitKinds
)

// limitInfo is the cap and the drop reason of each kind.
var limitInfo = [numLimitKinds]struct {
	max    int
	reason string
	what   string
}{
	limitUnknownField: {MaxUnknownFields, "limit_unknown_fields", "unknown field names"},
	limitAlert:        {MaxAlertNames, "limit_alerts", "alert names"},
	limitError:        {MaxErrorNames, "limit_errors", "error names"},
	limitInterface:    {MaxInterfaces, "limit_interfaces", "connectivity interfaces"},
}

// Drop reasons of the bridge-wide caps and the clock check.
const (
	reasonLimitVINs      = "limit_vins"
	reasonLimitCredits   = "limit_credits"
	reasonFutureTime     = "future_created_at"
	reasonVINNotSelected = "vin_not_configured"
)

// capSet is one car's caps: the names admitted so far per kind. A name once
// admitted stays admitted; a new one is refused once its kind is full.
type capSet struct {
	seen   [numLimitKinds]map[string]struct{}
	logged [numLimitKinds]bool
}

// admit reports whether name may be published for kind. When it may not,
// first is true the first time a name of that kind is refused for this car,
// so the caller logs once and counts every time.
func (c *capSet) admit(kind limitKind, name string) (ok, first bool) {
	m := c.seen[kind]
	if _, known := m[name]; known {
		return true, false
	}
	if len(m) < limitInfo[kind].max {
		if m == nil {
			m = map[string]struct{}{}
			c.seen[kind] = m
		}
		m[name] = struct{}{}
		return true, false
	}
	first = !c.logged[kind]
	c.logged[kind] = true
	return false, first
}

// believable returns the time an event claims to be from, unless it is more
// than MaxClockSkew ahead of now: then now (and false), so that one wrong
// clock cannot pin last_seen in the future.
func believable(createdAt, now time.Time) (time.Time, bool) {
	if createdAt.After(now.Add(MaxClockSkew)) {
		return now, false
	}
	return createdAt, true
}
