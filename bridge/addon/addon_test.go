package addon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

const (
	vin1 = "5YJ3E7EB9NF123456"
	vin2 = "7SAYGDEE1PA654321"
)

func envMap(m map[string]string) config.Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// defaultsWith is config.Default() as the add-on runs it: token set, health
// endpoint on :8099, broker from the fake Supervisor.
func defaultsWith(token string) config.Config {
	c := config.Default()
	c.Teslemetry.Token = token
	c.HTTP.Listen = ":8099"
	c.MQTT.URL = "mqtt://core-mosquitto:1883"
	c.MQTT.Username = "addons"
	c.MQTT.Password = brokerPass
	return c
}

func TestLoadMapsOptions(t *testing.T) {
	cases := []struct {
		name    string
		options string
		env     map[string]string
		want    func() config.Config
	}{
		{
			name:    "token only",
			options: `{"token":"tok-1"}`,
			want:    func() config.Config { return defaultsWith("tok-1") },
		},
		{
			name: "defaults of addon/config.yaml",
			options: `{"token":"tok-1","vins":[],"vehicle_names":[],"base_topic":"teslemetry","discovery":true,
				"discovery_prefix":"homeassistant","units":"native","log_level":"info"}`,
			want: func() config.Config { return defaultsWith("tok-1") },
		},
		{
			name: "empty values mean defaults",
			options: `{"token":" tok-1 ","vins":[""],"vehicle_names":[{"vin":"","name":"x"}],"base_topic":"","discovery_prefix":"",
				"units":"","idle_timeout":"","offline_after":"","log_level":"","mqtt_url":"","mqtt_username":"","mqtt_password":"","webhook_authorization":""}`,
			want: func() config.Config { return defaultsWith("tok-1") },
		},
		{
			name:    "commands off, and refused controls",
			options: `{"token":"tok-1","commands":false,"commands_deny":[" lock ","","trunk"]}`,
			want: func() config.Config {
				c := defaultsWith("tok-1")
				c.Commands.Enabled = false
				c.Commands.Deny = []string{"lock", "trunk"}
				return c
			},
		},
		{
			name: "everything set",
			options: `{"token":"tok-2","vins":["` + strings.ToLower(vin1) + `"," ` + vin2 + `"],
				"vehicle_names":[{"vin":"` + vin1 + `","name":"Model 3"},{"vin":"` + vin2 + `","name":" "}],
				"base_topic":"tesla","discovery":false,"discovery_prefix":"ha","units":"metric",
				"idle_timeout":"45","offline_after":"2m","energy_sites":false,"log_level":"warning",
				"mqtt_url":"mqtts://broker.lan:8883","mqtt_username":"me","mqtt_password":"pw",
				"webhook_authorization":"Bearer hook-secret"}`,
			want: func() config.Config {
				c := config.Default()
				c.Teslemetry.Token = "tok-2"
				c.Teslemetry.VINs = []string{vin1, vin2}
				c.Teslemetry.IdleTimeout = config.Duration(45 * time.Second)
				c.Teslemetry.OfflineAfter = config.Duration(2 * time.Minute)
				c.Teslemetry.EnergySites = false
				c.Vehicles = map[string]config.Vehicle{vin1: {Name: "Model 3"}}
				c.MQTT.URL = "mqtts://broker.lan:8883"
				c.MQTT.Username, c.MQTT.Password = "me", "pw"
				c.MQTT.BaseTopic = "tesla"
				c.HomeAssistant.Discovery = false
				c.HomeAssistant.DiscoveryPrefix = "ha"
				c.Units = "metric"
				c.Log.Level = "warn"
				c.Webhook.Listen = ":8098"
				c.Webhook.Authorization = "Bearer hook-secret"
				c.HTTP.Listen = ":8099"
				return c
			},
		},
		{
			name:    "webhooks only, no token",
			options: `{"token":"","webhook_authorization":"s3cret"}`,
			want: func() config.Config {
				c := defaultsWith("")
				c.Webhook.Listen = ":8098"
				c.Webhook.Authorization = "s3cret"
				return c
			},
		},
		{
			name:    "manual credentials win over the Supervisor's",
			options: `{"token":"tok-1","mqtt_username":"me","mqtt_password":"mine"}`,
			want: func() config.Config {
				c := defaultsWith("tok-1")
				c.MQTT.Username, c.MQTT.Password = "me", "mine"
				return c
			},
		},
		{
			name:    "broker without scheme",
			options: `{"token":"tok-1","mqtt_url":"192.168.1.10:1883"}`,
			want: func() config.Config {
				c := defaultsWith("tok-1")
				c.MQTT.URL, c.MQTT.Username, c.MQTT.Password = "mqtt://192.168.1.10:1883", "", ""
				return c
			},
		},
		{
			name:    "MQTT_URL in the environment skips the Supervisor",
			options: `{"token":"tok-1"}`,
			env:     map[string]string{"MQTT_URL": "tcp://env-broker:1883"},
			want: func() config.Config {
				c := defaultsWith("tok-1")
				c.MQTT.URL, c.MQTT.Username, c.MQTT.Password = "tcp://env-broker:1883", "", ""
				return c
			},
		},
		{
			name:    "secrets are literal, not ${VAR}-expanded",
			options: `{"token":"a${HOME}b","mqtt_password":"${X:-y}","webhook_authorization":"${W}","vehicle_names":[{"vin":"` + vin1 + `","name":"${CAR}"}]}`,
			env:     map[string]string{"HOME": "/root", "W": "w"},
			want: func() config.Config {
				c := defaultsWith("a${HOME}b")
				c.MQTT.Password = "${X:-y}"
				c.Webhook.Listen, c.Webhook.Authorization = ":8098", "${W}"
				c.Vehicles = map[string]config.Vehicle{vin1: {Name: "${CAR}"}}
				return c
			},
		},
		{
			name: "fields list becomes teslemetry.fields",
			options: `{"token":"tok-1","fields":[{"name":"BatteryLevel","interval_seconds":60},{"name":" Odometer "},
				{"name":"Location","interval_seconds":10,"minimum_delta":0.0001,"resend_interval_seconds":600},{"name":""}]}`,
			want: func() config.Config {
				c := defaultsWith("tok-1")
				sixty, ten, resend, delta := 60, 10, 600, 0.0001
				c.Teslemetry.Fields = map[string]config.FieldSpec{
					"BatteryLevel": {IntervalSeconds: &sixty},
					"Odometer":     {},
					"Location":     {IntervalSeconds: &ten, MinimumDelta: &delta, ResendIntervalSeconds: &resend},
				}
				return c
			},
		},
		{
			name:    "an empty fields list leaves the cars alone",
			options: `{"token":"tok-1","fields":[]}`,
			want:    func() config.Config { return defaultsWith("tok-1") },
		},
		{
			name:    "unknown options are ignored",
			options: `{"token":"tok-1","removed_in_0_2":true}`,
			want:    func() config.Config { return defaultsWith("tok-1") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSupervisor{status: 200, body: mosquittoAnswer}
			sup := newSupervisor(t, f)
			got, err := Load(context.Background(), []byte(c.options), sup, envMap(c.env))
			if err != nil {
				t.Fatal(err)
			}
			want := c.want()
			host, _ := os.Hostname()
			want.MQTT.ClientID = config.DefaultClientID(host, want.MQTT.BaseTopic) // derived: not an add-on option
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("config mismatch\n got: %+v\nwant: %+v", *got, want)
			}
			manual := strings.Contains(c.options, `"mqtt_url":"m`) || strings.Contains(c.options, `"mqtt_url":"1`) || c.env["MQTT_URL"] != ""
			if asked := f.calls.Load() > 0; asked == manual {
				t.Errorf("Supervisor asked = %v, but manual broker = %v", asked, manual)
			}
		})
	}
}

func TestLoadWithoutMQTTService(t *testing.T) {
	sup := newSupervisor(t, &fakeSupervisor{status: 400, body: `{"result":"error","message":"Service not enabled"}`})
	_, err := Load(context.Background(), []byte(`{"token":"tok-1"}`), sup, envMap(nil))
	if !errors.Is(err, ErrNoMQTTService) {
		t.Fatalf("err = %v, want ErrNoMQTTService", err)
	}
	for _, hint := range []string{"Mosquitto broker", "mqtt_url", "Service not enabled"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %q", err, hint)
		}
	}
	// With a manual broker the missing service does not matter.
	if _, err := Load(context.Background(), []byte(`{"token":"tok-1","mqtt_url":"mqtt://b:1883"}`), sup, envMap(nil)); err != nil {
		t.Errorf("manual broker: %v", err)
	}
}

func TestLoadErrorsNameOptions(t *testing.T) {
	sup := newSupervisor(t, &fakeSupervisor{status: 200, body: mosquittoAnswer})
	cases := []struct {
		options string
		key     string
		msg     string
	}{
		{`{"token":""}`, "token", "Configuration tab"},
		{`{"token":"t","vins":["` + vin1 + `","ABC"]}`, "vins[1]", "not a VIN"},
		{`{"token":"t","vehicle_names":[{"vin":"nope","name":"x"}]}`, "vehicle_names (NOPE)", "not a VIN"},
		{`{"token":"t","base_topic":"home/#"}`, "base_topic", "must not contain"},
		{`{"token":"t","base_topic":"ha","discovery_prefix":"ha"}`, "discovery_prefix", "must differ from base_topic"},
		{`{"token":"t","idle_timeout":"soon"}`, "idle_timeout", "not a duration"},
		{`{"token":"t","offline_after":"-5s"}`, "offline_after", "negative"},
		{`{"token":"t","units":"furlongs"}`, "units", "native, metric or imperial"},
		{`{"token":"t","log_level":"verbose"}`, "log_level", "debug"},
		{`{"token":"t","mqtt_url":"http://broker"}`, "mqtt_url", "scheme"},
		{`{"token":"t","fields":[{"name":"BatteryLevle"}]}`, "fields (BatteryLevle)", "did you mean BatteryLevel?"},
		{`{"token":"t","fields":[{"name":"Soc","interval_seconds":0}]}`, "fields (Soc.interval_seconds)", "at least 1 second"},
		{`{"token":"t","fields":[{"name":"Soc"},{"name":"Soc","interval_seconds":5}]}`, "fields (Soc)", "listed twice"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			_, err := Load(context.Background(), []byte(c.options), sup, envMap(nil))
			if err == nil {
				t.Fatal("no error")
			}
			var found *config.Error
			var es config.Errors
			var e *config.Error
			switch {
			case errors.As(err, &es):
				for _, x := range es {
					if x.Key == c.key {
						found = x
					}
				}
			case errors.As(err, &e) && e.Key == c.key:
				found = e
			}
			if found == nil {
				t.Fatalf("no error for key %q in %v", c.key, err)
			}
			if !strings.Contains(found.Msg, c.msg) || found.Line != 0 {
				t.Errorf("error %q (line %d) does not say %q", found.Error(), found.Line, c.msg)
			}
		})
	}
}

func TestLoadMalformedOptions(t *testing.T) {
	sup := newSupervisor(t, &fakeSupervisor{status: 200, body: mosquittoAnswer})
	for _, s := range []string{``, `[]`, `{"token":`, `{"vins":"x"}`, `{"discovery":"maybe"}`} {
		if _, err := Load(context.Background(), []byte(s), sup, envMap(nil)); err == nil || !strings.Contains(err.Error(), "add-on options") {
			t.Errorf("%s: err = %v", s, err)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := &fakeSupervisor{status: 200, body: mosquittoAnswer}
	sup := newSupervisor(t, f)
	secrets := []string{"tok-SECRET-1", "mqtt-SECRET-2", "hook-SECRET-3", supToken, brokerPass}
	for _, options := range []string{
		// invalid options next to every secret
		`{"token":"tok-SECRET-1","base_topic":"#","mqtt_password":"mqtt-SECRET-2","webhook_authorization":"hook-SECRET-3","vins":["x"],"units":"?","idle_timeout":"x"}`,
		`{"token":"tok-SECRET-1","mqtt_url":"mqtt://u:mqtt-SECRET-2@","mqtt_password":"mqtt-SECRET-2"}`,
		`{"token":"tok-SECRET-1","discovery_prefix":"teslemetry"}`, // Supervisor password in play
	} {
		_, err := Load(context.Background(), []byte(options), sup, envMap(nil))
		if err == nil {
			t.Fatalf("%s: no error", options)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks %q: %v", s, err)
			}
		}
	}
	// Supervisor failures
	for _, body := range []string{
		`{"result":"ok","data":{"host":"h","port":"x","password":"` + brokerPass + `"}}`,
		`{"result":"error","message":"bad token ` + supToken + `"}`,
	} {
		_, err := Load(context.Background(), []byte(`{"token":"tok-SECRET-1"}`), newSupervisor(t, &fakeSupervisor{status: 400, body: body}), envMap(nil))
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks %q: %v", s, err)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "options.json")
	tok := envMap(map[string]string{"SUPERVISOR_TOKEN": "x"})
	if detect(tok, path) {
		t.Error("detected without options.json")
	}
	if err := os.WriteFile(path, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if !detect(tok, path) {
		t.Error("not detected")
	}
	if detect(envMap(nil), path) || detect(envMap(map[string]string{"SUPERVISOR_TOKEN": ""}), path) {
		t.Error("detected without SUPERVISOR_TOKEN")
	}
	if detect(tok, dir) {
		t.Error("a directory is not options.json")
	}
}
