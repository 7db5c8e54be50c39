package webhook

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		exampleTyped, exampleFlat, exampleEvent,
		`{"data":[{"key":"DoorState","value":{"door_value":{"TrunkRear":true}}},{"key":"Gear","value":{"shiftStateValue":"ShiftStateD"}},{"key":"X","value":{"longValue":"12"}},{"key":"Y","value":{"invalid":true}},{"key":"Z","value":{}}],"vin":"V"}`,
		`{"data":[{"key":"T","value":{"timeValue":{"hour":7}}},{"key":"L","value":{"location_value":{}}},{"key":"D","value":{"doubleValue":"NaN"}}],"created_at":"2024-02-24T01:23:15Z"}`,
		`{"event":null,"time":"1708737795.5","source":"V"}`,
		`{"foo":1}`, `{bad`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrUnknownFormat", err)
			}
			if ev.VIN != "" || ev.Data != nil || !ev.CreatedAt.IsZero() {
				t.Fatalf("non-zero event %+v with error %v", ev, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		// The VIN is empty or the body's own "vin" (or "source") string.
		if ev.VIN != "" {
			var top map[string]json.RawMessage
			if err := json.Unmarshal(body, &top); err != nil {
				t.Fatal(err)
			}
			var vin, source string
			_ = json.Unmarshal(top["vin"], &vin)
			_ = json.Unmarshal(top["source"], &source)
			if ev.VIN != vin && ev.VIN != source {
				t.Fatalf("VIN %q is neither vin %q nor source %q", ev.VIN, vin, source)
			}
		}
		for i, d := range ev.Data {
			if !json.Valid(d.Value) {
				t.Fatalf("data[%d] %q = %q is not valid JSON", i, d.Field, d.Value)
			}
		}
	})
}
