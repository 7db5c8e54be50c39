package sse

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// elsewhere is a server that must never see a request (it would get the token).
func elsewhere(t *testing.T, tls bool) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Errorf("request reached %s with Authorization %q", r.Host, r.Header.Get("Authorization"))
		streamHeaders(w)
	})
	var ts *httptest.Server
	if tls {
		ts = httptest.NewTLSServer(h)
	} else {
		ts = httptest.NewServer(h)
	}
	t.Cleanup(ts.Close)
	return ts, &hits
}

func hasLog(hook interface{ AllEntries() []*logrus.Entry }, level logrus.Level, subs ...string) bool {
	for _, e := range hook.AllEntries() {
		s, _ := e.String()
		if e.Level != level {
			continue
		}
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return true
		}
	}
	return false
}

// A redirect to the same host on another port would carry the token along: refused.
func TestRedirectToAnotherPortRefused(t *testing.T) {
	t.Parallel()
	other, hits := elsewhere(t, false)
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/sse/5YJ3E7EB9NF123456", http.StatusTemporaryRedirect)
	})
	cfg, hook := testConfig(ts, h)
	startRun(t, cfg, h)
	st := h.waitStatus(t, 5*time.Second, isDisconnected)
	if st.Cause != CauseRedirect || st.Err == nil || !strings.Contains(st.Err.Error(), "refusing redirect to "+other.URL) {
		t.Fatalf("status %+v (%v), want cause redirect naming the target", st, st.Err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the other port", hits.Load())
	}
	if !hasLog(hook, logrus.ErrorLevel, "redirect refused", "another origin") {
		t.Error("no ERROR log naming the refused redirect")
	}
	checkLogs(t, hook)
}

// https → http is a downgrade: refused with an error that says so.
func TestRedirectDowngradeRefused(t *testing.T) {
	t.Parallel()
	plain, hits := elsewhere(t, false)
	var reqs atomic.Int32
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(secure.Close)
	h := newRecHandler()
	cfg := Config{URL: secure.URL + "/sse", Token: testToken, HTTPClient: secure.Client(), OnSkip: h.onSkip}
	startRun(t, cfg, h)
	st := h.waitStatus(t, 5*time.Second, isDisconnected)
	if st.Cause != CauseRedirect || !strings.Contains(st.Err.Error(), "downgrade from https to http") {
		t.Fatalf("status %+v (%v), want a refused downgrade", st, st.Err)
	}
	if strings.Contains(st.Err.Error(), testToken) {
		t.Fatal("token in the error")
	}
	if reqs.Load() == 0 || hits.Load() != 0 {
		t.Fatalf("requests: https %d, http %d; want ≥1 and 0", reqs.Load(), hits.Load())
	}
}

// A redirect within the configured origin is followed, and logged.
func TestRedirectSameOriginFollowed(t *testing.T) {
	t.Parallel()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/moved" {
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
			return
		}
		streamHeaders(w)
		send(w, "data: {\"a\":1}\n\n")
		<-r.Context().Done()
	})
	cfg, hook := testConfig(ts, h)
	run := startRun(t, cfg, h)
	if got := h.waitEvent(t, 5*time.Second); got != `{"a":1}` {
		t.Fatalf("event %q", got)
	}
	run.stop(t)
	if !hasLog(hook, logrus.InfoLevel, "redirected", "/moved") {
		t.Error("no log naming the redirect target")
	}
}

// A compressed body would parse as no events at all: refused, counted and
// logged, and the stream never counts as connected.
func TestContentEncodingRefused(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("data: {\"a\":1}\n\n"))
	zw.Close()
	h := newRecHandler()
	ts := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("Accept-Encoding %q, want identity", got)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.Write(gz.Bytes())
		flush(w)
		<-r.Context().Done()
	})
	cfg, hook := testConfig(ts, h)
	startRun(t, cfg, h)
	st := h.waitStatus(t, 5*time.Second, isDisconnected)
	if st.Cause != CauseEncoding || !strings.Contains(st.Err.Error(), `Content-Encoding "gzip"`) {
		t.Fatalf("status %+v (%v), want cause encoding", st, st.Err)
	}
	events, statuses, skips := h.snapshot()
	for _, s := range statuses {
		if s.State == Connected {
			t.Error("a compressed stream was reported connected")
		}
	}
	if len(events) != 0 || len(skips) == 0 || skips[0] != SkipEncoding {
		t.Errorf("events %q, skips %q; want none and [encoding]", events, skips)
	}
	if !hasLog(hook, logrus.WarnLevel, "compressed", "gzip") {
		t.Error("no WARN log about the encoding")
	}
}
