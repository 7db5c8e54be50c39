package sse

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusError is a response the stream cannot use (non-200, or not an event stream).
type statusError struct {
	status     int
	cause      string
	msg        string // already redacted
	retryAfter time.Duration
	hasRetry   bool
}

func (e *statusError) Error() string { return e.msg }

// newStatusError classifies a non-200 response. It reads at most 4 KiB of the body for
// Teslemetry's {"error": "...", "error_description": "..."}.
func newStatusError(res *http.Response, token string) *statusError {
	e := &statusError{status: res.StatusCode, cause: causeOf(res.StatusCode)}
	if e.cause == CauseRateLimited || e.cause == CauseServer {
		e.retryAfter, e.hasRetry = parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	}
	msg := fmt.Sprintf("HTTP %d %s: %s", res.StatusCode, http.StatusText(res.StatusCode), describe(e.cause))
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if b, err := io.ReadAll(io.LimitReader(res.Body, 4<<10)); err == nil && json.Unmarshal(b, &body) == nil {
		if body.Error != "" {
			msg += " (" + printable(truncate(body.Error, 100))
			if body.Description != "" {
				msg += ": " + printable(truncate(body.Description, 200))
			}
			msg += ")"
		}
	}
	e.msg = redact(msg, token)
	return e
}

func causeOf(code int) string {
	switch {
	case code == http.StatusUnauthorized:
		return CauseAuth
	case code == http.StatusPaymentRequired:
		return CausePayment
	case code == http.StatusForbidden:
		return CauseForbidden
	case code == http.StatusTooManyRequests:
		return CauseRateLimited
	case code >= 400 && code < 500:
		return CauseBadRequest
	default:
		return CauseServer
	}
}

func describe(cause string) string {
	switch cause {
	case CauseAuth:
		return "token rejected"
	case CausePayment:
		return "subscription/credits required"
	case CauseForbidden:
		return "access forbidden"
	case CauseRateLimited:
		return "rate limited"
	case CauseBadRequest:
		return "request rejected"
	default:
		return "server error"
	}
}

// printable replaces control characters so a hostile body cannot forge log lines.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// eventStreamType accepts "text/event-stream" with any parameters, and a missing Content-Type.
func eventStreamType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
	}
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
