package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// RESTRequest is one request the fake Teslemetry REST API received.
type RESTRequest struct {
	At     time.Time
	Method string
	Path   string // e.g. /api/1/vehicles/<VIN>/command/door_lock
	Body   string // as sent ("" for none)
	Auth   string // Authorization header
	Status int    // status answered
}

// Command returns the last path level (the command or endpoint name).
func (r RESTRequest) Command() string { return r.Path[strings.LastIndex(r.Path, "/")+1:] }

// RESTAnswer is a scripted answer.
type RESTAnswer struct {
	Status int
	Body   string        // whole body; "" gives Teslemetry's envelope for the status
	Delay  time.Duration // wait before answering (a slow car)
}

// FakeREST is a local Teslemetry REST API: it records every request and
// answers 200 {"response":{"result":true,"reason":""}} unless scripted. Cars
// can be asleep: every vehicle command then answers 408 until wake_up is
// called (and, with SetWakeDelay, some time has passed).
type FakeREST struct {
	Server *httptest.Server
	Token  string

	mu        sync.Mutex
	started   int // requests that arrived, answered or not
	log       []RESTRequest
	scripted  map[string][]RESTAnswer // by command/endpoint name: answers used in order, the last one sticks
	asleep    map[string]bool         // VIN → asleep
	wakeAt    map[string]time.Time    // VIN → when a requested wake completes
	wakeDelay time.Duration
	notify    chan struct{}
}

// NewFakeREST starts the server; it stops with the test.
func NewFakeREST(t testing.TB, token string) *FakeREST {
	f := &FakeREST{Token: token, scripted: map[string][]RESTAnswer{}, asleep: map[string]bool{},
		wakeAt: map[string]time.Time{}, notify: make(chan struct{}, 1)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// URL is the base URL to configure as teslemetry.url.
func (f *FakeREST) URL() string { return f.Server.URL }

// Script sets the answers to a command or site endpoint (its last path
// level, e.g. "door_lock", "backup", "wake_up"), used in order; the last
// one answers every later request.
func (f *FakeREST) Script(name string, answers ...RESTAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripted[name] = answers
}

// SetAsleep puts a car to sleep (408 for commands until woken) or wakes it.
func (f *FakeREST) SetAsleep(vin string, asleep bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asleep[vin] = asleep
	delete(f.wakeAt, vin)
}

// SetWakeDelay makes a wake_up take d: the answer says "asleep" and the car
// is online (for commands and GET) only after d.
func (f *FakeREST) SetWakeDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wakeDelay = d
}

// Requests returns a copy of every request so far.
func (f *FakeREST) Requests() []RESTRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RESTRequest(nil), f.log...)
}

// Commands returns the command/endpoint names of the POSTs so far, in order.
func (f *FakeREST) Commands() []string {
	var out []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r.Command())
		}
	}
	return out
}

// WaitRequests waits until at least n requests arrived and returns them.
func (f *FakeREST) WaitRequests(t testing.TB, n int, timeout time.Duration) []RESTRequest {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if rs := f.Requests(); len(rs) >= n {
			return rs
		}
		select {
		case <-f.notify:
		case <-deadline:
			t.Fatalf("fake REST: %d requests after %v, want %d: %v", len(f.Requests()), timeout, n, f.Commands())
		}
	}
}

func (f *FakeREST) signal() {
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// WaitStarted waits until at least n requests arrived, answered or not (a
// slow answer is then in flight).
func (f *FakeREST) WaitStarted(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		got := f.started
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-f.notify:
		case <-deadline:
			t.Fatalf("fake REST: %d requests arrived after %v, want %d", got, timeout, n)
		}
	}
}

func (f *FakeREST) onlineLocked(vin string, now time.Time) bool {
	if !f.asleep[vin] {
		return true
	}
	if at, ok := f.wakeAt[vin]; ok && !now.Before(at) {
		f.asleep[vin] = false
		delete(f.wakeAt, vin)
		return true
	}
	return false
}

func (f *FakeREST) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := RESTRequest{At: time.Now(), Method: r.Method, Path: r.URL.Path, Body: string(body), Auth: r.Header.Get("Authorization")}
	f.mu.Lock()
	f.started++
	f.mu.Unlock()
	f.signal()
	ans := f.answer(r, &rec)
	if ans.Delay > 0 {
		select {
		case <-time.After(ans.Delay):
		case <-r.Context().Done():
		}
	}
	rec.Status = ans.Status
	f.mu.Lock()
	f.log = append(f.log, rec)
	f.mu.Unlock()
	f.signal()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.Status)
	_, _ = io.WriteString(w, ans.Body)
}

func (f *FakeREST) answer(r *http.Request, rec *RESTRequest) RESTAnswer {
	if f.Token != "" && rec.Auth != "Bearer "+f.Token {
		return RESTAnswer{Status: 401, Body: `{"response":null,"error":"invalid_token","error_description":"token rejected"}`}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	name := rec.Command()
	var vin string
	if len(parts) >= 4 && parts[0] == "api" && parts[2] == "vehicles" {
		vin = parts[3]
	}
	switch {
	case vin != "" && len(parts) == 4 && r.Method == http.MethodGet:
		state := "asleep"
		if f.onlineLocked(vin, now) {
			state = "online"
		}
		return RESTAnswer{Status: 200, Body: `{"response":{"vin":"` + vin + `","state":"` + state + `"}}`}
	case vin != "" && name == "wake_up" && len(f.scripted["wake_up"]) == 0:
		if f.asleep[vin] {
			if _, pending := f.wakeAt[vin]; !pending {
				f.wakeAt[vin] = now.Add(f.wakeDelay)
			}
		}
		state := "asleep"
		if f.onlineLocked(vin, now) {
			state = "online"
		}
		return RESTAnswer{Status: 200, Body: `{"response":{"vin":"` + vin + `","state":"` + state + `"}}`}
	case vin != "" && len(parts) == 6 && parts[4] == "command" && !f.onlineLocked(vin, now):
		return RESTAnswer{Status: 408, Body: `{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep"}`}
	}
	if list := f.scripted[name]; len(list) > 0 {
		a := list[0]
		if len(list) > 1 {
			f.scripted[name] = list[1:]
		}
		if a.Body == "" {
			a.Body = envelope(a.Status)
		}
		return a
	}
	if len(parts) >= 2 && parts[len(parts)-2] == "command" {
		return RESTAnswer{Status: 200, Body: `{"response":{"result":true,"reason":""}}`}
	}
	return RESTAnswer{Status: 200, Body: `{"response":{"code":201,"message":"Updated"}}`}
}

func envelope(status int) string {
	if status >= 200 && status < 300 {
		return `{"response":{"result":true,"reason":""}}`
	}
	key := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	b, _ := json.Marshal(map[string]any{"response": nil, "error": key, "error_description": http.StatusText(status)})
	return string(b)
}
