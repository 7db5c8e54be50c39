package ha

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Stale-config knowledge. A newer version of the bridge may stop publishing
// an entity (a field moves from sensor to binary_sensor, a sub-entity is
// renamed, an entity is dropped); its retained config would keep a dead
// entity in Home Assistant forever. This file answers the two questions the
// bridge's cleanup asks about a retained config: is it one of ours (the
// node, by topic.Scheme.ParseNode, and the payload, by Ours), and could this
// version ever publish it (Publishable). The bridge does the I/O and adds its
// own guards (bridge/cleanup.go).

// ownedConfig is the part of a config payload that says who published it,
// in the exact (unabbreviated) keys the bridge writes.
type ownedConfig struct {
	StateTopic          string `json:"state_topic"`
	JSONAttributesTopic string `json:"json_attributes_topic"`
	CommandTopic        string `json:"command_topic"`      // buttons have no state topic
	ModeCommandTopic    string `json:"mode_command_topic"` // nor climate entities
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
	under := o.Topics.Base() + "/"
	if !strings.HasPrefix(c.StateTopic, under) && !strings.HasPrefix(c.JSONAttributesTopic, under) &&
		!strings.HasPrefix(c.CommandTopic, under) && !strings.HasPrefix(c.ModeCommandTopic, under) {
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
var publishableSets = sync.OnceValue(func() map[topic.Kind]map[entityKey]bool {
	sets := map[topic.Kind]map[entityKey]bool{topic.Vehicle: {}, topic.Bridge: {}, topic.Site: {}}
	add := func(kind topic.Kind, msgs ...Message) {
		for _, m := range msgs {
			// The topic is <prefix>/<component>/<node>/<object>/config.
			parts := strings.Split(m.Topic, "/")
			n := len(parts)
			sets[kind][entityKey{parts[n-4], parts[n-2]}] = true
		}
	}
	v := Vehicle{VIN: "5YJ3E7EB9NF123456", Name: "Car"}
	for _, units := range []catalog.Units{catalog.UnitsNative, catalog.UnitsMetric, catalog.UnitsImperial} {
		o := Options{Topics: topic.New("b", "p"), Units: units}
		for _, f := range catalog.All() {
			add(topic.Vehicle, o.FieldEntities(v, f)...)
		}
		add(topic.Vehicle, o.VehicleEntities(v)...)
		add(topic.Vehicle, o.ChargerPowerEntity(v))
		add(topic.Vehicle, o.FieldsStatusEntity(v))
		add(topic.Vehicle, o.LastCommandEntity(v))
		for name, platform := range VehicleControlPlatforms {
			if m, ok := o.VehicleControlEntity(v, ControlSpec{Name: name, Platform: platform, Label: name}, 0); ok {
				add(topic.Vehicle, m)
			}
		}
		add(topic.Bridge, o.BridgeEntities(true)...)
		// Energy-site controls (the site's other entities: SitePublishable).
		site := Site{ID: "1"}
		add(topic.Site, o.SiteLastCommandEntity(site))
		for name, platform := range SiteControlPlatforms {
			if m, ok := o.SiteControlEntity(site, ControlSpec{Name: name, Platform: platform, Label: name}); ok {
				add(topic.Site, m)
			}
		}
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
// is not publishable. Energy-site nodes: SitePublishable and the controls.
func Publishable(kind topic.Kind, component, object string) bool {
	if kind == topic.Site && SitePublishable(component, object) {
		return true // the site's own entities; its controls are in the set
	}
	set, ok := publishableSets()[kind]
	if !ok {
		return false
	}
	if set[entityKey{component, object}] {
		return true
	}
	if kind == topic.Vehicle && component == catalog.ComponentSensor && isFieldName(object) {
		_, known := catalog.Lookup(object)
		return !known // a catalog field's own entities are all in the set
	}
	if kind == topic.Vehicle && component == catalog.ComponentBinarySensor {
		if iface, ok := strings.CutPrefix(object, connectivityObjectPrefix); ok {
			// ConnectivityEntity's object is IDPart(ToLower(iface)): a fixed point.
			return topic.IDPart(strings.ToLower(iface)) == iface
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
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
