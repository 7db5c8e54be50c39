package catalog

import "testing"

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"BatteryLevel":                   "battery_level",
		"ACChargingPower":                "ac_charging_power",
		"DCDCEnable":                     "dcdc_enable",
		"BMSState":                       "bms_state",
		"HvacACEnabled":                  "hvac_ac_enabled",
		"DiHeatsinkTREL":                 "di_heatsink_trel",
		"PowershareInstantaneousPowerKW": "powershare_instantaneous_power_kw",
		"SemitruckTpmsPressureRe1L0":     "semitruck_tpms_pressure_re1_l0",
		"Setting24HourTime":              "setting24_hour_time",
		"DoorState_DriverFront":          "door_state_driver_front",
		"FdWindow_open":                  "fd_window_open",
		"TpmsSoftWarnings_front_left":    "tpms_soft_warnings_front_left",
		"connectivity_wifi":              "connectivity_wifi",
		"Weird..Name-":                   "weird_name",
	} {
		if got := Snake(in); got != want {
			t.Errorf("Snake(%q) = %q, want %q", in, got, want)
		}
	}
}
