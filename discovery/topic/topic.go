// Package topic is the one place where teslemetry2mqtt builds and parses MQTT
// topic names: values, availability, state, bridge topics, command topics,
// energy-site topics and Home Assistant discovery config topics. Everything
// the bridge publishes, subscribes to or deletes goes through a Scheme, so
// "is this topic mine?" has one answer (docs/topics.md).
package topic

import (
	"strings"
	"unicode/utf8"
)

// Levels under <base>/<VIN>/ and <base>/site/<id>/ that carry more than one topic.
const (
	LevelValue        = "v"
	LevelSet          = "set"
	LevelCommand      = "command"
	LevelDerived      = "derived"
	LevelAlerts       = "alerts"
	LevelErrors       = "errors"
	LevelConnectivity = "connectivity"
	LevelSite         = "site"
	LevelBridge       = "bridge"
)

// Single topics under a car or site.
const (
	Availability  = "availability"
	LastSeen      = "last_seen"
	State         = "state"
	ActiveAlerts  = "active_alerts"
	Config        = "config"
	VehicleData   = "vehicle_data"
	CommandResult = "command_result"
	FieldsStatus  = "fields_status"
)

// Levels and topics under <base>/site/<id>/ (docs/energy-sites.md).
const (
	SiteLiveStatus     = "live_status"     // live_status/<key>
	SiteWallConnectors = "wall_connectors" // wall_connectors/<din>/<key>
	SiteInfo           = "site_info"       // site_info/<key>
	SiteEnergyTotals   = "energy_totals"   // energy_totals/<key>
	SiteTariff         = "tariff"          // the tariff document
)

// Scheme builds the topics of one bridge instance: its base topic and its
// Home Assistant discovery prefix. The zero value is not useful; use New.
type Scheme struct {
	base   string // mqtt.base_topic, e.g. "teslemetry" (may contain "/")
	prefix string // homeassistant.discovery_prefix, e.g. "homeassistant"
	node   string // base as a discovery node-id part ("a/b" → "a_b")
}

// New returns the scheme for a base topic and discovery prefix, both already
// validated (non-empty, no wildcards).
func New(base, discoveryPrefix string) Scheme {
	return Scheme{base: base, prefix: discoveryPrefix, node: IDPart(base)}
}

// Base is the base topic.
func (s Scheme) Base() string { return s.base }

// DiscoveryPrefix is the Home Assistant discovery prefix.
func (s Scheme) DiscoveryPrefix() string { return s.prefix }

// --- bridge topics -------------------------------------------------------

// BridgeState is <base>/bridge/state (online/offline, the last will).
func (s Scheme) BridgeState() string { return s.base + "/bridge/state" }

// BridgeInfo is <base>/bridge/info.
func (s Scheme) BridgeInfo() string { return s.base + "/bridge/info" }

// BridgeCredits is <base>/bridge/credits.
func (s Scheme) BridgeCredits() string { return s.base + "/bridge/credits" }

// --- vehicle topics ------------------------------------------------------

// Vehicle returns <base>/<VIN>/<parts…>. vin and parts must already be
// segments (see Segment).
func (s Scheme) Vehicle(vin string, parts ...string) string {
	return join(s.base, vin, parts)
}

// Value returns <base>/<VIN>/v/<Field>; field is sanitised here.
func (s Scheme) Value(vin, field string) string {
	return s.base + "/" + vin + "/" + LevelValue + "/" + Segment(field)
}

// AppendValue appends <base>/<VIN>/v/<Field> to dst (the hot path builds the
// topic in a reused buffer); field is sanitised here.
func (s Scheme) AppendValue(dst []byte, vin, field string) []byte {
	dst = append(dst, s.base...)
	dst = append(dst, '/')
	dst = append(dst, vin...)
	dst = append(dst, '/', 'v', '/')
	return AppendSegment(dst, field)
}

// VehicleSetFilter is the subscription <base>/+/set/+.
func (s Scheme) VehicleSetFilter() string { return s.base + "/+/" + LevelSet + "/+" }

// VehicleCommandFilter is the subscription <base>/+/command/+ (raw commands).
func (s Scheme) VehicleCommandFilter() string { return s.base + "/+/" + LevelCommand + "/+" }

// --- energy-site topics --------------------------------------------------

// Site returns <base>/site/<site_id>/<parts…>; id and parts must be segments.
func (s Scheme) Site(id string, parts ...string) string {
	return join(s.base+"/"+LevelSite, id, parts)
}

// SiteSetFilter is the subscription <base>/site/+/set/+.
func (s Scheme) SiteSetFilter() string { return s.base + "/" + LevelSite + "/+/" + LevelSet + "/+" }

// --- Home Assistant discovery --------------------------------------------

// BridgeNode is the discovery node id of the bridge device: <base>_bridge.
func (s Scheme) BridgeNode() string { return s.node + "_bridge" }

// VehicleNode is the discovery node id (and device identifier) of a car: <base>_<VIN>.
func (s Scheme) VehicleNode(vin string) string { return s.node + "_" + vin }

// SiteNode is the discovery node id of an energy site: <base>_site_<id>.
func (s Scheme) SiteNode(id string) string { return s.node + "_site_" + id }

// NodeIDPart is the base topic as it appears in node and unique ids.
func (s Scheme) NodeIDPart() string { return s.node }

// DiscoveryConfig returns <prefix>/<component>/<node>/<object>/config.
func (s Scheme) DiscoveryConfig(component, node, object string) string {
	return s.prefix + "/" + component + "/" + node + "/" + object + "/config"
}

// DiscoveryConfigFilter subscribes to every discovery config under the prefix.
func (s Scheme) DiscoveryConfigFilter() string { return s.prefix + "/+/+/+/config" }

// OwnFilter subscribes to every topic under the base topic.
func (s Scheme) OwnFilter() string { return s.base + "/#" }

// --- parsing -------------------------------------------------------------

// Kind says what a topic or node belongs to.
type Kind uint8

// Owner kinds.
const (
	None    Kind = iota // not this instance's
	Bridge              // the bridge itself
	Vehicle             // one car, ID = VIN
	Site                // one energy site, ID = site id
)

// Owner is what a topic of this instance belongs to.
type Owner struct {
	Kind Kind
	ID   string // VIN or site id; empty for the bridge
}

// Is reports whether o is the car or site with this id ("" matches any).
func (o Owner) Is(id string) bool { return id == "" || o.ID == id }

// ParseNode tells which device of this instance a discovery node id names.
// Only exact shapes count: <base>_bridge, <base>_<VIN> with a real VIN,
// <base>_site_<digits>. A node of another instance whose base topic starts
// with ours plus "_" (teslemetry_garage_…) never parses as ours.
func (s Scheme) ParseNode(node string) Owner {
	if node == s.BridgeNode() {
		return Owner{Kind: Bridge}
	}
	rest, ok := strings.CutPrefix(node, s.node+"_")
	if !ok {
		return Owner{}
	}
	if IsVIN(rest) {
		return Owner{Kind: Vehicle, ID: rest}
	}
	if id, ok := strings.CutPrefix(rest, "site_"); ok && IsSiteID(id) {
		return Owner{Kind: Site, ID: id}
	}
	return Owner{}
}

// ConfigTopic is a discovery config topic split into its levels:
// <prefix>/<Component>/<Node>/<Object>/config.
type ConfigTopic struct {
	Component, Node, Object string
}

// ParseConfig splits a discovery config topic under this prefix; false for
// any other shape.
func (s Scheme) ParseConfig(t string) (ConfigTopic, bool) {
	rest, ok := strings.CutPrefix(t, s.prefix+"/")
	if !ok {
		return ConfigTopic{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[3] != "config" || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return ConfigTopic{}, false
	}
	return ConfigTopic{Component: parts[0], Node: parts[1], Object: parts[2]}, true
}

// Parse tells whether a topic belongs to this instance: a state topic under
// <base>/ (bridge/…, <VIN>/…, site/<id>/…) or a discovery config whose node
// is one of ours (ParseNode). Anything else — including topics of another
// instance whose base topic is nested under ours — is None.
func (s Scheme) Parse(t string) Owner {
	if rest, ok := strings.CutPrefix(t, s.base+"/"); ok {
		first, after, more := strings.Cut(rest, "/")
		if !more || after == "" {
			return Owner{}
		}
		switch {
		case first == LevelBridge:
			return Owner{Kind: Bridge}
		case IsVIN(first):
			return Owner{Kind: Vehicle, ID: first}
		case first == LevelSite:
			id, tail, ok := strings.Cut(after, "/")
			if ok && tail != "" && IsSiteID(id) {
				return Owner{Kind: Site, ID: id}
			}
		}
		return Owner{}
	}
	if c, ok := s.ParseConfig(t); ok {
		return s.ParseNode(c.Node)
	}
	return Owner{}
}

// Command is a set/ or command/ topic split into its parts.
type Command struct {
	Owner Owner  // Vehicle or Site
	Raw   bool   // <base>/<VIN>/command/<name> rather than set/<control>
	Name  string // control or raw command name
}

// ParseCommand splits <base>/<VIN>/set/<control>, <base>/<VIN>/command/<name>
// and <base>/site/<id>/set/<control>; false for anything else.
func (s Scheme) ParseCommand(t string) (Command, bool) {
	rest, ok := strings.CutPrefix(t, s.base+"/")
	if !ok {
		return Command{}, false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 3 && IsVIN(parts[0]) && (parts[1] == LevelSet || parts[1] == LevelCommand) && parts[2] != "":
		return Command{Owner: Owner{Kind: Vehicle, ID: parts[0]}, Raw: parts[1] == LevelCommand, Name: parts[2]}, true
	case len(parts) == 4 && parts[0] == LevelSite && IsSiteID(parts[1]) && parts[2] == LevelSet && parts[3] != "":
		return Command{Owner: Owner{Kind: Site, ID: parts[1]}, Name: parts[3]}, true
	}
	return Command{}, false
}

// --- segments and ids ----------------------------------------------------

// Segment makes one topic level from stream data (VIN, field, alert or error
// name, interface, site id): only A-Za-z0-9_.- survive, anything else becomes
// "_", and an empty level becomes "_" (docs/topics.md).
func Segment(s string) string {
	if s == "" {
		return "_"
	}
	for i := 0; i < len(s); i++ {
		if !segmentByte(s[i]) {
			return string(AppendSegment(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// AppendSegment appends Segment(s) to dst without allocating.
func AppendSegment(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '_')
	}
	for i := 0; i < len(s); i++ {
		if segmentByte(s[i]) {
			dst = append(dst, s[i])
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}

func segmentByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '.' || c == '-'
}

// IDPart makes s usable inside unique ids and node ids: only A-Za-z0-9_-
// survive (node ids may not contain "/" or "."); every other character,
// however many bytes it takes, becomes one "_".
func IDPart(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '_' || r == '-') {
			return r
		}
		return '_'
	}, s)
}

// IsVIN reports whether s looks like a VIN: 17 characters of A-Z and 0-9.
func IsVIN(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// IsSiteID reports whether s looks like a Teslemetry energy_site_id: 1–20 digits.
func IsSiteID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func join(prefix, id string, parts []string) string {
	n := len(prefix) + 1 + len(id)
	for _, p := range parts {
		n += 1 + len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(prefix)
	b.WriteByte('/')
	b.WriteString(id)
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(p)
	}
	return b.String()
}
