package redact_test

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

func TestStringCatchesEveryForm(t *testing.T) {
	const secret = `p/a ss+w%rd"é<`
	r := redact.New("", "  ", secret)
	forms := map[string]string{
		"plain":        "pw " + secret + " end",
		"query escape": "GET /x?token=" + url.QueryEscape(secret),
		"path escape":  "GET /" + url.PathEscape(secret),
		"lower hex":    "x=" + strings.ToLower(url.QueryEscape(secret)),
		"userinfo":     "dial " + (&url.URL{Scheme: "mqtt", User: url.UserPassword("bob", secret), Host: "h:1883"}).String(),
		"json":         `{"msg":"p/a ss+w%rd\"é\u003c"}`,
		"go quoted":    `error: "p/a ss+w%rd\"é<"`,
	}
	for name, text := range forms {
		out := r.String(text)
		if strings.Contains(out, "ss+w") || strings.Contains(out, "ss%2Bw") || strings.Contains(out, "ss%2bw") || strings.Contains(out, "ss%20w") {
			t.Errorf("%s: secret left in %q", name, out)
		}
		if !strings.Contains(out, redact.Mark) {
			t.Errorf("%s: no mark in %q", name, out)
		}
	}
}

func TestStringRemovesUnknownUserinfoPassword(t *testing.T) {
	out := redact.New().String(`connecting to mqtts://alice:hunter2@broker:8883/x failed`)
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "mqtts://alice:"+redact.Mark+"@broker:8883/x") {
		t.Errorf("got %q", out)
	}
	var nilR *redact.Redactor
	if out := nilR.String("tcp://u:p@h"); out != "tcp://u:"+redact.Mark+"@h" {
		t.Errorf("nil redactor: %q", out)
	}
	if out := redact.New("zz9").String("mail bob@example.com about it"); out != "mail bob@example.com about it" {
		t.Errorf("text without a URL changed: %q", out)
	}
}

func TestErrorKeepsChain(t *testing.T) {
	err := redact.Error(errors.Join(io.EOF, errors.New("token tok123 refused")), "tok123")
	if strings.Contains(err.Error(), "tok123") || !errors.Is(err, io.EOF) {
		t.Errorf("got %v (is EOF: %v)", err, errors.Is(err, io.EOF))
	}
	clean := errors.New("nothing here")
	if redact.Error(clean, "tok123") != clean || redact.Error(nil, "x") != nil {
		t.Error("an error without a secret must come back as it is")
	}
}

func TestURL(t *testing.T) {
	cases := map[string]string{
		"mqtt://bob:s%2Fecret@broker:1883": "mqtt://bob:redacted@broker:1883",
		"mqtt://bob@broker":                "mqtt://bob@broker",
		"tcp://broker:1883":                "tcp://broker:1883",
	}
	for in, want := range cases {
		if got := redact.URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redact.Host("https://u:p@api.example.com/a?token=x"); got != "https://api.example.com" {
		t.Errorf("Host = %q", got)
	}
}

func TestValueAndExcerpts(t *testing.T) {
	if got := redact.Value("metrc"); got != `"metrc"` {
		t.Errorf("short value: %s", got)
	}
	if got := redact.Value("abcdefghijklmnopqrstuvwxyz"); got != "a 26-character value" {
		t.Errorf("long value: %s", got)
	}
	if got := redact.Excerpts("unknown anchor 'averyveryverylongsecret' referenced"); got != "unknown anchor a 23-character value referenced" {
		t.Errorf("excerpts: %s", got)
	}
}

func TestBytesReturnsSameSliceWhenClean(t *testing.T) {
	b := []byte("clean line")
	if out := redact.New("zzz").Bytes(b); &out[0] != &b[0] {
		t.Error("a clean line was copied")
	}
	if out := redact.New("zzz").Bytes([]byte("a zzz b")); string(out) != "a <redacted> b" {
		t.Errorf("got %q", out)
	}
}
