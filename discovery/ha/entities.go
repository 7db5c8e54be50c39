// Package ha turns catalog fields and the bridge's own status into Home
// Assistant MQTT discovery configs (docs/topics.md, "Home Assistant discovery"): one
// or more entities per field, the per-car status entities, the bridge
// device, device names, and the stale-config knowledge used by the bridge's
// cleanup. It is pure: no I/O, no mutable package state.
package ha

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// DefaultSupportURL is the origin support_url when Options.SupportURL is empty.
const DefaultSupportURL = "https://github.com/teslemetry2mqtt/teslemetry2mqtt"

// OriginName is the origin name of every config the bridge publishes; stale
// cleanup (publishable.go) only ever touches configs that carry it.
const OriginName = "teslemetry2mqtt"

// GPSAccuracy is the gps_accuracy (metres) given to device trackers: Tesla
// sends none, and 0 breaks consumers.
const GPSAccuracy = 10

// Options are the settings that shape discovery configs.
type Options struct {
	Topics     topic.Scheme // base topic and discovery prefix
	Units      catalog.Units
	Version    string // bridge version (origin and bridge device sw_version)
	SupportURL string // origin support_url; DefaultSupportURL when empty
}

// Vehicle is the Home Assistant device of one car.
type Vehicle struct {
	VIN       string
	Name      string // resolved with DeviceName by the caller
	Model     string // ModelName of CarType; omitted when empty
	SWVersion string // SoftwareVersion of Version; omitted when empty
}

// Message is one discovery config, to be published retained with QoS 1.
type Message struct {
	Topic   string
	Payload []byte
}

// config is a discovery payload; field order is the JSON key order.
type config struct {
	Name                      string         `json:"name"`
	UniqueID                  string         `json:"unique_id"`
	DefaultEntityID           string         `json:"default_entity_id"`
	DeviceClass               string         `json:"device_class,omitempty"`
	UnitOfMeasurement         string         `json:"unit_of_measurement,omitempty"`
	StateClass                string         `json:"state_class,omitempty"`
	SuggestedDisplayPrecision *int           `json:"suggested_display_precision,omitempty"`
	Options                   []string       `json:"options,omitempty"`
	EntityCategory            string         `json:"entity_category,omitempty"`
	EnabledByDefault          bool           `json:"enabled_by_default"`
	Icon                      string         `json:"icon,omitempty"`
	StateTopic                string         `json:"state_topic,omitempty"`
	ValueTemplate             string         `json:"value_template,omitempty"`
	PayloadOn                 string         `json:"payload_on,omitempty"`
	PayloadOff                string         `json:"payload_off,omitempty"`
	JSONAttributesTopic       string         `json:"json_attributes_topic,omitempty"`
	JSONAttributesTemplate    string         `json:"json_attributes_template,omitempty"`
	SourceType                string         `json:"source_type,omitempty"`
	Availability              []availability `json:"availability,omitempty"`
	AvailabilityMode          string         `json:"availability_mode,omitempty"`
	Device                    device         `json:"device"`
	Origin                    origin         `json:"origin"`
}

type availability struct {
	Topic string `json:"topic"`
}

type device struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model,omitempty"`
	SerialNumber string   `json:"serial_number,omitempty"`
	SWVersion    string   `json:"sw_version,omitempty"`
	ViaDevice    string   `json:"via_device,omitempty"`
}

type origin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url"`
}

// Value templates. A state is unknown in Home Assistant only when the
// rendered template is exactly "None", so every
// template maps the bridge's null payload to None.
const (
	tplValue = "{{ None if value == 'null' else value }}"
	// Text states are capped at Home Assistant's 255-character state limit.
	tplText = "{{ None if value == 'null' else value[:255] }}"
)

// tplLocation turns a location payload into device_tracker attributes. For
// null it renders an empty object: Home Assistant then keeps the last
// position (it only moves the tracker when latitude or longitude is present)
// and logs nothing, unlike for a non-object.
var tplLocation = "{{ {'latitude': value_json.latitude, 'longitude': value_json.longitude, 'gps_accuracy': " +
	strconv.Itoa(GPSAccuracy) + "} | tojson if value_json is mapping else '{}' }}"

// tplIn renders the value when it is one of opts, else None: null and enum
// options newer than the catalog show as unknown instead of an error.
func tplIn(opts []string) string {
	return "{{ value if value in " + pyList(opts) + " else None }}"
}

// tplKey renders a boolean member of a JSON object as true/false, and None
// when the payload is not an object (null).
func tplKey(key string) string {
	return "{{ ('true' if value_json." + key + " else 'false') if value_json is mapping else None }}"
}

func pyList(opts []string) string {
	return "['" + strings.Join(opts, "', '") + "']"
}

// doorLabels name the DoorState members (catalog.Doors), one door
// binary_sensor each.
var doorLabels = map[string]string{
	"DriverFront":    "Driver front door",
	"DriverRear":     "Driver rear door",
	"PassengerFront": "Passenger front door",
	"PassengerRear":  "Passenger rear door",
	"TrunkFront":     "Frunk",
	"TrunkRear":      "Trunk",
}

// tireLabels name the TPMS warning members of ordinary cars (the first
// catalog.AlwaysTires of catalog.Tires), one problem binary_sensor each.
var tireLabels = map[string]string{
	"front_left":  "front left",
	"front_right": "front right",
	"rear_left":   "rear left",
	"rear_right":  "rear right",
}

// windowOpen lists the WindowState options for which the extra window
// binary_sensor is on.
var windowOpen = []string{"PartiallyOpen", "Opened"}

func (o Options) origin() origin {
	url := o.SupportURL
	if url == "" {
		url = DefaultSupportURL
	}
	return origin{Name: OriginName, SWVersion: o.Version, SupportURL: url}
}

func (o Options) vehicleTopic(v Vehicle, parts ...string) string {
	return o.Topics.Vehicle(v.VIN, parts...)
}

// vehicleMessage completes c as an entity of vehicle v and encodes it.
// avail is the entity's availability: both topics when nil.
func (o Options) vehicleMessage(v Vehicle, component, object string, c config, avail []availability) Message {
	object = topic.IDPart(object)
	node := o.Topics.VehicleNode(topic.IDPart(v.VIN))
	name := v.Name
	if strings.TrimSpace(name) == "" {
		name = DeviceName("", "", v.VIN)
	}
	vslug := slug(name)
	if vslug == "" {
		vslug = slug(DeviceName("", "", v.VIN))
	}
	c.UniqueID = node + "_" + object
	c.DefaultEntityID = component + "." + vslug + "_" + catalog.Snake(object)
	if avail == nil {
		avail = []availability{{o.Topics.BridgeState()}, {o.vehicleTopic(v, topic.Availability)}}
	}
	c.Availability, c.AvailabilityMode = avail, "all"
	c.Device = device{
		Identifiers:  []string{node},
		Name:         name,
		Manufacturer: "Tesla",
		Model:        v.Model,
		SerialNumber: v.VIN,
		SWVersion:    v.SWVersion,
		ViaDevice:    o.Topics.BridgeNode(),
	}
	c.Origin = o.origin()
	return Message{Topic: o.Topics.DiscoveryConfig(component, node, object), Payload: encode(c)}
}

// bridgeMessage completes c as an entity of the bridge device and encodes it.
func (o Options) bridgeMessage(component, object string, c config) Message {
	node := o.Topics.BridgeNode()
	c.UniqueID = node + "_" + object
	c.DefaultEntityID = component + ".teslemetry2mqtt_" + catalog.Snake(object)
	c.Device = device{
		Identifiers:  []string{node},
		Name:         "Teslemetry2MQTT",
		Manufacturer: "teslemetry2mqtt",
		SWVersion:    o.Version,
	}
	c.Origin = o.origin()
	return Message{Topic: o.Topics.DiscoveryConfig(component, node, object), Payload: encode(c)}
}

func encode(c config) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		panic("discovery: encoding config: " + err.Error()) // cannot happen: plain strings and ints
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// common returns the metadata every entity of f shares.
func common(f *catalog.Field, name string) config {
	c := config{Name: name, EnabledByDefault: f.Enabled, Icon: f.Icon}
	if f.Diagnostic {
		c.EntityCategory = "diagnostic"
	}
	return c
}

// FieldEntities returns every discovery config of one field for vehicle v:
// one entity for most fields, six door binary_sensors for DoorState, four
// tyre binary_sensors for TPMS warnings, an enum sensor plus a window
// binary_sensor for the windows, none for placeholders.
func (o Options) FieldEntities(v Vehicle, f *catalog.Field) []Message {
	if f == nil || f.IsPlaceholder() || f.Name == "" {
		return nil
	}
	stateTopic := o.Topics.Value(v.VIN, f.Name)
	switch {
	case f.Kind == catalog.KindDoors:
		msgs := make([]Message, 0, len(catalog.Doors))
		for _, d := range catalog.Doors {
			c := common(f, doorLabels[d])
			c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, stateTopic, tplKey(d)
			c.PayloadOn, c.PayloadOff = "true", "false"
			msgs = append(msgs, o.vehicleMessage(v, catalog.ComponentBinarySensor, f.Name+"_"+d, c, nil))
		}
		return msgs
	case f.Kind == catalog.KindTireLocation:
		msgs := make([]Message, 0, catalog.AlwaysTires)
		for _, t := range catalog.Tires[:catalog.AlwaysTires] {
			c := common(f, f.Label+" "+tireLabels[t])
			c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, stateTopic, tplKey(t)
			c.PayloadOn, c.PayloadOff = "true", "false"
			msgs = append(msgs, o.vehicleMessage(v, catalog.ComponentBinarySensor, f.Name+"_"+t, c, nil))
		}
		return msgs
	case f.Kind == catalog.KindLocation:
		c := common(f, f.Label)
		c.JSONAttributesTopic, c.JSONAttributesTemplate, c.SourceType = stateTopic, tplLocation, "gps"
		return []Message{o.vehicleMessage(v, catalog.ComponentDeviceTracker, f.Name, c, nil)}
	case f.Component == catalog.ComponentBinarySensor:
		c := common(f, f.Label)
		c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, stateTopic, tplValue
		c.PayloadOn, c.PayloadOff = "true", "false"
		if f.Inverted {
			c.PayloadOn, c.PayloadOff = "false", "true"
		}
		return []Message{o.vehicleMessage(v, catalog.ComponentBinarySensor, f.Name, c, nil)}
	case f.EnumType == "WindowState":
		enum := common(f, f.Label+" position")
		enum.DeviceClass, enum.Options, enum.StateTopic, enum.ValueTemplate = "enum", f.Options, stateTopic, tplIn(f.Options)
		open := common(f, f.Label)
		open.DeviceClass, open.StateTopic = "window", stateTopic
		open.ValueTemplate = "{{ 'true' if value in " + pyList(windowOpen) + " else ('false' if value == 'Closed' else None) }}"
		open.PayloadOn, open.PayloadOff = "true", "false"
		return []Message{
			o.vehicleMessage(v, catalog.ComponentSensor, f.Name, enum, nil),
			o.vehicleMessage(v, catalog.ComponentBinarySensor, f.Name+"_open", open, nil),
		}
	}
	c := common(f, f.Label)
	c.DeviceClass, c.StateTopic = f.DeviceClass, stateTopic
	switch f.Kind {
	case catalog.KindEnum:
		c.Options, c.ValueTemplate = f.Options, tplIn(f.Options)
	case catalog.KindFloat, catalog.KindInt, catalog.KindTimestamp:
		c.UnitOfMeasurement, c.StateClass, c.ValueTemplate = f.UnitFor(o.Units), f.StateClass, tplValue
		if f.Precision >= 0 {
			p := f.Precision
			c.SuggestedDisplayPrecision = &p
		}
	default: // string, time, unknown
		c.ValueTemplate = tplText
	}
	return []Message{o.vehicleMessage(v, catalog.ComponentSensor, f.Name, c, nil)}
}

// VehicleEntities returns the per-vehicle status entities: Stream (the
// pipeline's health), State (online/asleep/offline), Last seen and Active
// alerts.
func (o Options) VehicleEntities(v Vehicle) []Message {
	stream := config{Name: "Stream", DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, topic.Availability), PayloadOn: "online", PayloadOff: "offline"}
	states := []string{"online", "asleep", "offline"}
	state := config{Name: "State", DeviceClass: "enum", Options: states, EnabledByDefault: true, Icon: "mdi:car-connected",
		StateTopic: o.vehicleTopic(v, topic.State), ValueTemplate: tplIn(states)}
	seen := config{Name: "Last seen", DeviceClass: "timestamp", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, topic.LastSeen), ValueTemplate: tplValue}
	alerts := config{Name: "Active alerts", StateClass: "measurement", EntityCategory: "diagnostic", EnabledByDefault: true, Icon: "mdi:alert",
		StateTopic: o.vehicleTopic(v, topic.ActiveAlerts), ValueTemplate: "{{ value_json | length }}",
		JSONAttributesTopic: o.vehicleTopic(v, topic.ActiveAlerts), JSONAttributesTemplate: "{{ {'alerts': value_json} | tojson }}"}
	return []Message{
		// The stream entity reports the availability it would otherwise carry.
		o.vehicleMessage(v, catalog.ComponentBinarySensor, "stream", stream, []availability{{o.Topics.BridgeState()}}),
		o.vehicleMessage(v, catalog.ComponentSensor, "state", state, nil),
		o.vehicleMessage(v, catalog.ComponentSensor, "last_seen", seen, nil),
		o.vehicleMessage(v, catalog.ComponentSensor, "active_alerts", alerts, nil),
	}
}

// connectivityObjectPrefix starts the object id of every connectivity entity;
// the rest is the interface, which the car names (Publishable knows the pattern).
const connectivityObjectPrefix = "connectivity_"

var ifaceNames = map[string]string{"wifi": "Wifi", "cellular": "Cellular", "ethernet": "Ethernet"}

// ConnectivityEntity returns the binary_sensor of one network interface of
// the car ("wifi", "cellular", "ethernet"), read from
// <base>/<VIN>/connectivity/<iface>; iface must be the topic level the bridge
// publishes.
func (o Options) ConnectivityEntity(v Vehicle, iface string) Message {
	name := ifaceNames[strings.ToLower(iface)]
	if name == "" && iface != "" {
		name = strings.ToUpper(iface[:1]) + iface[1:]
	}
	c := config{Name: name, DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, topic.LevelConnectivity, iface), PayloadOn: "connected", PayloadOff: "disconnected"}
	return o.vehicleMessage(v, catalog.ComponentBinarySensor, connectivityObjectPrefix+strings.ToLower(iface), c, nil)
}

// BridgeEntities returns the bridge device's entities: Connection state, and
// Credit balance when withCredits (once credits events arrive).
func (o Options) BridgeEntities(withCredits bool) []Message {
	// Connection state reports the availability topic itself: no availability.
	conn := config{Name: "Connection state", DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.Topics.BridgeState(), PayloadOn: "online", PayloadOff: "offline"}
	msgs := []Message{o.bridgeMessage(catalog.ComponentBinarySensor, "connection_state", conn)}
	if withCredits {
		zero := 0
		credits := config{Name: "Credit balance", StateClass: "measurement", SuggestedDisplayPrecision: &zero,
			EnabledByDefault: true, Icon: "mdi:wallet", StateTopic: o.Topics.BridgeCredits(),
			ValueTemplate: "{{ value_json.balance }}",
			Availability:  []availability{{o.Topics.BridgeState()}}, AvailabilityMode: "all"}
		msgs = append(msgs, o.bridgeMessage(catalog.ComponentSensor, "credit_balance", credits))
	}
	return msgs
}
