package testkit

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// SampleEvents returns the data of every event in the reference transcript
// (bridge/teslemetry/testdata/sse-sample.txt), wherever the test runs from.
func SampleEvents(t testing.TB) []string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "bridge", "teslemetry", "testdata", "sse-sample.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if after, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data: "); ok {
			out = append(out, after)
		}
	}
	return out
}
