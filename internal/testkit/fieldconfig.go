package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// FieldConfigAPI fakes Teslemetry's field-config API, GET and PATCH
// /api/config/{vin}, as an http.Handler. Cars without a config answer 404.
// PATCH merges like Teslemetry does: listed fields are replaced, a null
// entry becomes {"interval_seconds": DefaultInterval}, unlisted fields stay.
// Knobs: Ignore (fields answered in ignoredFields and not stored, as for
// older firmware), Reject (unknown names: the whole PATCH fails with 400
// fst_err_validation), SetPending, FailNext. Every request is recorded with
// its body, so tests can assert PATCH bodies exactly.
type FieldConfigAPI struct {
	DefaultInterval int // stored for a null entry; 0 means 1800; set before serving

	mu       sync.Mutex
	token    string // when set, any other bearer token gets 401
	configs  map[string]*carConfig
	ignore   map[string]bool
	reject   map[string]bool
	failures []cannedAnswer
	requests []ConfigRequest
	notify   chan struct{}
}

// ConfigRequest is one request the fake received.
type ConfigRequest struct {
	Method string
	Path   string
	Body   string // as received
	Auth   string // the Authorization header
	Status int    // status answered
}

type carConfig struct {
	pending bool
	fields  map[string]json.RawMessage
}

type cannedAnswer struct {
	status int
	body   string
}

// NewFieldConfigAPI returns a fake with no cars configured.
func NewFieldConfigAPI(token string) *FieldConfigAPI {
	return &FieldConfigAPI{token: token, configs: map[string]*carConfig{}, ignore: map[string]bool{}, reject: map[string]bool{}, notify: make(chan struct{})}
}

// SetToken changes the bearer token the fake accepts ("" accepts any).
func (f *FieldConfigAPI) SetToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = token
}

// SetConfig gives vin a config with these fields, each a JSON object such as
// `{"interval_seconds":60}`.
func (f *FieldConfigAPI) SetConfig(vin string, fields map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &carConfig{fields: map[string]json.RawMessage{}}
	for k, v := range fields {
		c.fields[k] = json.RawMessage(v)
	}
	f.configs[vin] = c
}

// SetPending sets the pending flag GET reports for vin.
func (f *FieldConfigAPI) SetPending(vin string, pending bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.configs[vin]; c != nil {
		c.pending = pending
	}
}

// Ignore makes PATCH refuse these fields in ignoredFields (not stored).
func (f *FieldConfigAPI) Ignore(fields ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range fields {
		f.ignore[n] = true
	}
}

// Reject makes a PATCH naming any of these fields fail as a whole with 400.
func (f *FieldConfigAPI) Reject(fields ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range fields {
		f.reject[n] = true
	}
}

// FailNext answers the next request (any method) with status and body
// instead of serving it; calls queue up.
func (f *FieldConfigAPI) FailNext(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, cannedAnswer{status, body})
}

// Fields returns vin's stored fields as JSON objects, as stored (nil without a config).
func (f *FieldConfigAPI) Fields(vin string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.configs[vin]
	if c == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range c.fields {
		out[k] = string(v)
	}
	return out
}

// Requests returns every request received so far.
func (f *FieldConfigAPI) Requests() []ConfigRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Patches returns the bodies of the PATCH requests received so far.
func (f *FieldConfigAPI) Patches() []string {
	var out []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodPatch {
			out = append(out, r.Body)
		}
	}
	return out
}

// Changed returns a channel closed at the next request (for waiting without sleeps).
func (f *FieldConfigAPI) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notify
}

// ServeHTTP serves GET and PATCH /api/config/{vin}.
func (f *FieldConfigAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	status, answer := f.serve(r, body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (f *FieldConfigAPI) serve(r *http.Request, body []byte) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := ConfigRequest{Method: r.Method, Path: r.URL.Path, Body: string(body), Auth: r.Header.Get("Authorization")}
	status, answer := f.answerLocked(r, body)
	req.Status = status
	f.requests = append(f.requests, req)
	close(f.notify)
	f.notify = make(chan struct{})
	return status, answer
}

func (f *FieldConfigAPI) answerLocked(r *http.Request, body []byte) (int, string) {
	if len(f.failures) > 0 {
		c := f.failures[0]
		f.failures = f.failures[1:]
		return c.status, c.body
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		return wrappedError(http.StatusUnauthorized, "invalid_token", "token rejected")
	}
	vin, ok := strings.CutPrefix(r.URL.Path, "/api/config/")
	if !ok || vin == "" || strings.Contains(vin, "/") {
		return wrappedError(http.StatusNotFound, "not_found", "no such endpoint")
	}
	c := f.configs[vin]
	switch r.Method {
	case http.MethodGet:
		if c == nil {
			return wrappedError(http.StatusNotFound, "not_found", "no fleet telemetry config for "+vin)
		}
		out, _ := json.Marshal(map[string]any{
			"exp": 1749261108, "hostname": "fake.teslemetry.test", "port": 4431, "prefer_typed": true,
			"pending": c.pending, "fields": c.fields,
		})
		return http.StatusOK, string(out)
	case http.MethodPatch:
		if c == nil {
			return wrappedError(http.StatusNotFound, "not_found", "no fleet telemetry config for "+vin)
		}
		var req struct {
			Fields map[string]json.RawMessage `json:"fields"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Fields == nil {
			return wrappedError(http.StatusBadRequest, "invalid_request", "body must be {\"fields\":{…}}")
		}
		names := slices.Sorted(maps.Keys(req.Fields))
		for _, n := range names {
			if f.reject[n] {
				return wrappedError(http.StatusBadRequest, "fst_err_validation", "unknown field "+n)
			}
		}
		ignored := []string{}
		for _, n := range names {
			if f.ignore[n] {
				ignored = append(ignored, n)
				continue
			}
			v := req.Fields[n]
			if string(v) == "null" {
				def := f.DefaultInterval
				if def == 0 {
					def = 1800
				}
				v = json.RawMessage(fmt.Sprintf(`{"interval_seconds":%d}`, def))
			}
			c.fields[n] = v
		}
		c.pending = true
		out, _ := json.Marshal(map[string]any{"updated_vehicles": 1, "ignoredFields": ignored})
		return http.StatusOK, string(out)
	default:
		return wrappedError(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not faked")
	}
}

func wrappedError(status int, key, desc string) (int, string) {
	out, _ := json.Marshal(map[string]any{"response": nil, "error": key, "error_description": desc})
	return status, string(out)
}
