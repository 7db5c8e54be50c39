// Command gen writes the demo's bundled recording: two invented cars, a drive
// with navigation, a charging session, doors and windows, an alert, a
// connectivity change, sleep and wake; and a home battery with solar whose
// whole day passes during the recording (sun rises, the battery charges, the
// evening runs on the battery). Run it with `go generate ./bridge/demo`.
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
	energySite(r)
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

// site is the demo's energy site: a Powerwall with solar and a wall connector.
const (
	site      = "2252180000054321"
	wallConn  = "1457768-02-G--PGT23123000321"
	packWh    = 13500.0
	reserve   = 20.0  // backup reserve, %
	dayLength = 120.0 // seconds of recording for one day
)

// energySite plays one day of the site, compressed into the recording: a
// live_status every 2 s (24 minutes of the day) and the day's energy totals
// every 10 s, both starting at midnight.
func energySite(r *recording) {
	cache := func(body map[string]any) map[string]any { body["isCache"] = true; body["site_id"] = site; return body }
	r.add(0, "", cache(map[string]any{"site_info": map[string]any{
		"id": "STE20240601-00321", "site_name": "Home", "backup_reserve_percent": reserve, "default_real_mode": "self_consumption",
		"installation_date": "2024-06-01T10:00:00+10:00", "version": "25.18.2 5d7e2f1a", "battery_count": 1,
		"nameplate_power": 5000, "nameplate_energy": packWh, "off_grid_vehicle_charging_reserve_percent": 0,
		"user_settings": map[string]any{"storm_mode_enabled": true},
		"components": map[string]any{"battery": true, "solar": true, "grid": true, "load_meter": true,
			"customer_preferred_export_rule": "pv_only", "disallow_charge_from_grid_with_solar_installed": true,
			"wall_connectors": []map[string]any{{"din": wallConn, "part_name": "Gen 3 Wall Connector"}}},
	}}))
	r.add(0, "", cache(map[string]any{"tariff_content_v2": map[string]any{"code": "DEMO-TOU", "name": "Demo time of use",
		"utility": "Demo Energy", "currency": "AUD",
		"energy_charges": map[string]any{"All Year": map[string]any{"rates": map[string]any{"PEAK": 0.42, "OFF_PEAK": 0.21}}}}}))

	soc := 45.0 // % at midnight
	var t totals
	const step = 2.0
	for at := 0.0; at < dayLength; at += step {
		hour := at / dayLength * 24
		dt := step / dayLength * 24 // hours per step
		solar := 0.0
		if hour > 6 && hour < 19 {
			solar = math.Round(6200 * math.Sin(math.Pi*(hour-6)/13))
		}
		load := 350.0 + 1400*bump(hour, 7.5, 1) + 2300*bump(hour, 19, 1.6) + 600*bump(hour, 13, 2)
		charging := hour >= 10 && hour < 14 // Juniper on the wall connector around midday
		wcPower := 0.0
		if charging {
			wcPower = 7200
		}
		load = math.Round(load + wcPower)
		// Battery: charges from surplus solar, covers the deficit down to
		// the reserve; the grid takes the rest.
		surplus := solar - load
		battery := 0.0
		if surplus > 0 {
			room := (100 - soc) / 100 * packWh / dt
			battery = -math.Min(math.Min(surplus, 5000), room)
		} else {
			avail := (soc - reserve) / 100 * packWh / dt
			battery = math.Min(math.Min(-surplus, 5000), math.Max(avail, 0))
		}
		battery = math.Round(battery)
		grid := load - solar - battery // + import, - export
		soc -= battery * dt / packWh * 100
		t.add(solar, load, battery, grid, dt)

		wcState, vin := 2, ""
		if charging {
			wcState, vin = 11, juniper
		} else if hour >= 9.5 && hour < 14.5 {
			wcState, vin = 4, juniper
		}
		clock := time.Date(2026, 9, 14, 0, 0, 0, 0, time.FixedZone("AEST", 10*3600)).Add(time.Duration(hour * float64(time.Hour)))
		body := map[string]any{"site_id": site, "live_status": map[string]any{
			"solar_power": solar, "battery_power": battery, "load_power": load, "grid_power": grid,
			"grid_services_power": 0, "generator_power": 0, "percentage_charged": math.Round(soc*10) / 10,
			"energy_left": math.Round(soc / 100 * packWh), "total_pack_energy": packWh,
			"grid_status": "Active", "island_status": "on_grid", "storm_mode_active": false, "backup_capable": true,
			"timestamp": clock.Format(time.RFC3339),
			"wall_connectors": []map[string]any{{"din": wallConn, "vin": vin, "wall_connector_state": wcState,
				"wall_connector_fault_state": 2, "wall_connector_power": wcPower}},
		}}
		if at == 0 {
			body["isCache"] = true
		}
		r.add(at, "", body)
		if int(at)%10 == 0 {
			ev := map[string]any{"id": site, "totals": t.json()}
			if at == 0 {
				ev["isCache"] = true
			}
			r.add(at+0.5, "", ev)
		}
	}
}

// bump is a smooth peak of height 1 at centre with the given width (hours).
func bump(hour, centre, width float64) float64 {
	d := (hour - centre) / width
	return math.Exp(-d * d)
}

// totals are the day's energy counters of the site, in Wh.
type totals struct {
	solar, home, charge, discharge, imported, exported                     float64
	battFromSolar, battFromGrid, homeFromSolar, homeFromBatt, homeFromGrid float64
}

func (t *totals) add(solar, load, battery, grid, dt float64) {
	t.solar += solar * dt
	t.home += load * dt
	if battery < 0 {
		t.charge += -battery * dt
		t.battFromSolar += -battery * dt
	} else {
		t.discharge += battery * dt
		t.homeFromBatt += battery * dt
	}
	if grid > 0 {
		t.imported += grid * dt
		t.homeFromGrid += grid * dt
	} else {
		t.exported += -grid * dt
	}
	t.homeFromSolar = t.home - t.homeFromBatt - t.homeFromGrid
}

func (t *totals) json() map[string]any {
	wh := func(v float64) float64 { return math.Round(v) }
	return map[string]any{
		"solar_energy_exported": wh(t.solar), "generator_energy_exported": nil,
		"grid_energy_imported": wh(t.imported), "grid_services_energy_imported": nil, "grid_services_energy_exported": nil,
		"grid_energy_exported_from_solar": wh(t.exported), "grid_energy_exported_from_generator": nil,
		"grid_energy_exported_from_battery": 0, "battery_energy_exported": wh(t.discharge),
		"battery_energy_imported_from_grid": wh(t.battFromGrid), "battery_energy_imported_from_solar": wh(t.battFromSolar),
		"battery_energy_imported_from_generator": nil, "consumer_energy_imported_from_grid": wh(t.homeFromGrid),
		"consumer_energy_imported_from_solar": wh(t.homeFromSolar), "consumer_energy_imported_from_battery": wh(t.homeFromBatt),
		"consumer_energy_imported_from_generator": nil, "total_home_usage": wh(t.home), "total_battery_charge": wh(t.charge),
		"total_battery_discharge": wh(t.discharge), "total_solar_generation": wh(t.solar), "total_grid_energy_exported": wh(t.exported),
	}
}
