// Package config loads, validates and prints the teslemetry2mqtt configuration
// (contract §3): strict YAML, ${VAR} expansion, environment overrides and
// validation errors that name the offending key.
package config

import (
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
	Log           Log                `yaml:"log"`
	HTTP          HTTP               `yaml:"http"`
}

// Teslemetry configures the SSE stream source.
type Teslemetry struct {
	Token        string   `yaml:"token"`
	URL          string   `yaml:"url"`
	VINs         []string `yaml:"vins"`
	Cache        bool     `yaml:"cache"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	OfflineAfter Duration `yaml:"offline_after"`
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

// Webhook configures the optional webhook receiver (contract §10).
type Webhook struct {
	Listen        string `yaml:"listen"`
	Path          string `yaml:"path"`
	Authorization string `yaml:"authorization"`
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

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Teslemetry: Teslemetry{
			URL:          "https://api.teslemetry.com",
			Cache:        true,
			IdleTimeout:  Duration(30 * time.Second),
			OfflineAfter: Duration(60 * time.Second),
		},
		MQTT: MQTT{
			URL:       "tcp://localhost:1883",
			ClientID:  "teslemetry2mqtt",
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
		Log:     Log{Level: "info", Format: "text"},
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
