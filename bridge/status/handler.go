// Package status serves the bridge's status page: a self-contained web page
// (HTML, CSS and JavaScript embedded in the binary), its data as JSON on
// /api/status, and live updates as server-sent events on /api/events. It reads
// the bridge through the Source interface and never writes to it; the page is
// described in docs/status-page.md.
package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// Source is what the page shows: the bridge implements it.
type Source interface {
	// Snapshot returns a copy of the current state that the caller may keep
	// and modify. It is called at most a few times a second.
	Snapshot() Snapshot
	// Subscribe returns a channel that receives a value after the state
	// changed (changes may be merged; see Notifier) and a function that ends
	// the subscription.
	Subscribe() (<-chan struct{}, func())
}

// Options configure the handler.
type Options struct {
	Source Source
	// Secrets are replaced by "<redacted>" in every answer, whatever put them
	// there (the Teslemetry token, the MQTT password, the webhook
	// authorization); those shorter than 8 characters are not.
	Secrets []string
	// Allow, when set, admits only clients whose address it accepts; others
	// get 403. The Home Assistant add-on admits only the ingress gateway.
	Allow func(netip.Addr) bool
	// Done ends every open event stream when closed (server shutdown).
	Done <-chan struct{}

	MinInterval  time.Duration // least time between two events to one client (default 250 ms)
	WriteTimeout time.Duration // a client that does not take an event this long is dropped (default 10 s)
	Refresh      time.Duration // a stream without changes still gets the snapshot this often (default 5 s)
	MaxClients   int           // open event streams at most; more get 503 (default 16)
	Now          func() time.Time
}

//go:embed web
var webFS embed.FS

// Handler serves the status page and its API. Paths are relative to where it
// is mounted: "/" (the page), "/assets/…", "/api/status", "/api/events".
type Handler struct {
	o       Options
	mux     *http.ServeMux
	index   []byte
	redact  *redact.Redactor
	clients chan struct{} // one token per open event stream

	mu     sync.Mutex // guards the cached snapshot below
	cached []byte
	at     time.Time
}

// minSecret is the length below which a secret is not scrubbed from answers:
// a short one ("1234") would blank out ordinary values. The page's data
// never contains a secret in the first place (the MQTT URL is shown without
// its user information); scrubbing is the second line of defence.
const minSecret = 8

// cacheFor is how long an encoded snapshot is reused: many open pages cost
// one snapshot, not one each.
const cacheFor = 100 * time.Millisecond

// New builds the handler.
func New(o Options) *Handler {
	if o.MinInterval <= 0 {
		o.MinInterval = 250 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, mux: http.NewServeMux(), clients: make(chan struct{}, o.MaxClients)}
	h.index, _ = webFS.ReadFile("web/index.html")
	var secrets []string
	for _, s := range o.Secrets {
		if len(s) >= minSecret {
			secrets = append(secrets, s)
		}
	}
	h.redact = redact.New(secrets...)
	assets, _ := fs.Sub(webFS, "web")
	h.mux.HandleFunc("GET /{$}", h.serveIndex)
	h.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	h.mux.HandleFunc("GET /api/status", h.serveStatus)
	h.mux.HandleFunc("GET /api/events", h.serveEvents)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.o.Allow != nil {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !h.o.Allow(ap.Addr().Unmap()) {
			http.Error(w, "the status page is served only through Home Assistant (ingress)", http.StatusForbidden)
			return
		}
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	// Home Assistant shows the ingress panel in a frame of its own origin.
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'self'; form-action 'none'")
	hd.Set("Cache-Control", "no-cache")
	h.mux.ServeHTTP(w, r)
}

// ingressPath matches the X-Ingress-Path values the page accepts as its base.
var ingressPath = regexp.MustCompile(`^/[A-Za-z0-9_\-./~]*$`)

// serveIndex sends the page. Behind Home Assistant's ingress proxy the page
// lives under the X-Ingress-Path prefix; a <base> element makes every
// relative URL of the page resolve under it, even when the panel's URL lacks
// its trailing slash.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	page := h.index
	if p := r.Header.Get("X-Ingress-Path"); p != "" && ingressPath.MatchString(p) && !strings.Contains(p, "//") {
		base := `<base href="` + strings.TrimRight(p, "/") + `/">`
		page = bytes.Replace(page, []byte("<!--base-->"), []byte(base), 1)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

func (h *Handler) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(h.snapshotJSON())
	_, _ = w.Write([]byte("\n"))
}

// snapshotJSON returns the encoded, scrubbed snapshot, reusing one younger than cacheFor.
func (h *Handler) snapshotJSON() []byte {
	now := h.o.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached != nil && now.Sub(h.at) >= 0 && now.Sub(h.at) < cacheFor {
		return h.cached
	}
	s := h.o.Source.Snapshot()
	s.normalise(now)
	data, err := json.Marshal(s)
	if err != nil {
		data = []byte(`{"error":"snapshot could not be encoded"}`)
	}
	data = h.redact.Bytes(data)
	h.cached, h.at = data, now
	return data
}

// serveEvents streams a "status" event with the whole snapshot at once and
// after each change, at most every MinInterval. Writing to a client that does
// not read ends after WriteTimeout and drops it; the bridge only ever sets a
// flag (Notifier.Notify), so no client can hold it up.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case h.clients <- struct{}{}:
		defer func() { <-h.clients }()
	default:
		http.Error(w, "too many open status pages", http.StatusServiceUnavailable)
		return
	}
	changes, stop := h.o.Source.Subscribe()
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(parts ...[]byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.o.WriteTimeout))
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	send := func() bool {
		return write([]byte("event: status\ndata: "), h.snapshotJSON(), []byte("\n\n"))
	}
	// retry: how long the browser waits before reconnecting a dropped stream.
	if !write([]byte("retry: 2000\n\n")) || !send() {
		return
	}
	last := time.Now()
	// The periodic snapshot also carries what changes without an event (the
	// MQTT connection) and keeps proxies from closing an idle stream.
	refresh := time.NewTicker(h.o.Refresh)
	defer refresh.Stop()
	pause := time.NewTimer(0)
	<-pause.C
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.o.Done:
			return
		case <-refresh.C:
			if !send() {
				return
			}
			last = time.Now()
		case <-changes:
			if wait := h.o.MinInterval - time.Since(last); wait > 0 {
				pause.Reset(wait)
				select {
				case <-r.Context().Done():
					return
				case <-h.o.Done:
					return
				case <-pause.C:
				}
			}
			if !send() {
				return
			}
			last = time.Now()
		}
	}
}

// AllowOnly admits the given addresses and loopback (checks from inside the
// container itself).
func AllowOnly(addrs ...netip.Addr) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		if a.IsLoopback() {
			return true
		}
		for _, ok := range addrs {
			if a == ok {
				return true
			}
		}
		return false
	}
}
