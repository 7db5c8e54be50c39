package discovery

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// DefaultSupportURL is the origin support_url when Options.SupportURL is empty.
const DefaultSupportURL = "https://github.com/teslemetry2mqtt/teslemetry2mqtt"

// OriginName is the origin name of every config the bridge publishes; stale
// cleanup (publishable.go) only ever touches configs that carry it.
const OriginName = "teslemetry2mqtt"

// GPSAccuracy is the gps_accuracy (metres) given to device trackers: Tesla
// sends none, and 0 breaks consumers (home-assistant.md §8).
const GPSAccuracy = 10

// Options are the settings that shape discovery configs.
type Options struct {
	BaseTopic  string // mqtt.base_topic, e.g. "teslemetry"
	Prefix     string // discovery prefix, e.g. "homeassistant"
	Units      Units
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
// rendered template is exactly "None" (home-assistant.md §6), so every
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

// doors are the DoorState members, one door binary_sensor each.
var doors = []struct{ key, label string }{
	{"DriverFront", "Driver front door"},
	{"DriverRear", "Driver rear door"},
	{"PassengerFront", "Passenger front door"},
	{"PassengerRear", "Passenger rear door"},
	{"TrunkFront", "Frunk"},
	{"TrunkRear", "Trunk"},
}

// tires are the TPMS warning members of ordinary cars as the bridge publishes
// them (snake_case), one problem binary_sensor each.
var tires = []struct{ key, label string }{
	{"front_left", "front left"},
	{"front_right", "front right"},
	{"rear_left", "rear left"},
	{"rear_right", "rear right"},
}

// id is the base topic as a discovery id part (base topics may contain "/").
func (o Options) id() string { return idPart(o.BaseTopic) }

func (o Options) origin() origin {
	url := o.SupportURL
	if url == "" {
		url = DefaultSupportURL
	}
	return origin{Name: OriginName, SWVersion: o.Version, SupportURL: url}
}

func (o Options) bridgeID() string { return o.id() + "_bridge" }

func (o Options) vehicleTopic(v Vehicle, rest string) string {
	return o.BaseTopic + "/" + v.VIN + "/" + rest
}

func (o Options) bridgeStateTopic() string { return o.BaseTopic + "/bridge/state" }

// vehicleMessage completes c as an entity of vehicle v and encodes it.
// avail is the entity's availability: both topics when nil.
func (o Options) vehicleMessage(v Vehicle, component, object string, c config, avail []availability) Message {
	object = idPart(object)
	node := o.id() + "_" + idPart(v.VIN)
	name := v.Name
	if strings.TrimSpace(name) == "" {
		name = DeviceName("", "", v.VIN)
	}
	vslug := slug(name)
	if vslug == "" {
		vslug = slug(DeviceName("", "", v.VIN))
	}
	c.UniqueID = node + "_" + object
	c.DefaultEntityID = component + "." + vslug + "_" + snake(object)
	if avail == nil {
		avail = []availability{{o.bridgeStateTopic()}, {o.vehicleTopic(v, "availability")}}
	}
	c.Availability, c.AvailabilityMode = avail, "all"
	c.Device = device{
		Identifiers:  []string{node},
		Name:         name,
		Manufacturer: "Tesla",
		Model:        v.Model,
		SerialNumber: v.VIN,
		SWVersion:    v.SWVersion,
		ViaDevice:    o.bridgeID(),
	}
	c.Origin = o.origin()
	return Message{Topic: o.Prefix + "/" + component + "/" + node + "/" + object + "/config", Payload: encode(c)}
}

// bridgeMessage completes c as an entity of the bridge device and encodes it.
func (o Options) bridgeMessage(component, object string, c config) Message {
	node := o.bridgeID()
	c.UniqueID = node + "_" + object
	c.DefaultEntityID = component + ".teslemetry2mqtt_" + snake(object)
	c.Device = device{
		Identifiers:  []string{node},
		Name:         "Teslemetry2MQTT",
		Manufacturer: "teslemetry2mqtt",
		SWVersion:    o.Version,
	}
	c.Origin = o.origin()
	return Message{Topic: o.Prefix + "/" + component + "/" + node + "/" + object + "/config", Payload: encode(c)}
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
func common(f *Field, name string) config {
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
func (o Options) FieldEntities(v Vehicle, f *Field) []Message {
	if f == nil || f.IsPlaceholder() || f.Name == "" {
		return nil
	}
	topic := o.vehicleTopic(v, "v/"+f.Name)
	switch {
	case f.Kind == KindDoors:
		msgs := make([]Message, 0, len(doors))
		for _, d := range doors {
			c := common(f, d.label)
			c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, topic, tplKey(d.key)
			c.PayloadOn, c.PayloadOff = "true", "false"
			msgs = append(msgs, o.vehicleMessage(v, ComponentBinarySensor, f.Name+"_"+d.key, c, nil))
		}
		return msgs
	case f.Kind == KindTireLocation:
		msgs := make([]Message, 0, len(tires))
		for _, t := range tires {
			c := common(f, f.Label+" "+t.label)
			c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, topic, tplKey(t.key)
			c.PayloadOn, c.PayloadOff = "true", "false"
			msgs = append(msgs, o.vehicleMessage(v, ComponentBinarySensor, f.Name+"_"+t.key, c, nil))
		}
		return msgs
	case f.Kind == KindLocation:
		c := common(f, f.Label)
		c.JSONAttributesTopic, c.JSONAttributesTemplate, c.SourceType = topic, tplLocation, "gps"
		return []Message{o.vehicleMessage(v, ComponentDeviceTracker, f.Name, c, nil)}
	case f.Component == ComponentBinarySensor:
		c := common(f, f.Label)
		c.DeviceClass, c.StateTopic, c.ValueTemplate = f.DeviceClass, topic, tplValue
		c.PayloadOn, c.PayloadOff = "true", "false"
		if f.Inverted {
			c.PayloadOn, c.PayloadOff = "false", "true"
		}
		return []Message{o.vehicleMessage(v, ComponentBinarySensor, f.Name, c, nil)}
	case f.EnumType == "WindowState":
		enum := common(f, f.Label+" position")
		enum.DeviceClass, enum.Options, enum.StateTopic, enum.ValueTemplate = "enum", f.Options, topic, tplIn(f.Options)
		open := common(f, f.Label)
		open.DeviceClass, open.StateTopic = "window", topic
		open.ValueTemplate = "{{ 'true' if value in " + pyList(windowOpen) + " else ('false' if value == 'Closed' else None) }}"
		open.PayloadOn, open.PayloadOff = "true", "false"
		return []Message{
			o.vehicleMessage(v, ComponentSensor, f.Name, enum, nil),
			o.vehicleMessage(v, ComponentBinarySensor, f.Name+"_open", open, nil),
		}
	}
	c := common(f, f.Label)
	c.DeviceClass, c.StateTopic = f.DeviceClass, topic
	switch f.Kind {
	case KindEnum:
		c.Options, c.ValueTemplate = f.Options, tplIn(f.Options)
	case KindFloat, KindInt, KindTimestamp:
		c.UnitOfMeasurement, c.StateClass, c.ValueTemplate = f.UnitFor(o.Units), f.StateClass, tplValue
		if f.Precision >= 0 {
			p := f.Precision
			c.SuggestedDisplayPrecision = &p
		}
	default: // string, time, unknown
		c.ValueTemplate = tplText
	}
	return []Message{o.vehicleMessage(v, ComponentSensor, f.Name, c, nil)}
}

// VehicleEntities returns the per-vehicle status entities: Stream (the
// pipeline's health), State (online/asleep/offline), Last seen and Active
// alerts.
func (o Options) VehicleEntities(v Vehicle) []Message {
	stream := config{Name: "Stream", DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, "availability"), PayloadOn: "online", PayloadOff: "offline"}
	states := []string{"online", "asleep", "offline"}
	state := config{Name: "State", DeviceClass: "enum", Options: states, EnabledByDefault: true, Icon: "mdi:car-connected",
		StateTopic: o.vehicleTopic(v, "state"), ValueTemplate: tplIn(states)}
	seen := config{Name: "Last seen", DeviceClass: "timestamp", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.vehicleTopic(v, "last_seen"), ValueTemplate: tplValue}
	alerts := config{Name: "Active alerts", StateClass: "measurement", EntityCategory: "diagnostic", EnabledByDefault: true, Icon: "mdi:alert",
		StateTopic: o.vehicleTopic(v, "active_alerts"), ValueTemplate: "{{ value_json | length }}",
		JSONAttributesTopic: o.vehicleTopic(v, "active_alerts"), JSONAttributesTemplate: "{{ {'alerts': value_json} | tojson }}"}
	return []Message{
		// The stream entity reports the availability it would otherwise carry.
		o.vehicleMessage(v, ComponentBinarySensor, "stream", stream, []availability{{o.bridgeStateTopic()}}),
		o.vehicleMessage(v, ComponentSensor, "state", state, nil),
		o.vehicleMessage(v, ComponentSensor, "last_seen", seen, nil),
		o.vehicleMessage(v, ComponentSensor, "active_alerts", alerts, nil),
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
		StateTopic: o.vehicleTopic(v, "connectivity/"+iface), PayloadOn: "connected", PayloadOff: "disconnected"}
	return o.vehicleMessage(v, ComponentBinarySensor, connectivityObjectPrefix+strings.ToLower(iface), c, nil)
}

// BridgeEntities returns the bridge device's entities: Connection state, and
// Credit balance when withCredits (once credits events arrive).
func (o Options) BridgeEntities(withCredits bool) []Message {
	// Connection state reports the availability topic itself: no availability.
	conn := config{Name: "Connection state", DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: o.bridgeStateTopic(), PayloadOn: "online", PayloadOff: "offline"}
	msgs := []Message{o.bridgeMessage(ComponentBinarySensor, "connection_state", conn)}
	if withCredits {
		zero := 0
		credits := config{Name: "Credit balance", StateClass: "measurement", SuggestedDisplayPrecision: &zero,
			EnabledByDefault: true, Icon: "mdi:wallet", StateTopic: o.BaseTopic + "/bridge/credits",
			ValueTemplate: "{{ value_json.balance }}",
			Availability:  []availability{{o.bridgeStateTopic()}}, AvailabilityMode: "all"}
		msgs = append(msgs, o.bridgeMessage(ComponentSensor, "credit_balance", credits))
	}
	return msgs
}
