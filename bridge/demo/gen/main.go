// Command gen writes the demo's bundled recording: two invented cars, a drive
// with navigation, a charging session, doors and windows, an alert, a
// connectivity change, sleep and wake. Run it with `go generate ./bridge/demo`.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

const (
	sparky  = "5YJ3E7EB9NF123456" // Model 3, drives to work
	juniper = "7SAYGDEE1PA098765" // Model Y, charges at home
)

type event struct {
	at   float64
	data map[string]any
}

type recording struct {
	start  time.Time
	events []event
}

func (r *recording) add(at float64, vin string, body map[string]any) {
	ev := map[string]any{"createdAt": r.start.Add(time.Duration(at * float64(time.Second))).UTC().Format("2006-01-02T15:04:05.000Z")}
	if vin != "" {
		ev["vin"] = vin
	}
	for k, v := range body {
		ev[k] = v
	}
	r.events = append(r.events, event{at, ev})
}

func (r *recording) data(at float64, vin string, fields map[string]any) {
	r.add(at, vin, map[string]any{"data": fields})
}

func main() {
	out := "recording.sse"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	r := &recording{start: time.Date(2026, 9, 14, 7, 30, 0, 0, time.UTC)}
	snapshot(r)
	drive(r)
	charge(r)
	sleepAndWake(r)
	sort.SliceStable(r.events, func(i, j int) bool { return r.events[i].at < r.events[j].at })
	f, err := os.Create(out)
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(f)
	for _, ev := range r.events {
		b, err := json.Marshal(ev.data)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(w, ": t=%.3f\ndata: %s\n\n", ev.at, b)
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	f.Close()
}

func snapshot(r *recording) {
	cache := func(body map[string]any) map[string]any { body["isCache"] = true; return body }
	r.add(0, sparky, cache(map[string]any{"state": "online"}))
	r.add(0, juniper, cache(map[string]any{"state": "online"}))
	r.add(0, sparky, cache(map[string]any{"networkInterface": "wifi", "status": "CONNECTED"}))
	r.add(0, juniper, cache(map[string]any{"networkInterface": "wifi", "status": "CONNECTED"}))
	r.add(0, juniper, cache(map[string]any{"networkInterface": "cellular", "status": "CONNECTED"}))
	r.add(0, sparky, cache(map[string]any{"data": map[string]any{
		"VehicleName": "Sparky", "CarType": "CarTypeModel3", "Version": "2026.26.6 3c0a1d2b9e7f",
		"BatteryLevel": 78.2, "Soc": 77.0, "EstBatteryRange": 231.4, "RatedRange": 252.9, "IdealBatteryRange": 252.9,
		"Odometer": 18342.7, "Gear": "ShiftStateP", "VehicleSpeed": 0, "Locked": true, "SentryMode": "SentryModeStateArmed",
		"DetailedChargeState": "DetailedChargeStateDisconnected", "ChargeLimitSoc": 80, "InsideTemp": 22.5, "OutsideTemp": 17.0,
		"Location": map[string]any{"latitude": -27.469771, "longitude": 153.025124}, "GpsHeading": 90,
		"DoorState": doors(false), "FdWindow": "WindowStateClosed", "FpWindow": "WindowStateClosed",
		"RdWindow": "WindowStateClosed", "RpWindow": "WindowStateClosed", "ChargePortDoorOpen": false,
		"TpmsPressureFl": 2.92, "TpmsPressureFr": 2.91, "TpmsPressureRl": 2.88, "TpmsPressureRr": 2.89,
		"HvacPower": "HvacPowerStateOff", "LocatedAtHome": true, "LocatedAtWork": false,
	}}))
	r.add(0, juniper, cache(map[string]any{"data": map[string]any{
		"VehicleName": "Juniper", "CarType": "CarTypeModelY", "Version": "2026.20.3 9b8a7c6d5e4f",
		"BatteryLevel": 41.0, "Soc": 40.1, "EstBatteryRange": 121.8, "RatedRange": 128.4, "IdealBatteryRange": 128.4,
		"Odometer": 9521.4, "Gear": "ShiftStateP", "VehicleSpeed": 0, "Locked": true, "SentryMode": "SentryModeStateOff",
		"DetailedChargeState": "DetailedChargeStateDisconnected", "ChargeLimitSoc": 90, "InsideTemp": 19.0, "OutsideTemp": 16.5,
		"Location":  map[string]any{"latitude": -27.501382, "longitude": 153.002647},
		"DoorState": doors(false), "FdWindow": "WindowStateClosed", "FpWindow": "WindowStateClosed",
		"RdWindow": "WindowStateClosed", "RpWindow": "WindowStateClosed", "ChargePortDoorOpen": false,
		"TpmsPressureFl": 2.95, "TpmsPressureFr": 2.95, "TpmsPressureRl": 2.9, "TpmsPressureRr": 2.92,
		"LocatedAtHome": true,
	}}))
	r.add(0, "", cache(map[string]any{"credits": map[string]any{"type": "snapshot", "name": "snapshot", "cost": 0, "balance": 4620,
		"quota": map[string]any{"used": 318, "fraction": 0.318, "reset_at": "2026-10-01T00:00:00.000Z"}}}))
}

func doors(driverOpen bool) map[string]bool {
	m := make(map[string]bool, len(catalog.Doors))
	for _, d := range catalog.Doors {
		m[d] = false
	}
	m["DriverFront"] = driverOpen
	return m
}

// drive: Sparky unlocks, drives to work with navigation, parks and locks.
func drive(r *recording) {
	r.data(3, sparky, map[string]any{"Locked": false, "SentryMode": "SentryModeStateOff", "DoorState": doors(true)})
	r.data(6, sparky, map[string]any{"DoorState": doors(false), "HvacPower": "HvacPowerStateOn", "Gear": "ShiftStateD"})
	r.data(7, sparky, map[string]any{"DestinationName": "Work", "DestinationLocation": map[string]any{"latitude": -27.45121, "longitude": 153.04187},
		"MinutesToArrival": 9.5, "MilesToArrival": 4.1, "LocatedAtHome": false})
	r.add(8, sparky, map[string]any{"networkInterface": "wifi", "status": "DISCONNECTED"})
	from, to := [2]float64{-27.469771, 153.025124}, [2]float64{-27.45121, 153.04187}
	const steps = 18
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		speed := 38 * math.Sin(math.Pi*f)
		fields := map[string]any{
			"VehicleSpeed":     math.Round(speed*10) / 10,
			"Location":         map[string]any{"latitude": round6(from[0] + f*(to[0]-from[0])), "longitude": round6(from[1] + f*(to[1]-from[1]))},
			"Odometer":         math.Round((18342.7+4.1*f)*10) / 10,
			"BatteryLevel":     math.Round((78.2-1.6*f)*10) / 10,
			"MinutesToArrival": math.Round(9.5*(1-f)*10) / 10, "MilesToArrival": math.Round(4.1*(1-f)*10) / 10,
			"GpsHeading": 45 + i%3,
		}
		if i == 6 {
			fields["LightsTurnSignal"] = "TurnSignalStateLeft"
		}
		if i == 7 {
			fields["LightsTurnSignal"] = "TurnSignalStateOff"
		}
		r.data(8+float64(i)*3, sparky, fields)
	}
	r.data(66, sparky, map[string]any{"Gear": "ShiftStateP", "VehicleSpeed": 0, "MinutesToArrival": nil, "MilesToArrival": nil,
		"DestinationLocation": nil, "LocatedAtWork": true, "HvacPower": "HvacPowerStateOff"})
	r.add(67, sparky, map[string]any{"networkInterface": "wifi", "status": "CONNECTED"})
	r.data(68, sparky, map[string]any{"DoorState": doors(true), "Locked": false})
	r.data(72, sparky, map[string]any{"DoorState": doors(false), "Locked": true, "SentryMode": "SentryModeStateArmed"})
}

// charge: Juniper plugs in at home, charges, a window is left open and an alert comes and goes.
func charge(r *recording) {
	r.data(5, juniper, map[string]any{"ChargePortDoorOpen": true, "ChargePortLatch": "ChargePortLatchEngaged",
		"ChargingCableType": "CableTypeIEC", "DetailedChargeState": "DetailedChargeStateStarting", "ChargeCurrentRequest": 16})
	level := 41.0
	for i := 0; i < 14; i++ {
		at := 9 + float64(i)*5
		level += 0.9
		fields := map[string]any{"BatteryLevel": math.Round(level*10) / 10, "ACChargingPower": 10.8 + float64(i%3)/10,
			"ChargerVoltage": 229.6 + float64(i%4)/10, "ChargeAmps": 16, "ACChargingEnergyIn": math.Round(0.9*float64(i+1)*100) / 100,
			"TimeToFullCharge": math.Round((90-level)/12*100) / 100, "EstBatteryRange": math.Round(level*2.97*10) / 10}
		if i == 0 {
			fields["DetailedChargeState"] = "DetailedChargeStateCharging"
		}
		r.data(at, juniper, fields)
	}
	r.data(80, juniper, map[string]any{"DetailedChargeState": "DetailedChargeStateStopped", "ACChargingPower": 0, "ChargeAmps": 0, "TimeToFullCharge": 0})
	r.data(82, juniper, map[string]any{"ChargePortLatch": "ChargePortLatchDisengaged", "ChargePortDoorOpen": false, "DetailedChargeState": "DetailedChargeStateDisconnected"})
	r.data(12, juniper, map[string]any{"RdWindow": "WindowStatePartiallyOpen"})
	r.data(35, juniper, map[string]any{"RdWindow": "WindowStateClosed"})
	r.add(20, juniper, map[string]any{"alerts": []map[string]any{{"name": "VCSEC_a180_lowKeyFobBattery", "audiences": []string{"Customer"}, "startedAt": "2026-09-14T07:30:20.000Z"}}})
	r.add(50, juniper, map[string]any{"alerts": []map[string]any{{"name": "VCSEC_a180_lowKeyFobBattery", "audiences": []string{"Customer"},
		"startedAt": "2026-09-14T07:30:20.000Z", "endedAt": "2026-09-14T07:30:50.000Z"}}})
	r.add(40, juniper, map[string]any{"networkInterface": "wifi", "status": "DISCONNECTED"})
	r.add(45, juniper, map[string]any{"networkInterface": "wifi", "status": "CONNECTED"})
	r.add(30, "", map[string]any{"credits": map[string]any{"type": "wake_up", "name": "wake_up", "cost": 20, "balance": 4600,
		"quota": map[string]any{"used": 338, "fraction": 0.338, "reset_at": "2026-10-01T00:00:00.000Z"}}})
}

// sleepAndWake: both cars fall asleep, Juniper wakes up for preconditioning.
func sleepAndWake(r *recording) {
	r.add(90, juniper, map[string]any{"state": "asleep"})
	r.add(95, sparky, map[string]any{"state": "asleep"})
	r.add(110, juniper, map[string]any{"state": "online"})
	r.data(111, juniper, map[string]any{"HvacPower": "HvacPowerStatePrecondition", "InsideTemp": 19.5})
	r.data(118, juniper, map[string]any{"InsideTemp": 20.5})
	r.add(119, "", map[string]any{"credits": map[string]any{"balance": 4580}})
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
