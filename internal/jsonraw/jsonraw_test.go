package jsonraw

import "testing"

func TestIsNull(t *testing.T) {
	for in, want := range map[string]bool{
		"null": true, " null": true, "null\n": true, "\tnull ": true,
		"": false, "nul": false, "nullx": false, `"null"`: false, "0": false, "{}": false,
	} {
		if got := IsNull([]byte(in)); got != want {
			t.Errorf("IsNull(%q) = %v, want %v", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsNull([]byte("71.5")) }); n != 0 {
		t.Errorf("IsNull allocates %v times", n)
	}
}

func TestIsNumber(t *testing.T) {
	for in, want := range map[string]bool{
		"0": true, "-1": true, "12.5": true, "1e5": true, "-0.5E-3": true, "1E+2": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false,
		" 1": false, "1 ": false, "NaN": false, `"1"`: false, "0x1": false,
	} {
		if got := IsNumber([]byte(in)); got != want {
			t.Errorf("IsNumber(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCompact(t *testing.T) {
	if got := string(Compact([]byte("{ \"a\" : [1, 2] }"))); got != `{"a":[1,2]}` {
		t.Errorf("Compact = %s", got)
	}
	if got := string(Compact([]byte("{bad"))); got != "{bad" {
		t.Errorf("Compact of invalid JSON = %s, want it unchanged", got)
	}
	if got := string(AppendCompact([]byte("x"), []byte(" true "))); got != "xtrue" {
		t.Errorf("AppendCompact = %s", got)
	}
}
