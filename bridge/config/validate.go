package config

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
)

var vinPattern = regexp.MustCompile(`^[A-Z0-9]{17}$`)

// ValidVIN reports whether s looks like a VIN: 17 characters of A-Z and 0-9.
func ValidVIN(s string) bool { return vinPattern.MatchString(s) }

// tokenProblem names the first character a bearer token cannot contain
// (whitespace, control characters, anything outside printable ASCII) and
// its 1-based position; "" when there is none. Such a token passes no
// Authorization header Teslemetry accepts, so it would fail forever.
func tokenProblem(tok string) (what string, at int) {
	i := 0
	for _, r := range tok {
		i++
		switch {
		case unicode.IsSpace(r):
			return "whitespace", i
		case unicode.IsControl(r):
			return "control characters", i
		case r > unicode.MaxASCII || r == utf8.RuneError:
			return "characters outside printable ASCII", i
		}
	}
	return "", 0
}

// validate checks the decoded configuration. Every message that repeats a
// value goes through quoteValue (and every user-chosen key through keyName):
// a value may come from the environment or be a token under the wrong key.
func (c *Config) validate() Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	t := &c.Teslemetry
	if t.Token == "" && c.Webhook.Listen == "" {
		bad("teslemetry.token", "is required (set it, or TESLEMETRY_TOKEN, or configure webhook.listen for webhooks only)")
	}
	if what, at := tokenProblem(t.Token); what != "" {
		bad("teslemetry.token", "must not contain %s (found one at character %d of %d; check for a pasted line break or quote); the token itself is not shown",
			what, at, utf8.RuneCountInString(t.Token))
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("teslemetry.url", "must be an http:// or https:// URL like https://api.teslemetry.com")
	} else if u.User != nil || u.RawQuery != "" {
		bad("teslemetry.url", "must be a base URL without credentials or query (the token goes in teslemetry.token)")
	}
	for i, vin := range t.VINs {
		if !ValidVIN(vin) {
			bad(index("teslemetry.vins", i), "%s is not a VIN (17 characters of A-Z and 0-9)", quoteValue(vin))
		}
	}
	if t.IdleTimeout <= 0 {
		bad("teslemetry.idle_timeout", "must be a positive duration")
	}
	if t.OfflineAfter < 0 {
		bad("teslemetry.offline_after", "must not be negative")
	}

	m := &c.MQTT
	if u, err := url.Parse(m.URL); err != nil || !mqttpub.ValidScheme(u.Scheme) || u.Host == "" {
		bad("mqtt.url", "must be a broker URL with scheme %s, e.g. tcp://localhost:1883", strings.Join(mqttpub.Schemes, ", "))
	}
	if m.QoS < 0 || m.QoS > 2 {
		bad("mqtt.qos", "must be 0, 1 or 2 (got %s)", quoteValue(strconv.Itoa(m.QoS)))
	}
	if m.ClientID == "" {
		bad("mqtt.client_id", "must not be empty")
	}
	if (m.TLS.CertFile == "") != (m.TLS.KeyFile == "") {
		bad("mqtt.tls.cert_file", "cert_file and key_file must be set together")
	}
	checkTopic := func(key, v string) {
		switch {
		case v == "":
			bad(key, "must not be empty")
		case strings.ContainsAny(v, "+#\x00"):
			bad(key, "must not contain +, # or NUL (got %s)", quoteValue(v))
		case strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") || strings.Contains(v, "//"):
			bad(key, "must not start or end with / or contain an empty level (got %s)", quoteValue(v))
		}
	}
	checkTopic("mqtt.base_topic", m.BaseTopic)
	h := &c.HomeAssistant
	checkTopic("homeassistant.discovery_prefix", h.DiscoveryPrefix)
	checkTopic("homeassistant.status_topic", h.StatusTopic)
	if m.BaseTopic != "" && m.BaseTopic == h.DiscoveryPrefix {
		bad("homeassistant.discovery_prefix", "must differ from mqtt.base_topic (both are %s)", quoteValue(m.BaseTopic))
	}

	if !slices.Contains([]string{"native", "metric", "imperial"}, c.Units) {
		bad("units", "must be native, metric or imperial (got %s)", quoteValue(c.Units))
	}
	for vin := range c.Vehicles {
		if !ValidVIN(vin) {
			bad(join("vehicles", keyName(vin)), "%s is not a VIN (17 characters of A-Z and 0-9)", quoteValue(vin))
		}
	}
	if c.Webhook.Listen != "" && !strings.HasPrefix(c.Webhook.Path, "/") {
		bad("webhook.path", "must start with / (got %s)", quoteValue(c.Webhook.Path))
	}
	if m.MaxPayload < 0 {
		bad("mqtt.max_payload", "must not be negative (0 = no limit)")
	}
	for _, name := range slices.Sorted(maps.Keys(t.Fields)) {
		f := t.Fields[name]
		key := join("teslemetry.fields", keyName(name))
		if !knownField(name) {
			closest, _ := closestField(name)
			bad(key, "is not a field the bridge knows; did you mean %s? (field names are case-sensitive; see docs/fields.md)", closest)
			continue
		}
		if f.IntervalSeconds != nil && *f.IntervalSeconds < 1 {
			bad(key+".interval_seconds", "must be at least 1 second")
		}
		if f.ResendIntervalSeconds != nil && *f.ResendIntervalSeconds < 1 {
			bad(key+".resend_interval_seconds", "must be at least 1 second")
		}
		if f.MinimumDelta != nil && *f.MinimumDelta < 0 {
			bad(key+".minimum_delta", "must not be negative")
		}
	}
	cmd := &c.Commands
	if cmd.Timeout <= 0 {
		bad("commands.timeout", "must be a positive duration")
	}
	if cmd.MaxPerMinute < 1 {
		bad("commands.max_per_minute", "must be at least 1")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "warning", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error (got %s)", quoteValue(c.Log.Level))
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format", "must be text or json (got %s)", quoteValue(c.Log.Format))
	}
	return errs
}
