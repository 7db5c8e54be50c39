package addon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// DefaultSupervisorURL is where the Supervisor API answers inside an add-on container.
const DefaultSupervisorURL = "http://supervisor"

// ErrNoMQTTService means Home Assistant offers no MQTT broker to add-ons
// (the Mosquitto broker add-on is not installed or not started) and the user
// configured none.
var ErrNoMQTTService = errors.New("no MQTT broker available: Home Assistant offers no MQTT service to apps/add-ons. " +
	"Install and start the \"Mosquitto broker\" app (add-on) from Home Assistant's store, " +
	"or set mqtt_url (and mqtt_username / mqtt_password) in this add-on's Configuration tab to use another broker; " +
	"then restart this add-on")

// Supervisor is a client of the Home Assistant Supervisor API, as far as an
// add-on needs it.
type Supervisor struct {
	// URL is the Supervisor's base URL; empty means DefaultSupervisorURL.
	URL string
	// Token is the add-on's $SUPERVISOR_TOKEN.
	Token string
	// Client makes the requests; nil means a client with a 10 s timeout.
	Client *http.Client
}

// MQTTService is the broker the Supervisor hands out (normally the Mosquitto
// broker add-on, host "core-mosquitto").
type MQTTService struct {
	Host     string
	Port     int
	SSL      bool
	Username string
	Password string
}

// URL returns the broker URL for config mqtt.url: mqtt://host:port, or
// mqtts://host:port when the service uses TLS.
func (s MQTTService) URL() string {
	scheme := "mqtt"
	if s.SSL {
		scheme = "mqtts"
	}
	host := s.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") { // IPv6 literal
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, host, s.Port)
}

// temporaryError marks a failure worth retrying (network trouble, Supervisor 5xx).
type temporaryError struct{ err error }

func (t temporaryError) Error() string { return t.err.Error() }
func (t temporaryError) Unwrap() error { return t.err }

func isTemporary(err error) bool { return errors.As(err, new(temporaryError)) }

// MQTT asks the Supervisor for its MQTT service (GET <URL>/services/mqtt).
// A missing service gives an error wrapping ErrNoMQTTService. Errors never
// contain the Supervisor token or the broker password.
func (s Supervisor) MQTT(ctx context.Context) (MQTTService, error) {
	if s.Token == "" {
		return MQTTService{}, errors.New("asking the Supervisor for the MQTT service: SUPERVISOR_TOKEN is not set (is this running as a Home Assistant add-on?)")
	}
	base := strings.TrimRight(s.URL, "/")
	if base == "" {
		base = DefaultSupervisorURL
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/services/mqtt", nil)
	if err != nil {
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: bad Supervisor URL %q", base)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: %w", ctx.Err())
		}
		// *url.Error carries method, URL and cause; none of them holds a secret.
		return MQTTService{}, temporaryError{fmt.Errorf("asking the Supervisor for the MQTT service: %s", s.scrub(err.Error()))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return MQTTService{}, temporaryError{fmt.Errorf("asking the Supervisor for the MQTT service: reading the answer: %s", s.scrub(err.Error()))}
	}

	var answer struct {
		Result  string `json:"result"`
		Message string `json:"message"`
		Data    *struct {
			Host     string `json:"host"`
			Port     int    `json:"port"`
			SSL      bool   `json:"ssl"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"data"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	msg := s.scrub(strings.TrimSpace(answer.Message))
	if msg == "" {
		msg = resp.Status
	}

	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound:
		// The Supervisor answers 400 "Service not enabled" when no add-on provides MQTT.
		return MQTTService{}, fmt.Errorf("%w (Supervisor said: %s)", ErrNoMQTTService, msg)
	case resp.StatusCode == http.StatusUnauthorized:
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: the Supervisor rejected this add-on's SUPERVISOR_TOKEN (%s)", msg)
	case resp.StatusCode == http.StatusForbidden:
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: access denied (%s); the add-on's config.yaml must list mqtt:want under services", msg)
	case resp.StatusCode >= 500:
		return MQTTService{}, temporaryError{fmt.Errorf("asking the Supervisor for the MQTT service: Supervisor error (%s)", msg)}
	case resp.StatusCode != http.StatusOK:
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: unexpected answer %s", resp.Status)
	}
	if jsonErr != nil {
		// encoding/json errors name types and offsets, never the values.
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: malformed answer: %v", jsonErr)
	}
	if answer.Result != "ok" || answer.Data == nil || answer.Data.Host == "" {
		return MQTTService{}, fmt.Errorf("%w (Supervisor said: %s)", ErrNoMQTTService, msg)
	}
	d := answer.Data
	if d.Port <= 0 || d.Port > 65535 {
		return MQTTService{}, fmt.Errorf("asking the Supervisor for the MQTT service: invalid broker port %d", d.Port)
	}
	return MQTTService{Host: d.Host, Port: d.Port, SSL: d.SSL, Username: d.Username, Password: d.Password}, nil
}

// scrub removes the Supervisor token from text that is about to become an error.
func (s Supervisor) scrub(text string) string { return redact.String(text, s.Token) }
