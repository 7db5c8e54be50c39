package fieldconfig

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

func ptr[T any](v T) *T { return &v }

func entries(t *testing.T, js string) map[string]Entry {
	t.Helper()
	var m map[string]Entry
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCompare(t *testing.T) {
	every := func(s int) config.FieldSpec { return config.FieldSpec{IntervalSeconds: ptr(s)} }
	cases := []struct {
		name    string
		wanted  map[string]config.FieldSpec
		current string
		actions map[string]Action
		body    string // "" = no PATCH
	}{
		{
			name:    "identical",
			wanted:  map[string]config.FieldSpec{"BatteryLevel": every(60), "Location": {IntervalSeconds: ptr(10), MinimumDelta: ptr(0.0001)}},
			current: `{"BatteryLevel":{"interval_seconds":60},"Location":{"interval_seconds":10,"minimum_delta":0.0001}}`,
			actions: map[string]Action{"BatteryLevel": Keep, "Location": Keep},
		},
		{
			name:    "missing",
			wanted:  map[string]config.FieldSpec{"BatteryLevel": every(60), "Odometer": every(300)},
			current: `{"BatteryLevel":{"interval_seconds":60}}`,
			actions: map[string]Action{"BatteryLevel": Keep, "Odometer": Add},
			body:    `{"fields":{"Odometer":{"interval_seconds":300}}}`,
		},
		{
			name:    "missing from an empty config",
			wanted:  map[string]config.FieldSpec{"Location": {IntervalSeconds: ptr(10), MinimumDelta: ptr(0.0001), ResendIntervalSeconds: ptr(600)}},
			current: `{}`,
			actions: map[string]Action{"Location": Add},
			body:    `{"fields":{"Location":{"interval_seconds":10,"minimum_delta":0.0001,"resend_interval_seconds":600}}}`,
		},
		{
			name:    "different interval",
			wanted:  map[string]config.FieldSpec{"BatteryLevel": every(60)},
			current: `{"BatteryLevel":{"interval_seconds":300}}`,
			actions: map[string]Action{"BatteryLevel": Change},
			body:    `{"fields":{"BatteryLevel":{"interval_seconds":60}}}`,
		},
		{
			name:    "different delta keeps the interval the user left out",
			wanted:  map[string]config.FieldSpec{"InsideTemp": {MinimumDelta: ptr(0.5)}},
			current: `{"InsideTemp":{"interval_seconds":120,"minimum_delta":1}}`,
			actions: map[string]Action{"InsideTemp": Change},
			body:    `{"fields":{"InsideTemp":{"interval_seconds":120,"minimum_delta":0.5}}}`,
		},
		{
			name:    "delta wanted, none streamed",
			wanted:  map[string]config.FieldSpec{"InsideTemp": {IntervalSeconds: ptr(120), MinimumDelta: ptr(0.5)}},
			current: `{"InsideTemp":{"interval_seconds":120}}`,
			actions: map[string]Action{"InsideTemp": Change},
			body:    `{"fields":{"InsideTemp":{"interval_seconds":120,"minimum_delta":0.5}}}`,
		},
		{
			name:    "different resend interval",
			wanted:  map[string]config.FieldSpec{"Gear": {ResendIntervalSeconds: ptr(600)}},
			current: `{"Gear":{"interval_seconds":1,"resend_interval_seconds":60}}`,
			actions: map[string]Action{"Gear": Change},
			body:    `{"fields":{"Gear":{"interval_seconds":1,"resend_interval_seconds":600}}}`,
		},
		{
			name:    "an unset member is not compared",
			wanted:  map[string]config.FieldSpec{"InsideTemp": every(120)},
			current: `{"InsideTemp":{"interval_seconds":120,"minimum_delta":0.5}}`,
			actions: map[string]Action{"InsideTemp": Keep},
		},
		{
			name:    "null matches any existing entry",
			wanted:  map[string]config.FieldSpec{"Odometer": {}, "Gear": {}},
			current: `{"Odometer":{"interval_seconds":3600,"minimum_delta":1},"Gear":{}}`,
			actions: map[string]Action{"Odometer": Keep, "Gear": Keep},
		},
		{
			name:    "null for a missing field is sent as null",
			wanted:  map[string]config.FieldSpec{"Odometer": {}},
			current: `{"BatteryLevel":{"interval_seconds":60}}`,
			actions: map[string]Action{"Odometer": Add, "BatteryLevel": Leave},
			body:    `{"fields":{"Odometer":null}}`,
		},
		{
			name:    "an interval wanted where the default streams",
			wanted:  map[string]config.FieldSpec{"Odometer": every(600)},
			current: `{"Odometer":{}}`,
			actions: map[string]Action{"Odometer": Change},
			body:    `{"fields":{"Odometer":{"interval_seconds":600}}}`,
		},
		{
			name:    "unlisted fields are left alone and unknown members kept",
			wanted:  map[string]config.FieldSpec{"VehicleSpeed": every(5)},
			current: `{"VehicleSpeed":{"interval_seconds":10,"future_option":true},"Soc":{"interval_seconds":1}}`,
			actions: map[string]Action{"VehicleSpeed": Change, "Soc": Leave},
			body:    `{"fields":{"VehicleSpeed":{"future_option":true,"interval_seconds":5}}}`,
		},
		{
			name:    "nothing wanted",
			wanted:  nil,
			current: `{"Soc":{"interval_seconds":1}}`,
			actions: map[string]Action{"Soc": Leave},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Compare(tc.wanted, entries(t, tc.current))
			got := map[string]Action{}
			var names []string
			for _, it := range p.Items {
				got[it.Field] = it.Action
				names = append(names, it.Field)
				if (it.Wanted == nil) != (it.Action == Leave) || (it.Current == nil) != (it.Action == Add) {
					t.Errorf("%s: item %+v is inconsistent", it.Field, it)
				}
			}
			if !slices.IsSorted(names) {
				t.Errorf("items not in name order: %v", names)
			}
			if len(got) != len(tc.actions) {
				t.Errorf("actions = %v, want %v", got, tc.actions)
			}
			for f, a := range tc.actions {
				if got[f] != a {
					t.Errorf("%s: action %q, want %q", f, got[f], a)
				}
			}
			if body := string(p.Body()); body != tc.body {
				t.Errorf("body = %s\n want %s", body, tc.body)
			}
		})
	}
}

func TestChangesAreAddsAndChangesInOrder(t *testing.T) {
	p := Compare(map[string]config.FieldSpec{
		"Odometer": {}, "BatteryLevel": {IntervalSeconds: ptr(60)}, "Gear": {}, "Soc": {IntervalSeconds: ptr(5)},
	}, entries(t, `{"Gear":{},"Soc":{"interval_seconds":1},"Location":{}}`))
	if got := p.Changes(); !slices.Equal(got, []string{"BatteryLevel", "Odometer", "Soc"}) {
		t.Fatalf("Changes = %v", got)
	}
}

func TestEntryReadsWholeSecondsAndNulls(t *testing.T) {
	m := entries(t, `{"A":{"interval_seconds":60.0,"minimum_delta":null},"B":null,"C":{"resend_interval_seconds":30,"minimum_delta":2.5}}`)
	if a := m["A"]; a.IntervalSeconds == nil || *a.IntervalSeconds != 60 || a.MinimumDelta != nil {
		t.Errorf("A = %+v", a)
	}
	if b := m["B"]; b.IntervalSeconds != nil || b.MinimumDelta != nil || b.ResendIntervalSeconds != nil {
		t.Errorf("B = %+v", b)
	}
	if c := m["C"]; c.ResendIntervalSeconds == nil || *c.ResendIntervalSeconds != 30 || c.MinimumDelta == nil || *c.MinimumDelta != 2.5 {
		t.Errorf("C = %+v", c)
	}
	var e map[string]Entry
	if err := json.Unmarshal([]byte(`{"A":{"interval_seconds":"soon"}}`), &e); err == nil {
		t.Error("a text interval was accepted")
	}
}
