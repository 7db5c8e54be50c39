// Package webhook receives Teslemetry's webhook POSTs (README, "Webhooks") and turns
// each of the three formats into the teslemetry.Event the SSE stream would have
// produced, so the bridge publishes both sources identically.
package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
)

// MaxBody is the largest request body accepted (413 beyond).
const MaxBody = 1 << 20

// DefaultPath is served when Options.Path is empty.
const DefaultPath = "/webhook"

// Sink receives every decoded event. Ingest is called on the request's
// goroutine; the 204 is sent after it returns.
type Sink interface{ Ingest(ev teslemetry.Event) }

// Options configures Handler.
type Options struct {
	Path          string // e.g. "/webhook"; empty means DefaultPath
	Authorization string // when non-empty, the request's Authorization header must equal it exactly, else 401
	Logger        logrus.FieldLogger
	OnDrop        func(reason string) // optional: counts rejected requests ("unauthorized","too_large","bad_json","unknown_format","method","read_error")
}

// Drop reasons passed to Options.OnDrop.
const (
	DropUnauthorized  = "unauthorized"
	DropTooLarge      = "too_large"
	DropBadJSON       = "bad_json"
	DropUnknownFormat = "unknown_format"
	DropMethod        = "method"
	DropReadError     = "read_error" // the body could not be read (client went away, …)
)

// logEvery limits warnings to one per drop reason per interval (docs/failures.md).
const logEvery = time.Minute

type handler struct {
	path    string
	auth    bool
	want    [sha256.Size]byte
	log     logrus.FieldLogger
	onDrop  func(string)
	sink    Sink
	parser  teslemetry.Parser        // interns the VINs of flat bodies; safe for concurrent requests
	lastLog map[string]*atomic.Int64 // drop reason → unix nanos of the last warning; keys fixed at construction
}

// Handler serves the webhook receiver: only POST on o.Path (404 for other
// paths, 405 for other methods), the Authorization check first (401), bodies
// up to MaxBody (413), 400 for malformed JSON, 422 for an unknown format and
// 204 once sink.Ingest has returned. It holds no lock while serving.
func Handler(o Options, sink Sink) http.Handler {
	h := &handler{
		path:    o.Path,
		auth:    o.Authorization != "",
		want:    sha256.Sum256([]byte(o.Authorization)),
		log:     o.Logger,
		onDrop:  o.OnDrop,
		sink:    sink,
		lastLog: map[string]*atomic.Int64{},
	}
	if h.path == "" {
		h.path = DefaultPath
	}
	if h.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		h.log = l
	}
	for _, r := range []string{DropUnauthorized, DropTooLarge, DropBadJSON, DropUnknownFormat, DropMethod, DropReadError} {
		h.lastLog[r] = new(atomic.Int64)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, DropMethod, "method not allowed", nil)
		return
	}
	if !h.authorized(r) {
		h.reject(w, r, http.StatusUnauthorized, DropUnauthorized, "unauthorized", nil)
		return
	}
	if r.ContentLength > MaxBody {
		h.reject(w, r, http.StatusRequestEntityTooLarge, DropTooLarge, "request body larger than 1 MiB", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(w, r, http.StatusRequestEntityTooLarge, DropTooLarge, "request body larger than 1 MiB", nil)
		} else {
			h.reject(w, r, http.StatusBadRequest, DropReadError, "cannot read request body", err)
		}
		return
	}
	ev, format, err := decode(h.parser.Parse, body)
	if err != nil {
		if errors.Is(err, ErrUnknownFormat) {
			h.reject(w, r, http.StatusUnprocessableEntity, DropUnknownFormat, "unknown webhook format", err)
		} else {
			h.reject(w, r, http.StatusBadRequest, DropBadJSON, shorten(err.Error()), err)
		}
		return
	}
	if h.sink != nil {
		h.sink.Ingest(ev)
	}
	h.log.WithFields(logrus.Fields{"format": format, "vin": ev.VIN, "fields": len(ev.Data)}).Debug("webhook event received")
	w.WriteHeader(http.StatusNoContent)
}

// authorized compares the Authorization header with the configured value in
// constant time (over SHA-256 digests, so the length does not leak either).
func (h *handler) authorized(r *http.Request) bool {
	if !h.auth {
		return true
	}
	got := r.Header.Values("Authorization")
	if len(got) != 1 {
		return false
	}
	sum := sha256.Sum256([]byte(got[0]))
	return subtle.ConstantTimeCompare(sum[:], h.want[:]) == 1
}

// reject answers with a short plain-text reason, counts the drop and logs it:
// a warning at most once a minute per reason, debug otherwise. The
// Authorization header is never logged or echoed.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, status int, reason, msg string, err error) {
	http.Error(w, msg, status)
	if h.onDrop != nil {
		h.onDrop(reason)
	}
	entry := h.log.WithFields(logrus.Fields{"reason": reason, "status": status, "remote": r.RemoteAddr, "method": r.Method})
	if err != nil {
		entry = entry.WithError(err)
	}
	now := time.Now().UnixNano()
	if last := h.lastLog[reason]; last != nil {
		prev := last.Load()
		if now-prev >= int64(logEvery) && last.CompareAndSwap(prev, now) {
			entry.Warn("webhook request rejected (further rejections of this kind logged at debug level for a minute)")
			return
		}
	}
	entry.Debug("webhook request rejected")
}

// shorten keeps a plain-text reason short: error texts may quote field names
// from the body.
func shorten(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
