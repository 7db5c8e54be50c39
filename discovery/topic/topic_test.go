package topic

import (
	"strings"
	"testing"
)

const vin = "5YJ3E7EB9NF123456"

func TestBuild(t *testing.T) {
	s := New("teslemetry", "homeassistant")
	cases := map[string]string{
		s.BridgeState():                                         "teslemetry/bridge/state",
		s.BridgeInfo():                                          "teslemetry/bridge/info",
		s.BridgeCredits():                                       "teslemetry/bridge/credits",
		s.Vehicle(vin, Availability):                            "teslemetry/" + vin + "/availability",
		s.Vehicle(vin, LevelAlerts, "X"):                        "teslemetry/" + vin + "/alerts/X",
		s.Value(vin, "Battery Level"):                           "teslemetry/" + vin + "/v/Battery_Level",
		string(s.AppendValue(nil, vin, "A+#")):                  "teslemetry/" + vin + "/v/A__",
		s.Site("123", LevelSet, "backup_reserve"):               "teslemetry/site/123/set/backup_reserve",
		s.VehicleSetFilter():                                    "teslemetry/+/set/+",
		s.VehicleCommandFilter():                                "teslemetry/+/command/+",
		s.SiteSetFilter():                                       "teslemetry/site/+/set/+",
		s.DiscoveryConfig("sensor", s.VehicleNode(vin), "x"):    "homeassistant/sensor/teslemetry_" + vin + "/x/config",
		s.DiscoveryConfig("sensor", s.SiteNode("123"), "x"):     "homeassistant/sensor/teslemetry_site_123/x/config",
		s.DiscoveryConfig("binary_sensor", s.BridgeNode(), "x"): "homeassistant/binary_sensor/teslemetry_bridge/x/config",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := New("a/b", "p").VehicleNode(vin); got != "a_b_"+vin {
		t.Errorf("node id of nested base: %q", got)
	}
}

func TestParseOwnsOnlyItsOwn(t *testing.T) {
	s := New("teslemetry", "homeassistant")
	cases := []struct {
		topic string
		want  Owner
	}{
		{"teslemetry/bridge/state", Owner{Kind: Bridge}},
		{"teslemetry/" + vin + "/v/BatteryLevel", Owner{Kind: Vehicle, ID: vin}},
		{"teslemetry/site/2252180000012345/live_status/solar_power", Owner{Kind: Site, ID: "2252180000012345"}},
		{"homeassistant/sensor/teslemetry_" + vin + "/x/config", Owner{Kind: Vehicle, ID: vin}},
		{"homeassistant/sensor/teslemetry_bridge/x/config", Owner{Kind: Bridge}},
		{"homeassistant/sensor/teslemetry_site_42/x/config", Owner{Kind: Site, ID: "42"}},
		// another instance: base teslemetry_garage, or nested under ours
		{"homeassistant/sensor/teslemetry_garage_" + vin + "/x/config", Owner{}},
		{"homeassistant/sensor/teslemetry_garage_bridge/x/config", Owner{}},
		{"homeassistant/sensor/teslemetry_site_bridge/x/config", Owner{}},
		{"teslemetry_garage/" + vin + "/v/BatteryLevel", Owner{}},
		{"teslemetry/garage/" + vin + "/v/BatteryLevel", Owner{}},
		{"teslemetry/site/abc/x", Owner{}},
		{"teslemetry/" + vin, Owner{}},
		{"other/sensor/teslemetry_" + vin + "/x/config", Owner{}},
		{"homeassistant/sensor/teslemetry_" + vin + "/x/y/config", Owner{}},
	}
	for _, c := range cases {
		if got := s.Parse(c.topic); got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.topic, got, c.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	s := New("tm", "ha")
	ok := map[string]Command{
		"tm/" + vin + "/set/lock":          {Owner: Owner{Kind: Vehicle, ID: vin}, Name: "lock"},
		"tm/" + vin + "/command/honk_horn": {Owner: Owner{Kind: Vehicle, ID: vin}, Raw: true, Name: "honk_horn"},
		"tm/site/77/set/backup_reserve":    {Owner: Owner{Kind: Site, ID: "77"}, Name: "backup_reserve"},
	}
	for topic, want := range ok {
		got, isCmd := s.ParseCommand(topic)
		if !isCmd || got != want {
			t.Errorf("ParseCommand(%q) = %+v %v, want %+v", topic, got, isCmd, want)
		}
	}
	for _, topic := range []string{"tm/" + vin + "/set/", "tm/" + vin + "/v/lock", "tm/bridge/set/x", "tm/site/x/set/y", "tm2/" + vin + "/set/lock", "tm/" + vin + "/set/a/b"} {
		if c, isCmd := s.ParseCommand(topic); isCmd {
			t.Errorf("ParseCommand(%q) = %+v, want no command", topic, c)
		}
	}
}

func TestSegment(t *testing.T) {
	for in, want := range map[string]string{"": "_", "Abc_1.-": "Abc_1.-", "a/b+c#\x00": "a_b_c__", "é": "__"} {
		if got := Segment(in); got != want {
			t.Errorf("Segment(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("teslemetry/site/1/set/x")
	f.Add("homeassistant/sensor/teslemetry_" + vin + "/x/config")
	s := New("teslemetry", "homeassistant")
	f.Fuzz(func(t *testing.T, topic string) {
		o := s.Parse(topic)
		if o.Kind == Vehicle && !IsVIN(o.ID) || o.Kind == Site && !IsSiteID(o.ID) {
			t.Fatalf("Parse(%q) = %+v", topic, o)
		}
		if c, ok := s.ParseCommand(topic); ok && s.Parse(topic) != c.Owner {
			t.Fatalf("ParseCommand and Parse disagree on %q", topic)
		}
		seg := Segment(topic)
		if Segment(seg) != seg {
			t.Fatalf("Segment not idempotent on %q", topic)
		}
	})
}

func TestIDPart(t *testing.T) {
	for in, want := range map[string]string{
		"teslemetry": "teslemetry",
		"t2m/home":   "t2m_home",
		"a.b-c_d":    "a_b-c_d",
		"grüße":      "gr__e", // one "_" per character, not per byte
		"":           "",
	} {
		if got := IDPart(in); got != want {
			t.Errorf("IDPart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseConfigAndNodeShapes(t *testing.T) {
	o := New("teslemetry", "homeassistant")
	if ct, ok := o.ParseConfig("homeassistant/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/config"); !ok ||
		ct != (ConfigTopic{"sensor", "teslemetry_5YJ3E7EB9NF123456", "BatteryLevel"}) {
		t.Errorf("ParseConfig = %+v, %v", ct, ok)
	}
	for _, bad := range []string{
		"homeassistant/sensor/BatteryLevel/config", // no node level
		"homeassistant/device/x/config",
		"other/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/config",
		"homeassistant/sensor/teslemetry_5YJ3E7EB9NF123456/BatteryLevel/state",
		"homeassistant/sensor/a/b/c/config",
		"homeassistant/sensor//x/config",
	} {
		if ct, ok := o.ParseConfig(bad); ok {
			t.Errorf("ParseConfig(%q) = %+v", bad, ct)
		}
	}
	for node, want := range map[string]struct {
		kind Kind
		id   string
	}{
		"teslemetry_bridge":                      {Bridge, ""},
		"teslemetry_5YJ3E7EB9NF123456":           {Vehicle, "5YJ3E7EB9NF123456"},
		"teslemetry_x_5YJ3E7EB9NF123456":         {None, ""}, // not a VIN after the base: another instance's
		"other_5YJ3E7EB9NF123456":                {None, ""},
		"teslemetry":                             {None, ""},
		"teslemetry_":                            {None, ""},
		"zigbee2mqtt_0x00158d0001a2b3c4":         {None, ""},
		"teslemetry2mqtt_bridge":                 {None, ""},
		"teslemetryX_bridge":                     {None, ""},
		"teslemetry_5YJ3E7EB9NF12345" + "\u00e9": {None, ""},
	} {
		if got := o.ParseNode(node); got.Kind != want.kind || got.ID != want.id {
			t.Errorf("ParseNode(%q) = %+v; want %d, %q", node, got, want.kind, want.id)
		}
	}
}

func TestSegmentCases(t *testing.T) {
	cases := map[string]string{
		"BatteryLevel":                "BatteryLevel",
		"5YJ3E7EB9NF123456":           "5YJ3E7EB9NF123456",
		"VCSEC_a180_lowKeyFobBattery": "VCSEC_a180_lowKeyFobBattery",
		"a.b-c":                       "a.b-c",
		"../#+":                       "..___",
		"a/b":                         "a_b",
		"":                            "_",
		"x\x00y":                      "x_y",
		"Grüße":                       "Gr____e",
		"sp ace":                      "sp_ace",
	}
	for in, want := range cases {
		got := Segment(in)
		if got != want {
			t.Errorf("Segment(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "+#/\x00") || got == "" {
			t.Errorf("Segment(%q) = %q is not a safe level", in, got)
		}
	}
}

func FuzzSegment(f *testing.F) {
	for _, s := range []string{"", "BatteryLevel", "../#+", "a/b/c", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Segment(s)
		if got == "" || strings.ContainsAny(got, "+#/\x00") {
			t.Fatalf("Segment(%q) = %q", s, got)
		}
	})
}
