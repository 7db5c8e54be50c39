// Package addon runs teslemetry2mqtt as a Home Assistant add-on (app): it maps
// the add-on options in /data/options.json to the bridge configuration and,
// when the user gave no broker, takes the MQTT broker and credentials from the
// Supervisor's MQTT service (addon/DOCS.md).
//
// The options are turned into the equivalent YAML config document and run
// through config.Parse, so defaults and validation are exactly those of a
// config file.
package addon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// OptionsPath is where the Supervisor writes the add-on options.
const OptionsPath = "/data/options.json"

// HTTPListen is the fixed health/metrics listener inside the add-on container;
// the image's HEALTHCHECK asks http://127.0.0.1:8099/healthz.
const HTTPListen = ":8099"

// IngressGateway returns the address Home Assistant's ingress proxy connects
// from. In the add-on the status page answers only to it (and to loopback),
// so it is reachable only through the add-on's panel.
func IngressGateway() netip.Addr { return netip.AddrFrom4([4]byte{172, 30, 32, 2}) }

// WebhookPort is the container port of the webhook receiver, enabled when the
// webhook_authorization option is set (addon/config.yaml maps it as 8098/tcp).
const WebhookPort = 8098

// options are the add-on options as the Supervisor writes them to
// /data/options.json (see addon/config.yaml). A missing or empty option means
// the config package's default.
type options struct {
	Token                string        `json:"token"`
	VINs                 []string      `json:"vins"`
	VehicleNames         []vehicleName `json:"vehicle_names"`
	BaseTopic            string        `json:"base_topic"`
	Discovery            *bool         `json:"discovery"`
	DiscoveryPrefix      string        `json:"discovery_prefix"`
	Units                string        `json:"units"`
	IdleTimeout          flexString    `json:"idle_timeout"`
	OfflineAfter         flexString    `json:"offline_after"`
	EnergySites          *bool         `json:"energy_sites"`
	LogLevel             string        `json:"log_level"`
	MQTTURL              string        `json:"mqtt_url"`
	MQTTUsername         string        `json:"mqtt_username"`
	MQTTPassword         string        `json:"mqtt_password"`
	WebhookAuthorization string        `json:"webhook_authorization"`
	Fields               []fieldOption `json:"fields"`
	Commands             *bool         `json:"commands"`      // commands.enabled
	CommandsDeny         []string      `json:"commands_deny"` // commands.deny
}

// fieldOption is one entry of the fields option: teslemetry.fields as a list
// (docs/fields.md). A name alone means Teslemetry's default interval.
type fieldOption struct {
	Name                  string   `json:"name"`
	IntervalSeconds       *int     `json:"interval_seconds"`
	MinimumDelta          *float64 `json:"minimum_delta"`
	ResendIntervalSeconds *int     `json:"resend_interval_seconds"`
}

// vehicleName gives a VIN its Home Assistant device name.
type vehicleName struct {
	VIN  string `json:"vin"`
	Name string `json:"name"`
}

// flexString accepts a JSON string or number (a duration typed as 45 means 45s).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("expected a text like 30s or a number of seconds")
	}
	*f = flexString(n.String())
	return nil
}

// Detect reports whether the process runs as a Home Assistant add-on:
// SUPERVISOR_TOKEN is set and /data/options.json exists.
func Detect(env config.Env) bool { return detect(env, OptionsPath) }

func detect(env config.Env, path string) bool {
	if tok, ok := env("SUPERVISOR_TOKEN"); !ok || tok == "" {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// LoadSystem is Load for the real add-on environment: it reads OptionsPath and
// asks the Supervisor at DefaultSupervisorURL with $SUPERVISOR_TOKEN.
func LoadSystem(ctx context.Context, env config.Env) (*config.Config, error) {
	data, err := os.ReadFile(OptionsPath)
	if err != nil {
		return nil, fmt.Errorf("reading add-on options: %w", err)
	}
	tok, _ := env("SUPERVISOR_TOKEN")
	return Load(ctx, data, Supervisor{Token: tok}, env)
}

// retryDelays are the pauses between attempts to reach the Supervisor when it
// answers with a network error or a 5xx (it may still be starting).
var retryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// Load maps the add-on options (the JSON of /data/options.json) to a validated
// configuration. When neither the mqtt_url option nor $MQTT_URL names a broker,
// the broker URL and — unless the user set them — the username and password
// come from the Supervisor's MQTT service; without one the error wraps
// ErrNoMQTTService. Invalid options give config.Errors / *config.Error whose
// keys are the add-on option names.
func Load(ctx context.Context, optionsJSON []byte, sup Supervisor, env config.Env) (*config.Config, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("reading add-on options: %v", err)
	}
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}

	var svc *MQTTService
	if strings.TrimSpace(o.MQTTURL) == "" {
		if v, ok := env("MQTT_URL"); !ok || v == "" {
			s, err := askSupervisor(ctx, sup)
			if err != nil {
				return nil, err
			}
			svc = &s
		}
	}

	doc, literals, err := buildDocument(o, svc)
	if err != nil {
		return nil, err
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("building the configuration from the add-on options: %v", err)
	}
	cfg, err := config.Parse(data, env)
	if err != nil {
		return nil, renameErrors(err)
	}
	literals.restore(cfg)
	return cfg, nil
}

// askSupervisor calls sup.MQTT, retrying temporary failures for about 15 s.
func askSupervisor(ctx context.Context, sup Supervisor) (MQTTService, error) {
	for attempt := 0; ; attempt++ {
		s, err := sup.MQTT(ctx)
		if err == nil || !isTemporary(err) || attempt >= len(retryDelays) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return MQTTService{}, err
		case <-time.After(retryDelays[attempt]):
		}
	}
}

// buildDocument returns the YAML config document (as maps) equivalent to the
// options. Only options the user set appear; config.Parse fills in the rest.
func buildDocument(o options, svc *MQTTService) (map[string]any, *literals, error) {
	lit := &literals{}
	teslemetry := map[string]any{}
	mqtt := map[string]any{}
	ha := map[string]any{}
	doc := map[string]any{
		"http": map[string]any{"listen": HTTPListen},
	}

	if s := strings.TrimSpace(o.Token); s != "" {
		teslemetry["token"] = lit.keep(s)
	}
	var vins []string
	for _, v := range o.VINs {
		if v = normVIN(v); v != "" {
			vins = append(vins, v)
		}
	}
	if len(vins) > 0 {
		teslemetry["vins"] = vins
	}
	if s := duration(o.IdleTimeout); s != "" {
		teslemetry["idle_timeout"] = s
	}
	fields, err := fieldsDocument(o.Fields)
	if err != nil {
		return nil, nil, err
	}
	if len(fields) > 0 {
		teslemetry["fields"] = fields
	}
	if s := duration(o.OfflineAfter); s != "" {
		teslemetry["offline_after"] = s
	}
	if o.EnergySites != nil {
		teslemetry["energy_sites"] = *o.EnergySites
	}

	if s := strings.TrimSpace(o.MQTTURL); s != "" {
		if !strings.Contains(s, "://") {
			s = "mqtt://" + s // "core-mosquitto:1883" is what people type
		}
		mqtt["url"] = s
	} else if svc != nil {
		mqtt["url"] = svc.URL()
	}
	username, password := o.MQTTUsername, o.MQTTPassword
	if svc != nil {
		if username == "" {
			username = svc.Username
		}
		if password == "" {
			password = svc.Password
		}
	}
	if username != "" {
		mqtt["username"] = lit.keep(username)
	}
	if password != "" {
		mqtt["password"] = lit.keep(password)
	}
	if s := strings.TrimSpace(o.BaseTopic); s != "" {
		mqtt["base_topic"] = s
	}

	if o.Discovery != nil {
		ha["discovery"] = *o.Discovery
	}
	if s := strings.TrimSpace(o.DiscoveryPrefix); s != "" {
		ha["discovery_prefix"] = s
	}
	if s := strings.TrimSpace(o.Units); s != "" {
		doc["units"] = s
	}

	vehicles := map[string]any{}
	for _, v := range o.VehicleNames {
		vin, name := normVIN(v.VIN), strings.TrimSpace(v.Name)
		if vin == "" || name == "" {
			continue
		}
		vehicles[vin] = map[string]any{"name": lit.keep(name)}
	}
	if len(vehicles) > 0 {
		doc["vehicles"] = vehicles
	}

	if s := o.WebhookAuthorization; strings.TrimSpace(s) != "" {
		doc["webhook"] = map[string]any{
			"listen":        ":" + strconv.Itoa(WebhookPort),
			"authorization": lit.keep(s),
		}
	}

	commands := map[string]any{}
	if o.Commands != nil {
		commands["enabled"] = *o.Commands
	}
	var deny []string
	for _, d := range o.CommandsDeny {
		if d = strings.TrimSpace(d); d != "" {
			deny = append(deny, d)
		}
	}
	if len(deny) > 0 {
		commands["deny"] = deny
	}
	if len(commands) > 0 {
		doc["commands"] = commands
	}

	if s := strings.ToLower(strings.TrimSpace(o.LogLevel)); s != "" {
		if s == "warning" {
			s = "warn"
		}
		doc["log"] = map[string]any{"level": s}
	}

	for key, section := range map[string]map[string]any{"teslemetry": teslemetry, "mqtt": mqtt, "homeassistant": ha} {
		if len(section) > 0 {
			doc[key] = section
		}
	}
	return doc, lit, nil
}

// fieldsDocument turns the fields option (a list) into teslemetry.fields (a
// mapping by name); entries without a name are skipped, a name listed twice
// is an error.
func fieldsDocument(list []fieldOption) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range list {
		name := strings.TrimSpace(f.Name)
		if name == "" {
			continue
		}
		if _, dup := out[name]; dup {
			return nil, &config.Error{Key: "fields (" + name + ")", Msg: "is listed twice; keep one entry per field"}
		}
		spec := map[string]any{}
		if f.IntervalSeconds != nil {
			spec["interval_seconds"] = *f.IntervalSeconds
		}
		if f.MinimumDelta != nil {
			spec["minimum_delta"] = *f.MinimumDelta
		}
		if f.ResendIntervalSeconds != nil {
			spec["resend_interval_seconds"] = *f.ResendIntervalSeconds
		}
		if len(spec) == 0 {
			out[name] = nil // Teslemetry's default interval
		} else {
			out[name] = spec
		}
	}
	return out, nil
}

func normVIN(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// duration turns a duration option into a Go duration string; a bare number is seconds.
func duration(f flexString) string {
	s := strings.TrimSpace(string(f))
	if s == "" {
		return ""
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s + "s"
	}
	return s
}

// literals protects option values from config.Parse's ${VAR} expansion: the
// add-on UI has no environment variables, so a token or password containing
// "${" must reach the bridge exactly as typed.
type literals struct{ values map[string]string }

func (l *literals) keep(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	if l.values == nil {
		l.values = map[string]string{}
	}
	ph := fmt.Sprintf("addon-literal-%d-placeholder", len(l.values))
	l.values[ph] = s
	return ph
}

func (l *literals) restore(c *config.Config) {
	if len(l.values) == 0 {
		return
	}
	fix := func(s *string) {
		if v, ok := l.values[*s]; ok {
			*s = v
		}
	}
	fix(&c.Teslemetry.Token)
	fix(&c.MQTT.Username)
	fix(&c.MQTT.Password)
	fix(&c.Webhook.Authorization)
	for vin, v := range c.Vehicles {
		fix(&v.Name)
		c.Vehicles[vin] = v
	}
}

// optionKeys maps config keys to the add-on option that sets them, so that
// validation errors name what the user sees in the Configuration tab.
var optionKeys = []struct{ config, option string }{
	{"teslemetry.token", "token"},
	{"teslemetry.vins", "vins"},
	{"teslemetry.fields", "fields"},
	{"teslemetry.idle_timeout", "idle_timeout"},
	{"teslemetry.offline_after", "offline_after"},
	{"teslemetry.energy_sites", "energy_sites"},
	{"mqtt.url", "mqtt_url"},
	{"mqtt.username", "mqtt_username"},
	{"mqtt.password", "mqtt_password"},
	{"mqtt.base_topic", "base_topic"},
	{"homeassistant.discovery_prefix", "discovery_prefix"},
	{"homeassistant.discovery", "discovery"},
	{"vehicles", "vehicle_names"},
	{"webhook.authorization", "webhook_authorization"},
	{"log.level", "log_level"},
}

func optionKey(key string) string {
	for _, m := range optionKeys {
		if key == m.config {
			return m.option
		}
		if rest, ok := strings.CutPrefix(key, m.config); ok && (rest[0] == '.' || rest[0] == '[') {
			if m.option == "vehicle_names" || m.option == "fields" {
				return m.option + " (" + rest[1:] + ")"
			}
			return m.option + rest
		}
	}
	return key
}

func renameError(e *config.Error) *config.Error {
	out := &config.Error{Key: optionKey(e.Key), Msg: e.Msg} // lines of the generated YAML mean nothing to the user
	for _, m := range optionKeys {
		out.Msg = strings.ReplaceAll(out.Msg, m.config, m.option)
	}
	if out.Key == "token" && strings.HasPrefix(e.Msg, "is required") {
		out.Msg = "is required: paste your Teslemetry access token into the add-on's Configuration tab " +
			"(or set webhook_authorization to receive webhooks only)"
	}
	return out
}

// renameErrors rewrites config errors in terms of add-on options, keeping their types.
func renameErrors(err error) error {
	var es config.Errors
	if errors.As(err, &es) {
		out := make(config.Errors, len(es))
		for i, e := range es {
			out[i] = renameError(e)
		}
		return out
	}
	var e *config.Error
	if errors.As(err, &e) {
		return renameError(e)
	}
	return err
}
