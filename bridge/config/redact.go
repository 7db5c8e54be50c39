package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

const redacted = "<redacted>"

// Redacted returns a copy of the configuration with every secret replaced, safe to print or log.
func (c Config) Redacted() Config {
	hide := func(s *string) {
		if *s != "" {
			*s = redacted
		}
	}
	hide(&c.Teslemetry.Token)
	hide(&c.MQTT.Password)
	hide(&c.Webhook.Authorization)
	return c
}

// Secrets lists the secret values of the configuration (for tests and log scrubbing).
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.Teslemetry.Token, c.MQTT.Password, c.Webhook.Authorization} {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// YAML prints the effective configuration with secrets redacted.
func (c Config) YAML() string {
	out, err := yaml.Marshal(c.Redacted())
	if err != nil {
		return "# cannot print configuration: " + err.Error()
	}
	return string(out)
}
