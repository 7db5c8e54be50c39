package config

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

const redacted = redact.Mark

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
	c.MQTT.URL = redact.URL(c.MQTT.URL)
	return c
}

// Secrets lists the secret values of the configuration (for tests and log scrubbing).
func (c *Config) Secrets() []string {
	var out []string
	urlPassword := ""
	if u, err := url.Parse(c.MQTT.URL); err == nil && u.User != nil {
		urlPassword, _ = u.User.Password()
	}
	for _, s := range []string{c.Teslemetry.Token, c.MQTT.Password, c.Webhook.Authorization, urlPassword} {
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
