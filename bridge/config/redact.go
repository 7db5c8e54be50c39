package config

import (
	"net/url"
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
	c.MQTT.URL = redactURL(c.MQTT.URL)
	return c
}

// redactURL hides the password of a URL's user info (mqtt://user:pass@host).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
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
