package status

import (
	"encoding/json"
	"net/url"
	"time"
)

// Snapshot is everything the status page shows, at one moment. Its JSON form
// is the answer of /api/status and the data of each /api/events message
// (docs/status-page.md describes it field by field).
type Snapshot struct {
	Now      time.Time `json:"now"` // when the snapshot was taken (server clock)
	Bridge   Bridge    `json:"bridge"`
	Vehicles []Vehicle `json:"vehicles"`
	Sites    []Site    `json:"sites"`
}

// Bridge is the bridge process itself.
type Bridge struct {
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	UptimeS   int64     `json:"uptime_s"`
	MQTT      MQTT      `json:"mqtt"`
	Streams   []Stream  `json:"streams"`
	Webhook   bool      `json:"webhook"` // a webhook receiver is configured
	// Credits is the latest Teslemetry credits event (balance, quota, …), null until one arrived.
	Credits json.RawMessage `json:"credits"`
}

// MQTT is the broker connection. URL never carries a user name or password.
type MQTT struct {
	URL       string `json:"url"`
	BaseTopic string `json:"base_topic"`
	Connected bool   `json:"connected"`
}

// Stream is one Teslemetry event stream (or the replayed recording).
type Stream struct {
	Path        string     `json:"path"`
	Connected   bool       `json:"connected"`
	Since       *time.Time `json:"since"` // last change of Connected; null before the first
	Reconnects  int        `json:"reconnects"`
	LastEventAt *time.Time `json:"last_event_at"`
}

// Vehicle is one car.
type Vehicle struct {
	VIN          string     `json:"vin"`
	Name         string     `json:"name"`
	Availability string     `json:"availability"` // online / offline / "" (not yet known)
	State        string     `json:"state"`        // online / asleep / offline / "" (no state event yet)
	LastSeen     *time.Time `json:"last_seen"`
	Fields       []Field    `json:"fields"` // sorted by name
	ActiveAlerts []string   `json:"active_alerts"`
	// LastCommand and FieldsStatus are the JSON payloads of the command_result
	// and fields_status topics; null while there is none.
	LastCommand  json.RawMessage `json:"last_command"`
	FieldsStatus json.RawMessage `json:"fields_status"`
}

// Site is one energy site (Powerwall, solar, wall connector).
type Site struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Availability string     `json:"availability"`
	LastSeen     *time.Time `json:"last_seen"`
	Values       []Field    `json:"values"` // sorted by name
}

// Field is one published value.
type Field struct {
	Name string `json:"name"`
	// Value is the MQTT payload as JSON: numbers, booleans, objects and null
	// as published, plain text as a JSON string.
	Value     json.RawMessage `json:"value"`
	Unit      string          `json:"unit"` // "" when the value has none
	UpdatedAt time.Time       `json:"updated_at"`
}

// PayloadValue turns an MQTT payload into a Field value: a payload that is
// JSON stays as it is, anything else (plain text such as an enum option)
// becomes a JSON string.
func PayloadValue(payload []byte) json.RawMessage {
	if len(payload) > 0 && json.Valid(payload) {
		return json.RawMessage(append([]byte(nil), payload...))
	}
	s, _ := json.Marshal(string(payload))
	return s
}

// PasswordFreeURL returns raw without its user information (name and
// password) and without query or fragment; an unparsable URL gives "".
func PasswordFreeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u.String()
}

// normalise makes the JSON stable for scripts: empty lists are [] (never
// null), missing raw values are null, the uptime follows the clock.
func (s *Snapshot) normalise(now time.Time) {
	if s.Now.IsZero() {
		s.Now = now
	}
	b := &s.Bridge
	if !b.StartedAt.IsZero() && b.UptimeS == 0 {
		b.UptimeS = int64(s.Now.Sub(b.StartedAt) / time.Second)
	}
	b.MQTT.URL = PasswordFreeURL(b.MQTT.URL)
	b.Streams = nonNil(b.Streams)
	b.Credits = nullIfEmpty(b.Credits)
	s.Vehicles = nonNil(s.Vehicles)
	for i := range s.Vehicles {
		v := &s.Vehicles[i]
		v.Fields = normaliseFields(v.Fields)
		v.ActiveAlerts = nonNil(v.ActiveAlerts)
		v.LastCommand = nullIfEmpty(v.LastCommand)
		v.FieldsStatus = nullIfEmpty(v.FieldsStatus)
	}
	s.Sites = nonNil(s.Sites)
	for i := range s.Sites {
		s.Sites[i].Values = normaliseFields(s.Sites[i].Values)
	}
}

func normaliseFields(fs []Field) []Field {
	fs = nonNil(fs)
	for i := range fs {
		fs[i].Value = nullIfEmpty(fs[i].Value)
	}
	return fs
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

var jsonNull = json.RawMessage("null")

func nullIfEmpty(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return jsonNull
	}
	return r
}
