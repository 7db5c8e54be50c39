package command

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary payloads to every control and to raw commands:
// no panic, and every accepted request has a command and a JSON body.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"LOCK", "80", "80.5", "heat_cool", "21.5", "high", "PRESS", "", "1e3", "-0", "0x10",
		"NaN", "{}", `{"on":true}`, "\xff", "  ON  ", "off\n", "9999999999999999999999"} {
		f.Add(s, "door_lock")
	}
	state := mapState{"Location": `{"latitude":1,"longitude":2}`, "DoorState": `{"TrunkRear":true}`}
	f.Fuzz(func(t *testing.T, payload, name string) {
		for _, tgt := range []Target{Vehicle, Site} {
			for _, c := range Controls(tgt) {
				for _, fahrenheit := range []bool{false, true} {
					r, err := Parse(c, "id", []byte(payload), state, ParseOptions{Fahrenheit: fahrenheit})
					if err != nil {
						if !strings.HasPrefix(ReasonOf(err), "invalid_payload") && !strings.HasPrefix(ReasonOf(err), "location_unknown") {
							t.Fatalf("%s %q: reason %q", c.Name, payload, ReasonOf(err))
						}
						continue
					}
					if r.Command == "" || r.Control != c.Name {
						t.Fatalf("%s %q: request %+v", c.Name, payload, r)
					}
					if _, err := json.Marshal(r.Body); err != nil {
						t.Fatalf("%s %q: body %v: %v", c.Name, payload, r.Body, err)
					}
				}
			}
		}
		r, err := ParseRaw(testVIN, name, []byte(payload))
		if err == nil {
			var obj map[string]any
			if !IsCommandName(r.Command) || json.Unmarshal(r.Body.(json.RawMessage), &obj) != nil || obj == nil {
				t.Fatalf("raw %q %q accepted as %+v", name, payload, r)
			}
		}
	})
}
