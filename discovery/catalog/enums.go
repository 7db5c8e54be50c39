package catalog

// enumType is the wire form of one proto enum: values arrive as
// <Prefix><Option> and are published as <Option>.
type enumType struct {
	Prefix  string
	Options []string // without "Unknown", which the bridge publishes as null
}

// enumTypes holds every enum type used by a field, keyed by the enum_type
// column of testdata/fleet-fields.tsv. Options follow testdata/fleet-enums.tsv in proto order,
// plus the members Teslemetry streams that the proto at 4767414 lacks
// (BuckleStatusSNA, DetailedChargeStateCalibrating). The prefix is the type
// name without a trailing "Value", except ChargeUnitPreference → ChargeUnit.
var enumTypes = map[string]enumType{
	"BMSStateValue":                      {"BMSState", []string{"Standby", "Drive", "Support", "Charge", "FEIM", "ClearFault", "Fault", "Weld", "Test", "SNA"}},
	"BuckleStatus":                       {"BuckleStatus", []string{"Unlatched", "Latched", "Faulted", "SNA"}},
	"CabinOverheatProtectionModeState":   {"CabinOverheatProtectionModeState", []string{"Off", "On", "FanOnly"}},
	"CableType":                          {"CableType", []string{"IEC", "SAE", "GB_AC", "GB_DC", "SNA"}},
	"CarTypeValue":                       {"CarType", []string{"ModelS", "ModelX", "Model3", "ModelY", "SemiTruck", "Cybertruck"}},
	"ChargePortLatchValue":               {"ChargePortLatch", []string{"SNA", "Disengaged", "Engaged", "Blocking"}},
	"ChargePortValue":                    {"ChargePort", []string{"US", "EU", "GB", "CCS"}},
	"ChargeUnitPreference":               {"ChargeUnit", []string{"Distance", "Percent"}},
	"ClimateKeeperModeState":             {"ClimateKeeperModeState", []string{"Off", "On", "Dog", "Party"}},
	"ClimateOverheatProtectionTempLimit": {"ClimateOverheatProtectionTempLimit", []string{"High", "Medium", "Low"}},
	"DefrostModeState":                   {"DefrostModeState", []string{"Off", "Normal", "Max", "AutoDefog"}},
	"DetailedChargeStateValue":           {"DetailedChargeState", []string{"Disconnected", "NoPower", "Starting", "Charging", "Complete", "Stopped", "Calibrating"}},
	"DisplayState":                       {"DisplayState", []string{"Off", "Dim", "Accessory", "On", "Driving", "Charging", "Lock", "Sentry", "Dog", "Entertainment"}},
	"DistanceUnit":                       {"DistanceUnit", []string{"Miles", "Kilometers"}},
	"DriveInverterState":                 {"DriveInverterState", []string{"Unavailable", "Standby", "Fault", "Abort", "Enable"}},
	"FastCharger":                        {"FastCharger", []string{"Supercharger", "CHAdeMO", "GB", "ACSingleWireCAN", "Combo", "MCSingleWireCAN", "Other", "SNA"}},
	"FollowDistance":                     {"FollowDistance", []string{"1", "2", "3", "4", "5", "6", "7"}},
	"ForwardCollisionSensitivity":        {"ForwardCollisionSensitivity", []string{"Off", "Late", "Average", "Early"}},
	"GuestModeMobileAccess": {"GuestModeMobileAccess", []string{
		"Init", "NotAuthenticated", "Authenticated", "AbortedDriving", "AbortedUsingRemoteStart",
		"AbortedUsingBLEKeys", "AbortedValetMode", "AbortedGuestModeOff", "AbortedDriveAuthTimeExceeded",
		"AbortedNoDataReceived", "RequestingFromMothership", "RequestingFromAuthD", "AbortedFetchFailed",
		"AbortedBadDataReceived", "ShowingQRCode", "SwipedAway", "DismissedQRCodeExpired",
		"SucceededPairedNewBLEKey",
	}},
	"HvacAutoModeState":          {"HvacAutoModeState", []string{"On", "Override"}},
	"HvacPowerState":             {"HvacPowerState", []string{"Off", "On", "Precondition", "OverheatProtect"}},
	"HvilStatus":                 {"HvilStatus", []string{"Fault", "OK"}},
	"LaneAssistLevel":            {"LaneAssistLevel", []string{"None", "Warning", "Assist"}},
	"MediaStatus":                {"MediaStatus", []string{"Stopped", "Playing", "Paused"}},
	"PowershareState":            {"PowershareState", []string{"Inactive", "Handshaking", "Init", "Enabled", "EnabledReconnectingSoon", "Stopped"}},
	"PowershareStopReasonStatus": {"PowershareStopReasonStatus", []string{"None", "SOCTooLow", "Retry", "Fault", "User", "Reconnecting", "Authentication"}},
	"PowershareTypeStatus":       {"PowershareTypeStatus", []string{"None", "Load", "Home"}},
	"PressureUnit":               {"PressureUnit", []string{"Psi", "Bar"}},
	"ScheduledChargingModeValue": {"ScheduledChargingMode", []string{"Off", "StartAt", "DepartBy"}},
	"SeatFoldPosition":           {"SeatFoldPosition", []string{"SNA", "Faulted", "NotConfigured", "Folded", "Unfolded"}},
	"SentryModeState":            {"SentryModeState", []string{"Off", "Idle", "Armed", "Aware", "Panic", "Quiet"}},
	"ShiftState":                 {"ShiftState", []string{"Invalid", "P", "R", "N", "D", "SNA"}},
	"SpeedAssistLevel":           {"SpeedAssistLevel", []string{"None", "Display", "Chime"}},
	"SunroofInstalledState":      {"SunroofInstalledState", []string{"NotInstalled", "Gen1Installed", "Gen2Installed"}},
	"TemperatureUnit":            {"TemperatureUnit", []string{"Fahrenheit", "Celsius"}},
	"TonneauPositionState":       {"TonneauPositionState", []string{"Invalid", "Closed", "PartiallyOpen", "FullyOpen"}},
	"TonneauTentModeState":       {"TonneauTentModeState", []string{"Inactive", "Moving", "Failed", "Active"}},
	"TractorAirStatus":           {"TractorAirStatus", []string{"NotAvailable", "Error", "Charged", "BuildingPressureIntermediate", "ExhaustingPressureIntermediate", "Exhausted"}},
	"TrailerAirStatus":           {"TrailerAirStatus", []string{"SNA", "Invalid", "BobtailMode", "Charged", "BuildingPressureIntermediate", "ExhaustingPressureIntermediate", "Exhausted"}},
	"TurnSignalState":            {"TurnSignalState", []string{"Off", "Left", "Right", "Both"}},
	"WindowState":                {"WindowState", []string{"Closed", "PartiallyOpen", "Opened"}},
}

// Doors are the members of a DoorState value, in the order the bridge
// publishes them; all six are always published (docs/payloads.md).
var Doors = [...]string{"DriverFront", "DriverRear", "PassengerFront", "PassengerRear", "TrunkFront", "TrunkRear"}

// Tires are the TPMS warning members of a tire-location value as published
// (snake_case, proto order); the first AlwaysTires (an ordinary car's four
// wheels) are always published, the others only when sent.
var Tires = [...]string{"front_left", "front_right", "rear_left", "rear_right",
	"semi_middle_axle_left_2", "semi_middle_axle_right_2", "semi_rear_axle_left", "semi_rear_axle_right",
	"semi_rear_axle_left_2", "semi_rear_axle_right_2"}

// AlwaysTires is how many of Tires every tire-location value carries.
const AlwaysTires = 4
