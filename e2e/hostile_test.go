package e2e

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Hostile upstream behaviour between processes (docs/failures.md): redirects
// that would carry the token elsewhere, and bodies the bridge cannot read.

// authLog is a server that records the Authorization header of every request.
type authLog struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newAuthLog(t *testing.T, h http.HandlerFunc) *authLog {
	a := &authLog{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.auths = append(a.auths, r.Header.Get("Authorization"))
		a.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *authLog) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auths...)
}

// The token goes only to the configured scheme, host and port: a redirect to
// another port of the same host is refused, with an error naming the target.
func TestHostileRedirectKeepsTheToken(t *testing.T) {
	mq := StartMosquitto(t, "")
	sub := testkit.Subscribe(t, mq.URL(), "#")
	other := newAuthLog(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("data: " + batteryEvent(vin1, 66) + "\n\n"))
	})
	redirector := newAuthLog(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	br := runBridge(t, cfgOpts{Tesla: redirector.URL, Broker: mq.URL()})
	start := time.Now()
	br.waitLog(10*time.Second, "level=error", "refusing redirect to "+other.URL)
	t.Logf("redirect to another port: refused, logged %v after start", time.Since(start).Round(time.Millisecond))
	if got := other.seen(); len(got) != 0 {
		t.Fatalf("the other port got %d requests (Authorization %q)", len(got), got)
	}
	if got := redirector.seen(); len(got) == 0 || got[0] != "Bearer "+token {
		t.Fatalf("the configured origin saw %q", got)
	}
	if _, ok := sub.Get("teslemetry/" + vin1 + "/v/BatteryLevel"); ok {
		t.Error("a value from the redirect target was published")
	}
	noSecrets(t, "the log", br.Output(), token)
	br.stopClean()
}

// A compressed stream would yield no values at all: refused, logged, counted,
// and /healthz says unhealthy.
func TestHostileCompressedStream(t *testing.T) {
	mq := StartMosquitto(t, "")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("data: " + batteryEvent(vin1, 77) + "\n\n"))
	zw.Close()
	tesla := newAuthLog(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.Write(gz.Bytes())
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL, Broker: mq.URL(), HTTP: listen})
	br.waitLog(10*time.Second, "level=warning", "compressed", "gzip")
	waitUntil(t, "dropped{reason=encoding}", 10*time.Second, func() bool {
		m, err := tryScrape(listen)
		return err == nil && m[`teslemetry2mqtt_dropped_total{reason="encoding"}`] >= 1
	})
	res, err := http.Get("http://" + listen + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	res.Body.Close()
	t.Logf("compressed stream: /healthz %d %s", res.StatusCode, strings.TrimSpace(body.String()))
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.String(), "disconnected") {
		t.Errorf("/healthz %d %s, want 503 naming the stream", res.StatusCode, body.String())
	}
	br.stopClean()
}

// A webhook receiver anyone can post to is worth a warning at start.
func TestHostileWebhookWithoutAuthorizationWarns(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	for _, authz := range []string{"", "Bearer hook-SECRET-1"} {
		extra := "webhook:\n  listen: " + freeAddr(t) + "\n"
		if authz != "" {
			extra += "  authorization: " + authz + "\n"
		}
		br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), Extra: extra})
		br.waitLog(10*time.Second, "webhook receiver listening")
		n := br.lines("level=warning", "without webhook.authorization")
		if (authz == "") != (n == 1) {
			t.Errorf("authorization %q: %d warnings about a missing authorization", authz, n)
		}
		br.stopClean()
	}
}
