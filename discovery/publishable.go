package discovery

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// Stale-config knowledge. A newer version of the bridge may stop publishing
// an entity (a field moves from sensor to binary_sensor, a sub-entity is
// renamed, an entity is dropped); its retained config would keep a dead
// entity in Home Assistant forever. This file answers the two questions the
// bridge's cleanup asks about a retained config: is it one of ours (OwnNode,
// Ours), and could this version ever publish it (Publishable). The bridge
// does the I/O and adds its own guards (bridge/cleanup.go).

// NodeKind is the kind of device a discovery node id belongs to.
type NodeKind uint8

// Node kinds.
const (
	NodeNone    NodeKind = iota // not a node of this bridge
	NodeVehicle                 // <base>_<VIN>
	NodeBridge                  // <base>_bridge
)

// ConfigTopic is a discovery config topic split into its levels:
// <prefix>/<Component>/<Node>/<Object>/config.
type ConfigTopic struct {
	Component, Node, Object string
}

// ParseConfigTopic splits a config topic under o.Prefix. It reports false for
// any other shape (no node level, another prefix, not ending in /config).
func (o Options) ParseConfigTopic(topic string) (ConfigTopic, bool) {
	rest, ok := strings.CutPrefix(topic, o.Prefix+"/")
	if !ok {
		return ConfigTopic{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[3] != "config" || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return ConfigTopic{}, false
	}
	return ConfigTopic{Component: parts[0], Node: parts[1], Object: parts[2]}, true
}

// OwnNode tells which of this bridge's devices a node id names: NodeBridge
// for <base>_bridge, NodeVehicle with the candidate VIN for <base>_<rest>.
// The caller must still check that the VIN is a VIN: another bridge whose
// base topic starts with ours plus "_" yields a rest that is not one.
func (o Options) OwnNode(node string) (kind NodeKind, vin string) {
	if node == o.bridgeID() {
		return NodeBridge, ""
	}
	rest, ok := strings.CutPrefix(node, o.id()+"_")
	if !ok || rest == "" || idPart(rest) != rest {
		return NodeNone, ""
	}
	return NodeVehicle, rest
}

// ownedConfig is the part of a config payload that says who published it,
// in the exact (unabbreviated) keys the bridge writes.
type ownedConfig struct {
	StateTopic          string `json:"state_topic"`
	JSONAttributesTopic string `json:"json_attributes_topic"`
	Device              struct {
		Identifiers []string `json:"identifiers"`
	} `json:"device"`
	Origin struct {
		Name string `json:"name"`
	} `json:"origin"`
}

// Ours reports whether payload is a config the bridge under o publishes for
// node: a JSON object whose origin name is OriginName, whose device
// identifiers include node, and whose state (or, for trackers, attributes)
// topic lies under the base topic. The last check tells apart two bridges
// whose base topics differ only in characters that node ids cannot carry
// ("a/b" and "a_b" both give node "a_b_<VIN>").
func (o Options) Ours(node string, payload []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(payload), []byte("{")) {
		return false
	}
	var c ownedConfig
	if json.Unmarshal(payload, &c) != nil || c.Origin.Name != OriginName {
		return false
	}
	under := o.BaseTopic + "/"
	if !strings.HasPrefix(c.StateTopic, under) && !strings.HasPrefix(c.JSONAttributesTopic, under) {
		return false
	}
	for _, id := range c.Device.Identifiers {
		if id == node {
			return true
		}
	}
	return false
}

// entityKey is one entity a node can have: its component and object id.
type entityKey struct{ component, object string }

// publishableSets holds, per node kind, every (component, object id) pair
// this version can publish, built by running the very code that produces
// the messages (so it cannot drift from it) for every catalog field, every
// units setting and every optional entity. Built once, on first use, and
// never changed.
var publishableSets = sync.OnceValue(func() map[NodeKind]map[entityKey]bool {
	sets := map[NodeKind]map[entityKey]bool{NodeVehicle: {}, NodeBridge: {}}
	add := func(kind NodeKind, msgs ...Message) {
		for _, m := range msgs {
			// The topic is <prefix>/<component>/<node>/<object>/config.
			parts := strings.Split(m.Topic, "/")
			n := len(parts)
			sets[kind][entityKey{parts[n-4], parts[n-2]}] = true
		}
	}
	v := Vehicle{VIN: "5YJ3E7EB9NF123456", Name: "Car"}
	for _, units := range []Units{UnitsNative, UnitsMetric, UnitsImperial} {
		o := Options{BaseTopic: "b", Prefix: "p", Units: units}
		for _, f := range fields.all {
			add(NodeVehicle, o.FieldEntities(v, f)...)
		}
		add(NodeVehicle, o.VehicleEntities(v)...)
		add(NodeVehicle, o.ChargerPowerEntity(v))
		add(NodeBridge, o.BridgeEntities(true)...)
	}
	// Connectivity entities are added per interface the car names: see Publishable.
	return sets
})

// Publishable reports whether this version can ever publish an entity with
// this component and object id on a node of the given kind, for any car and
// any units setting, whether or not it has done so yet in this run.
//
// Connectivity binary_sensors ("connectivity_<iface>") are publishable for
// every interface name the car may send, sanitised the way
// ConnectivityEntity does it. A sensor whose object id has the shape of a
// Tesla field name (CamelCase letters and digits) but is not in the catalog
// is publishable too: it is a field of newer firmware (see Unknown) that
// comes back with the car's next value, and deleting its config would drop
// the user's customisations of the entity on every restart. A catalog field
// under a component it does not use (a sensor that became a binary_sensor)
// is not publishable.
func Publishable(kind NodeKind, component, object string) bool {
	set, ok := publishableSets()[kind]
	if !ok {
		return false
	}
	if set[entityKey{component, object}] {
		return true
	}
	if kind == NodeVehicle && component == ComponentSensor && isFieldName(object) {
		_, known := Lookup(object)
		return !known // a catalog field's own entities are all in the set
	}
	if kind == NodeVehicle && component == ComponentBinarySensor {
		if iface, ok := strings.CutPrefix(object, connectivityObjectPrefix); ok {
			// ConnectivityEntity's object is idPart(ToLower(iface)): a fixed point.
			return idPart(strings.ToLower(iface)) == iface
		}
	}
	return false
}

// isFieldName reports whether s has the shape of a Fleet Telemetry field name
// (BatteryLevel, DiStateR): an upper-case letter, then letters and digits.
// The bridge's own non-field objects are snake_case (last_seen,
// connectivity_wifi, DoorState_DriverFront) and never have it.
func isFieldName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
