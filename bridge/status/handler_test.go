package status_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/status"
)

const (
	vinA = "5YJ3E7EB9NF000001"
	vinB = "7SAYGDEE1PA000002"

	token    = "tslm-SECRET-token-0123456789"
	password = "mqtt-pa$$word"
	webhook  = `Bearer hook"secret\value`
)

// fakeSource is a Source whose snapshot the test sets.
type fakeSource struct {
	status.Notifier
	mu   sync.Mutex
	snap status.Snapshot
}

func (f *fakeSource) Snapshot() status.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, _ := json.Marshal(f.snap) // a deep copy, as the interface promises
	var s status.Snapshot
	_ = json.Unmarshal(data, &s)
	return s
}

func (f *fakeSource) set(change func(*status.Snapshot)) {
	f.mu.Lock()
	change(&f.snap)
	f.mu.Unlock()
	f.Notify()
}

func at(sec int) time.Time { return time.Date(2026, 12, 4, 6, 0, sec, 0, time.UTC) }
func ptr[T any](v T) *T    { return &v }

func newSource() *fakeSource {
	return &fakeSource{snap: status.Snapshot{
		Bridge: status.Bridge{
			Version: "1.2.3", StartedAt: time.Now().Add(-90 * time.Second),
			MQTT:    status.MQTT{URL: "mqtts://bridge:" + password + "@broker.local:8883", BaseTopic: "teslemetry", Connected: true},
			Streams: []status.Stream{{Path: "/sse", Connected: true, Since: ptr(at(1)), Reconnects: 2, LastEventAt: ptr(at(50))}},
			Credits: json.RawMessage(`{"balance":1234,"quota":5000}`),
		},
		Vehicles: []status.Vehicle{
			{VIN: vinA, Name: "Model 3", Availability: "online", State: "online", LastSeen: ptr(at(50)),
				Fields: []status.Field{
					{Name: "BatteryLevel", Value: status.PayloadValue([]byte("71")), Unit: "%", UpdatedAt: at(40)},
					{Name: "Gear", Value: status.PayloadValue([]byte("D")), UpdatedAt: at(41)},
					{Name: "Location", Value: status.PayloadValue([]byte(`{"latitude":30.2,"longitude":-97.6}`)), UpdatedAt: at(42)},
				},
				ActiveAlerts: []string{"ChargePortFault"}},
			{VIN: vinB, Name: "Model Y", Availability: "offline", State: "asleep"},
		},
	}}
}

func newServer(t *testing.T, src status.Source, o status.Options) *httptest.Server {
	t.Helper()
	o.Source = src
	o.Secrets = append(o.Secrets, token, password, webhook)
	srv := httptest.NewServer(status.New(o))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestStatusJSONShape(t *testing.T) {
	src := newSource()
	srv := newServer(t, src, status.Options{})
	code, hdr, body := get(t, srv.URL+"/api/status")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/api/status = %d %s", code, hdr.Get("Content-Type"))
	}
	var s struct {
		Now    time.Time `json:"now"`
		Bridge struct {
			Version   string           `json:"version"`
			StartedAt time.Time        `json:"started_at"`
			UptimeS   int64            `json:"uptime_s"`
			MQTT      map[string]any   `json:"mqtt"`
			Streams   []map[string]any `json:"streams"`
			Credits   map[string]any   `json:"credits"`
		} `json:"bridge"`
		Vehicles []map[string]json.RawMessage `json:"vehicles"`
		Sites    []any                        `json:"sites"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if s.Now.IsZero() || s.Bridge.Version != "1.2.3" || s.Bridge.UptimeS < 89 || s.Bridge.UptimeS > 120 {
		t.Errorf("now %v version %q uptime %d", s.Now, s.Bridge.Version, s.Bridge.UptimeS)
	}
	if s.Bridge.MQTT["url"] != "mqtts://broker.local:8883" || s.Bridge.MQTT["connected"] != true || s.Bridge.MQTT["base_topic"] != "teslemetry" {
		t.Errorf("mqtt = %v", s.Bridge.MQTT)
	}
	st := s.Bridge.Streams[0]
	if st["path"] != "/sse" || st["connected"] != true || st["reconnects"] != 2.0 || st["since"] != "2026-12-04T06:00:01Z" || st["last_event_at"] != "2026-12-04T06:00:50Z" {
		t.Errorf("stream = %v", st)
	}
	if s.Bridge.Credits["balance"] != 1234.0 {
		t.Errorf("credits = %v", s.Bridge.Credits)
	}
	if len(s.Vehicles) != 2 || s.Sites == nil || len(s.Sites) != 0 {
		t.Fatalf("vehicles %d, sites %v (want [] not null)", len(s.Vehicles), s.Sites)
	}
	for _, key := range []string{"vin", "name", "availability", "state", "last_seen", "fields", "active_alerts", "last_command", "fields_status"} {
		if _, ok := s.Vehicles[0][key]; !ok {
			t.Errorf("vehicle lacks %q", key)
		}
	}
	var fields []map[string]json.RawMessage
	_ = json.Unmarshal(s.Vehicles[0]["fields"], &fields)
	want := []string{
		`{"name":"BatteryLevel","value":71,"unit":"%","updated_at":"2026-12-04T06:00:40Z"}`,
		`{"name":"Gear","value":"D","unit":"","updated_at":"2026-12-04T06:00:41Z"}`,
		`{"name":"Location","value":{"latitude":30.2,"longitude":-97.6},"unit":"","updated_at":"2026-12-04T06:00:42Z"}`,
	}
	var got []string
	_ = json.Unmarshal(s.Vehicles[0]["fields"], &fields)
	for _, f := range fields {
		b, _ := json.Marshal(struct {
			Name      json.RawMessage `json:"name"`
			Value     json.RawMessage `json:"value"`
			Unit      json.RawMessage `json:"unit"`
			UpdatedAt json.RawMessage `json:"updated_at"`
		}{f["name"], f["value"], f["unit"], f["updated_at"]})
		got = append(got, string(b))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The second car has nothing yet: lists are [], the rest null.
	for key, want := range map[string]string{"fields": "[]", "active_alerts": "[]", "last_seen": "null", "last_command": "null", "fields_status": "null"} {
		if got := string(s.Vehicles[1][key]); got != want {
			t.Errorf("empty vehicle %s = %s, want %s", key, got, want)
		}
	}
}

func TestPayloadValue(t *testing.T) {
	for in, want := range map[string]string{
		"71": "71", "34.797": "34.797", "true": "true", "null": "null", "D": `"D"`, "": `""`,
		`{"a":1}`: `{"a":1}`, "Charging": `"Charging"`, "12:30:00": `"12:30:00"`, `say "hi"`: `"say \"hi\""`,
	} {
		if got := string(status.PayloadValue([]byte(in))); got != want {
			t.Errorf("PayloadValue(%q) = %s, want %s", in, got, want)
		}
	}
	if got := status.PasswordFreeURL("ssl://u:p@h:8883/x?y=z#f"); got != "ssl://h:8883/x" {
		t.Errorf("PasswordFreeURL = %q", got)
	}
}

// Secrets never reach the page, whatever carries them into the snapshot.
func TestNoSecrets(t *testing.T) {
	src := newSource()
	src.snap.Vehicles[0].Fields = append(src.snap.Vehicles[0].Fields,
		status.Field{Name: "VehicleName", Value: status.PayloadValue([]byte("car " + token)), UpdatedAt: at(3)},
		status.Field{Name: "Odd", Value: status.PayloadValue([]byte(webhook)), UpdatedAt: at(3)})
	src.snap.Vehicles[1].Name = "pw " + password
	src.snap.Bridge.Streams[0].Path = "/sse?token=" + token
	srv := newServer(t, src, status.Options{})
	pages := map[string]string{}
	for _, p := range []string{"/", "/assets/app.js", "/assets/app.css", "/api/status"} {
		code, _, body := get(t, srv.URL+p)
		if code != 200 {
			t.Fatalf("%s = %d", p, code)
		}
		pages[p] = body
	}
	pages["/api/events"] = firstEvent(t, srv.URL)
	for p, body := range pages {
		for _, secret := range []string{token, password, webhook, "pa$$", "SECRET", "mqtt-pa", `secret\value`, `secret\\value`} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q", p, secret)
			}
		}
	}
	if !strings.Contains(pages["/api/status"], `"value":"car \u003credacted\u003e"`) && !strings.Contains(pages["/api/status"], `"value":"car <redacted>"`) {
		t.Errorf("the token is not replaced by <redacted>: %s", pages["/api/status"])
	}
}

// firstEvent reads the data of the first "status" event of /api/events.
func firstEvent(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("/api/events Content-Type %q", ct)
	}
	data, err := readEvent(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readEvent returns the data of the next "status" event.
func readEvent(r *bufio.Reader) (string, error) {
	event, data := "", ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if event == "status" {
				return data, nil
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data += line[6:]
		}
	}
}

func TestPageUsesRelativeURLsAndIngressPrefix(t *testing.T) {
	srv := newServer(t, newSource(), status.Options{})
	_, hdr, page := get(t, srv.URL+"/")
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("headers %v", hdr)
	}
	if strings.Contains(page, "<base") {
		t.Error("a <base> element without X-Ingress-Path")
	}
	_, _, js := get(t, srv.URL+"/assets/app.js")
	abs := regexp.MustCompile(`(?:href|src|action)="/|(?:href|src)="(?:https?:)?//|["'\x60]/api/|url\(/|https?://`)
	for name, body := range map[string]string{"index.html": page, "app.js": js} {
		for _, m := range abs.FindAllString(body, -1) {
			if name == "app.js" && m == "http://" { // the SVG namespace, not a request
				continue
			}
			t.Errorf("%s has an absolute URL: %s", name, m)
		}
	}
	for _, ref := range []string{`href="assets/app.css"`, `src="assets/app.js"`} {
		if !strings.Contains(page, ref) {
			t.Errorf("page lacks %s", ref)
		}
	}
	if !strings.Contains(js, `"api/events"`) || !strings.Contains(js, `"api/status"`) {
		t.Error("app.js does not use the relative API paths")
	}

	_, _, page = get(t, srv.URL+"/", "X-Ingress-Path", "/api/hassio_ingress/Ab3_x-Y")
	if !strings.Contains(page, `<base href="/api/hassio_ingress/Ab3_x-Y/">`) {
		t.Errorf("ingress page lacks its base: %.300s", page)
	}
	for _, bad := range []string{`/x"><script>alert(1)</script>`, "//evil.example/", "relative", "/a b"} {
		_, _, page = get(t, srv.URL+"/", "X-Ingress-Path", bad)
		if strings.Contains(page, "<base") || strings.Contains(page, "<script>alert") {
			t.Errorf("X-Ingress-Path %q made it into the page", bad)
		}
	}
	// Assets and the API answer under the prefix-stripped paths the proxy sends.
	for _, p := range []string{"/assets/app.css", "/assets/app.js", "/api/status"} {
		if code, _, _ := get(t, srv.URL+p, "X-Ingress-Path", "/api/hassio_ingress/abc"); code != 200 {
			t.Errorf("%s = %d", p, code)
		}
	}
	if code, _, _ := get(t, srv.URL+"/nothing"); code != 404 {
		t.Errorf("/nothing = %d, want 404", code)
	}
}

func TestAllowOnlyIngress(t *testing.T) {
	gw := netip.MustParseAddr("172.30.32.2")
	h := status.New(status.Options{Source: newSource(), Allow: status.AllowOnly(gw)})
	for addr, want := range map[string]int{
		"172.30.32.2:40000": 200, "127.0.0.1:5000": 200, "[::1]:5000": 200, "[::ffff:172.30.32.2]:1": 200,
		"172.30.32.3:40000": 403, "192.168.1.20:5000": 403, "172.30.33.5:1": 403,
	} {
		for _, p := range []string{"/", "/api/status"} {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.RemoteAddr = addr
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("%s from %s = %d, want %d", p, addr, rec.Code, want)
			}
		}
	}
}

// A change reaches an open event stream well within the page's 2 s.
func TestEventsFollowChanges(t *testing.T) {
	src := newSource()
	srv := newServer(t, src, status.Options{MinInterval: 200 * time.Millisecond})
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, err := readEvent(r)
	if err != nil || !strings.Contains(first, `"value":71`) {
		t.Fatalf("first event %v: %.200s", err, first)
	}
	for i, level := range []int{72, 73, 74} {
		start := time.Now()
		src.set(func(s *status.Snapshot) {
			s.Vehicles[0].Fields[0].Value = status.PayloadValue(fmt.Appendf(nil, "%d", level))
			s.Vehicles[0].Fields[0].UpdatedAt = at(60 + i)
		})
		data, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(data, fmt.Sprintf(`"value":%d`, level)) {
			t.Fatalf("event after the change lacks level %d: %.300s", level, data)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("change %d reached the page after %v", i, d)
		}
	}
}

// A browser that stops reading is dropped after WriteTimeout, and the bridge
// side (Notify) never waits for it.
func TestStuckClientIsDropped(t *testing.T) {
	src := newSource()
	// A big snapshot (about 2 MB) fills the socket buffers after a few events.
	big := make([]status.Field, 20000)
	for i := range big {
		big[i] = status.Field{Name: fmt.Sprintf("Field%05d", i), Value: status.PayloadValue([]byte(strings.Repeat("x", 60))), UpdatedAt: at(1)}
	}
	src.snap.Vehicles[0].Fields = big
	const writeTimeout = time.Second
	srv := newServer(t, src, status.Options{MinInterval: time.Millisecond, WriteTimeout: writeTimeout})

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n") // and never read

	deadline := time.Now().Add(2 * time.Second)
	for src.Subscribers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the event stream never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var worst time.Duration
	calls := 0
	start := time.Now()
	for src.Subscribers() > 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the stuck client is still subscribed after %v", time.Since(start))
		}
		t0 := time.Now()
		src.Notify() // what the bridge does on every change
		if d := time.Since(t0); d > worst {
			worst = d
		}
		calls++
		time.Sleep(time.Millisecond)
	}
	dropped := time.Since(start)
	t.Logf("stuck client dropped after %v; %d notifications meanwhile, the slowest took %v", dropped, calls, worst)
	// Blocking on the client would take the whole write timeout. A busy
	// machine under -race can pause a call for a garbage collection or a
	// scheduler slice (139 ms once in CI, with every package testing at
	// once): far from the timeout.
	if worst >= writeTimeout/2 {
		t.Errorf("Notify took %v with a stuck client (write timeout %v)", worst, writeTimeout)
	}
	if dropped < writeTimeout/2 {
		t.Errorf("dropped after %v: before the socket could even fill?", dropped)
	}
	// A fresh client still gets the page's data.
	if data := firstEvent(t, srv.URL); !strings.Contains(data, "Field19999") {
		t.Error("a new client after the drop got no snapshot")
	}
}

func TestEventStreamLimitAndShutdown(t *testing.T) {
	done := make(chan struct{})
	src := newSource()
	srv := newServer(t, src, status.Options{MaxClients: 1, Done: done})
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if _, err := readEvent(r); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, srv.URL+"/api/events"); code != http.StatusServiceUnavailable {
		t.Errorf("second stream = %d, want 503", code)
	}
	close(done)
	errc := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); errc <- err }()
	select {
	case <-errc:
	case <-time.After(2 * time.Second):
		t.Fatal("closing Done did not end the open stream")
	}
	if n := src.Subscribers(); n != 0 {
		t.Errorf("%d subscribers left", n)
	}
}

func TestNotifierNeverBlocks(t *testing.T) {
	var n status.Notifier
	n.Notify() // nobody listening
	c, stop := n.Subscribe()
	for range 1000 {
		n.Notify() // nobody reading: merged into one pending change
	}
	if len(c) != 1 {
		t.Fatalf("pending = %d, want 1", len(c))
	}
	<-c
	stop()
	stop()
	n.Notify()
	if n.Subscribers() != 0 || len(c) != 0 {
		t.Errorf("after stop: %d subscribers, %d pending", n.Subscribers(), len(c))
	}
	if allocs := testing.AllocsPerRun(100, n.Notify); allocs != 0 {
		t.Errorf("Notify allocates %v times", allocs)
	}
}
