package ha

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Controls: Home Assistant entities that send commands (docs/commands.md).
// The control table itself (payloads → Teslemetry commands) lives with the
// command executor; it hands each control here as a ControlSpec, and this
// file knows how Home Assistant shows it: platform keys, the topic its state
// is read from and the template that turns the bridge's payload into a state
// the platform accepts.

// Control platforms.
const (
	ComponentLock    = "lock"
	ComponentSwitch  = "switch"
	ComponentNumber  = "number"
	ComponentSelect  = "select"
	ComponentCover   = "cover"
	ComponentClimate = "climate"
	ComponentButton  = "button"
)

// ControlSpec is one control as the command table defines it.
type ControlSpec struct {
	Name     string // the set/<control> topic level, also the object id
	Platform string // one of the Component* control platforms
	Label    string
	Icon     string
	Payloads []string // words sent on command_topic, in table order (ON, OFF / LOCK, UNLOCK / OPEN, CLOSE / PRESS / heat_cool, off)
	Options  []string // select options
	Min, Max float64  // number limits; climate limits in °C
	Step     float64
	Unit     string // number unit
}

// controlConfig is a control's discovery payload; field order is the key order.
type controlConfig struct {
	Name             string `json:"name"`
	UniqueID         string `json:"unique_id"`
	DefaultEntityID  string `json:"default_entity_id"`
	DeviceClass      string `json:"device_class,omitempty"`
	EntityCategory   string `json:"entity_category,omitempty"`
	EnabledByDefault bool   `json:"enabled_by_default"`
	Icon             string `json:"icon,omitempty"`

	CommandTopic  string `json:"command_topic,omitempty"`
	StateTopic    string `json:"state_topic,omitempty"`
	ValueTemplate string `json:"value_template,omitempty"`

	PayloadOn     string          `json:"payload_on,omitempty"`
	PayloadOff    string          `json:"payload_off,omitempty"`
	PayloadLock   string          `json:"payload_lock,omitempty"`
	PayloadUnlock string          `json:"payload_unlock,omitempty"`
	StateLocked   string          `json:"state_locked,omitempty"`
	StateUnlocked string          `json:"state_unlocked,omitempty"`
	PayloadOpen   string          `json:"payload_open,omitempty"`
	PayloadClose  string          `json:"payload_close,omitempty"`
	PayloadStop   json.RawMessage `json:"payload_stop,omitempty"`
	StateOpen     string          `json:"state_open,omitempty"`
	StateClosed   string          `json:"state_closed,omitempty"`
	PayloadPress  string          `json:"payload_press,omitempty"`

	Options           []string `json:"options,omitempty"`
	Min               *float64 `json:"min,omitempty"`
	Max               *float64 `json:"max,omitempty"`
	Step              float64  `json:"step,omitempty"`
	Mode              string   `json:"mode,omitempty"`
	UnitOfMeasurement string   `json:"unit_of_measurement,omitempty"`

	Modes                      []string `json:"modes,omitempty"`
	ModeCommandTopic           string   `json:"mode_command_topic,omitempty"`
	ModeStateTopic             string   `json:"mode_state_topic,omitempty"`
	ModeStateTemplate          string   `json:"mode_state_template,omitempty"`
	TemperatureCommandTopic    string   `json:"temperature_command_topic,omitempty"`
	TemperatureStateTopic      string   `json:"temperature_state_topic,omitempty"`
	TemperatureStateTemplate   string   `json:"temperature_state_template,omitempty"`
	CurrentTemperatureTopic    string   `json:"current_temperature_topic,omitempty"`
	CurrentTemperatureTemplate string   `json:"current_temperature_template,omitempty"`
	TemperatureUnit            string   `json:"temperature_unit,omitempty"`
	MinTemp                    *float64 `json:"min_temp,omitempty"`
	MaxTemp                    *float64 `json:"max_temp,omitempty"`
	TempStep                   float64  `json:"temp_step,omitempty"`
	Precision                  float64  `json:"precision,omitempty"`

	JSONAttributesTopic string `json:"json_attributes_topic,omitempty"`

	Availability     []availability `json:"availability"`
	AvailabilityMode string         `json:"availability_mode"`
	Device           device         `json:"device"`
	Origin           origin         `json:"origin"`
}

// controlState is where a control's state is read from and how it renders.
type controlState struct {
	topic    string // under the car: "v/<Field>" or "derived/<x>"; under a site: "site_info/<key>"
	template string
}

// stateOnOff renders ON for the listed values, OFF for the others of opts, None otherwise.
func stateOnOff(on, opts []string) string {
	var off []string
	for _, o := range opts {
		if !contains(on, o) {
			off = append(off, o)
		}
	}
	return "{{ 'ON' if value in " + pyList(on) + " else ('OFF' if value in " + pyList(off) + " else None) }}"
}

// stateMap renders the mapped option of a payload, None for anything else.
func stateMap(keys, values []string) string {
	pairs := make([]string, len(keys))
	for i := range keys {
		pairs[i] = "'" + keys[i] + "': '" + values[i] + "'"
	}
	return "{{ {" + strings.Join(pairs, ", ") + "}.get(value) }}"
}

const tplOpenClosedBool = "{{ 'open' if value == 'true' else ('closed' if value == 'false' else None) }}"

func optionsOf(field string) []string {
	f, ok := catalog.Lookup(field)
	if !ok {
		panic("discovery: control state field " + field + " is not in the catalog")
	}
	return f.Options
}

var seatStates = stateMap([]string{"0", "1", "2", "3"}, []string{"off", "low", "medium", "high"})

// vehicleControlStates: the state of each vehicle control; buttons have none.
var vehicleControlStates = map[string]controlState{
	"lock":                    {"v/Locked", tplValue},
	"charging":                {"v/DetailedChargeState", stateOnOff([]string{"Starting", "Charging"}, optionsOf("DetailedChargeState"))},
	"charge_limit":            {"v/ChargeLimitSoc", tplValue},
	"charge_current":          {"v/ChargeCurrentRequest", tplValue},
	"charge_port":             {"v/ChargePortDoorOpen", tplOpenClosedBool},
	"defrost":                 {"v/DefrostMode", stateOnOff(without(optionsOf("DefrostMode"), "Off"), optionsOf("DefrostMode"))},
	"sentry":                  {"v/SentryMode", stateOnOff(without(optionsOf("SentryMode"), "Off"), optionsOf("SentryMode"))},
	"climate_keeper":          {"v/ClimateKeeperMode", stateMap([]string{"Off", "On", "Dog", "Party"}, []string{"off", "keep", "dog", "camp"})},
	"seat_heater_front_left":  {"v/SeatHeaterLeft", seatStates},
	"seat_heater_front_right": {"v/SeatHeaterRight", seatStates},
	"seat_heater_rear_left":   {"v/SeatHeaterRearLeft", seatStates},
	"seat_heater_rear_center": {"v/SeatHeaterRearCenter", seatStates},
	"seat_heater_rear_right":  {"v/SeatHeaterRearRight", seatStates},
	"steering_wheel_heater":   {"v/HvacSteeringWheelHeatLevel", stateMap([]string{"0", "1", "3"}, []string{"off", "low", "high"})},
	"trunk":                   {"v/DoorState", "{{ ('open' if value_json.TrunkRear else 'closed') if value_json is mapping else None }}"},
	"windows":                 {"derived/windows", "{{ value if value in ['open', 'closed'] else None }}"},
}

// VehicleControlPlatforms is the platform of every vehicle control entity
// (the command table's tests check it matches the table). Stale cleanup
// uses it to know which control configs this version publishes.
var VehicleControlPlatforms = map[string]string{
	"lock": ComponentLock, "charging": ComponentSwitch, "charge_limit": ComponentNumber, "charge_current": ComponentNumber,
	"charge_port": ComponentCover, "climate": ComponentClimate, "defrost": ComponentSwitch, "sentry": ComponentSwitch,
	"climate_keeper": ComponentSelect, "seat_heater_front_left": ComponentSelect, "seat_heater_front_right": ComponentSelect,
	"seat_heater_rear_left": ComponentSelect, "seat_heater_rear_center": ComponentSelect, "seat_heater_rear_right": ComponentSelect,
	"steering_wheel_heater": ComponentSelect, "frunk": ComponentButton, "trunk": ComponentCover, "windows": ComponentCover,
	"flash_lights": ComponentButton, "honk_horn": ComponentButton, "homelink": ComponentButton, "wake": ComponentButton,
}

// SiteControlPlatforms is VehicleControlPlatforms for energy sites.
var SiteControlPlatforms = map[string]string{
	"backup_reserve": ComponentNumber, "operation_mode": ComponentSelect, "export_rule": ComponentSelect,
	"grid_charging": ComponentSwitch, "storm_watch": ComponentSwitch, "off_grid_ev_reserve": ComponentNumber,
}

// Climate topics (the climate control has several).
const (
	climateModeField    = "HvacPower"
	climateTargetField  = "HvacLeftTemperatureRequest"
	climateCurrentField = "InsideTemp"
	// ClimateTemperatureControl is the set/ level of the climate entity's target temperature.
	ClimateTemperatureControl = "climate_temperature"
)

// siteControlStates: the site_info topic level of each site control and its
// template. Nested site_info members (components, user_settings) are read
// from the JSON object the bridge publishes for them.
var siteControlStates = map[string]controlState{
	"backup_reserve":      {"site_info/backup_reserve_percent", tplValue},
	"operation_mode":      {"site_info/default_real_mode", "{{ value if value in ['autonomous', 'self_consumption', 'backup'] else None }}"},
	"export_rule":         {"site_info/components", "{{ value_json.customer_preferred_export_rule if value_json is mapping and value_json.customer_preferred_export_rule in ['never', 'battery_ok', 'pv_only'] else None }}"},
	"grid_charging":       {"site_info/components", "{{ ('OFF' if value_json.disallow_charge_from_grid_with_solar_installed else 'ON') if value_json is mapping and value_json.disallow_charge_from_grid_with_solar_installed is boolean else None }}"},
	"storm_watch":         {"site_info/user_settings", "{{ ('ON' if value_json.storm_mode_enabled else 'OFF') if value_json is mapping and value_json.storm_mode_enabled is boolean else None }}"},
	"off_grid_ev_reserve": {"site_info/off_grid_vehicle_charging_reserve_percent", tplValue},
}

func without(opts []string, drop string) []string {
	var out []string
	for _, o := range opts {
		if o != drop {
			out = append(out, o)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func f64(v float64) *float64 { return &v }

// controlBody fills the platform keys of a control; state is "" for none;
// setTopic builds <…>/set/<level>.
func (o Options) controlBody(c ControlSpec, st controlState, readTopic func(string) string, setTopic func(string) string, maxNumber float64) (controlConfig, bool) {
	cc := controlConfig{Name: c.Label, EnabledByDefault: true, Icon: c.Icon, CommandTopic: setTopic(c.Name)}
	if st.topic != "" {
		cc.StateTopic, cc.ValueTemplate = readTopic(st.topic), st.template
	}
	word := func(i int) string {
		if i < len(c.Payloads) {
			return c.Payloads[i]
		}
		return ""
	}
	switch c.Platform {
	case ComponentLock:
		cc.PayloadLock, cc.PayloadUnlock, cc.StateLocked, cc.StateUnlocked = word(0), word(1), "true", "false"
	case ComponentSwitch:
		cc.PayloadOn, cc.PayloadOff = word(0), word(1)
	case ComponentCover:
		cc.PayloadOpen, cc.PayloadClose, cc.PayloadStop = word(0), word(1), json.RawMessage("null")
		cc.StateOpen, cc.StateClosed = "open", "closed"
		cc.DeviceClass = "door"
		if c.Name == "windows" {
			cc.DeviceClass = "window"
		}
	case ComponentButton:
		cc.PayloadPress = word(0)
	case ComponentSelect:
		cc.Options = c.Options
	case ComponentNumber:
		hi := c.Max
		if maxNumber > 0 {
			hi = maxNumber
		}
		cc.Min, cc.Max, cc.Step, cc.Mode, cc.UnitOfMeasurement = f64(c.Min), f64(hi), c.Step, "slider", c.Unit
		if c.Unit == "A" {
			cc.DeviceClass = "current"
		}
	case ComponentClimate:
		cc.CommandTopic, cc.StateTopic, cc.ValueTemplate = "", "", ""
		cc.Modes = []string{"off", "heat_cool"}
		cc.ModeCommandTopic = setTopic(c.Name)
		cc.ModeStateTopic = readTopic("v/" + climateModeField)
		cc.ModeStateTemplate = "{{ 'off' if value == 'Off' else ('heat_cool' if value in " + pyList(without(optionsOf(climateModeField), "Off")) + " else None) }}"
		cc.TemperatureCommandTopic = setTopic(ClimateTemperatureControl)
		cc.TemperatureStateTopic, cc.TemperatureStateTemplate = readTopic("v/"+climateTargetField), tplValue
		cc.CurrentTemperatureTopic, cc.CurrentTemperatureTemplate = readTopic("v/"+climateCurrentField), tplValue
		lo, hi := c.Min, c.Max
		cc.TemperatureUnit, cc.TempStep, cc.Precision = "C", 0.5, 0.5
		if o.Units == catalog.UnitsImperial {
			lo, hi = math.Round(lo*9/5+32), math.Round(hi*9/5+32)
			cc.TemperatureUnit, cc.TempStep, cc.Precision = "F", 1, 1
		}
		cc.MinTemp, cc.MaxTemp = f64(lo), f64(hi)
	default:
		return cc, false
	}
	return cc, true
}

// VehicleControlEntity returns the discovery config of one vehicle control;
// false for controls without an entity of their own (climate_temperature is
// part of the climate entity) and unknown platforms. maxCurrent is the
// charge_current maximum (the car's ChargeCurrentRequestMax; 0 = the
// table's).
func (o Options) VehicleControlEntity(v Vehicle, c ControlSpec, maxCurrent float64) (Message, bool) {
	if c.Name == ClimateTemperatureControl {
		return Message{}, false
	}
	st := vehicleControlStates[c.Name]
	read := func(rest string) string { return o.vehicleTopic(v, strings.Split(rest, "/")...) }
	set := func(level string) string { return o.vehicleTopic(v, topic.LevelSet, level) }
	max := 0.0
	if c.Name == "charge_current" {
		max = maxCurrent
	}
	cc, ok := o.controlBody(c, st, read, set, max)
	if !ok {
		return Message{}, false
	}
	// The common part (ids, availability, device, origin) is built the way
	// every other entity of the car is.
	base := o.vehicleMessage(v, c.Platform, c.Name, config{}, nil)
	var common config
	_ = json.Unmarshal(base.Payload, &common)
	cc.UniqueID, cc.DefaultEntityID = common.UniqueID, common.DefaultEntityID
	cc.Availability, cc.AvailabilityMode, cc.Device, cc.Origin = common.Availability, common.AvailabilityMode, common.Device, common.Origin
	return Message{Topic: base.Topic, Payload: encodeAny(cc)}, true
}

// VehicleControlStateTopic is the topic level under <base>/<VIN>/ whose
// first appearance announces the control ("v/Locked", "derived/windows";
// "" for buttons, announced with the car).
func VehicleControlStateTopic(name string) string {
	if name == "climate" {
		return "v/" + climateModeField
	}
	return vehicleControlStates[name].topic
}

// SiteControlEntity returns the discovery config of one energy-site control.
func (o Options) SiteControlEntity(s Site, c ControlSpec) (Message, bool) {
	st, known := siteControlStates[c.Name]
	if !known {
		return Message{}, false
	}
	read := func(rest string) string { return o.Topics.Site(s.ID, strings.Split(rest, "/")...) }
	set := func(level string) string { return o.Topics.Site(s.ID, topic.LevelSet, level) }
	cc, ok := o.controlBody(c, st, read, set, 0)
	if !ok {
		return Message{}, false
	}
	node := o.Topics.SiteNode(s.ID)
	object := topic.IDPart(c.Name)
	cc.UniqueID = node + "_" + object
	cc.DefaultEntityID = c.Platform + "." + siteSlug(s) + "_" + catalog.Snake(object)
	cc.Availability, cc.AvailabilityMode = o.siteAvailability(s), "all"
	cc.Device = o.siteDevice(s)
	cc.Origin = o.origin()
	return Message{Topic: o.Topics.DiscoveryConfig(c.Platform, node, object), Payload: encodeAny(cc)}, true
}

// lastCommandTemplate shows ok, or the reason of a failed command.
const lastCommandTemplate = "{{ (('ok' if value_json.ok else value_json.reason) | string)[:255] if value_json is mapping else None }}"

// LastCommandEntity returns the car's diagnostic "Last command" sensor on
// <base>/<VIN>/command_result (unknown until the first command).
func (o Options) LastCommandEntity(v Vehicle) Message {
	c := config{Name: "Last command", EntityCategory: "diagnostic", EnabledByDefault: true, Icon: "mdi:console",
		StateTopic: o.vehicleTopic(v, topic.CommandResult), ValueTemplate: lastCommandTemplate,
		JSONAttributesTopic: o.vehicleTopic(v, topic.CommandResult)}
	return o.vehicleMessage(v, catalog.ComponentSensor, LastCommandObject, c, nil)
}

// SiteLastCommandEntity is LastCommandEntity for an energy site.
func (o Options) SiteLastCommandEntity(s Site) Message {
	result := o.Topics.Site(s.ID, topic.CommandResult)
	c := config{Name: "Last command", EntityCategory: "diagnostic", EnabledByDefault: true, Icon: "mdi:console",
		StateTopic: result, ValueTemplate: lastCommandTemplate, JSONAttributesTopic: result}
	node := o.Topics.SiteNode(s.ID)
	c.UniqueID = node + "_" + LastCommandObject
	c.DefaultEntityID = catalog.ComponentSensor + "." + siteSlug(s) + "_" + LastCommandObject
	c.Availability, c.AvailabilityMode = o.siteAvailability(s), "all"
	c.Device = o.siteDevice(s)
	c.Origin = o.origin()
	return Message{Topic: o.Topics.DiscoveryConfig(catalog.ComponentSensor, node, LastCommandObject), Payload: encode(c)}
}

// LastCommandObject is the object id of the "Last command" sensor.
const LastCommandObject = "last_command"

// WindowsState is the derived windows payload: "open" when any of the
// window payloads (WindowState options as published) is not Closed,
// "closed" when all known ones are Closed; "" when none is known.
func WindowsState(payloads []string) string {
	known := false
	for _, p := range payloads {
		switch p {
		case "Closed":
			known = true
		case "", "null":
		default:
			return "open"
		}
	}
	if known {
		return "closed"
	}
	return ""
}

// WindowsObject is the derived windows topic level: <base>/<VIN>/derived/windows.
const WindowsObject = "windows"

func encodeAny(c controlConfig) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic("discovery: encoding control config: " + err.Error())
	}
	// json.Marshal escapes <, > and & in templates; Home Assistant reads
	// either form, but keep them readable like the other configs.
	b = []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b)))
	return b
}
