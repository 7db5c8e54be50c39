// Package sse keeps one Teslemetry Server-Sent-Events stream alive and hands its events to a Handler.
//
// Run owns the whole connection life cycle (go-sse is used with its own retries disabled, one
// HTTP request per attempt). Everything the handler sees happens on Run's goroutine, in order.
//
// # Connection rules
//
//   - Request: GET Config.URL with "Authorization: Bearer <token>", "Accept: text/event-stream",
//     "User-Agent" and "X-Library" set to Config.UserAgent. The token never goes into the URL
//     (Run refuses a URL with a "token" query parameter).
//   - Response: 200 is required. The Content-Type must be text/event-stream, parameters such as
//     "; charset=utf-8" allowed. A missing Content-Type is accepted too (Teslemetry does not document
//     it; a body that is not SSE simply yields no events and the idle watchdog or EOF handling takes
//     over). Any other Content-Type on a 200 is treated like a server error.
//   - A 200 with a Content-Encoding other than identity is refused (OnSkip(SkipEncoding), cause
//     "encoding", WARN): the request asks for none, and a compressed body would parse as no events.
//   - Redirects are followed only to the configured scheme, host and port (the token goes along);
//     any other is refused (cause "redirect", ERROR), a downgrade from https to http included.
//   - A connection is "healthy" once it got a 200 and then either delivered at least one event or
//     stayed up for 30 s (keep-alive-only streams). A healthy connection resets the backoff.
//
// # Retry rules (delay before the next attempt; n = consecutive unhealthy attempts, 1 for the first)
//
//	backoff(n)          = min(Initial·2^(n-1), Max), then ±20 % jitter, never above Max
//	clean end (eof)     : EOFDelay after a healthy connection, else max(EOFDelay, backoff(n))
//	idle                : immediately after a healthy connection or on the first consecutive failure,
//	                      else backoff(n-1); an idle attempt lasts IdleTimeout anyway, so no hot loop
//	network, 5xx, other 4xx (bad_request), wrong Content-Type, too_large: backoff(n)
//	429 / 5xx with Retry-After (seconds or HTTP date, capped at 1 h): max(Retry-After, backoff(n))
//	401 auth, 402 payment, 403 forbidden: max(AuthRetry + 0..10 % jitter, backoff(n)), ERROR log
//
// # Idle watchdog
//
// Any byte of the response body (comments and keep-alives included) re-arms a timer of IdleTimeout;
// the timer also covers connecting and waiting for headers. When it expires the attempt is cancelled
// and reported as Disconnected{Cause: "idle"}. The watchdog is paused while the handler runs, so a
// slow OnEvent (MQTT back-pressure) only slows reading and never counts as silence.
//
// # Large events
//
// go-sse's line buffer is allowed to grow to max(4 MiB, 2·MaxEvent + 64 KiB). Events whose data is
// larger than MaxEvent but fit in that buffer are skipped (OnSkip("too_large")) and the stream goes on.
// A single event bigger than the buffer makes go-sse fail the connection: that is reported as
// Disconnected{Cause: "too_large"} (and OnSkip("too_large")), and retried with the exponential backoff,
// which is never reset by such a connection, so a server that keeps sending it cannot cause a hot loop.
// Events with empty data are skipped with OnSkip("empty"); because of how go-sse dispatches, a block
// holding only "id:" or "retry:" fields counts as such an empty event too.
//
// # Logging
//
// One line per state change, with the field "url" = scheme://host/path (never the query):
// connecting DEBUG, connected INFO, eof INFO, idle/network/5xx/429/too_large WARN,
// 401/402/403/other 4xx ERROR, stopped INFO. The token is never logged nor put in an error.
package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	gosse "github.com/tmaxmax/go-sse"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	redactpkg "github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// Handler receives what a stream produces. Calls happen on the stream's own goroutine, in order.
// OnEvent may block (back-pressure): that only slows reading. It should return promptly once the
// context given to Run/Replay is cancelled, or Run cannot return.
type Handler interface {
	// OnEvent gets the data of one SSE event (multi-line data joined with "\n").
	// The slice is reused after OnEvent returns.
	OnEvent(data []byte)
	// OnStatus gets every connection state change.
	OnStatus(s Status)
}

// State is the connection state of a stream.
type State int

// Connection states.
const (
	Connecting State = iota
	Connected
	Disconnected
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Causes of a Disconnected status.
const (
	CauseEOF         = "eof"          // the server ended the stream cleanly
	CauseNetwork     = "network"      // dial, TLS, header timeout, read error
	CauseIdle        = "idle"         // no bytes for IdleTimeout
	CauseAuth        = "auth"         // 401: token rejected
	CauseForbidden   = "forbidden"    // 403
	CausePayment     = "payment"      // 402: subscription/credits required
	CauseRateLimited = "rate_limited" // 429
	CauseServer      = "server"       // 5xx, other non-200 non-4xx, or a 200 that is not an event stream
	CauseBadRequest  = "bad_request"  // 400 and other 4xx
	CauseTooLarge    = "too_large"    // one event exceeded go-sse's buffer: the connection broke
	CauseRedirect    = "redirect"     // a redirect to another scheme, host or port was refused
	CauseEncoding    = "encoding"     // a 200 with a Content-Encoding the stream cannot read
	CauseStopped     = "stopped"      // the context was cancelled; last status Run/Replay emits
)

// Reasons given to Config.OnSkip.
const (
	SkipTooLarge = "too_large"
	SkipEmpty    = "empty"
	// SkipEncoding: a response body in a Content-Encoding the stream cannot
	// read (gzip, br, …) was refused; its events are lost until the server
	// sends plain text again.
	SkipEncoding = "encoding"
)

// Status is one connection state change.
type Status struct {
	State      State
	Cause      string        // "" for Connecting/Connected, one of the Cause* constants for Disconnected
	Err        error         // detail for Disconnected (nil for a clean eof); never contains the token
	RetryIn    time.Duration // delay before the next attempt, when Disconnected
	HTTPStatus int           // status code of the attempt's response, 0 if there was none
}

// Backoff configures reconnect delays. Zero fields take the defaults.
type Backoff struct {
	Initial   time.Duration // first delay after a failure; default 1 s
	Max       time.Duration // cap of the exponential backoff; default 5 min
	AuthRetry time.Duration // minimum delay after 401/402/403; default 5 min
	EOFDelay  time.Duration // delay after a clean end of stream; default 1 s
}

// Defaults.
const (
	DefaultIdleTimeout = 30 * time.Second
	DefaultMaxEvent    = 1 << 20
	DefaultUserAgent   = "teslemetry2mqtt"

	healthyAfter  = 30 * time.Second // a 200 connection up this long counts as healthy
	minBufLimit   = 4 << 20          // go-sse buffer limit, at least
	maxRetryAfter = time.Hour        // Retry-After values above this are capped
)

// Config configures Run.
type Config struct {
	URL         string        // full stream URL, e.g. https://api.teslemetry.com/sse/5YJ...?cache=true; never holds the token
	Token       string        // sent only as "Authorization: Bearer <token>"
	UserAgent   string        // sent as User-Agent and X-Library; default "teslemetry2mqtt"
	IdleTimeout time.Duration // no bytes for this long → drop and reconnect; default 30 s
	MaxEvent    int           // events with more data bytes are skipped; default 1 MiB
	// HTTPClient is optional. Its Timeout is ignored (it would kill the long-lived body) and its
	// Transport is wrapped for the idle watchdog. Default: own transport with dial, TLS and
	// response-header timeouts (10 s, 10 s, 30 s), proxy from the environment, no compression.
	HTTPClient *http.Client
	Backoff    Backoff
	// Recorder, when set, gets every delivered event in the recording format (see Recorder).
	// A plain io.Writer is wrapped in a new Recorder for this Run; pass a *Recorder to share one
	// file and one clock between several streams.
	Recorder io.Writer
	OnSkip   func(reason string) // optional: an event was skipped (SkipTooLarge, SkipEmpty)
	// Busy and Idle are optional and bracket the handling of received bytes:
	// Busy runs after a read from the stream returned data, Idle before the
	// stream waits for more (every complete event received so far has been
	// handed to the handler) and when the connection ends. Calls come in
	// pairs, on Run's goroutine. The bridge uses them to coalesce MQTT writes
	// while more input is in hand and to send them the moment it is not.
	Busy, Idle func()
	Logger     logrus.FieldLogger // optional; default discards

	healthyAfter time.Duration // tests only; default healthyAfter
}

func (c Config) withDefaults() Config {
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxEvent <= 0 {
		c.MaxEvent = DefaultMaxEvent
	}
	c.Backoff = c.Backoff.withDefaults()
	if c.OnSkip == nil {
		c.OnSkip = func(string) {}
	}
	if c.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.Logger = l
	}
	if c.healthyAfter <= 0 {
		c.healthyAfter = healthyAfter
	}
	return c
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Minute
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.AuthRetry <= 0 {
		b.AuthRetry = 5 * time.Minute
	}
	if b.EOFDelay <= 0 {
		b.EOFDelay = time.Second
	}
	return b
}

// Run connects and keeps the stream alive until ctx is cancelled, then emits a last
// Disconnected{Cause: "stopped"} and returns ctx.Err(). It returns another error only for an
// unusable Config (missing token, bad URL), before any request.
func Run(ctx context.Context, cfg Config, h Handler) error {
	s, err := newStream(cfg, h)
	if err != nil {
		return err
	}
	defer s.close()
	for {
		if ctx.Err() != nil {
			return s.stop(ctx)
		}
		s.status(nil, Status{State: Connecting})
		o := s.attempt(ctx)
		if ctx.Err() != nil {
			return s.stop(ctx)
		}
		delay := s.policy.next(o)
		s.status(nil, Status{State: Disconnected, Cause: o.cause, Err: o.err, RetryIn: delay, HTTPStatus: o.httpStatus})
		if !sleep(ctx, delay) {
			return s.stop(ctx)
		}
	}
}

// stream is the state of one Run call.
type stream struct {
	cfg      Config
	h        Handler
	log      logrus.FieldLogger
	client   *http.Client
	origin   *url.URL        // scheme, host and port the token may go to
	ownedTr  *http.Transport // closed when Run ends, nil for a caller's client
	policy   *retryPolicy
	rec      *Recorder // nil: no recording
	bufLimit int
	buf      []byte // event data handed to OnEvent, reused

	recErrLogged bool
	skipLogged   map[string]time.Time
}

func newStream(cfg Config, h Handler) (*stream, error) {
	if h == nil {
		return nil, errors.New("sse: nil Handler")
	}
	if cfg.Token == "" {
		return nil, errors.New("sse: Config.Token is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sse: Config.URL %q is not an http(s) URL", safeURL(cfg.URL))
	}
	if u.Query().Has("token") {
		return nil, errors.New("sse: Config.URL must not carry the token; it is sent in the Authorization header")
	}
	cfg = cfg.withDefaults()
	s := &stream{
		cfg:        cfg,
		h:          h,
		origin:     u,
		log:        cfg.Logger.WithField("url", safeURL(cfg.URL)),
		policy:     newRetryPolicy(cfg.Backoff, cfg.healthyAfter),
		bufLimit:   max(minBufLimit, 2*cfg.MaxEvent+64<<10),
		skipLogged: map[string]time.Time{},
	}
	switch r := cfg.Recorder.(type) {
	case nil:
	case *Recorder:
		s.rec = r
	default:
		s.rec = NewRecorder(r)
	}
	if cfg.HTTPClient != nil {
		s.client = cfg.HTTPClient
	} else {
		s.ownedTr = newTransport()
		s.client = &http.Client{Transport: s.ownedTr}
	}
	return s, nil
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		DisableCompression:    true, // a compressed event stream would be buffered
	}
}

func (s *stream) close() {
	if s.ownedTr != nil {
		s.ownedTr.CloseIdleConnections()
	}
}

func (s *stream) stop(ctx context.Context) error {
	s.status(nil, Status{State: Disconnected, Cause: CauseStopped, Err: ctx.Err()})
	return ctx.Err()
}

// attemptState is what one connection attempt learnt, filled on Run's goroutine.
type attemptState struct {
	connected   bool
	connectedAt time.Time
	events      int
	httpStatus  int
}

// outcome is how one attempt ended.
type outcome struct {
	cause      string
	err        error
	httpStatus int
	healthy    bool
	retryAfter time.Duration
	hasRetry   bool // retryAfter came from a Retry-After header
}

// attempt makes one request and reads the stream until it ends.
func (s *stream) attempt(ctx context.Context) outcome {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	wd := newWatchdog(s.cfg.IdleTimeout, cancel)
	defer wd.stop()

	var a attemptState
	req, err := http.NewRequestWithContext(actx, http.MethodGet, s.cfg.URL, http.NoBody)
	if err != nil { // URL was validated; keep the message free of secrets anyway
		return outcome{cause: CauseBadRequest, err: s.cleanErr("building request", err)}
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set("X-Library", s.cfg.UserAgent)

	hc := *s.client
	hc.Timeout = 0
	hc.CheckRedirect = s.checkRedirect(s.client.CheckRedirect)
	wt := &watchTransport{base: s.client.Transport, wd: wd, busy: s.cfg.Busy, idle: s.cfg.Idle}
	defer wt.end()
	hc.Transport = wt
	client := &gosse.Client{
		HTTPClient:        &hc,
		ResponseValidator: func(res *http.Response) error { return s.validate(res, &a, wd) },
		Backoff:           gosse.Backoff{MaxRetries: -1}, // Run owns retries
	}
	conn := client.NewConnection(req)
	conn.Buffer(make([]byte, 0, 64<<10), s.bufLimit)
	conn.SubscribeToAll(func(ev gosse.Event) { s.onEvent(ev, &a, wd) })
	err = conn.Connect()
	return s.classify(err, &a, wd)
}

// redirectError is a redirect the stream refused to follow.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// checkRedirect follows a redirect only to the configured scheme, host and
// port: the Authorization header goes along with it, so anywhere else (another
// port of the same host, or http after https) is refused. next is the
// caller's own policy, asked after this one.
func (s *stream) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return &redirectError{msg: "stopped after 5 redirects"}
		}
		if !rest.SameOrigin(s.origin, req.URL) {
			what := "another origin"
			if strings.EqualFold(s.origin.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
				what = "a downgrade from https to " + req.URL.Scheme
			}
			return &redirectError{msg: redact(fmt.Sprintf("refusing redirect to %s (%s): the token is only sent to %s://%s, the configured teslemetry.url",
				safeURL(req.URL.String()), what, s.origin.Scheme, s.origin.Host), s.cfg.Token)}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// validate replaces go-sse's validator: its errors end Connect at once, which is what we want.
func (s *stream) validate(res *http.Response, a *attemptState, wd *watchdog) error {
	a.httpStatus = res.StatusCode
	if res.StatusCode != http.StatusOK {
		return newStatusError(res, s.cfg.Token)
	}
	if ct := res.Header.Get("Content-Type"); !eventStreamType(ct) {
		return &statusError{status: res.StatusCode, cause: CauseServer,
			msg: redact(fmt.Sprintf("HTTP 200 with Content-Type %q, expected text/event-stream", truncate(ct, 100)), s.cfg.Token)}
	}
	if ce := strings.TrimSpace(res.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		s.cfg.OnSkip(SkipEncoding)
		return &statusError{status: res.StatusCode, cause: CauseEncoding,
			msg: redact(fmt.Sprintf("HTTP 200 with Content-Encoding %q, which the stream cannot read (it asks for identity)", printable(truncate(ce, 100))), s.cfg.Token)}
	}
	if res.Request != nil && res.Request.URL != nil && res.Request.URL.String() != s.cfg.URL {
		s.log.WithField("redirected_to", safeURL(res.Request.URL.String())).Info("Teslemetry stream redirected (same origin)")
	}
	a.connected = true
	a.connectedAt = s.policy.now()
	s.status(wd, Status{State: Connected, HTTPStatus: res.StatusCode})
	return nil
}

func (s *stream) onEvent(ev gosse.Event, a *attemptState, wd *watchdog) {
	wd.pause()
	defer wd.resume()
	switch {
	case ev.Data == "":
		s.skip(SkipEmpty, 0)
	case len(ev.Data) > s.cfg.MaxEvent:
		s.skip(SkipTooLarge, len(ev.Data))
	default:
		a.events++
		s.buf = append(s.buf[:0], ev.Data...)
		if s.rec != nil {
			if err := s.rec.WriteEvent(s.buf); err != nil && !s.recErrLogged {
				s.recErrLogged = true
				s.log.WithError(err).Warn("recording failed; the stream goes on without it")
			}
		}
		s.h.OnEvent(s.buf)
	}
}

// skip reports a skipped event; too_large is logged at WARN at most once a minute.
func (s *stream) skip(reason string, size int) {
	s.cfg.OnSkip(reason)
	entry := s.log.WithField("reason", reason)
	if size > 0 {
		entry = entry.WithField("bytes", size).WithField("limit", s.cfg.MaxEvent)
	}
	if reason == SkipTooLarge && time.Since(s.skipLogged[reason]) >= time.Minute {
		s.skipLogged[reason] = time.Now()
		entry.Warn("skipping event larger than the limit")
		return
	}
	entry.Debug("skipping event")
}

func (s *stream) classify(err error, a *attemptState, wd *watchdog) outcome {
	o := outcome{
		httpStatus: a.httpStatus,
		healthy:    s.policy.healthy(a.connected, a.connectedAt, a.events),
	}
	var se *statusError
	var re *redirectError
	switch {
	case wd.expired():
		o.cause = CauseIdle
		o.err = fmt.Errorf("no data received for %s", s.cfg.IdleTimeout)
	case errors.As(err, &se):
		o.cause, o.err = se.cause, se
		o.retryAfter, o.hasRetry = se.retryAfter, se.hasRetry
	case errors.As(err, &re):
		o.cause, o.err = CauseRedirect, re
	case errors.Is(err, bufio.ErrTooLong):
		s.skip(SkipTooLarge, 0)
		o.cause, o.healthy = CauseTooLarge, false
		o.err = fmt.Errorf("an event exceeded the %d byte read buffer; connection dropped", s.bufLimit)
	case a.connected && (errors.Is(err, io.EOF) || errors.Is(err, gosse.ErrUnexpectedEOF)):
		o.cause = CauseEOF
	default:
		o.cause = CauseNetwork
		o.err = s.cleanErr("", err)
	}
	return o
}

// cleanErr turns a go-sse/net error into one without the request (whose headers hold the token)
// and with the token redacted from the text, just in case.
func (s *stream) cleanErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var ce *gosse.ConnectionError
	if errors.As(err, &ce) {
		prefix, err = ce.Reason, ce.Err
	}
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	return &streamError{msg: redact(msg, s.cfg.Token), err: err}
}

// status logs one line for the change and hands it to the handler (with the watchdog paused).
func (s *stream) status(wd *watchdog, st Status) {
	s.logStatus(st)
	if wd != nil {
		wd.pause()
		defer wd.resume()
	}
	s.h.OnStatus(st)
}

func (s *stream) logStatus(st Status) {
	switch st.State {
	case Connecting:
		s.log.Debug("connecting to Teslemetry stream")
		return
	case Connected:
		s.log.Info("Teslemetry stream connected")
		return
	}
	e := s.log.WithField("cause", st.Cause)
	if st.HTTPStatus != 0 {
		e = e.WithField("http_status", st.HTTPStatus)
	}
	if st.Err != nil && st.Cause != CauseStopped {
		e = e.WithError(st.Err)
	}
	retry := st.RetryIn.Round(time.Millisecond)
	switch st.Cause {
	case CauseStopped:
		e.Info("Teslemetry stream stopped")
	case CauseEOF:
		e.Infof("Teslemetry stream ended by the server; reconnecting in %s", retry)
	case CauseIdle:
		e.Warnf("Teslemetry stream silent for %s (not even a keep-alive); reconnecting in %s", s.cfg.IdleTimeout, retry)
	case CauseAuth:
		e.Errorf("Teslemetry token rejected (HTTP 401); check the token; retrying in %s", retry)
	case CauseForbidden:
		e.Errorf("Teslemetry access forbidden (HTTP 403); check the token's scopes and the VIN; retrying in %s", retry)
	case CausePayment:
		e.Errorf("Teslemetry subscription/credits required (HTTP 402); retrying in %s", retry)
	case CauseBadRequest:
		e.Errorf("Teslemetry rejected the stream request; check the URL/VIN; retrying in %s", retry)
	case CauseRateLimited:
		e.Warnf("Teslemetry rate limit hit (HTTP 429); retrying in %s", retry)
	case CauseTooLarge:
		e.Warnf("Teslemetry stream dropped: event too large; retrying in %s", retry)
	case CauseRedirect:
		e.Errorf("Teslemetry stream redirect refused; check teslemetry.url; retrying in %s", retry)
	case CauseEncoding:
		e.Warnf("Teslemetry stream refused: compressed body; retrying in %s", retry)
	default:
		e.Warnf("Teslemetry stream disconnected; retrying in %s", retry)
	}
}

// streamError is an error without the request attached and with the token redacted.
type streamError struct {
	msg string
	err error
}

func (e *streamError) Error() string { return e.msg }
func (e *streamError) Unwrap() error { return e.err }

// redact removes the token (in any form, see internal/redact) from a message.
func redact(msg, token string) string { return redactpkg.String(msg, token) }

// safeURL is scheme://host/path of a URL, for logs.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
