package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsWithToken(t *testing.T) {
	c, err := Parse([]byte("teslemetry:\n  token: abc\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.URL != "tcp://localhost:1883" || c.MQTT.BaseTopic != "teslemetry" || c.MQTT.QoS != 1 || !c.MQTT.Retain {
		t.Errorf("mqtt defaults wrong: %+v", c.MQTT)
	}
	if !c.Teslemetry.Cache || c.Teslemetry.IdleTimeout.Std() != 30*time.Second || c.Teslemetry.OfflineAfter.Std() != time.Minute {
		t.Errorf("teslemetry defaults wrong: %+v", c.Teslemetry)
	}
	if !c.HomeAssistant.Discovery || c.HomeAssistant.DiscoveryPrefix != "homeassistant" || c.Units != "native" {
		t.Errorf("ha/units defaults wrong: %+v %s", c.HomeAssistant, c.Units)
	}
}

func TestFullExample(t *testing.T) {
	yml := `
teslemetry:
  token: ${TOK}
  url: https://eu.teslemetry.com
  vins: [5YJ3E7EB9NF123456]
  cache: false
  idle_timeout: 45s
  offline_after: 2m
mqtt:
  url: mqtts://broker:8883
  username: u
  password: "${PW:-fallback}"
  base_topic: tesla
  qos: 0
  retain: false
  tls: {ca_file: /ca.pem, insecure_skip_verify: true}
homeassistant: {discovery: false, discovery_prefix: ha, status_topic: ha/status}
units: metric
vehicles:
  5YJ3E7EB9NF123456: {name: "Model 3"}
webhook: {listen: ":8080", path: /hook, authorization: secret}
log: {level: debug, format: json}
http: {listen: ":8099"}
`
	c, err := Parse([]byte(yml), envMap(map[string]string{"TOK": "tok-123"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Teslemetry.Token != "tok-123" || c.MQTT.Password != "fallback" {
		t.Errorf("expansion: token=%q password=%q", c.Teslemetry.Token, c.MQTT.Password)
	}
	if c.Teslemetry.Cache || c.Teslemetry.IdleTimeout.Std() != 45*time.Second || c.Teslemetry.OfflineAfter.Std() != 2*time.Minute {
		t.Errorf("teslemetry: %+v", c.Teslemetry)
	}
	if c.MQTT.QoS != 0 || c.MQTT.Retain || c.MQTT.TLS.CAFile != "/ca.pem" || !c.MQTT.TLS.InsecureSkipVerify {
		t.Errorf("mqtt: %+v", c.MQTT)
	}
	if c.VehicleName("5YJ3E7EB9NF123456") != "Model 3" || c.Units != "metric" || c.Log.Format != "json" {
		t.Errorf("misc: %+v", c)
	}
}

func TestEnvOverridesWin(t *testing.T) {
	c, err := Parse([]byte("teslemetry: {token: file}\nmqtt: {url: tcp://a:1, password: filepw}\n"), envMap(map[string]string{
		"TESLEMETRY_TOKEN": "envtok", "MQTT_URL": "tcp://b:2", "MQTT_PASSWORD": "envpw", "LOG_LEVEL": "debug", "MQTT_USERNAME": "", "HTTP_LISTEN": ":9000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Teslemetry.Token != "envtok" || c.MQTT.URL != "tcp://b:2" || c.MQTT.Password != "envpw" || c.Log.Level != "debug" || c.HTTP.Listen != ":9000" {
		t.Errorf("env overrides not applied: %+v", c)
	}
}

func TestInvalidConfigNamesKey(t *testing.T) {
	cases := []struct{ name, yml, key, line string }{
		{"unknown key", "teslemetry: {token: x}\nmqtt:\n  urll: tcp://x:1\n", "mqtt.urll", "line 3"},
		{"unknown top key", "teslemetry: {token: x}\nunit: metric\n", "unit", "line 2"},
		{"missing token", "mqtt: {url: tcp://x:1}\n", "teslemetry.token", ""},
		{"bad vin", "teslemetry:\n  token: x\n  vins: [abc]\n", "teslemetry.vins[0]", ""},
		{"bad qos", "teslemetry: {token: x}\nmqtt:\n  qos: 3\n", "mqtt.qos", "line 3"},
		{"bad scheme", "teslemetry: {token: x}\nmqtt: {url: 'http://x:1'}\n", "mqtt.url", "line 2"},
		{"bad tesla url", "teslemetry: {token: x, url: 'ftp://x'}\n", "teslemetry.url", ""},
		{"wildcard base", "teslemetry: {token: x}\nmqtt: {base_topic: 'a/#'}\n", "mqtt.base_topic", ""},
		{"empty base", "teslemetry: {token: x}\nmqtt: {base_topic: ''}\n", "mqtt.base_topic", ""},
		{"same prefix", "teslemetry: {token: x}\nmqtt: {base_topic: homeassistant}\n", "homeassistant.discovery_prefix", ""},
		{"units", "teslemetry: {token: x}\nunits: kelvin\n", "units", "line 2"},
		{"duration", "teslemetry:\n  token: x\n  idle_timeout: soon\n", "teslemetry.idle_timeout", "line 3"},
		{"type", "teslemetry: {token: x}\nmqtt:\n  qos: high\n", "mqtt.qos", "line 3"},
		{"vehicle vin", "teslemetry: {token: x}\nvehicles:\n  nope: {name: a}\n", "vehicles.nope", ""},
		{"vehicle key", "teslemetry: {token: x}\nvehicles:\n  5YJ3E7EB9NF123456: {nam: a}\n", "vehicles.5YJ3E7EB9NF123456.nam", "line 3"},
		{"not yaml", "teslemetry: [\n", "(file)", ""},
		{"section twice", "teslemetry: {token: x}\nmqtt:\n  qos: 0\nmqtt:\n  retain: false\n", "mqtt (line 4): is already set on line 2", ""},
		{"key twice", "teslemetry:\n  token: x\n  token: y\n", "teslemetry.token (line 3): is already set on line 2", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), envMap(nil))
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.line) {
				t.Errorf("error %q should name %q and %q", err, tc.key, tc.line)
			}
			var es Errors
			var e *Error
			if !errors.As(err, &es) && !errors.As(err, &e) {
				t.Errorf("error should be a config error, got %T", err)
			}
		})
	}
}

func TestWebhookOnlyNeedsNoToken(t *testing.T) {
	if _, err := Parse([]byte("webhook: {listen: ':8080'}\n"), envMap(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	c, err := Parse([]byte("teslemetry: {token: s3cr3t-token}\nmqtt: {password: hunter2}\nwebhook: {authorization: Bearer-xyz}\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	out := c.YAML()
	for _, s := range c.Secrets() {
		if strings.Contains(out, s) {
			t.Errorf("secret %q printed:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "<redacted>") || !strings.Contains(out, "base_topic: teslemetry") {
		t.Errorf("unexpected output:\n%s", out)
	}
	if c.Teslemetry.Token != "s3cr3t-token" {
		t.Error("Redacted must not modify the original")
	}
}

func TestRedactedHidesURLPassword(t *testing.T) {
	c, err := Parse([]byte("teslemetry: {token: x}\nmqtt: {url: 'mqtt://bob:url-SECRET@broker:1883'}\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if out := c.YAML(); strings.Contains(out, "url-SECRET") || !strings.Contains(out, "bob:redacted@broker") {
		t.Errorf("URL password printed:\n%s", out)
	}
	if secrets := c.Secrets(); len(secrets) != 2 || secrets[1] != "url-SECRET" {
		t.Errorf("Secrets() = %q", secrets)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	_, err := Parse([]byte("teslemetry: {token: s3cr3t-token, url: 'https://x/?a=1'}\nmqtt: {password: hunter2, url: 'bad://x'}\n"), envMap(nil))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks or is missing: %v", err)
	}
}

// The shipped example must be valid and must equal the defaults.
func TestExampleFileIsValidAndDefault(t *testing.T) {
	c, err := Load("../../config.example.yaml", true, envMap(map[string]string{"TESLEMETRY_TOKEN": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	d.Teslemetry.Token = "t"
	host, _ := os.Hostname()
	d.MQTT.ClientID = DefaultClientID(host, d.MQTT.BaseTopic) // derived when left empty
	if c.YAML() != d.YAML() {
		t.Errorf("config.example.yaml differs from the defaults:\n%s\nvs\n%s", c.YAML(), d.YAML())
	}
}

func TestNewSectionsDecodeAndValidate(t *testing.T) {
	c, err := Parse([]byte("teslemetry:\n  token: t\n  fields:\n    BatteryLevel: 60\n    Location: {interval_seconds: 10, minimum_delta: 0.0001}\n    Odometer: null\ncommands:\n  deny: [lock]\nmqtt:\n  max_payload: 1500\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Teslemetry.Fields
	if *f["BatteryLevel"].IntervalSeconds != 60 || *f["Location"].MinimumDelta != 0.0001 || f["Odometer"].IntervalSeconds != nil || len(f) != 3 {
		t.Fatalf("fields = %+v", f)
	}
	if !c.Commands.Enabled || c.Commands.Deny[0] != "lock" || c.MQTT.MaxPayload != 1500 || !c.Teslemetry.EnergySites {
		t.Fatalf("commands/mqtt = %+v %+v", c.Commands, c.MQTT)
	}
	for _, bad := range []struct{ yaml, key string }{
		{"teslemetry: {token: t, fields: {BatteryLevel: 0}}", "teslemetry.fields.BatteryLevel.interval_seconds"},
		{"teslemetry: {token: t, fields: {BatteryLevel: {minimum_delta: -1}}}", "teslemetry.fields.BatteryLevel.minimum_delta"},
		{"teslemetry: {token: t, fields: {BatteryLevel: {interval: 5}}}", "teslemetry.fields.BatteryLevel"},
		{"teslemetry: {token: t, fields: {BatteryLevel: soon}}", "teslemetry.fields.BatteryLevel"},
		{"teslemetry: {token: t}\ncommands: {max_per_minute: 0}", "commands.max_per_minute"},
		{"teslemetry: {token: t}\nmqtt: {max_payload: -1}", "mqtt.max_payload"},
	} {
		_, err := Parse([]byte(bad.yaml), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("%s: err = %v, want one naming %s", bad.yaml, err, bad.key)
		}
	}
}

func TestFieldNamesAreCheckedAgainstTheCatalog(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"teslemetry:\n  token: t\n  fields:\n    BatteryLevle: 60\n",
			"teslemetry.fields.BatteryLevle (line 4): is not a field the bridge knows; did you mean BatteryLevel?"},
		{"teslemetry:\n  token: t\n  fields:\n    batterylevel: null\n",
			"teslemetry.fields.batterylevel (line 4): is not a field the bridge knows; did you mean BatteryLevel?"},
		{"teslemetry:\n  token: t\n  fields:\n    ChargeCurentRequestMx: {interval_seconds: 0}\n",
			"teslemetry.fields.ChargeCurentRequestMx (line 4): is not a field the bridge knows; did you mean ChargeCurrentRequestMax?"},
		{"teslemetry:\n  token: t\n  fields:\n    Unknown: 10\n", // a placeholder slot, never streamed
			"teslemetry.fields.Unknown (line 4): is not a field the bridge knows"},
		{"teslemetry:\n  token: t\n  fields:\n    sk-9f8e7d6c5b4a39281706: 10\n",
			"teslemetry.fields.<a 23-character key> (line 4): is not a field the bridge knows"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.yaml), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "9f8e7d6c") {
			t.Errorf("the unknown long key is echoed: %v", err)
		}
	}
	// Several unknown names: every one is reported, in name order.
	_, err := Parse([]byte("teslemetry:\n  token: t\n  fields: {Zzz: 1, Odometr: 1, Soc: 5}\n"), envMap(nil))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Key != "teslemetry.fields.Odometr" || es[1].Key != "teslemetry.fields.Zzz" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(es[0].Msg, "did you mean Odometer?") {
		t.Errorf("Odometr: %s", es[0].Msg)
	}
}

// The teslemetry.fields examples in docs/fields.md and README.md are valid configurations.
func TestFieldsDocExamplesAreValid(t *testing.T) {
	fieldsDoc, err := os.ReadFile("../../docs/fields.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, part := range strings.Split(string(fieldsDoc)+string(readme), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if !strings.HasPrefix(block, "teslemetry:\n  fields:\n") {
			continue
		}
		blocks++
		c, err := Parse([]byte(strings.Replace(block, "teslemetry:\n", "teslemetry:\n  token: t\n", 1)), envMap(nil))
		if err != nil {
			t.Errorf("docs/fields.md example:\n%s\n%v", block, err)
			continue
		}
		if len(c.Teslemetry.Fields) < 5 {
			t.Errorf("example decoded to %d fields", len(c.Teslemetry.Fields))
		}
	}
	if blocks != 3 {
		t.Errorf("found %d teslemetry.fields examples in docs/fields.md and README.md, want 3", blocks)
	}
}

// A token with whitespace or control characters can never authenticate: it
// is refused up front, and the message never repeats it.
func TestTokenCharactersChecked(t *testing.T) {
	const secret = "tok-SECRET-abc"
	cases := []struct{ name, yamlToken, envToken string }{
		{"space", secret + " x", ""},
		{"newline", secret + "\\n", ""},
		{"tab", "\\t" + secret, ""},
		{"non-ASCII", secret + "\\u00e9", ""},
		{"nbsp", secret + "\\u00a0", ""},
		{"env CR", "", secret + "\r"},
		{"env NUL", "", secret + "\x00"},
		{"env DEL", "", secret + "\x7f"},
		{"env trailing newline", "", secret + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yml, env := "teslemetry: {}\n", envMap(map[string]string{"TESLEMETRY_TOKEN": tc.envToken})
			if tc.yamlToken != "" {
				yml, env = "teslemetry:\n  token: \""+tc.yamlToken+"\"\n", envMap(nil)
			}
			_, err := Parse([]byte(yml), env)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "teslemetry.token") || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q: want the key, never the token", err)
			}
		})
	}
	if _, err := Parse([]byte("teslemetry: {token: 'aZ09-_.~+/=:'}\n"), envMap(nil)); err != nil {
		t.Errorf("a token of printable ASCII refused: %v", err)
	}
}

func TestDefaultClientIDPerHostAndBaseTopic(t *testing.T) {
	a := DefaultClientID("pi", "teslemetry")
	if a != DefaultClientID("pi", "teslemetry") || !strings.HasPrefix(a, "teslemetry2mqtt-") || len(a) != len("teslemetry2mqtt-")+8 {
		t.Fatalf("DefaultClientID = %q: want teslemetry2mqtt-<8 hex>, stable", a)
	}
	if a == DefaultClientID("nas", "teslemetry") || a == DefaultClientID("pi", "tesla2") {
		t.Error("two hosts or two base topics share a client id")
	}
	c, err := Parse([]byte("teslemetry: {token: t}\nmqtt: {base_topic: car2}\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if want := DefaultClientID(host, "car2"); c.MQTT.ClientID != want || !strings.Contains(c.YAML(), "client_id: "+want) {
		t.Errorf("effective client id %q, want %q (and shown by check-config)", c.MQTT.ClientID, want)
	}
	c, err = Parse([]byte("teslemetry: {token: t}\nmqtt: {client_id: mine}\n"), envMap(nil))
	if err != nil || c.MQTT.ClientID != "mine" {
		t.Errorf("explicit client id not kept: %v %v", c, err)
	}
}
