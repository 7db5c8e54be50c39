package fieldconfig

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const vin2 = "7SAYGDEE1PA654321"

type published struct {
	mu  sync.Mutex
	got map[string]string
	ch  chan string
}

func (p *published) publish(vin string, s Status) {
	b, _ := json.Marshal(s)
	p.mu.Lock()
	p.got[vin] = string(b)
	p.mu.Unlock()
	p.ch <- vin
}

func (p *published) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-p.ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d statuses published", i, n)
		}
	}
}

func TestManagerAppliesOncePerCarAndPublishes(t *testing.T) {
	api := testkit.NewFieldConfigAPI(token)
	api.SetConfig(vin, map[string]string{"BatteryLevel": `{"interval_seconds":60}`})
	api.Ignore("Location")
	srv := httptest.NewServer(api)
	defer srv.Close()
	c, _ := rest.New(rest.Options{BaseURL: srv.URL, Token: token})
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	pub := &published{got: map[string]string{}, ch: make(chan string, 10)}
	at := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	m := NewManager(ManagerOptions{
		Applier: &Applier{API: c, Wanted: map[string]config.FieldSpec{"BatteryLevel": {IntervalSeconds: ptr(60)}, "Location": {}, "Odometer": {}}},
		Logger:  logger, Publish: pub.publish, Now: func() time.Time { return at }, Backoff: []time.Duration{time.Millisecond},
	})
	m.Car(vin) // before Run: queued
	m.Car(vin)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	m.Car(vin2) // after Run; vin2 has no config: 404
	m.Car(vin2)
	pub.wait(t, 2)

	if want := `{"at":"2026-12-04T06:00:00Z","ok":true,"changed":["Odometer"],"ignored":["Location"],"pending":true,"error":null}`; pub.got[vin] != want {
		t.Errorf("%s status %s\nwant %s", vin, pub.got[vin], want)
	}
	if got := pub.got[vin2]; !strings.HasPrefix(got, `{"at":"2026-12-04T06:00:00Z","ok":false,"changed":[],"ignored":[],"pending":false,"error":"Teslemetry has no streaming config`) {
		t.Errorf("%s status %s", vin2, got)
	}
	if p := api.Patches(); len(p) != 1 || p[0] != `{"fields":{"Location":null,"Odometer":null}}` {
		t.Errorf("patches %q", p)
	}
	gets := 0
	for _, r := range api.Requests() {
		if r.Method == "GET" {
			gets++
		}
	}
	if gets != 2 {
		t.Errorf("%d GETs, want one per car", gets)
	}

	levels := map[string]logrus.Level{}
	for _, e := range hook.AllEntries() {
		levels[e.Message] = e.Level
	}
	for msg, lvl := range map[string]logrus.Level{
		"streaming config updated: the car now streams these fields as listed in teslemetry.fields":                              logrus.InfoLevel,
		"Teslemetry ignored fields of teslemetry.fields (most likely the car's firmware does not have them)":                     logrus.WarnLevel,
		"the car has not yet confirmed its streaming config; it does when it next connects":                                      logrus.InfoLevel,
		"could not apply teslemetry.fields to the car's streaming config; the bridge carries on with the fields the car streams": logrus.WarnLevel,
	} {
		if got, ok := levels[msg]; !ok || got != lvl {
			t.Errorf("log %q: level %v (logged %v), want %v", msg, got, ok, lvl)
		}
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	m.Car("5YJ3E7EB9NF000000") // after stop: ignored, no goroutine
	if len(api.Requests()) != 3 {
		t.Errorf("requests after stop: %d", len(api.Requests()))
	}
}

func TestManagerStopsDuringBackoffWithoutPublishing(t *testing.T) {
	c, _ := rest.New(rest.Options{BaseURL: "http://127.0.0.1:1", Token: token, Timeout: time.Second})
	logger, hook := test.NewNullLogger()
	pub := &published{got: map[string]string{}, ch: make(chan string, 10)}
	m := NewManager(ManagerOptions{
		Applier: &Applier{API: c, Wanted: map[string]config.FieldSpec{"Odometer": {}}},
		Logger:  logger, Publish: pub.publish, Backoff: []time.Duration{time.Hour},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	m.Car(vin)
	time.Sleep(100 * time.Millisecond) // the first attempt fails at once (connection refused)
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return during the backoff pause")
	}
	if time.Since(start) > 2*time.Second || len(pub.got) != 0 {
		t.Fatalf("stop took %v, published %v", time.Since(start), pub.got)
	}
	for _, e := range hook.AllEntries() {
		if e.Level <= logrus.WarnLevel {
			t.Errorf("a stop during the pause logged %q", e.Message)
		}
	}
}

func TestManagerGivesUpAfterTheBackoffAndLogsOnce(t *testing.T) {
	c, _ := rest.New(rest.Options{BaseURL: "http://127.0.0.1:1", Token: token, Timeout: time.Second})
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	pub := &published{got: map[string]string{}, ch: make(chan string, 10)}
	m := NewManager(ManagerOptions{
		Applier: &Applier{API: c, Wanted: map[string]config.FieldSpec{"Odometer": {}}},
		Logger:  logger, Publish: pub.publish, Backoff: []time.Duration{time.Millisecond, time.Millisecond},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.Car(vin)
	pub.wait(t, 1)
	warns, debugs := 0, 0
	for _, e := range hook.AllEntries() {
		switch e.Level {
		case logrus.WarnLevel:
			warns++
		case logrus.DebugLevel:
			debugs++
		}
	}
	if warns != 1 || debugs != 2 || !strings.Contains(pub.got[vin], `"ok":false`) || !strings.Contains(pub.got[vin], "no answer") {
		t.Fatalf("warns %d debugs %d status %s", warns, debugs, pub.got[vin])
	}
}
