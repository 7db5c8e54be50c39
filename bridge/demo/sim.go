package demo

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
)

// simCars answers the demo's commands itself: each command is accepted and
// the simulated car's next values show its effect (docs/commands.md, "Trying
// it without a car"). It implements command.Sender.
type simCars struct {
	ingest func(teslemetry.Event) // the bridge's Ingest; set before the first command

	mu        sync.Mutex
	trunkOpen map[string]bool
}

func newSimCars() *simCars { return &simCars{trunkOpen: map[string]bool{}} }

var okResult = rest.Response{Status: 200, Result: json.RawMessage(`{"result":true,"reason":""}`),
	Body: []byte(`{"response":{"result":true,"reason":""}}`)}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func str(s string) json.RawMessage { return raw(s) }

// Command implements command.Sender.
func (s *simCars) Command(_ context.Context, vin, name string, body any) (rest.Response, error) {
	var args map[string]any
	_ = json.Unmarshal(raw(body), &args)
	num := func(k string) json.RawMessage {
		if f, ok := args[k].(float64); ok {
			return json.RawMessage(strconv.FormatFloat(f, 'f', -1, 64))
		}
		return nil
	}
	on, _ := args["on"].(bool)
	var data []teslemetry.Datum
	add := func(field string, v json.RawMessage) {
		if v != nil {
			data = append(data, teslemetry.Datum{Field: field, Value: v})
		}
	}
	switch name {
	case "door_lock", "door_unlock":
		add("Locked", raw(name == "door_lock"))
	case "charge_start":
		add("DetailedChargeState", str("DetailedChargeStateCharging"))
	case "charge_stop":
		add("DetailedChargeState", str("DetailedChargeStateStopped"))
	case "set_charge_limit":
		add("ChargeLimitSoc", num("percent"))
	case "set_charging_amps":
		add("ChargeCurrentRequest", num("charging_amps"))
	case "charge_port_door_open", "charge_port_door_close":
		add("ChargePortDoorOpen", raw(name == "charge_port_door_open"))
	case "auto_conditioning_start":
		add("HvacPower", str("HvacPowerStateOn"))
	case "auto_conditioning_stop":
		add("HvacPower", str("HvacPowerStateOff"))
	case "set_temps":
		add("HvacLeftTemperatureRequest", num("driver_temp"))
		add("HvacRightTemperatureRequest", num("passenger_temp"))
	case "set_preconditioning_max":
		add("DefrostMode", str(map[bool]string{true: "DefrostModeStateMax", false: "DefrostModeStateOff"}[on]))
	case "set_sentry_mode":
		add("SentryMode", str(map[bool]string{true: "SentryModeStateArmed", false: "SentryModeStateOff"}[on]))
	case "set_climate_keeper_mode":
		modes := []string{"Off", "On", "Dog", "Party"}
		if m, ok := args["climate_keeper_mode"].(float64); ok && m >= 0 && int(m) < len(modes) {
			add("ClimateKeeperMode", str("ClimateKeeperModeState"+modes[int(m)]))
		}
	case "remote_seat_heater_request":
		seats := map[float64]string{0: "SeatHeaterLeft", 1: "SeatHeaterRight", 2: "SeatHeaterRearLeft", 4: "SeatHeaterRearCenter", 5: "SeatHeaterRearRight"}
		if h, ok := args["heater"].(float64); ok && seats[h] != "" {
			add(seats[h], num("level"))
		}
	case "remote_steering_wheel_heat_level_request":
		add("HvacSteeringWheelHeatLevel", num("level"))
	case "actuate_trunk":
		if args["which_trunk"] == "rear" {
			s.mu.Lock()
			s.trunkOpen[vin] = !s.trunkOpen[vin]
			open := s.trunkOpen[vin]
			s.mu.Unlock()
			add("DoorState", raw(map[string]bool{"DriverFront": false, "DriverRear": false, "PassengerFront": false,
				"PassengerRear": false, "TrunkFront": false, "TrunkRear": open}))
		}
	case "window_control":
		state := "WindowStateClosed"
		if args["command"] == "vent" {
			state = "WindowStatePartiallyOpen"
		}
		for _, f := range []string{"FdWindow", "FpWindow", "RdWindow", "RpWindow"} {
			add(f, str(state))
		}
	}
	if len(data) > 0 && s.ingest != nil {
		s.ingest(teslemetry.Event{VIN: vin, CreatedAt: time.Now(), Data: data})
	}
	return okResult, nil
}

// Wake implements command.Sender: the simulated car is always awake.
func (s *simCars) Wake(_ context.Context, vin string) (string, rest.Response, error) {
	if s.ingest != nil {
		s.ingest(teslemetry.Event{VIN: vin, CreatedAt: time.Now(), State: "online"})
	}
	return "online", rest.Response{Status: 200, Result: json.RawMessage(`{"state":"online"}`)}, nil
}

// VehicleState implements command.Sender.
func (s *simCars) VehicleState(context.Context, string) (string, rest.Response, error) {
	return "online", rest.Response{Status: 200, Result: json.RawMessage(`{"state":"online"}`)}, nil
}

// SiteCommand implements command.Sender: accepted, nothing changes.
func (s *simCars) SiteCommand(context.Context, string, string, any) (rest.Response, error) {
	return rest.Response{Status: 200, Result: json.RawMessage(`{"code":201,"message":"Updated"}`)}, nil
}
