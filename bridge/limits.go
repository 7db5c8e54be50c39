package bridge

import (
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

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

// admit applies v's cap for kind to name: it reports whether the name may be
// published; a refused name is counted every time and logged once per car
// and kind.
func (r *router) admit(v *vehicle, kind limitKind, name string) bool {
	ok, first := v.limits.admit(kind, name)
	if ok {
		return true
	}
	info := limitInfo[kind]
	if r.metrics != nil {
		r.metrics.Dropped.WithLabelValues(info.reason).Inc()
	}
	if first {
		r.log.WithFields(logrus.Fields{"vin": v.vin, "reason": info.reason}).
			Warnf("%s: more than %d %s; skipping new ones (counted in teslemetry2mqtt_dropped_total)", v.vin, info.max, info.what)
	}
	return false
}

// admitVIN reports whether an event for vin, not seen before, may create a
// car: within MaxVINs, and, with teslemetry.vins set, one of them when it
// came by webhook (st nil).
func (r *router) admitVIN(st *stream, vin string) bool {
	if vins := r.cfg.Teslemetry.VINs; st == nil && len(vins) > 0 && !slices.Contains(vins, vin) {
		r.drop(reasonVINNotSelected, "webhook event for %s skipped: not in teslemetry.vins", topic.Segment(vin))
		return false
	}
	if len(r.vehicles) >= MaxVINs {
		r.refuse(&r.caps.vinsLogged, reasonLimitVINs, "more than %d VINs; skipping the events of new VINs (first: %s)", MaxVINs, topic.Segment(vin))
		return false
	}
	return true
}

// admitCredit reports whether the credits object may hold key.
func (r *router) admitCredit(key string) bool {
	if _, known := r.credits[key]; known || len(r.credits) < MaxCreditKeys {
		return true
	}
	r.refuse(&r.caps.creditsLogged, reasonLimitCredits, "more than %d keys in the credits object; skipping new ones", MaxCreditKeys)
	return false
}

// routerCaps remembers which bridge-wide caps have been logged.
type routerCaps struct{ vinsLogged, creditsLogged bool }

// refuse counts an input skipped by a bridge-wide cap and logs the first.
func (r *router) refuse(logged *bool, reason, format string, args ...any) {
	if r.metrics != nil {
		r.metrics.Dropped.WithLabelValues(reason).Inc()
	}
	if !*logged {
		*logged = true
		r.log.WithField("reason", reason).Warnf(format+" (counted in teslemetry2mqtt_dropped_total)", args...)
	}
}

// lastSeenTime is the time an event claims for last_seen, clock-checked.
func (r *router) lastSeenTime(v *vehicle, createdAt time.Time) time.Time {
	now := r.now()
	if createdAt.IsZero() {
		return now
	}
	t, ok := believable(createdAt, now)
	if !ok {
		r.drop(reasonFutureTime, "createdAt %s of %s is more than %s ahead of the bridge's clock; last_seen uses the time of arrival",
			createdAt.UTC().Format(time.RFC3339), v.vin, MaxClockSkew)
	}
	return t
}
