package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Caps on what upstream can create (docs/failures.md "Limits"), through the
// built binary: past each cap the input is skipped, counted and logged once,
// and the retained store stays bounded. The figures mirror bridge/limits.go.
const (
	capUnknownFields = 200
	capAlerts        = 500
	capErrors        = 500
	capInterfaces    = 16
	capVINs          = 1000
	capCredits       = 64
)

func limitVIN(i int) string { return fmt.Sprintf("LIMIT%012d", i) }

// postWebhook posts body to url and returns the status code.
func postWebhook(t *testing.T, url, body string) int {
	t.Helper()
	var res *http.Response
	var err error
	for range 50 { // the receiver may still be starting
		if res, err = http.Post(url, "application/json", strings.NewReader(body)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// unknownFields is a flat webhook body for vin with n unknown field names.
func unknownFields(vin, prefix string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"vin":%q,"data":{`, vin)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s%d":%d`, prefix, i, i)
	}
	b.WriteString("}}")
	return b.String()
}

// retained counts the topics under prefix in latest and their bytes.
func retained(latest map[string]string, prefix string) (n, bytes int) {
	for topic, payload := range latest {
		if strings.HasPrefix(topic, prefix) && payload != "" {
			n++
			bytes += len(topic) + len(payload)
		}
	}
	return n, bytes
}

func dropped(t *testing.T, listen, reason string) float64 {
	t.Helper()
	return scrape(t, listen)[`teslemetry2mqtt_dropped_total{reason="`+reason+`"}`]
}

// webhookBridge runs a bridge with a webhook receiver and /metrics.
func webhookBridge(t *testing.T, o cfgOpts) (br *proc, sub *testkit.Subscriber, hookURL, listen string) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 40))
	sub = testkit.Subscribe(t, mq.URL(), "#")
	hook, listen := freeAddr(t), freeAddr(t)
	o.Tesla, o.Broker, o.HTTP = tesla.URL(), mq.URL(), listen
	o.Extra += "webhook:\n  listen: " + hook + "\n"
	br = runBridge(t, o)
	return br, sub, "http://" + hook + "/webhook", listen
}

// The figures: 10 events × 1,000 unknown field names, and one 409 KB
// POST with 40,000, used to leave 50,000 value topics and as many discovery
// configs retained.
func TestLimitsUnknownFieldsViaWebhook(t *testing.T) {
	br, sub, url, listen := webhookBridge(t, cfgOpts{})
	vinA, vinB := limitVIN(1), limitVIN(2)
	start := time.Now()
	for i := range 10 {
		if code := postWebhook(t, url, unknownFields(vinA, fmt.Sprintf("Future%d_", i), 1000)); code != http.StatusNoContent {
			t.Fatalf("POST %d: %d", i, code)
		}
	}
	big := unknownFields(vinB, "F", 40000)
	if code := postWebhook(t, url, big); code != http.StatusNoContent {
		t.Fatalf("POST of %d bytes: %d", len(big), code)
	}
	// Catalog fields are never capped: a known field still arrives.
	for _, vin := range []string{vinA, vinB} {
		postWebhook(t, url, `{"vin":"`+vin+`","data":{"BatteryLevel":77}}`)
		sub.WaitFor("teslemetry/"+vin+"/v/BatteryLevel", "77", 15*time.Second)
	}
	took := time.Since(start)
	latest := sub.Latest()
	for _, vin := range []string{vinA, vinB} {
		values, vbytes := retained(latest, "teslemetry/"+vin+"/v/")
		configs, cbytes := retained(latest, "homeassistant/sensor/teslemetry_"+vin+"/")
		t.Logf("%s: %d value topics (%d B), %d sensor discovery configs (%d B)", vin, values, vbytes, configs, cbytes)
		if values > capUnknownFields+1 || configs > capUnknownFields+10 {
			t.Errorf("%s: %d value topics and %d discovery configs, want ≤ %d unknown fields (+ BatteryLevel)", vin, values, configs, capUnknownFields)
		}
		if values < capUnknownFields {
			t.Errorf("%s: only %d value topics: the cap is lower than documented", vin, values)
		}
	}
	all, allBytes := retained(latest, "")
	m := scrape(t, listen)
	want := float64(10*1000 - capUnknownFields + 40000 - capUnknownFields)
	got := m[`teslemetry2mqtt_dropped_total{reason="limit_unknown_fields"}`]
	t.Logf("50,000 unknown field names in 11 POSTs (%v): %d retained topics, %.1f KB; dropped %v; RSS %.1f MB",
		took.Round(time.Millisecond), all, float64(allBytes)/1024, got, m["process_resident_memory_bytes"]/(1<<20))
	if got != want {
		t.Errorf("dropped{limit_unknown_fields} = %v, want %v", got, want)
	}
	if n := br.lines("level=warning", "unknown field names"); n != 2 {
		t.Errorf("%d warnings about the cap, want 2 (once per car)", n)
	}
	br.stopClean()
}

// More VINs than any fleet: the first capVINs are tracked, the rest skipped.
func TestLimitsVINsViaWebhook(t *testing.T) {
	br, sub, url, listen := webhookBridge(t, cfgOpts{})
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "40", 15*time.Second)
	start := time.Now()
	const n = capVINs + 100
	for i := range n {
		if code := postWebhook(t, url, `{"vin":"`+limitVIN(i)+`","data":{"BatteryLevel":1}}`); code != http.StatusNoContent {
			t.Fatalf("POST %d: %d", i, code)
		}
	}
	// vin1 (the stream's) counts too: capVINs-1 webhook cars fit.
	last := limitVIN(capVINs - 2)
	sub.WaitFor("teslemetry/"+last+"/v/BatteryLevel", "1", 15*time.Second)
	waitUntil(t, "dropped{limit_vins}", 10*time.Second, func() bool { return dropped(t, listen, "limit_vins") == float64(n-(capVINs-1)) })
	latest := sub.Latest()
	cars := 0
	for topic := range latest {
		if strings.HasSuffix(topic, "/availability") && strings.HasPrefix(topic, "teslemetry/") {
			cars++
		}
	}
	all, allBytes := retained(latest, "")
	t.Logf("%d VINs posted in %v: %d cars tracked, %d retained topics (%.1f KB), RSS %.1f MB", n, time.Since(start).Round(time.Millisecond),
		cars, all, float64(allBytes)/1024, scrape(t, listen)["process_resident_memory_bytes"]/(1<<20))
	if cars != capVINs {
		t.Errorf("%d cars with availability, want %d", cars, capVINs)
	}
	if _, ok := latest["teslemetry/"+limitVIN(capVINs-1)+"/v/BatteryLevel"]; ok {
		t.Error("a VIN past the cap was published")
	}
	if n := br.lines("level=warning", "VINs"); n != 1 {
		t.Errorf("%d warnings about the VIN cap, want 1", n)
	}
	br.stopClean()
}

// Alert and error names, connectivity interfaces and credits keys, through the stream.
func TestLimitsNamesViaStream(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 40))
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen})
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "40", 15*time.Second)

	var alerts, errs, credits []string
	for i := range capAlerts + 100 {
		alerts = append(alerts, fmt.Sprintf(`{"name":"Alert_%d","audiences":["Customer"],"startedAt":"2026-09-14T07:30:00Z"}`, i))
		errs = append(errs, fmt.Sprintf(`{"name":"error_%d","tags":{},"body":"x","createdAt":"2026-09-14T07:30:00Z"}`, i))
	}
	for i := range capCredits + 50 {
		credits = append(credits, fmt.Sprintf(`"k%d":%d`, i, i))
	}
	tesla.Send(`{"vin":"` + vin1 + `","alerts":[` + strings.Join(alerts, ",") + `]}`)
	tesla.Send(`{"vin":"` + vin1 + `","errors":[` + strings.Join(errs, ",") + `]}`)
	for i := range capInterfaces + 10 {
		tesla.Send(fmt.Sprintf(`{"vin":%q,"networkInterface":"iface%d","status":"CONNECTED"}`, vin1, i))
	}
	tesla.Send(`{"credits":{` + strings.Join(credits, ",") + `}}`)
	tesla.Send(batteryEvent(vin1, 41))
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "41", 15*time.Second)
	waitUntil(t, "drops counted", 10*time.Second, func() bool {
		m := scrape(t, listen)
		return m[`teslemetry2mqtt_dropped_total{reason="limit_interfaces"}`] == 10 && m[`teslemetry2mqtt_dropped_total{reason="limit_credits"}`] == 50
	})
	latest := sub.Latest()
	for _, c := range []struct {
		prefix, reason string
		max, drops     int
	}{
		{"teslemetry/" + vin1 + "/alerts/", "limit_alerts", capAlerts, 100},
		{"teslemetry/" + vin1 + "/errors/", "limit_errors", capErrors, 100},
		{"teslemetry/" + vin1 + "/connectivity/", "limit_interfaces", capInterfaces, 10},
	} {
		n, _ := retained(latest, c.prefix)
		d := dropped(t, listen, c.reason)
		t.Logf("%s*: %d retained, dropped{%s} %v", c.prefix, n, c.reason, d)
		if n != c.max || d != float64(c.drops) {
			t.Errorf("%s*: %d retained and %v dropped, want %d and %d", c.prefix, n, d, c.max, c.drops)
		}
	}
	if active := latest["teslemetry/"+vin1+"/active_alerts"]; strings.Count(active, `"Alert_`) != capAlerts {
		t.Errorf("active_alerts lists %d names, want %d", strings.Count(active, `"Alert_`), capAlerts)
	}
	if c := latest["teslemetry/bridge/credits"]; strings.Count(c, `"k`) != capCredits {
		t.Errorf("bridge/credits has %d keys, want %d", strings.Count(c, `"k`), capCredits)
	}
	br.stopClean()
}

// With teslemetry.vins set, a webhook for another car is not the user's: dropped and counted.
func TestLimitsWebhookOnlyConfiguredVINs(t *testing.T) {
	br, sub, url, listen := webhookBridge(t, cfgOpts{VINs: []string{vin1}})
	for _, vin := range []string{vin2, vin1} {
		if code := postWebhook(t, url, `{"vin":"`+vin+`","data":{"Odometer":123}}`); code != http.StatusNoContent {
			t.Fatalf("%s: %d", vin, code)
		}
	}
	sub.WaitFor("teslemetry/"+vin1+"/v/Odometer", "123", 10*time.Second)
	waitUntil(t, "dropped{vin_not_configured}", 10*time.Second, func() bool { return dropped(t, listen, "vin_not_configured") == 1 })
	for topic := range sub.Latest() {
		if strings.Contains(topic, vin2) {
			t.Errorf("topic %s for a VIN outside teslemetry.vins", topic)
		}
	}
	br.stopClean()
}

// One event with a clock years ahead must not pin last_seen in the future.
func TestLimitsFutureCreatedAt(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(batteryEvent(vin1, 40))
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen})
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "40", 15*time.Second)

	tesla.Send(`{"createdAt":"2099-01-01T00:00:00Z","vin":"` + vin1 + `","data":{"BatteryLevel":41}}`)
	sub.WaitFor("teslemetry/"+vin1+"/v/BatteryLevel", "41", 10*time.Second)
	waitUntil(t, "dropped{future_created_at}", 10*time.Second, func() bool { return dropped(t, listen, "future_created_at") == 1 })
	seen, _ := time.Parse(time.RFC3339, sub.Latest()["teslemetry/"+vin1+"/last_seen"])
	if d := time.Until(seen); d > 5*time.Second || d < -10*time.Second {
		t.Fatalf("last_seen %v after an event from 2099, want about now", seen)
	}
	// A later event with a true clock moves last_seen on.
	time.Sleep(1100 * time.Millisecond)
	next := time.Now().UTC().Add(time.Second).Truncate(time.Second)
	tesla.Send(`{"createdAt":"` + next.Format(time.RFC3339) + `","vin":"` + vin1 + `","data":{"BatteryLevel":42}}`)
	sub.WaitFor("teslemetry/"+vin1+"/last_seen", next.Format(time.RFC3339), 10*time.Second)
	if n := br.lines("level=warning", "createdAt"); n != 1 {
		t.Errorf("%d warnings about the future createdAt, want 1", n)
	}
	br.stopClean()
}
