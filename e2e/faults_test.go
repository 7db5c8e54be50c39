package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Fault injection against the built binary, a real mosquitto and the fake
// Teslemetry server: every row of docs/failures.md that is
// about the stream, the broker or shutdown. Timings are asserted with
// generous bounds and logged (README's Reliability section quotes them).

const vin3 = "LRW3E7FA1MC000003"

func batteryEvent(vin string, level any) string {
	return fmt.Sprintf(`{"vin":%q,"data":{"BatteryLevel":%v}}`, vin, level)
}

func gaps(times []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(times); i++ {
		out = append(out, times[i].Sub(times[i-1]).Round(time.Millisecond))
	}
	return out
}

// §8 "stream ends cleanly → reconnect after ~1 s".
func TestFaultStreamEndReconnectsAfterOneSecond(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 41))
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})
	topic := "teslemetry/" + vin1 + "/v/BatteryLevel"

	for i := 1; i <= 3; i++ {
		sub.WaitFor(topic, strconv.Itoa(40+i), 15*time.Second) // the connection delivered an event: healthy
		tesla.SetSnapshot(batteryEvent(vin1, 41+i))
		dropped := time.Now()
		tesla.DropAll()
		next := tesla.WaitRequests(t, i+1, 10*time.Second)
		gap := next.Sub(dropped)
		t.Logf("clean end of stream #%d: next request %v later", i, gap.Round(time.Millisecond))
		if gap < 500*time.Millisecond || gap > 3*time.Second {
			t.Errorf("reconnect %v after a clean end of stream, want 0.5–3 s", gap)
		}
	}
	sub.WaitFor(topic, "44", 15*time.Second)
	if n := br.lines("ended by the server"); n != 3 {
		t.Errorf("%d log lines about the stream ending, want 3", n)
	}
	br.stopClean()
}

// §8 "network error, 5xx → exponential backoff from 1 s, with jitter; reset after a healthy connection".
func TestFaultServerErrorsBackOff(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetStatus(http.StatusServiceUnavailable)
	tesla.SetSnapshot(batteryEvent(vin1, 50))
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})

	t0 := tesla.WaitRequests(t, 1, 10*time.Second)
	sleepUntil(t0.Add(8 * time.Second))
	n := tesla.RequestsBetween(t0, t0.Add(8*time.Second))
	g := gaps(tesla.RequestTimes())
	t.Logf("HTTP 503: %d requests in 8 s, gaps %v", n, g)
	if n < 3 || n > 5 {
		t.Errorf("%d requests in 8 s of HTTP 503, want 3–5 (1 s, 2 s, 4 s backoff)", n)
	}
	for i := 1; i < len(g); i++ {
		if g[i] <= g[i-1] {
			t.Errorf("backoff did not grow: gaps %v", g)
		}
	}
	if len(g) > 0 && (g[0] < 700*time.Millisecond || g[0] > 1500*time.Millisecond) {
		t.Errorf("first retry after %v, want about 1 s", g[0])
	}
	if br.lines("level=warning", "http_status=503", "retrying in") == 0 {
		t.Error("no warning naming HTTP 503")
	}

	// Recovery: the next attempt connects; a healthy connection resets the backoff.
	tesla.SetStatus(0)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "50", 20*time.Second)
	tesla.SetStatus(http.StatusInternalServerError)
	before := len(tesla.RequestTimes())
	tesla.DropAll()
	first := tesla.WaitRequests(t, before+1, 10*time.Second)  // ~1 s: clean end after a healthy stream
	second := tesla.WaitRequests(t, before+2, 10*time.Second) // backoff(1) again, not 16 s
	t.Logf("after a healthy connection: 500 → retry %v later (backoff reset)", second.Sub(first).Round(time.Millisecond))
	if d := second.Sub(first); d > 1600*time.Millisecond {
		t.Errorf("retry %v after the first 500 following a healthy connection, want ≤ 1.2 s (reset)", d)
	}
	br.stopClean()
}

// §8 "429 → honour Retry-After".
func TestFaultRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetResponse(http.StatusTooManyRequests, http.Header{"Retry-After": {"3"}}, `{"error":"rate_limited"}`)
	tesla.SetSnapshot(batteryEvent(vin1, 60))
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL()})

	t0 := tesla.WaitRequests(t, 1, 10*time.Second)
	t1 := tesla.WaitRequests(t, 2, 10*time.Second)
	tesla.SetStatus(0)
	t2 := tesla.WaitRequests(t, 3, 10*time.Second)
	t.Logf("HTTP 429 with Retry-After: 3 → next requests after %v and %v", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond))
	for _, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1)} {
		if d < 3*time.Second || d > 5*time.Second {
			t.Errorf("request %v after a 429 with Retry-After: 3, want 3–5 s", d)
		}
	}
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "60", 10*time.Second)
	if br.lines("rate limit", "http_status=429") != 2 {
		t.Errorf("want 2 log lines about the rate limit:\n%s", br.Output())
	}
	br.stopClean()
}

// §8 "401 / 403 / 402 → error log naming the cause, availability offline,
// retry no faster than every 5 min; never a hot loop". One bridge with three
// per-VIN streams; the server revokes each with a different status.
func TestFaultAuthErrorsNeverHotLoop(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	vins := []string{vin1, vin2, vin3}
	var snap []string
	for i, v := range vins {
		snap = append(snap, batteryEvent(v, 70+i))
	}
	tesla.SetSnapshot(snap...)
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), VINs: vins})
	for _, v := range vins {
		sub.WaitFor("teslemetry/"+v+"/availability", "online", 15*time.Second)
	}

	cases := []struct {
		vin    string
		status int
		log    string
	}{
		{vin1, http.StatusUnauthorized, "token rejected"},
		{vin2, http.StatusPaymentRequired, "credits required"},
		{vin3, http.StatusForbidden, "access forbidden"},
	}
	for _, c := range cases {
		// The body echoes the token, as a careless server might.
		tesla.SetResponseFor("/sse/"+c.vin, c.status, nil, fmt.Sprintf(`{"error":"denied","error_description":"token %s refused"}`, token))
	}
	dropped := time.Now()
	tesla.DropAll()

	for _, c := range cases {
		sub.WaitFor("teslemetry/"+c.vin+"/availability", "offline", 10*time.Second)
		at := time.Since(dropped)
		t.Logf("HTTP %d: availability offline %v after the stream dropped (offline_after 1s)", c.status, at.Round(time.Millisecond))
		if at < 900*time.Millisecond {
			t.Errorf("HTTP %d: offline before offline_after", c.status)
		}
	}
	first := tesla.WaitRequests(t, 4, 10*time.Second) // 3 initial + the first refused one
	sleepUntil(first.Add(10 * time.Second))
	for _, c := range cases {
		n := 0
		for _, r := range tesla.RequestLog() {
			if strings.HasPrefix(r.Path, "/sse/"+c.vin) && r.At.After(dropped) {
				n++
				if r.Status != c.status {
					t.Errorf("%s: request answered %d", c.vin, r.Status)
				}
			}
		}
		t.Logf("HTTP %d: %d request(s) in the 10 s after the stream was revoked", c.status, n)
		if n != 1 {
			t.Errorf("HTTP %d: %d requests within 10 s, want exactly 1 (no hot loop)", c.status, n)
		}
		if br.lines("level=error", c.log, fmt.Sprintf("http_status=%d", c.status), "retrying in 5m") != 1 {
			t.Errorf("HTTP %d: want one error line with %q and a 5 min retry", c.status, c.log)
		}
	}
	if strings.Contains(br.Output(), token) {
		t.Error("the token echoed by the server reached the log")
	}
	br.stopClean()
}

// §8 "silent stream (no bytes for idle_timeout) → drop and reconnect": the
// server sends headers and then nothing, not even a keep-alive.
func TestFaultSilentStreamIsDropped(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSilent(true)
	tesla.SetSnapshot(batteryEvent(vin1, 80))
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), Idle: "1s"})

	t0 := tesla.WaitRequests(t, 1, 10*time.Second)
	t1 := tesla.WaitRequests(t, 2, 10*time.Second)
	gap := t1.Sub(t0)
	t.Logf("headers then silence: dropped and reopened after %v (idle_timeout 1s)", gap.Round(time.Millisecond))
	if gap < 900*time.Millisecond || gap > 3*time.Second {
		t.Errorf("second request %v after the first, want 1–3 s", gap)
	}
	if br.lines("level=warning", "silent for 1s") == 0 {
		t.Error("no warning about the silent stream")
	}
	// The bridge closed the silent connection itself: the server saw it go.
	waitUntil(t, "the silent connection to close", 5*time.Second, func() bool { return tesla.Connections() <= 1 })

	// The server recovers: a later attempt streams normally.
	tesla.SetSilent(false)
	took := sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "80", 15*time.Second)
	t.Logf("stream back %v after the server stopped hanging; requests so far %d", took.Round(time.Millisecond), tesla.Requests())
	br.stopClean()
}

// Keep-alive comments alone keep a stream without events open.
func TestFaultKeepAlivesKeepStreamOpen(t *testing.T) {
	t.Parallel()
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetKeepAlive(300 * time.Millisecond) // well within idle_timeout
	sub := testkit.Subscribe(t, mq.URL(), "teslemetry/#")
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), Idle: "1s", VINs: []string{vin1}})
	avail := "teslemetry/" + vin1 + "/availability"
	sub.WaitFor(avail, "online", 10*time.Second)

	time.Sleep(4 * time.Second) // four idle timeouts with nothing but comments
	if n := tesla.Requests(); n != 1 {
		t.Errorf("%d requests while keep-alives flowed, want 1", n)
	}
	if n := br.lines("silent for"); n != 0 {
		t.Errorf("%d idle drops while keep-alives flowed", n)
	}
	for _, m := range sub.Messages() {
		if m.Topic == avail && m.Payload != "online" {
			t.Errorf("availability went %s", m.Payload)
		}
	}
	tesla.Send(batteryEvent(vin1, 33))
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "33", 5*time.Second)
	t.Logf("keep-alives every 300 ms, idle_timeout 1s: 1 request in %v", 4*time.Second)
	br.stopClean()
}
