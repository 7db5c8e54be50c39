package fieldconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
)

// API is the part of the Teslemetry REST client this package uses
// (*rest.Client).
type API interface {
	FieldConfig(ctx context.Context, vin string) (rest.Response, error)
	PatchFieldConfig(ctx context.Context, vin string, body any) (rest.Response, error)
}

// Current is a car's streaming config as Teslemetry reports it.
type Current struct {
	Pending bool             // the car has not yet acknowledged its latest config
	Fields  map[string]Entry // what the car streams, by field name
}

// ParseCurrent reads the answer to GET /api/config/{vin}. Teslemetry sends
// the config object bare; an answer wrapped in {"response": …}, or with the
// config under "config" as in the stream's config event, is read too. An
// answer without a "fields" member is an error, never an empty config: the
// bridge would otherwise send every listed field, and a listed null would
// reset an interval the car already has.
func ParseCurrent(body []byte) (Current, error) {
	obj, err := unwrap(body)
	if err != nil {
		return Current{}, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(obj, &probe); err != nil {
		return Current{}, fmt.Errorf("reading the streaming config: %w", err)
	}
	if _, ok := probe["fields"]; !ok {
		if inner, ok := probe["config"]; ok && len(inner) > 0 && inner[0] == '{' {
			obj = inner
			probe = nil
			_ = json.Unmarshal(obj, &probe)
		}
	}
	if _, ok := probe["fields"]; !ok {
		return Current{}, errors.New("reading the streaming config: the answer has no \"fields\" member")
	}
	var cur struct {
		Pending bool             `json:"pending"`
		Fields  map[string]Entry `json:"fields"`
	}
	if err := json.Unmarshal(obj, &cur); err != nil {
		return Current{}, fmt.Errorf("reading the streaming config: %w", err)
	}
	if cur.Fields == nil {
		cur.Fields = map[string]Entry{}
	}
	return Current{Pending: cur.Pending, Fields: cur.Fields}, nil
}

// Answer is Teslemetry's answer to a PATCH.
type Answer struct {
	UpdatedVehicles int      `json:"updated_vehicles"`
	IgnoredFields   []string `json:"ignoredFields"`
}

// ParseAnswer reads the answer to PATCH /api/config/{vin} (bare or wrapped).
func ParseAnswer(body []byte) (Answer, error) {
	var a Answer
	obj, err := unwrap(body)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(obj, &a); err != nil {
		return a, fmt.Errorf("reading the answer: %w", err)
	}
	slices.Sort(a.IgnoredFields)
	return a, nil
}

// unwrap returns the "response" member when the body is the wrapped form.
func unwrap(body []byte) (json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("answer is not a JSON object: %w", err)
	}
	if r, ok := env["response"]; ok && len(r) > 0 && r[0] == '{' {
		return r, nil
	}
	return body, nil
}

// Error is a failed request to the field-config API.
type Error struct {
	Op     string // "GET" or "PATCH"
	Status int    // HTTP status; 0 when Teslemetry did not answer
	Reason string // Teslemetry's error key or description, or the transport error
	Detail string // Teslemetry's error_description, when it also gave a key
	Err    error  // transport error, when Status is 0
}

func (e *Error) Error() string {
	switch {
	case e.Status == http.StatusNotFound && e.Op == http.MethodGet:
		return "Teslemetry has no streaming config for this car yet (404): start streaming for it once in the Teslemetry console"
	case e.Status != 0 && e.Detail != "":
		return fmt.Sprintf("%s /api/config: Teslemetry answered %d %s (%s)", e.Op, e.Status, e.Reason, e.Detail)
	case e.Status != 0:
		return fmt.Sprintf("%s /api/config: Teslemetry answered %d %s", e.Op, e.Status, e.Reason)
	default:
		return fmt.Sprintf("%s /api/config: no answer: %s", e.Op, e.Reason)
	}
}

func (e *Error) Unwrap() error { return e.Err }

func answerError(op string, r rest.Response) *Error {
	e := &Error{Op: op, Status: r.Status, Reason: r.Reason()}
	if r.Error != "" && r.Description != "" {
		e.Detail = r.Description
	}
	return e
}

// Temporary reports whether trying again later may help: no answer, or a 5xx.
// A 4xx (bad token, no subscription, unknown field, rate limit) never is.
func (e *Error) Temporary() bool { return e.Status == 0 || e.Status >= 500 }

// Result is the outcome of one Apply for one car.
type Result struct {
	Plan    Plan     // what was compared (empty when the GET failed)
	Changed []string // fields sent in the PATCH, in name order
	Ignored []string // fields Teslemetry refused (e.g. the car's firmware lacks them)
	Pending bool     // the car has not yet acknowledged the config
	Answer  []byte   // Teslemetry's answer to the PATCH, as received
	Err     error    // *Error, or a malformed answer; nil on success
}

// Applier reads a car's config, compares it with Wanted and patches the difference.
type Applier struct {
	API    API
	Wanted map[string]config.FieldSpec
}

// Inspect reads the car's current config and compares it with Wanted.
func (a *Applier) Inspect(ctx context.Context, vin string) (Current, Plan, error) {
	r, err := a.API.FieldConfig(ctx, vin)
	if err != nil {
		return Current{}, Plan{}, &Error{Op: http.MethodGet, Reason: err.Error(), Err: err}
	}
	if !r.OK() {
		return Current{}, Plan{}, answerError(http.MethodGet, r)
	}
	cur, err := ParseCurrent(r.Body)
	if err != nil {
		return Current{}, Plan{}, fmt.Errorf("GET /api/config: %w", err)
	}
	return cur, Compare(a.Wanted, cur.Fields), nil
}

// Apply reads the car's config and, when a listed field is missing or
// differs, patches only those fields. It makes one attempt; see Retry.
func (a *Applier) Apply(ctx context.Context, vin string) Result {
	cur, plan, err := a.Inspect(ctx, vin)
	if err != nil {
		return Result{Err: err}
	}
	return a.Patch(ctx, vin, cur, plan)
}

// Patch sends the PATCH of a plan made by Inspect, if it has anything to send.
func (a *Applier) Patch(ctx context.Context, vin string, cur Current, plan Plan) Result {
	res := Result{Plan: plan, Pending: cur.Pending}
	body := plan.Body()
	if body == nil {
		return res
	}
	r, err := a.API.PatchFieldConfig(ctx, vin, json.RawMessage(body))
	if err != nil {
		res.Err = &Error{Op: http.MethodPatch, Reason: err.Error(), Err: err}
		return res
	}
	res.Answer = r.Body
	if !r.OK() {
		res.Err = answerError(http.MethodPatch, r)
		return res
	}
	ans, err := ParseAnswer(r.Body)
	if err != nil {
		res.Err = fmt.Errorf("PATCH /api/config: %w", err)
		return res
	}
	res.Ignored = ans.IgnoredFields
	for _, f := range plan.Changes() {
		if !slices.Contains(res.Ignored, f) {
			res.Changed = append(res.Changed, f)
		}
	}
	// Teslemetry has just handed the car a new config; the car confirms it
	// when it next connects.
	res.Pending = res.Pending || len(res.Changed) > 0
	return res
}

// DefaultBackoff returns the pauses before the second and later attempts
// when Teslemetry could not be reached (or answered 5xx): five retries, about
// five minutes in all.
func DefaultBackoff() []time.Duration {
	return []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 2 * time.Minute, 2 * time.Minute}
}

// Retry calls apply until it succeeds, fails for good (any answer but a 5xx),
// runs out of pauses in backoff, or ctx ends. onRetry, when set, hears of
// each failure that will be retried.
func Retry(ctx context.Context, backoff []time.Duration, apply func(context.Context) Result, onRetry func(Result, time.Duration)) Result {
	for attempt := 0; ; attempt++ {
		res := apply(ctx)
		var e *Error
		if res.Err == nil || !errors.As(res.Err, &e) || !e.Temporary() || attempt >= len(backoff) || ctx.Err() != nil {
			return res
		}
		if onRetry != nil {
			onRetry(res, backoff[attempt])
		}
		t := time.NewTimer(backoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return res
		case <-t.C:
		}
	}
}
