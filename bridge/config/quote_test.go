package config

import (
	"strings"
	"testing"
)

func TestQuoteValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"metrc", `"metrc"`},
		{"twelve-chars", `"twelve-chars"`},        // 12: the longest value shown
		{"thirteen-char", "a 13-character value"}, // 13: described only
		{"ääääääääääää", `"ääääääääääää"`}, // characters, not bytes
		{"sk-SECRETTOKEN123456789", "a 23-character value"},
	}
	for _, tc := range cases {
		if got := quoteValue(tc.in); got != tc.want {
			t.Errorf("quoteValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestKeyName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nope", "nope"},
		{"5YJ3E7EB9NF123456", "5YJ3E7EB9NF123456"},           // a VIN names the car, it is no secret
		{"insecure_skip_verfy", "insecure_skip_verfy"},       // a misspelt key of ours stays visible
		{"discovery_prefix2_typo", "discovery_prefix2_typo"}, // lower-case words and digits: the shape of our keys
		{"5YJ3E7EB9NF12345", "<a 16-character key>"},
		{"sk-SECRETTOKEN123456789", "<a 23-character key>"},
		{"SkSECRETTOKEN123456789", "<a 22-character key>"},
		{"ChargeCurrentRequestMax", "ChargeCurrentRequestMax"}, // a field name under teslemetry.fields
		{"ChargeCurentRequestMx", "ChargeCurentRequestMx"},     // and a near miss of one
		{"sk-9f8e7d6c5b4a39281706", "<a 23-character key>"},    // nothing like a field name
	}
	for _, tc := range cases {
		if got := keyName(tc.in); got != tc.want {
			t.Errorf("keyName(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A token or password pasted under the wrong key, or put in the wrong
// environment variable, must not be echoed by any error, in whole or in part,
// while the error still names the key, its line and what is expected.
func TestErrorsNeverEchoLongValues(t *testing.T) {
	const secret = "sk-SECRETTOKEN123456789"
	const tok = "teslemetry: {token: x}\n"
	cases := []struct {
		name, yml string
		env       map[string]string
		key, line string // line "" when the value comes from the environment
		want      string
	}{
		{"duration", "teslemetry:\n  token: x\n  idle_timeout: " + secret + "\n",
			nil, "teslemetry.idle_timeout", "line 3", "is not a duration"},
		{"int", tok + "mqtt:\n  qos: " + secret + "\n",
			nil, "mqtt.qos", "line 3", "must be a whole number (got a 23-character value)"},
		{"int out of range", tok + "mqtt:\n  qos: 1234567890123\n",
			nil, "mqtt.qos", "line 3", "must be 0, 1 or 2 (got a 13-character value)"},
		{"bool", tok + "mqtt:\n  tls:\n    insecure_skip_verify: " + secret + "\n",
			nil, "mqtt.tls.insecure_skip_verify", "line 4", "must be true or false"},
		{"list", "teslemetry:\n  token: x\n  vins: " + secret + "\n",
			nil, "teslemetry.vins", "line 3", "must be a list"},
		{"mapping", tok + "mqtt: " + secret + "\n",
			nil, "mqtt", "line 2", "must be a mapping"},
		{"text", tok + "mqtt:\n  username: {" + secret + ": 1}\n",
			nil, "mqtt.username", "line 3", "must be a text value (got a mapping)"},
		{"nested text", tok + "vehicles:\n  5YJ3E7EB9NF123456:\n    name: [" + secret + "]\n",
			nil, "vehicles.5YJ3E7EB9NF123456.name", "line 4", "must be a text value (got a list)"},
		{"units", tok + "units: " + secret + "\n",
			nil, "units", "line 2", "must be native, metric or imperial"},
		{"log.level", tok + "log:\n  level: " + secret + "\n",
			nil, "log.level", "line 3", "must be debug, info, warn or error"},
		{"log.level from env", tok,
			map[string]string{"LOG_LEVEL": secret}, "log.level", "", "must be debug, info, warn or error"},
		{"log.format", tok + "log:\n  format: " + secret + "\n",
			nil, "log.format", "line 3", "must be text or json"},
		{"webhook.path", tok + "webhook:\n  listen: ':8080'\n  path: " + secret + "\n",
			nil, "webhook.path", "line 4", "must start with /"},
		{"topic wildcard", tok + "mqtt:\n  base_topic: '" + secret + "/#'\n",
			nil, "mqtt.base_topic", "line 3", "must not contain +, # or NUL"},
		{"topic prefix", tok + "homeassistant:\n  discovery_prefix: '" + secret + "/'\n",
			nil, "homeassistant.discovery_prefix", "line 3", "must not start or end with /"},
		{"same prefix", tok + "mqtt: {base_topic: " + secret + "}\nhomeassistant: {discovery_prefix: " + secret + "}\n",
			nil, "homeassistant.discovery_prefix", "line 3", "must differ from mqtt.base_topic"},
		{"vin in list", "teslemetry:\n  token: x\n  vins:\n    - 5YJ3E7EB9NF123456\n    - " + secret + "\n",
			nil, "teslemetry.vins[1]", "line 5", "is not a VIN"},
		{"vin in vehicles", tok + "vehicles:\n  " + secret + ": {name: car}\n",
			nil, "vehicles.<a 23-character key>", "line 3", "a 23-character value is not a VIN"},
		{"unknown key", tok + "mqtt:\n  " + secret + ": x\n",
			nil, "mqtt.<a 23-character key>", "line 3", "unknown key"},
		{"unknown anchor", "teslemetry: {token: *" + secret + "}\n",
			nil, "(file)", "", "unknown anchor a 23-character value referenced"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), envMap(tc.env))
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.key) || !strings.Contains(msg, tc.line) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q should name %q and %q and say %q", msg, tc.key, tc.line, tc.want)
			}
			// Not even a piece: yaml.v3 alone would repeat the first 7 characters.
			for i := 0; i+7 <= len(secret); i++ {
				if piece := secret[i : i+7]; strings.Contains(msg, piece) {
					t.Errorf("error %q repeats %q of the value", msg, piece)
				}
			}
		})
	}
}

// Short values are still quoted, so typos stay easy to spot.
func TestErrorsQuoteShortValues(t *testing.T) {
	const tok = "teslemetry: {token: x}\n"
	cases := []struct{ name, yml, want string }{
		{"units", tok + "units: metrc\n", `units (line 2): must be native, metric or imperial (got "metrc")`},
		{"duration", "teslemetry:\n  token: x\n  idle_timeout: soon\n", `teslemetry.idle_timeout (line 3): "soon" is not a duration (use e.g. 30s, 5m)`},
		{"int", tok + "mqtt:\n  qos: high\n", `mqtt.qos (line 3): must be a whole number (got "high")`},
		{"bool", tok + "mqtt:\n  retain: maybe\n", `mqtt.retain (line 3): must be true or false (got "maybe")`},
		{"qos range", tok + "mqtt:\n  qos: 3\n", `mqtt.qos (line 3): must be 0, 1 or 2 (got "3")`},
		{"log.level", tok + "log: {level: verbose}\n", `log.level (line 2): must be debug, info, warn or error (got "verbose")`},
		{"vin", "teslemetry:\n  token: x\n  vins: [abc]\n", `teslemetry.vins[0] (line 3): "abc" is not a VIN`},
		{"vehicle", tok + "vehicles:\n  nope: {name: a}\n", `vehicles.nope (line 3): "nope" is not a VIN`},
		{"duplicate vehicle", tok + "vehicles:\n  5YJ3E7EB9NF123456: {}\n  5YJ3E7EB9NF123456: {}\n",
			`vehicles.5YJ3E7EB9NF123456 (line 4): is already set on line 3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Decoding lists and maps item by item must keep what yaml.v3 accepted.
func TestListsMapsAndAliasesStillDecode(t *testing.T) {
	yml := `
teslemetry:
  token: x
  vins: [5YJ3E7EB9NF123456, 5YJ3E7EB9NF654321]
vehicles:
  5YJ3E7EB9NF123456: &car {name: Car}
  5YJ3E7EB9NF654321: *car
  5YJ3E7EB9NF111111:
`
	c, err := Parse([]byte(yml), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Teslemetry.VINs) != 2 || c.Teslemetry.VINs[1] != "5YJ3E7EB9NF654321" {
		t.Errorf("vins = %q", c.Teslemetry.VINs)
	}
	if len(c.Vehicles) != 3 || c.VehicleName("5YJ3E7EB9NF654321") != "Car" || c.VehicleName("5YJ3E7EB9NF111111") != "" {
		t.Errorf("vehicles = %+v", c.Vehicles)
	}
}
