package bridge

import (
	"strings"
	"testing"
)

func TestSegment(t *testing.T) {
	cases := map[string]string{
		"BatteryLevel":                "BatteryLevel",
		"5YJ3E7EB9NF123456":           "5YJ3E7EB9NF123456",
		"VCSEC_a180_lowKeyFobBattery": "VCSEC_a180_lowKeyFobBattery",
		"a.b-c":                       "a.b-c",
		"../#+":                       "..___",
		"a/b":                         "a_b",
		"":                            "_",
		"x\x00y":                      "x_y",
		"Grüße":                       "Gr____e",
		"sp ace":                      "sp_ace",
	}
	for in, want := range cases {
		got := Segment(in)
		if got != want {
			t.Errorf("Segment(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "+#/\x00") || got == "" {
			t.Errorf("Segment(%q) = %q is not a safe level", in, got)
		}
	}
}

func FuzzSegment(f *testing.F) {
	for _, s := range []string{"", "BatteryLevel", "../#+", "a/b/c", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Segment(s)
		if got == "" || strings.ContainsAny(got, "+#/\x00") {
			t.Fatalf("Segment(%q) = %q", s, got)
		}
	})
}
