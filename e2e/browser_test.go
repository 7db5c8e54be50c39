package e2e

// The status page in a real browser: Debian's chromium, headless, driven over
// the DevTools protocol (cdp_test.go), against `teslemetry2mqtt demo --http`.
// scripts/browser-test.sh installs chromium and passes its path in
// T2M_CHROMIUM; without it this test skips. Screenshots are written to
// e2e/artifacts/ (git-ignored) for the CI run to keep.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const ingressPrefix = "/api/hassio_ingress/t2m-TestToken_0123"

// apiSnapshot is the part of /api/status the test reads.
type apiSnapshot struct {
	Vehicles []struct {
		VIN    string `json:"vin"`
		Name   string `json:"name"`
		Fields []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"fields"`
	} `json:"vehicles"`
}

func getSnapshot(base string) (apiSnapshot, error) {
	var s apiSnapshot
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return s, fmt.Errorf("/api/status: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// scalars maps "VIN/Field" to the JSON of each number or string value (the
// values whose change always changes the text on screen).
func (s apiSnapshot) scalars() map[string]string {
	m := map[string]string{}
	for _, v := range s.Vehicles {
		for _, f := range v.Fields {
			if len(f.Value) > 0 && (f.Value[0] == '"' || f.Value[0] == '-' || (f.Value[0] >= '0' && f.Value[0] <= '9')) {
				m[v.VIN+"/"+f.Name] = string(f.Value)
			}
		}
	}
	return m
}

// screenText is how the page shows a number or text value: text unquoted,
// numbers as JavaScript prints them (the same digits for the bridge's values).
func screenText(value string) string {
	var s string
	if json.Unmarshal([]byte(value), &s) == nil {
		return s
	}
	return value
}

// ingressProxy stands in for Home Assistant's ingress: it serves the bridge
// under ingressPrefix, strips the prefix and sends X-Ingress-Path.
func ingressProxy(t *testing.T, target string) *httptest.Server { return proxyTo(t, target, false) }

// proxyTo is ingressProxy; with noEvents it answers /api/events with 502,
// like a proxy that cannot pass event streams through.
func proxyTo(t *testing.T, target string, noEvents bool) *httptest.Server {
	u, _ := url.Parse(target)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, ingressPrefix)
		if r.Out.URL.Path == "" {
			r.Out.URL.Path = "/"
		}
		r.Out.URL.RawPath = ""
		r.Out.Header.Set("X-Ingress-Path", ingressPrefix)
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ingressPrefix) {
			http.NotFound(w, r) // what the page would hit with an absolute URL
			return
		}
		if noEvents && strings.HasSuffix(r.URL.Path, "/api/events") {
			http.Error(w, "no event streams here", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStatusPageInBrowser(t *testing.T) {
	chromium := os.Getenv("T2M_CHROMIUM")
	if chromium == "" {
		t.Skip("T2M_CHROMIUM not set: run scripts/browser-test.sh (make browser-test)")
	}
	artifacts := os.Getenv("T2M_ARTIFACTS")
	if artifacts == "" {
		artifacts = "artifacts"
	}
	httpPort := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	demo := StartBridge(t, nil, "demo", "--listen", "127.0.0.1:"+strconv.Itoa(freePort(t)),
		"--http", "127.0.0.1:"+strconv.Itoa(httpPort), "--speed", "2")

	// The demo's two cars, each with values, as the API reports them.
	var snap apiSnapshot
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		snap, err = getSnapshot(base)
		if err == nil && len(snap.Vehicles) == 2 && len(snap.Vehicles[0].Fields) > 3 && len(snap.Vehicles[1].Fields) > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's /api/status has no two cars with values after 30 s (%v): %+v\n%s", err, snap, demo.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Through the ingress stand-in, at the prefix without its trailing slash:
	// only a page that honours X-Ingress-Path finds its script and data there.
	proxy := ingressProxy(t, base)
	browser := StartChromium(t, chromium, 1280, 900) // closed before the proxy
	browser.Navigate(proxy.URL + ingressPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, v := range snap.Vehicles {
		q, _ := json.Marshal(v.VIN)
		name, _ := json.Marshal(v.Name)
		browser.WaitFor(ctx, "car "+v.Name+" ("+v.VIN+") on the page", fmt.Sprintf(
			`(() => { const c = document.querySelector('article.card[data-key="v:' + %s + '"]');
			  return !!c && c.querySelector("h3").textContent === %s && c.querySelectorAll("tbody tr").length > 3; })()`, q, name))
	}
	browser.WaitFor(ctx, "the live indicator", `document.getElementById("live-text").textContent === "Live"`)

	// Every control has an accessible name.
	var unnamed []string
	if err := browser.Eval(`Array.from(document.querySelectorAll("input, select, button, [role=img]")).filter((e) =>
	    !((e.getAttribute("aria-label") || "").trim() || (e.labels && Array.from(e.labels).some((l) => l.textContent.trim())) ||
	      (e.tagName === "BUTTON" && e.textContent.trim()))).map((e) => e.outerHTML.slice(0, 120))`, &unnamed); err != nil {
		t.Fatal(err)
	}
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}

	// A value on screen is the API's value.
	var shown map[string]string
	cellsJS := `(() => { const m = {}; for (const c of document.querySelectorAll('article.card[data-key^="v:"]'))
	  for (const r of c.querySelectorAll("tbody tr")) m[c.dataset.key.slice(2) + "/" + r.dataset.field] = r.querySelector("td.value").textContent;
	  return m; })()`
	if err := browser.Eval(cellsJS, &shown); err != nil {
		t.Fatal(err)
	}
	vin := snap.Vehicles[0].VIN
	if got := shown[vin+"/BatteryLevel"]; got == "" {
		t.Errorf("no BatteryLevel on screen for %s: %v", vin, shown)
	} else if _, err := strconv.ParseFloat(got, 64); err != nil {
		t.Errorf("BatteryLevel shows %q, not a number", got)
	}

	// New data: the first number or text the API reports changed after this
	// point must be on screen within 2 s.
	before, err := getSnapshot(base)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	deadline = time.Now().Add(60 * time.Second)
	for key == "" {
		if time.Now().After(deadline) {
			t.Fatal("no value changed in the demo within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
		now, err := getSnapshot(base)
		if err != nil {
			t.Fatal(err)
		}
		old := before.scalars()
		for k, v := range now.scalars() {
			if o, ok := old[k]; ok && o != v {
				key = k
				break
			}
		}
	}
	changedAt := time.Now()
	var onScreen, want string
	for {
		var cells map[string]string
		if err := browser.Eval(cellsJS, &cells); err != nil {
			t.Fatal(err)
		}
		now, err := getSnapshot(base)
		if err != nil {
			t.Fatal(err)
		}
		onScreen, want = cells[key], screenText(now.scalars()[key])
		if onScreen == want {
			break
		}
		if time.Since(changedAt) > 5*time.Second {
			t.Fatalf("%s shows %q, the API %q, %v after the API changed", key, onScreen, want, time.Since(changedAt))
		}
		time.Sleep(50 * time.Millisecond)
	}
	latency := time.Since(changedAt)
	t.Logf("%s on screen: %q (was %q), %v after the API showed new data", key, onScreen, shown[key], latency.Round(time.Millisecond))
	if latency > 2*time.Second {
		t.Errorf("the page took %v to show new data (want ≤ 2 s)", latency)
	}

	// Let the chart gather a few points; T2M_SCREENSHOT_AFTER=30s gives it
	// more (for the picture in docs/status-page.png).
	wait := 1500 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("T2M_SCREENSHOT_AFTER")); err == nil {
		wait = d
	}
	time.Sleep(wait)
	browser.Screenshot(artifacts + "/status-page.png")
	browser.Call("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": "dark"}}}, nil)
	browser.Screenshot(artifacts + "/status-page-dark.png")
	browser.Call("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": "light"}}}, nil)

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A phone: nothing wider than the screen.
	browser.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}, nil)
	browser.WaitFor(ctx, "the page to fit a 390 px wide phone", `document.documentElement.scrollWidth <= 390`)
	browser.Screenshot(artifacts + "/status-page-phone.png")
	browser.ScreenshotTop(artifacts+"/status-page-phone-top.png", 1200)

	// Standalone, at the root of http.listen.
	browser.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
	browser.Navigate(base + "/")
	browser.WaitFor(ctx, "both cars on the standalone page", `document.querySelectorAll('article.card[data-key^="v:"] tbody tr').length > 6`)

	if p := browser.Problems(); len(p) > 0 {
		t.Errorf("browser console errors/warnings:\n%s", strings.Join(p, "\n"))
	}

	// Behind a proxy that cannot pass event streams through, the page polls
	// /api/status instead (the console then reports the failed stream).
	noEvents := proxyTo(t, base, true)
	browser.Navigate(noEvents.URL + ingressPrefix + "/")
	browser.WaitFor(ctx, "the polling fallback", `document.getElementById("live-text").textContent === "Live (polling)" &&
	    document.querySelectorAll('article.card[data-key^="v:"] tbody tr').length > 6`)
}
