package fieldconfig

import (
	"encoding/json"
	"time"
)

// Status is the payload of <base>/<VIN>/fields_status (docs/fields.md):
//
//	{"at":"2026-12-04T06:00:00Z","ok":true,"changed":["BatteryLevel"],"ignored":[],"pending":true,"error":null}
type Status struct {
	At      time.Time
	OK      bool
	Changed []string
	Ignored []string
	Pending bool
	Error   string // "" when OK
}

// StatusOf summarises a Result at time at.
func StatusOf(r Result, at time.Time) Status {
	s := Status{At: at, OK: r.Err == nil, Changed: r.Changed, Ignored: r.Ignored, Pending: r.Pending}
	if r.Err != nil {
		s.Error = r.Err.Error()
	}
	return s
}

// MarshalJSON writes the payload with lists that are never null, the time in
// UTC to the second, and error null when there is none.
func (s Status) MarshalJSON() ([]byte, error) {
	v := struct {
		At      string   `json:"at"`
		OK      bool     `json:"ok"`
		Changed []string `json:"changed"`
		Ignored []string `json:"ignored"`
		Pending bool     `json:"pending"`
		Error   *string  `json:"error"`
	}{At: s.At.UTC().Format(time.RFC3339), OK: s.OK, Changed: orEmpty(s.Changed), Ignored: orEmpty(s.Ignored), Pending: s.Pending}
	if s.Error != "" {
		v.Error = &s.Error
	}
	return json.Marshal(v)
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
