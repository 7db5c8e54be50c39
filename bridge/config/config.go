// Package config loads, validates and prints the teslemetry2mqtt configuration
// (config.example.yaml): strict YAML, ${VAR} expansion, environment overrides and
// validation errors that name the offending key.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Teslemetry    Teslemetry         `yaml:"teslemetry"`
	MQTT          MQTT               `yaml:"mqtt"`
	HomeAssistant HomeAssistant      `yaml:"homeassistant"`
	Units         string             `yaml:"units"`
	Vehicles      map[string]Vehicle `yaml:"vehicles"`
	Webhook       Webhook            `yaml:"webhook"`
	Commands      Commands           `yaml:"commands"`
	Log           Log                `yaml:"log"`
	HTTP          HTTP               `yaml:"http"`
}

// Teslemetry configures the SSE stream source.
type Teslemetry struct {
	Token string   `yaml:"token"`
	URL   string   `yaml:"url"`
	VINs  []string `yaml:"vins"`
	Cache bool     `yaml:"cache"`
	// Fields is the wanted streaming config per field (docs/fields.md); empty: leave the car's config alone.
	Fields       map[string]FieldSpec `yaml:"fields"`
	EnergySites  bool                 `yaml:"energy_sites"`
	IdleTimeout  Duration             `yaml:"idle_timeout"`
	OfflineAfter Duration             `yaml:"offline_after"`
}

// FieldSpec is the wanted streaming config of one field. In YAML it is a
// number (interval seconds), a mapping of the three keys, or null (nil
// pointer in the map: Teslemetry's default interval).
type FieldSpec struct {
	IntervalSeconds       *int     `yaml:"interval_seconds" json:"interval_seconds,omitempty"`
	MinimumDelta          *float64 `yaml:"minimum_delta" json:"minimum_delta,omitempty"`
	ResendIntervalSeconds *int     `yaml:"resend_interval_seconds" json:"resend_interval_seconds,omitempty"`
}

// UnmarshalYAML takes a bare number as the interval in seconds.
func (f *FieldSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var sec int
		if n.Decode(&sec) != nil {
			return &valueError{describeNode(n) + " is not a whole number of seconds or a mapping of interval_seconds, minimum_delta, resend_interval_seconds"}
		}
		f.IntervalSeconds = &sec
		return nil
	}
	type plain FieldSpec
	var p plain
	if n.Kind != yaml.MappingNode {
		return &valueError{"must be a number of seconds, a mapping or null"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "interval_seconds", "minimum_delta", "resend_interval_seconds":
		default:
			return &valueError{"unknown key " + quoteValue(k) + " (known keys: interval_seconds, minimum_delta, resend_interval_seconds)"}
		}
	}
	if err := n.Decode(&p); err != nil {
		return &valueError{"interval_seconds and resend_interval_seconds must be whole numbers, minimum_delta a number"}
	}
	*f = FieldSpec(p)
	return nil
}

// MQTT configures the broker connection and topic layout.
type MQTT struct {
	URL       string `yaml:"url"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
	ClientID  string `yaml:"client_id"`
	BaseTopic string `yaml:"base_topic"`
	QoS       int    `yaml:"qos"`
	Retain    bool   `yaml:"retain"`
	TLS       TLS    `yaml:"tls"`
	// MaxPayload skips (and counts) payloads larger than this many bytes; 0 = no limit.
	MaxPayload int `yaml:"max_payload"`
}

// TLS configures a TLS connection to the broker.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// HomeAssistant configures MQTT discovery.
type HomeAssistant struct {
	Discovery       bool   `yaml:"discovery"`
	DiscoveryPrefix string `yaml:"discovery_prefix"`
	StatusTopic     string `yaml:"status_topic"`
}

// Vehicle holds per-VIN settings.
type Vehicle struct {
	Name string `yaml:"name"`
}

// Webhook configures the optional webhook receiver (README, "Webhooks").
type Webhook struct {
	Listen        string `yaml:"listen"`
	Path          string `yaml:"path"`
	Authorization string `yaml:"authorization"`
}

// Commands configures MQTT → Teslemetry commands (docs/commands.md).
type Commands struct {
	Enabled      bool     `yaml:"enabled"`
	Wake         bool     `yaml:"wake"`
	Deny         []string `yaml:"deny"`
	Raw          bool     `yaml:"raw"`
	Timeout      Duration `yaml:"timeout"`
	MaxPerMinute int      `yaml:"max_per_minute"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// HTTP configures the health and metrics endpoint.
type HTTP struct {
	Listen string `yaml:"listen"`
}

// DefaultClientID is the MQTT client id used when mqtt.client_id is not set:
// "teslemetry2mqtt-" and 8 hex digits of a hash of the host name and the base
// topic, so that two bridges on two hosts, or with two base topics, do not
// share one (a broker drops the older of two connections with the same id).
// The same host and base topic always give the same id.
func DefaultClientID(hostname, baseTopic string) string {
	sum := sha256.Sum256([]byte(hostname + "\x00" + baseTopic))
	return "teslemetry2mqtt-" + hex.EncodeToString(sum[:4])
}

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Teslemetry: Teslemetry{
			URL:          "https://api.teslemetry.com",
			Cache:        true,
			EnergySites:  true,
			IdleTimeout:  Duration(30 * time.Second),
			OfflineAfter: Duration(60 * time.Second),
		},
		MQTT: MQTT{
			URL:       "tcp://localhost:1883",
			BaseTopic: "teslemetry",
			QoS:       1,
			Retain:    true,
		},
		HomeAssistant: HomeAssistant{
			Discovery:       true,
			DiscoveryPrefix: "homeassistant",
			StatusTopic:     "homeassistant/status",
		},
		Units:   "native",
		Webhook: Webhook{Path: "/webhook"},
		Commands: Commands{
			Enabled: true, Wake: true, Timeout: Duration(45 * time.Second), MaxPerMinute: 20,
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// VehicleName returns the configured display name for a VIN, or "".
func (c *Config) VehicleName(vin string) string {
	return c.Vehicles[vin].Name
}

// Duration is a time.Duration written as a Go duration string ("30s", "5m").
type Duration time.Duration

// UnmarshalYAML parses a Go duration string. The error shows the value only
// through describeNode, as a misplaced token must not be echoed.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &valueError{describeNode(n) + " is not a duration (use e.g. 30s, 5m)"}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML prints the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
