package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
)

const secret = "Bearer s3cr3t-webhook-token"

type recordingSink struct {
	mu     sync.Mutex
	events []teslemetry.Event
}

func (s *recordingSink) Ingest(ev teslemetry.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

func (s *recordingSink) got() []teslemetry.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]teslemetry.Event(nil), s.events...)
}

type dropCounter struct {
	mu      sync.Mutex
	reasons []string
}

func (d *dropCounter) drop(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reasons = append(d.reasons, reason)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	h     http.Handler
	sink  *recordingSink
	drops *dropCounter
	logs  *syncBuffer
}

func newFixture(auth string) *fixture {
	f := &fixture{sink: &recordingSink{}, drops: &dropCounter{}, logs: &syncBuffer{}}
	log := logrus.New()
	log.SetOutput(f.logs)
	log.SetLevel(logrus.DebugLevel)
	f.h = Handler(Options{Path: "/webhook", Authorization: auth, Logger: log, OnDrop: f.drops.drop}, f.sink)
	return f
}

type request struct {
	name    string
	method  string
	path    string
	auth    []string // Authorization header values
	body    []byte
	chunked bool // unknown Content-Length
	status  int
	drop    string // expected OnDrop reason, "" for none
}

func (f *fixture) do(t *testing.T, r request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = bytes.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(bytes.NewReader(r.body)) // hides the length
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.chunked {
		req.ContentLength = -1
	}
	for _, a := range r.auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	f := newFixture(secret)
	auth := []string{secret}
	big := bytes.Repeat([]byte(" "), 2<<20)
	copy(big, `{"data":{},"vin":"X"}`) // valid JSON padded to 2 MiB
	reqs := []request{
		{"no auth", "POST", "/webhook", nil, []byte(exampleFlat), false, 401, DropUnauthorized},
		{"wrong auth", "POST", "/webhook", []string{"Bearer wrong"}, []byte(exampleFlat), false, 401, DropUnauthorized},
		{"auth with extra space", "POST", "/webhook", []string{secret + " "}, []byte(exampleFlat), false, 401, DropUnauthorized},
		{"auth prefix only", "POST", "/webhook", []string{secret[:10]}, []byte(exampleFlat), false, 401, DropUnauthorized},
		{"auth twice", "POST", "/webhook", []string{secret, secret}, []byte(exampleFlat), false, 401, DropUnauthorized},
		{"unauthorized garbage", "POST", "/webhook", nil, []byte(`{bad`), false, 401, DropUnauthorized},
		{"typed", "POST", "/webhook", auth, []byte(exampleTyped), false, 204, ""},
		{"flat", "POST", "/webhook", auth, []byte(exampleFlat), false, 204, ""},
		{"event", "POST", "/webhook", auth, []byte(exampleEvent), false, 204, ""},
		{"2 MiB", "POST", "/webhook", auth, big, false, 413, DropTooLarge},
		{"2 MiB chunked", "POST", "/webhook", auth, big, true, 413, DropTooLarge},
		{"exactly 1 MiB", "POST", "/webhook", auth, big[:MaxBody], true, 204, ""},
		{"malformed", "POST", "/webhook", auth, []byte(`{bad`), false, 400, DropBadJSON},
		{"empty", "POST", "/webhook", auth, nil, false, 400, DropBadJSON},
		{"wrong shape", "POST", "/webhook", auth, []byte(`{"data":[{"key":1}]}`), false, 400, DropBadJSON},
		{"unknown format", "POST", "/webhook", auth, []byte(`{"foo":1}`), false, 422, DropUnknownFormat},
		{"GET", "GET", "/webhook", auth, nil, false, 405, DropMethod},
		{"GET unauthenticated", "GET", "/webhook", nil, nil, false, 405, DropMethod},
		{"PUT", "PUT", "/webhook", auth, []byte(exampleFlat), false, 405, DropMethod},
		{"other path", "POST", "/other", auth, []byte(exampleFlat), false, 404, ""},
		{"sub path", "POST", "/webhook/x", auth, []byte(exampleFlat), false, 404, ""},
	}
	var wantEvents []string
	var wantDrops []string
	for _, r := range reqs {
		rec := f.do(t, r)
		if rec.Code != r.status {
			t.Errorf("%s: status %d, want %d (%s)", r.name, rec.Code, r.status, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "s3cr3t") || strings.Contains(fmt.Sprint(rec.Header()), "s3cr3t") {
			t.Errorf("%s: response echoes the secret", r.name)
		}
		switch r.status {
		case 204:
			wantEvents = append(wantEvents, r.name)
			if rec.Body.Len() != 0 {
				t.Errorf("%s: 204 with a body %q", r.name, rec.Body)
			}
		case 400:
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || rec.Body.Len() == 0 || rec.Body.Len() > 300 {
				t.Errorf("%s: 400 answer %q (%s), want a short plain-text reason", r.name, rec.Body, ct)
			}
		case 405:
			if rec.Header().Get("Allow") != "POST" {
				t.Errorf("%s: Allow %q", r.name, rec.Header().Get("Allow"))
			}
		}
		if r.drop != "" {
			wantDrops = append(wantDrops, r.drop)
		}
	}
	got := f.sink.got()
	if len(got) != len(wantEvents) {
		t.Fatalf("sink received %d events, want %d (%v)", len(got), len(wantEvents), wantEvents)
	}
	for i, ev := range got[:3] {
		if ev.VIN != "LRW3F7EK4NC000001" || len(ev.Data) != 2 {
			t.Errorf("event %d (%s) = %+v", i, wantEvents[i], ev)
		}
	}
	if got[3].VIN != "X" {
		t.Errorf("1 MiB event %+v", got[3])
	}
	if fmt.Sprint(f.drops.reasons) != fmt.Sprint(wantDrops) {
		t.Errorf("drops %v, want %v", f.drops.reasons, wantDrops)
	}
	logs := f.logs.String()
	if strings.Contains(logs, "s3cr3t") {
		t.Errorf("the Authorization value was logged:\n%s", logs)
	}
	if !strings.Contains(logs, "reason=unauthorized") || !strings.Contains(logs, "level=warning") {
		t.Errorf("rejections not logged:\n%s", logs)
	}
	// One warning per reason (unauthorized, too_large, bad_json, unknown_format, method), the rest at debug.
	if n := strings.Count(logs, "level=warning"); n != 5 {
		t.Errorf("%d warnings, want 5:\n%s", n, logs)
	}
}

func TestHandlerWithoutAuthorization(t *testing.T) {
	f := newFixture("")
	for _, auth := range [][]string{nil, {"anything"}} {
		if rec := f.do(t, request{method: "POST", path: "/webhook", auth: auth, body: []byte(exampleTyped)}); rec.Code != 204 {
			t.Errorf("auth %v: status %d, want 204", auth, rec.Code)
		}
	}
	if n := len(f.sink.got()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func TestHandlerDefaults(t *testing.T) {
	sink := &recordingSink{}
	h := Handler(Options{}, sink) // no logger, no OnDrop, default path
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{DefaultPath, exampleEvent, 204},
		{DefaultPath, `{bad`, 400},
		{"/", exampleEvent, 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", c.path, strings.NewReader(c.body)))
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.path, c.body, rec.Code, c.status)
		}
	}
	if len(sink.got()) != 1 {
		t.Errorf("sink got %d events, want 1", len(sink.got()))
	}
}

// Concurrent requests over a real server: every accepted one reaches the
// sink once, no data race.
func TestHandlerConcurrent(t *testing.T) {
	f := newFixture(secret)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := exampleTyped
			if i%2 == 1 {
				body = exampleEvent
			}
			req, _ := http.NewRequest("POST", srv.URL+"/webhook", strings.NewReader(body))
			req.Header.Set("Authorization", secret)
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 204 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(f.sink.got()); got != n {
		t.Errorf("sink got %d events, want %d", got, n)
	}
}
