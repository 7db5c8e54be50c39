package fieldconfig

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const (
	vin   = "5YJ3E7EB9NF123456"
	token = "secret-token-abc123"
)

func fakeAPI(t *testing.T) (*testkit.FieldConfigAPI, *rest.Client) {
	t.Helper()
	api := testkit.NewFieldConfigAPI(token)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Token: token, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return api, c
}

var wanted = map[string]config.FieldSpec{
	"BatteryLevel": {IntervalSeconds: ptr(60)},
	"Location":     {IntervalSeconds: ptr(10), MinimumDelta: ptr(0.0001)},
	"Odometer":     {},
}

func TestApplyPatchesOnlyTheDifference(t *testing.T) {
	api, c := fakeAPI(t)
	api.SetConfig(vin, map[string]string{
		"BatteryLevel": `{"interval_seconds":300}`,
		"Odometer":     `{"interval_seconds":3600}`,
		"VehicleSpeed": `{"interval_seconds":1}`,
	})
	a := &Applier{API: c, Wanted: wanted}
	res := a.Apply(context.Background(), vin)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"Location":{"interval_seconds":10,"minimum_delta":0.0001}}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies = %q\nwant [%s]", p, want)
	}
	reqs := api.Requests()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/api/config/"+vin || reqs[1].Auth != "Bearer "+token {
		t.Fatalf("requests = %+v", reqs)
	}
	if !slices.Equal(res.Changed, []string{"BatteryLevel", "Location"}) || len(res.Ignored) != 0 || !res.Pending {
		t.Fatalf("result = %+v", res)
	}
	if got := api.Fields(vin); got["VehicleSpeed"] != `{"interval_seconds":1}` || got["Odometer"] != `{"interval_seconds":3600}` {
		t.Fatalf("untouched fields changed: %v", got)
	}

	// A second run finds everything in place: GET only, no PATCH.
	res = a.Apply(context.Background(), vin)
	if res.Err != nil || len(res.Changed) != 0 || len(api.Patches()) != 1 {
		t.Fatalf("second run: %+v, patches %q", res, api.Patches())
	}
	if !res.Pending {
		t.Error("the fake still reports pending; the result should say so")
	}
}

func TestApplyReportsIgnoredFields(t *testing.T) {
	api, c := fakeAPI(t)
	api.SetConfig(vin, map[string]string{})
	api.Ignore("Location")
	res := (&Applier{API: c, Wanted: wanted}).Apply(context.Background(), vin)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := `{"fields":{"BatteryLevel":{"interval_seconds":60},"Location":{"interval_seconds":10,"minimum_delta":0.0001},"Odometer":null}}`
	if p := api.Patches(); len(p) != 1 || p[0] != want {
		t.Fatalf("PATCH bodies = %q", p)
	}
	if !slices.Equal(res.Changed, []string{"BatteryLevel", "Odometer"}) || !slices.Equal(res.Ignored, []string{"Location"}) {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(string(res.Answer), `"ignoredFields":["Location"]`) {
		t.Fatalf("answer = %s", res.Answer)
	}
}

func TestApplyFailures(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(*testkit.FieldConfigAPI)
		status    int
		temporary bool
		patches   int
		msg       string
	}{
		{"no config yet", func(*testkit.FieldConfigAPI) {}, 404, false, 0, "no streaming config for this car yet"},
		{"token rejected", func(f *testkit.FieldConfigAPI) { f.SetConfig(vin, nil); f.SetToken("other") }, 401, false, 0, "GET /api/config: Teslemetry answered 401 invalid_token"},
		{"unknown field", func(f *testkit.FieldConfigAPI) { f.SetConfig(vin, nil); f.Reject("Odometer") }, 400, false, 1, "PATCH /api/config: Teslemetry answered 400 fst_err_validation"},
		{"server error", func(f *testkit.FieldConfigAPI) {
			f.SetConfig(vin, nil)
			f.FailNext(503, `{"response":null,"error":"upstream_unavailable"}`)
		}, 503, true, 0, "GET /api/config: Teslemetry answered 503 upstream_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api, c := fakeAPI(t)
			tc.setup(api)
			res := (&Applier{API: c, Wanted: wanted}).Apply(context.Background(), vin)
			var e *Error
			if !errors.As(res.Err, &e) || e.Status != tc.status || e.Temporary() != tc.temporary {
				t.Fatalf("err = %#v", res.Err)
			}
			if !strings.Contains(res.Err.Error(), tc.msg) || strings.Contains(res.Err.Error(), token) {
				t.Fatalf("message %q, want it to contain %q (and no token)", res.Err, tc.msg)
			}
			if len(api.Patches()) != tc.patches || len(res.Changed) != 0 {
				t.Fatalf("patches %q, changed %v", api.Patches(), res.Changed)
			}
			if tc.patches > 0 && len(api.Fields(vin)) != 0 {
				t.Fatalf("a failed PATCH stored fields: %v", api.Fields(vin))
			}
		})
	}
}

func TestApplyNoAnswerIsTemporaryAndNamesNoToken(t *testing.T) {
	c, _ := rest.New(rest.Options{BaseURL: "http://127.0.0.1:1", Token: token, Timeout: time.Second})
	res := (&Applier{API: c, Wanted: wanted}).Apply(context.Background(), vin)
	var e *Error
	if !errors.As(res.Err, &e) || e.Status != 0 || !e.Temporary() || strings.Contains(res.Err.Error(), token) {
		t.Fatalf("err = %v", res.Err)
	}
}

// flaky fails the first n GETs without an answer, then serves api.
type flaky struct {
	n   atomic.Int32
	api http.Handler
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.n.Add(-1) >= 0 {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close() // no answer at all
		return
	}
	f.api.ServeHTTP(w, r)
}

func TestRetryOnNoAnswerThenSucceed(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin, nil)
	fl := &flaky{api: api}
	fl.n.Store(2)
	srv := httptest.NewServer(fl)
	defer srv.Close()
	c, _ := rest.New(rest.Options{BaseURL: srv.URL, Token: token, Timeout: 5 * time.Second})
	a := &Applier{API: c, Wanted: map[string]config.FieldSpec{"Odometer": {}}}
	var retries []time.Duration
	res := Retry(context.Background(), []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
		func(ctx context.Context) Result { return a.Apply(ctx, vin) },
		func(r Result, d time.Duration) { retries = append(retries, d) })
	if res.Err != nil || !slices.Equal(res.Changed, []string{"Odometer"}) {
		t.Fatalf("result %+v", res)
	}
	if !slices.Equal(retries, []time.Duration{time.Millisecond, 2 * time.Millisecond}) {
		t.Fatalf("retries = %v", retries)
	}
}

func TestRetryIsBoundedAndNeverRetries4xx(t *testing.T) {
	calls := 0
	fail := func(status int) func(context.Context) Result {
		return func(context.Context) Result { calls++; return Result{Err: &Error{Op: "GET", Status: status}} }
	}
	backoff := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	calls = 0
	if res := Retry(context.Background(), backoff, fail(0), nil); res.Err == nil || calls != 4 {
		t.Fatalf("no answer: %d calls, want 4 (1 + 3 retries)", calls)
	}
	calls = 0
	if res := Retry(context.Background(), backoff, fail(500), nil); res.Err == nil || calls != 4 {
		t.Fatalf("500: %d calls, want 4", calls)
	}
	for _, s := range []int{400, 401, 402, 403, 404, 429} {
		calls = 0
		if res := Retry(context.Background(), backoff, fail(s), nil); res.Err == nil || calls != 1 {
			t.Fatalf("%d: %d calls, want 1", s, calls)
		}
	}
	// A cancelled context ends the pause at once.
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	start := time.Now()
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	Retry(ctx, []time.Duration{time.Hour}, fail(0), nil)
	if calls != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("cancel: %d calls after %v", calls, time.Since(start))
	}
}

func TestParseCurrentAndAnswerReadBothShapes(t *testing.T) {
	for _, body := range []string{
		`{"exp":1,"pending":true,"fields":{"Soc":{"interval_seconds":5}}}`,
		`{"response":{"exp":1,"pending":true,"fields":{"Soc":{"interval_seconds":5}}}}`,
	} {
		c, err := ParseCurrent([]byte(body))
		if err != nil || !c.Pending || *c.Fields["Soc"].IntervalSeconds != 5 {
			t.Fatalf("%s: %+v %v", body, c, err)
		}
	}
	for _, body := range []string{`{"pending":false,"fields":null}`, `{"fields":{}}`} {
		if c, err := ParseCurrent([]byte(body)); err != nil || c.Fields == nil || len(c.Fields) != 0 {
			t.Fatalf("%s: %+v %v", body, c, err)
		}
	}
	// The stream's config event shape.
	if c, err := ParseCurrent([]byte(`{"vin":"V","config":{"fields":{"Soc":{"interval_seconds":7}}}}`)); err != nil || *c.Fields["Soc"].IntervalSeconds != 7 {
		t.Fatalf("config shape: %+v %v", c, err)
	}
	// No fields member at all: an error, never an empty config.
	for _, body := range []string{`{"pending":false}`, `{"response":null}`, `{"config":null}`} {
		if _, err := ParseCurrent([]byte(body)); err == nil || !strings.Contains(err.Error(), `no "fields" member`) {
			t.Fatalf("%s: err = %v", body, err)
		}
	}
	for _, body := range []string{`{"updated_vehicles":1,"ignoredFields":["Z","A"]}`, `{"response":{"updated_vehicles":1,"ignoredFields":["Z","A"]}}`} {
		a, err := ParseAnswer([]byte(body))
		if err != nil || a.UpdatedVehicles != 1 || !slices.Equal(a.IgnoredFields, []string{"A", "Z"}) {
			t.Fatalf("%s: %+v %v", body, a, err)
		}
	}
	if _, err := ParseCurrent([]byte(`<html>`)); err == nil {
		t.Fatal("HTML accepted")
	}
}

func TestStatusPayload(t *testing.T) {
	at := time.Date(2026, 12, 4, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	ok, _ := json.Marshal(StatusOf(Result{Changed: []string{"Odometer"}, Pending: true}, at))
	if string(ok) != `{"at":"2026-12-04T05:00:00Z","ok":true,"changed":["Odometer"],"ignored":[],"pending":true,"error":null}` {
		t.Fatalf("ok payload %s", ok)
	}
	bad, _ := json.Marshal(StatusOf(Result{Err: &Error{Op: "GET", Status: 404}}, at))
	if !strings.HasPrefix(string(bad), `{"at":"2026-12-04T05:00:00Z","ok":false,"changed":[],"ignored":[],"pending":false,"error":"Teslemetry has no streaming config`) {
		t.Fatalf("error payload %s", bad)
	}
}

// An answer the bridge cannot read is an error and nothing is sent: a
// misread "empty" config would have every listed field sent again.
func TestApplyUnreadableConfigSendsNothing(t *testing.T) {
	api, c := fakeAPI(t)
	api.SetConfig(vin, map[string]string{"Odometer": `{"interval_seconds":3600}`})
	api.FailNext(200, `{"exp":1,"hostname":"x"}`)
	res := (&Applier{API: c, Wanted: wanted}).Apply(context.Background(), vin)
	if res.Err == nil || !strings.Contains(res.Err.Error(), `GET /api/config: reading the streaming config: the answer has no "fields" member`) {
		t.Fatalf("err = %v", res.Err)
	}
	if len(api.Patches()) != 0 {
		t.Fatalf("sent %q", api.Patches())
	}
	// Not an *Error: Retry does not try again.
	calls := 0
	Retry(context.Background(), []time.Duration{time.Millisecond}, func(context.Context) Result { calls++; return res }, nil)
	if calls != 1 {
		t.Fatalf("%d calls", calls)
	}
}
