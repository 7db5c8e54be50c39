package addon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	supToken   = "sup-token-8f3a1c"
	brokerPass = "broker-pass-Zq9"
)

// fakeSupervisor imitates GET /services/mqtt of the Home Assistant Supervisor.
type fakeSupervisor struct {
	status int    // HTTP status to answer with
	body   string // answer body
	fail   int32  // answer 502 this many times first
	calls  atomic.Int32
	auth   atomic.Value // last Authorization header
}

func (f *fakeSupervisor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	f.auth.Store(r.Header.Get("Authorization"))
	if r.URL.Path != "/services/mqtt" || r.Method != http.MethodGet {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"result":"error","message":"Service does not exist"}`))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+supToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"result":"error","message":"Invalid token for access"}`))
		return
	}
	if n <= f.fail {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"result":"error","message":"busy"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.body))
}

const mosquittoAnswer = `{"result":"ok","data":{"host":"core-mosquitto","port":1883,"ssl":false,"protocol":"3.1.1","username":"addons","password":"` + brokerPass + `"}}`

func newSupervisor(t *testing.T, f *fakeSupervisor) Supervisor {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return Supervisor{URL: srv.URL, Token: supToken, Client: srv.Client()}
}

func fastRetries(t *testing.T) {
	t.Helper()
	old := retryDelays
	retryDelays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	t.Cleanup(func() { retryDelays = old })
}

func TestSupervisorMQTT(t *testing.T) {
	f := &fakeSupervisor{status: 200, body: mosquittoAnswer}
	sup := newSupervisor(t, f)
	got, err := sup.MQTT(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := MQTTService{Host: "core-mosquitto", Port: 1883, Username: "addons", Password: brokerPass}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if a := f.auth.Load(); a != "Bearer "+supToken {
		t.Errorf("Authorization header = %q", a)
	}
	if got.URL() != "mqtt://core-mosquitto:1883" {
		t.Errorf("URL() = %q", got.URL())
	}
}

func TestSupervisorMQTTSSL(t *testing.T) {
	sup := newSupervisor(t, &fakeSupervisor{status: 200, body: `{"result":"ok","data":{"host":"core-mosquitto","port":8883,"ssl":true,"username":"addons","password":"x"}}`})
	got, err := sup.MQTT(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !got.SSL || got.URL() != "mqtts://core-mosquitto:8883" {
		t.Errorf("got %+v, URL %q", got, got.URL())
	}
	if u := (MQTTService{Host: "fd00::1", Port: 1883}).URL(); u != "mqtt://[fd00::1]:1883" {
		t.Errorf("IPv6 URL = %q", u)
	}
}

func TestSupervisorNoMQTTService(t *testing.T) {
	for name, f := range map[string]*fakeSupervisor{
		"400 not enabled": {status: 400, body: `{"result":"error","message":"Service not enabled"}`},
		"404":             {status: 404, body: `{"result":"error","message":"Service does not exist"}`},
		"result error":    {status: 200, body: `{"result":"error","message":"Service not enabled"}`},
		"no data":         {status: 200, body: `{"result":"ok","data":{}}`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newSupervisor(t, f).MQTT(context.Background())
			if !errors.Is(err, ErrNoMQTTService) {
				t.Fatalf("err = %v, want ErrNoMQTTService", err)
			}
			for _, hint := range []string{"Mosquitto broker", "mqtt_url"} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("error %q does not mention %q", err, hint)
				}
			}
		})
	}
}

func TestSupervisorOtherErrors(t *testing.T) {
	fastRetries(t)
	cases := map[string]struct {
		sup  func(t *testing.T) Supervisor
		want string
	}{
		"wrong token": {func(t *testing.T) Supervisor {
			s := newSupervisor(t, &fakeSupervisor{status: 200, body: mosquittoAnswer})
			s.Token = "other-token-77"
			return s
		}, "rejected"},
		"no token": {func(t *testing.T) Supervisor { return Supervisor{URL: "http://127.0.0.1:1"} }, "SUPERVISOR_TOKEN is not set"},
		"forbidden": {func(t *testing.T) Supervisor {
			return newSupervisor(t, &fakeSupervisor{status: 403, body: `{"result":"error","message":"No access to mqtt service!"}`})
		}, "mqtt:want"},
		"malformed with password": {func(t *testing.T) Supervisor {
			return newSupervisor(t, &fakeSupervisor{status: 200, body: `{"result":"ok","data":{"host":"h","port":"1883","password":"` + brokerPass + `"}}`})
		}, "malformed"},
		"unreachable": {func(t *testing.T) Supervisor {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return Supervisor{URL: srv.URL, Token: supToken}
		}, "asking the Supervisor"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sup := c.sup(t)
			_, err := sup.MQTT(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if errors.Is(err, ErrNoMQTTService) {
				t.Errorf("%v must not be ErrNoMQTTService", err)
			}
			for _, secret := range []string{supToken, "other-token-77", brokerPass} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestSupervisorRetriesTemporaryFailures(t *testing.T) {
	fastRetries(t)
	f := &fakeSupervisor{status: 200, body: mosquittoAnswer, fail: 2}
	sup := newSupervisor(t, f)
	got, err := askSupervisor(context.Background(), sup)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "core-mosquitto" || f.calls.Load() != 3 {
		t.Errorf("got %+v after %d calls", got, f.calls.Load())
	}

	// A missing service is final: asked once, no retries.
	f = &fakeSupervisor{status: 400, body: `{"result":"error","message":"Service not enabled"}`}
	if _, err := askSupervisor(context.Background(), newSupervisor(t, f)); !errors.Is(err, ErrNoMQTTService) || f.calls.Load() != 1 {
		t.Errorf("err = %v after %d calls", err, f.calls.Load())
	}

	// Retries give up.
	f = &fakeSupervisor{status: 200, body: mosquittoAnswer, fail: 100}
	if _, err := askSupervisor(context.Background(), newSupervisor(t, f)); err == nil || int(f.calls.Load()) != len(retryDelays)+1 {
		t.Errorf("err = %v after %d calls", err, f.calls.Load())
	}
}
