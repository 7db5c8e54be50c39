// Package command turns MQTT messages on <base>/<VIN>/set/<control>,
// <base>/<VIN>/command/<name> and <base>/site/<id>/set/<control> into
// Teslemetry REST requests (docs/commands.md).
//
// The path mirrors the telemetry path: a message is looked up in the control
// table (data, this file), its payload is parsed into a Request (parse.go),
// and the Executor (executor.go) sends requests one at a time per car or site,
// with coalescing, a rate limit, wake-and-retry and a deadline, and reports a
// Result for every message it accepted.
package command

// Target is what a control acts on.
type Target uint8

// Targets.
const (
	Vehicle Target = iota + 1 // a car, addressed by VIN
	Site                      // an energy site, addressed by its id
)

func (t Target) String() string {
	switch t {
	case Vehicle:
		return "vehicle"
	case Site:
		return "site"
	}
	return "unknown"
}

// Platform is the Home Assistant MQTT platform a control is announced as.
type Platform string

// Platforms used by the control table.
const (
	PlatformLock    Platform = "lock"
	PlatformSwitch  Platform = "switch"
	PlatformNumber  Platform = "number"
	PlatformSelect  Platform = "select"
	PlatformCover   Platform = "cover"
	PlatformClimate Platform = "climate"
	PlatformButton  Platform = "button"
)

// Endpoint says which Teslemetry endpoint a request goes to.
type Endpoint uint8

// Endpoints.
const (
	EndpointCommand Endpoint = iota + 1 // POST /api/1/vehicles/{vin}/command/{name}
	EndpointWake                        // POST /api/1/vehicles/{vin}/wake_up
	EndpointSite                        // POST /api/1/energy_sites/{id}/{endpoint}
)

// Input is how a control reads its payload.
type Input uint8

// Inputs.
const (
	// InputChoice: one of a fixed set of words (LOCK/UNLOCK, ON/OFF,
	// OPEN/CLOSE, PRESS, heat_cool/off), each with its own action.
	InputChoice Input = iota + 1
	// InputNumber: a number in [Min, Max] (whole when Step is 1), sent as
	// Param of Command.
	InputNumber
	// InputSelect: one of Options, sent as the matching Values entry in
	// Param of Command.
	InputSelect
	// InputTemperature: a temperature in the unit the control declares (°F
	// with units: imperial), sent in °C as every name in Params.
	InputTemperature
)

// Action is one fixed request: a command (or site endpoint) and its body.
type Action struct {
	Command  string
	Body     map[string]any // fixed members; nil for none
	Location bool           // add the car's last "lat"/"lon" (window close, HomeLink)
}

// Condition compares a state value the bridge last published with a wanted
// value: Field's payload (or its member Key, when the payload is a JSON
// object) rendered as text.
type Condition struct {
	Field string // e.g. "DoorState"
	Key   string // e.g. "TrunkRear"; "" for the whole payload
	Value string // e.g. "true"
}

// Choice is one accepted word of an InputChoice control.
type Choice struct {
	Payload string // as Home Assistant sends it, e.g. "LOCK"
	Action  Action
	// SkipIf: when the state already says this, nothing is sent and the
	// result is ok with reason "already_set" (the rear trunk toggles).
	SkipIf *Condition
}

// Control is one row of the control table.
type Control struct {
	Name     string // the <control> topic level
	Target   Target
	Platform Platform
	Endpoint Endpoint
	Label    string // Home Assistant entity name
	Icon     string

	Input   Input
	Choices []Choice // InputChoice

	Command string         // InputNumber, InputSelect, InputTemperature
	Param   string         // InputNumber, InputSelect: the body member that carries the value
	Params  []string       // InputTemperature: every body member that carries the value
	Extra   map[string]any // fixed body members beside the value
	Min     float64        // InputNumber; InputTemperature in °C
	Max     float64
	Step    float64  // InputNumber: 1 = whole numbers only
	Unit    string   // InputNumber: unit shown in Home Assistant
	Options []string // InputSelect, in order
	Values  []any    // InputSelect: what each option is sent as

	// StateField is the field whose first appearance announces the control
	// (a telemetry field for cars, a site_info key for sites); "" = announced
	// with the car (buttons).
	StateField string
}

// Words returns the payloads an InputChoice control accepts.
func (c *Control) Words() []string {
	w := make([]string, len(c.Choices))
	for i, ch := range c.Choices {
		w[i] = ch.Payload
	}
	return w
}

func cmd(name string) Action { return Action{Command: name} }

func cmdBody(name string, body map[string]any) Action { return Action{Command: name, Body: body} }

// onOff is the ON/OFF pair of a switch whose command takes a boolean.
func onOff(command, param string, extra map[string]any, invert bool) []Choice {
	body := func(on bool) map[string]any {
		b := map[string]any{param: on != invert}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	return []Choice{
		{Payload: "ON", Action: cmdBody(command, body(true))},
		{Payload: "OFF", Action: cmdBody(command, body(false))},
	}
}

func press(a Action) []Choice { return []Choice{{Payload: "PRESS", Action: a}} }

var seatLevels = []string{"off", "low", "medium", "high"}

func seatHeater(name, label, field string, heater int) Control {
	return Control{Name: name, Target: Vehicle, Platform: PlatformSelect, Endpoint: EndpointCommand, Label: label,
		Icon: "mdi:car-seat-heater", Input: InputSelect, Command: "remote_seat_heater_request", Param: "level",
		Extra: map[string]any{"heater": heater}, Options: seatLevels, Values: []any{0, 1, 2, 3}, StateField: field}
}

// Temperature limits of the cabin, in °C (what Tesla's app offers).
const (
	MinCabinTemp = 15.0
	MaxCabinTemp = 28.0
)

// DefaultMaxChargeCurrent is the charge_current slider's maximum until the car
// streams ChargeCurrentRequestMax.
const DefaultMaxChargeCurrent = 48

// controls is the control table. Controls that must never be one click away
// (remote_start_drive, valet mode, speed limit, navigation, software update)
// are deliberately absent: they exist only as raw commands.
var controls = []Control{
	{Name: "lock", Target: Vehicle, Platform: PlatformLock, Endpoint: EndpointCommand, Label: "Lock", Input: InputChoice,
		Choices:    []Choice{{Payload: "LOCK", Action: cmd("door_lock")}, {Payload: "UNLOCK", Action: cmd("door_unlock")}},
		StateField: "Locked"},
	{Name: "charging", Target: Vehicle, Platform: PlatformSwitch, Endpoint: EndpointCommand, Label: "Charging", Icon: "mdi:ev-station",
		Input:      InputChoice,
		Choices:    []Choice{{Payload: "ON", Action: cmd("charge_start")}, {Payload: "OFF", Action: cmd("charge_stop")}},
		StateField: "DetailedChargeState"},
	{Name: "charge_limit", Target: Vehicle, Platform: PlatformNumber, Endpoint: EndpointCommand, Label: "Charge limit setting",
		Icon: "mdi:battery-charging-80", Input: InputNumber, Command: "set_charge_limit", Param: "percent",
		Min: 50, Max: 100, Step: 1, Unit: "%", StateField: "ChargeLimitSoc"},
	{Name: "charge_current", Target: Vehicle, Platform: PlatformNumber, Endpoint: EndpointCommand, Label: "Charge current setting",
		Icon: "mdi:current-ac", Input: InputNumber, Command: "set_charging_amps", Param: "charging_amps",
		Min: 0, Max: DefaultMaxChargeCurrent, Step: 1, Unit: "A", StateField: "ChargeCurrentRequest"},
	{Name: "charge_port", Target: Vehicle, Platform: PlatformCover, Endpoint: EndpointCommand, Label: "Charge port", Icon: "mdi:ev-plug-type2",
		Input:      InputChoice,
		Choices:    []Choice{{Payload: "OPEN", Action: cmd("charge_port_door_open")}, {Payload: "CLOSE", Action: cmd("charge_port_door_close")}},
		StateField: "ChargePortDoorOpen"},
	{Name: "climate", Target: Vehicle, Platform: PlatformClimate, Endpoint: EndpointCommand, Label: "Climate", Input: InputChoice,
		Choices:    []Choice{{Payload: "heat_cool", Action: cmd("auto_conditioning_start")}, {Payload: "off", Action: cmd("auto_conditioning_stop")}},
		StateField: "HvacPower"},
	// climate_temperature is the climate entity's target temperature: it
	// has no entity of its own.
	{Name: "climate_temperature", Target: Vehicle, Platform: PlatformClimate, Endpoint: EndpointCommand, Label: "Climate",
		Input: InputTemperature, Command: "set_temps", Params: []string{"driver_temp", "passenger_temp"},
		Min: MinCabinTemp, Max: MaxCabinTemp, StateField: "HvacPower"},
	{Name: "defrost", Target: Vehicle, Platform: PlatformSwitch, Endpoint: EndpointCommand, Label: "Defrost", Icon: "mdi:car-defrost-front",
		Input: InputChoice, Choices: onOff("set_preconditioning_max", "on", map[string]any{"manual_override": true}, false),
		StateField: "DefrostMode"},
	{Name: "sentry", Target: Vehicle, Platform: PlatformSwitch, Endpoint: EndpointCommand, Label: "Sentry", Icon: "mdi:cctv",
		Input: InputChoice, Choices: onOff("set_sentry_mode", "on", nil, false), StateField: "SentryMode"},
	{Name: "climate_keeper", Target: Vehicle, Platform: PlatformSelect, Endpoint: EndpointCommand, Label: "Climate keeper",
		Icon: "mdi:thermostat-auto", Input: InputSelect, Command: "set_climate_keeper_mode", Param: "climate_keeper_mode",
		Options: []string{"off", "keep", "dog", "camp"}, Values: []any{0, 1, 2, 3}, StateField: "ClimateKeeperMode"},
	seatHeater("seat_heater_front_left", "Seat heater front left", "SeatHeaterLeft", 0),
	seatHeater("seat_heater_front_right", "Seat heater front right", "SeatHeaterRight", 1),
	seatHeater("seat_heater_rear_left", "Seat heater rear left", "SeatHeaterRearLeft", 2),
	seatHeater("seat_heater_rear_center", "Seat heater rear center", "SeatHeaterRearCenter", 4),
	seatHeater("seat_heater_rear_right", "Seat heater rear right", "SeatHeaterRearRight", 5),
	{Name: "steering_wheel_heater", Target: Vehicle, Platform: PlatformSelect, Endpoint: EndpointCommand, Label: "Steering wheel heater",
		Icon: "mdi:steering", Input: InputSelect, Command: "remote_steering_wheel_heat_level_request", Param: "level",
		Options: []string{"off", "low", "high"}, Values: []any{0, 1, 3}, StateField: "HvacSteeringWheelHeatLevel"},
	{Name: "frunk", Target: Vehicle, Platform: PlatformButton, Endpoint: EndpointCommand, Label: "Open frunk", Icon: "mdi:car-select",
		Input: InputChoice, Choices: press(cmdBody("actuate_trunk", map[string]any{"which_trunk": "front"}))},
	{Name: "trunk", Target: Vehicle, Platform: PlatformCover, Endpoint: EndpointCommand, Label: "Trunk", Icon: "mdi:car-back",
		Input: InputChoice, Choices: []Choice{
			{Payload: "OPEN", Action: cmdBody("actuate_trunk", map[string]any{"which_trunk": "rear"}),
				SkipIf: &Condition{Field: "DoorState", Key: "TrunkRear", Value: "true"}},
			{Payload: "CLOSE", Action: cmdBody("actuate_trunk", map[string]any{"which_trunk": "rear"}),
				SkipIf: &Condition{Field: "DoorState", Key: "TrunkRear", Value: "false"}},
		}, StateField: "DoorState"},
	{Name: "windows", Target: Vehicle, Platform: PlatformCover, Endpoint: EndpointCommand, Label: "Windows", Icon: "mdi:car-door",
		Input: InputChoice, Choices: []Choice{
			{Payload: "OPEN", Action: Action{Command: "window_control", Body: map[string]any{"command": "vent"}, Location: true}},
			{Payload: "CLOSE", Action: Action{Command: "window_control", Body: map[string]any{"command": "close"}, Location: true}},
		}, StateField: WindowsStateField},
	{Name: "flash_lights", Target: Vehicle, Platform: PlatformButton, Endpoint: EndpointCommand, Label: "Flash lights",
		Icon: "mdi:car-light-high", Input: InputChoice, Choices: press(cmd("flash_lights"))},
	{Name: "honk_horn", Target: Vehicle, Platform: PlatformButton, Endpoint: EndpointCommand, Label: "Honk horn",
		Icon: "mdi:bullhorn", Input: InputChoice, Choices: press(cmd("honk_horn"))},
	{Name: "homelink", Target: Vehicle, Platform: PlatformButton, Endpoint: EndpointCommand, Label: "HomeLink",
		Icon: "mdi:garage", Input: InputChoice, Choices: press(Action{Command: "trigger_homelink", Location: true})},
	{Name: "wake", Target: Vehicle, Platform: PlatformButton, Endpoint: EndpointWake, Label: "Wake up",
		Icon: "mdi:sleep-off", Input: InputChoice, Choices: press(cmd("wake_up"))},

	// Energy sites. StateField is the site_info key (dotted for nested members).
	{Name: "backup_reserve", Target: Site, Platform: PlatformNumber, Endpoint: EndpointSite, Label: "Backup reserve",
		Icon: "mdi:home-battery", Input: InputNumber, Command: "backup", Param: "backup_reserve_percent",
		Min: 0, Max: 100, Step: 1, Unit: "%", StateField: "backup_reserve_percent"},
	{Name: "operation_mode", Target: Site, Platform: PlatformSelect, Endpoint: EndpointSite, Label: "Operation mode setting",
		Icon: "mdi:home-lightning-bolt", Input: InputSelect, Command: "operation", Param: "default_real_mode",
		Options: []string{"autonomous", "self_consumption", "backup"}, Values: []any{"autonomous", "self_consumption", "backup"},
		StateField: "default_real_mode"},
	{Name: "export_rule", Target: Site, Platform: PlatformSelect, Endpoint: EndpointSite, Label: "Export rule",
		Icon: "mdi:transmission-tower-export", Input: InputSelect, Command: "grid_import_export", Param: "customer_preferred_export_rule",
		Options: []string{"never", "battery_ok", "pv_only"}, Values: []any{"never", "battery_ok", "pv_only"},
		StateField: "components.customer_preferred_export_rule"},
	{Name: "grid_charging", Target: Site, Platform: PlatformSwitch, Endpoint: EndpointSite, Label: "Grid charging",
		Icon: "mdi:transmission-tower-import", Input: InputChoice,
		Choices:    onOff("grid_import_export", "disallow_charge_from_grid_with_solar_installed", nil, true),
		StateField: "components.disallow_charge_from_grid_with_solar_installed"},
	{Name: "storm_watch", Target: Site, Platform: PlatformSwitch, Endpoint: EndpointSite, Label: "Storm watch",
		Icon: "mdi:weather-lightning", Input: InputChoice, Choices: onOff("storm_mode", "enabled", nil, false),
		StateField: "user_settings.storm_mode_enabled"},
	{Name: "off_grid_ev_reserve", Target: Site, Platform: PlatformNumber, Endpoint: EndpointSite, Label: "Off-grid EV reserve",
		Icon: "mdi:ev-station", Input: InputNumber, Command: "off_grid_vehicle_charging_reserve",
		Param: "off_grid_vehicle_charging_reserve_percent", Min: 0, Max: 100, Step: 1, Unit: "%",
		StateField: "off_grid_vehicle_charging_reserve_percent"},
}

// WindowsStateField names the derived windows state (<base>/<VIN>/derived/windows)
// as the windows control's state source.
const WindowsStateField = "derived/windows"

// WindowFields are the streamed window fields the derived windows state is made of.
var WindowFields = []string{"FdWindow", "FpWindow", "RdWindow", "RpWindow"}

var byKey = func() map[[2]string]*Control {
	m := make(map[[2]string]*Control, len(controls))
	for i := range controls {
		c := &controls[i]
		m[[2]string{c.Target.String(), c.Name}] = c
	}
	return m
}()

// Lookup returns the control of a target by name.
func Lookup(t Target, name string) (*Control, bool) {
	c, ok := byKey[[2]string{t.String(), name}]
	return c, ok
}

// Controls returns every control of a target in table order. The controls
// are shared and read-only.
func Controls(t Target) []*Control {
	var out []*Control
	for i := range controls {
		if controls[i].Target == t {
			out = append(out, &controls[i])
		}
	}
	return out
}
