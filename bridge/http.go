package bridge

import (
	"encoding/json"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/status"
)

// HTTPOptions configure the status page served beside /healthz and /metrics.
type HTTPOptions struct {
	// PageAllow, when set, admits only these clients to the status page and
	// its API (the Home Assistant add-on admits only the ingress gateway);
	// /healthz and /metrics are not affected.
	PageAllow func(netip.Addr) bool
	// Done, when closed, ends the page's open event streams (server shutdown).
	Done <-chan struct{}
}

// HTTPHandler serves the status page with default options; see HTTPHandlerWith.
func HTTPHandler(b *Bridge, m *Metrics) http.Handler { return HTTPHandlerWith(b, m, HTTPOptions{}) }

// HTTPHandlerWith serves /healthz (200 when MQTT is connected and every
// stream is healthy, else 503 with a JSON reason), /metrics (README,
// "Monitoring"), and the status page at / with /api/status and /api/events
// (docs/status-page.md).
func HTTPHandlerWith(b *Bridge, m *Metrics, o HTTPOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := b.Healthy()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"healthy": false, "reason": reason})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"healthy": true})
	})
	if m != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	}
	mux.Handle("/", status.New(status.Options{
		Source: statusSource{b}, Secrets: b.cfg.Secrets(), Allow: o.PageAllow, Done: o.Done,
	}))
	return mux
}
