package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("teslemetry: {token: abc}\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("teslemetry: {token: abc}\nmqtt: {qos: 9}\n"), 0o600)

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "teslemetry2mqtt "},
		{[]string{"help"}, 0, "check-config"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"check-config", "--config", good}, 0, "is valid"},
		{[]string{"check-config", "--config", bad}, 2, "mqtt.qos (line 2)"},
		{[]string{"check-config", "--config", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml"},
		{[]string{"run", "--config", bad}, 2, "mqtt.qos"},
		{[]string{"--config", bad}, 2, "mqtt.qos"},
		{[]string{"run", "--bogus"}, 2, "bogus"},
		{[]string{"record", "--config", good}, 2, "--out is required"},
		{[]string{"purge", "--config", good, "--vin", "x"}, 2, "not a VIN"},
		{[]string{"demo", "--speed", "0"}, 2, "--speed"},
		{[]string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, 1, "unhealthy"},
	}
	for _, tc := range cases {
		code, out, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d; output %q%q should contain %q", tc.args, code, tc.code, out, errOut, tc.want)
		}
	}
}

func TestCheckConfigRedactsSecrets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("teslemetry: {token: tok-SECRET}\nmqtt: {password: pw-SECRET}\n"), 0o600)
	code, out, _ := run(t, "check-config", "--config", p)
	if code != 0 || strings.Contains(out, "SECRET") || !strings.Contains(out, "<redacted>") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// A token with a space or a line break in it can never authenticate:
// check-config refuses it (exit 2) without printing it.
func TestCheckConfigRefusesTokenWithWhitespace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("teslemetry: {token: 'tok-SECRET more'}\n"), 0o600)
	code, out, errOut := run(t, "check-config", "--config", p)
	if code != 2 || !strings.Contains(errOut, "teslemetry.token") || !strings.Contains(errOut, "whitespace") || strings.Contains(out+errOut, "SECRET") {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
}

func TestLogLinesAreScrubbed(t *testing.T) {
	cfg := config.Default()
	cfg.Teslemetry.Token = "tok-SECRET"
	cfg.MQTT.Password = "pw-SECRET"
	for _, format := range []string{"text", "json"} {
		cfg.Log.Format = format
		var buf bytes.Buffer
		log := newLogger(&cfg, &buf)
		log.WithField("header", "Bearer tok-SECRET").WithError(errString("auth pw-SECRET failed")).Error("oops tok-SECRET")
		if strings.Contains(buf.String(), "SECRET") || !strings.Contains(buf.String(), "<redacted>") {
			t.Errorf("%s log not scrubbed: %s", format, buf.String())
		}
	}
}

// Escaped forms of a secret and a password in a URL's user info are scrubbed too.
func TestLogLinesScrubEscapedSecrets(t *testing.T) {
	cfg := config.Default()
	cfg.MQTT.Password = `p/w "SECRET"+x`
	for _, format := range []string{"text", "json"} {
		cfg.Log.Format = format
		var buf bytes.Buffer
		log := newLogger(&cfg, &buf)
		log.WithField("q", "pass="+url.QueryEscape(cfg.MQTT.Password)).
			WithField("url", "mqtt://bob:"+url.PathEscape(cfg.MQTT.Password)+"@broker").
			WithField("other", "tcp://alice:unknown-pw@host:1883").
			Error("quoted " + strconv.Quote(cfg.MQTT.Password))
		if out := buf.String(); strings.Contains(out, "SECRET") || strings.Contains(out, "unknown-pw") {
			t.Errorf("%s log not scrubbed: %s", format, out)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// healthcheck asks the address the bridge listens on, so moving the port with
// HTTP_LISTEN does not break the Docker HEALTHCHECK.
func TestHealthURLFollowsHTTPListen(t *testing.T) {
	cases := map[string]string{
		"":               "http://127.0.0.1:8099/healthz",
		":8099":          "http://127.0.0.1:8099/healthz",
		":9000":          "http://127.0.0.1:9000/healthz",
		"0.0.0.0:9001":   "http://127.0.0.1:9001/healthz",
		"[::]:9002":      "http://127.0.0.1:9002/healthz",
		"127.0.0.2:9003": "http://127.0.0.2:9003/healthz",
		"[::1]:9004":     "http://[::1]:9004/healthz",
		"nonsense":       "http://127.0.0.1:8099/healthz",
	}
	for listen, want := range cases {
		if got := healthURL(listen); got != want {
			t.Errorf("healthURL(%q) = %s, want %s", listen, got, want)
		}
	}
}

// SIGHUP reloads run; every other command stops cleanly on it, as on SIGTERM.
func TestStopSignals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hup  bool
	}{
		{nil, false},
		{[]string{"--config", "x.yaml"}, false},
		{[]string{"run", "--config", "x.yaml"}, false},
		{[]string{"demo"}, true},
		{[]string{"record", "--out", "x"}, true},
		{[]string{"purge"}, true},
	} {
		sigs := stopSignals(tc.args)
		if got := slices.Contains(sigs, os.Signal(syscall.SIGHUP)); got != tc.hup || !slices.Contains(sigs, os.Signal(syscall.SIGTERM)) {
			t.Errorf("%q: stop signals %v", tc.args, sigs)
		}
	}
}
