package bridge

import (
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// purgeFilter keeps exactly this instance's topics: never those of an
// instance whose base topic starts with ours plus "_" or nests under ours.
func TestPurgeFilterOwnsOnlyItsOwn(t *testing.T) {
	const vin, other = "5YJ3E7EB9NF123456", "7SAYGDEE1PA098765"
	all := purgeFilter(topic.New("teslemetry", "homeassistant"), "")
	one := purgeFilter(topic.New("teslemetry", "homeassistant"), vin)
	for topicName, want := range map[string][2]bool{ // {all, --vin}
		"teslemetry/bridge/state":                                               {true, false},
		"teslemetry/" + vin + "/v/BatteryLevel":                                 {true, true},
		"teslemetry/" + other + "/v/BatteryLevel":                               {true, false},
		"teslemetry/site/123/live/solar_power":                                  {true, false},
		"homeassistant/sensor/teslemetry_" + vin + "/BatteryLevel/config":       {true, true},
		"homeassistant/binary_sensor/teslemetry_bridge/connection_state/config": {true, false},
		// another instance, base topic teslemetry_garage
		"teslemetry_garage/" + vin + "/v/BatteryLevel":                           {false, false},
		"teslemetry_garage/bridge/state":                                         {false, false},
		"homeassistant/sensor/teslemetry_garage_" + vin + "/BatteryLevel/config": {false, false},
		"homeassistant/sensor/teslemetry_garage_bridge/x/config":                 {false, false},
		// another instance, base topic teslemetry/garage
		"teslemetry/garage/" + vin + "/v/BatteryLevel": {false, false},
		// someone else entirely
		"homeassistant/sensor/zigbee_x/temp/config": {false, false},
		"other/topic": {false, false},
	} {
		if got := all(topicName); got != want[0] {
			t.Errorf("purge: %s owned = %v, want %v", topicName, got, want[0])
		}
		if got := one(topicName); got != want[1] {
			t.Errorf("purge --vin: %s owned = %v, want %v", topicName, got, want[1])
		}
	}
}
