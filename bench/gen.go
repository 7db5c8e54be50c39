package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// generator is a local SSE server speaking Teslemetry's framing. Every stream
// request becomes an sseConn that a scenario writes to; the handler holds the
// response open until the scenario or the client ends it.
type generator struct {
	srv   *http.Server
	url   string
	conns chan *sseConn
	// commands records REST requests (/api/…) while a commands run is on.
	commands atomic.Pointer[arrivals]
}

type sseConn struct {
	w    http.ResponseWriter
	f    http.Flusher
	ctx  context.Context
	done chan struct{}
}

func startGenerator() (*generator, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &generator{url: "http://" + l.Addr().String(), conns: make(chan *sseConn, 4)}
	g.srv = &http.Server{Handler: http.HandlerFunc(g.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = g.srv.Serve(l) }()
	return g, nil
}

func (g *generator) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer bench-token" {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		g.serveAPI(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	f.Flush()
	c := &sseConn{w: w, f: f, ctx: r.Context(), done: make(chan struct{})}
	select {
	case g.conns <- c:
	case <-r.Context().Done():
		return
	}
	select {
	case <-c.done:
	case <-r.Context().Done():
	}
}

// accept waits for the next stream connection.
func (g *generator) accept(timeout time.Duration) (*sseConn, error) {
	select {
	case c := <-g.conns:
		return c, nil
	case <-time.After(timeout):
		return nil, errors.New("the bridge did not open its SSE stream in time")
	}
}

func (c *sseConn) write(b []byte) error {
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	c.f.Flush()
	return nil
}

func (c *sseConn) close() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

// burst writes events as fast as the reader takes them, in writes of about
// 32 KiB; each event is stamped when it is formatted, just before its write.
// nEvents events go to VINs 0..nVINs-1 in turn; k counts events per VIN.
func (c *sseConn) burst(nVINs, nEvents int, vins []string, perVIN []int) error {
	return c.batched(nEvents, func(buf []byte, i int) []byte {
		v := i % nVINs
		buf = appendEvent(buf, vins[v], perVIN[v], nowMicros(), false)
		perVIN[v]++
		return buf
	})
}

// batched appends n events with appendNth and writes them in writes of about
// 32 KiB, the last one shorter.
func (c *sseConn) batched(n int, appendNth func(buf []byte, i int) []byte) error {
	buf := make([]byte, 0, 40<<10)
	for i := 0; i < n; i++ {
		buf = appendNth(buf, i)
		if len(buf) >= 32<<10 {
			if err := c.write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		return c.write(buf)
	}
	return nil
}

// paced writes nEvents events at a fixed rate, one write and flush each, for
// latency runs; it stops early when stop is closed.
func (c *sseConn) paced(nVINs, nEvents int, perSecond float64, vins []string, perVIN []int, stop <-chan struct{}) error {
	interval := time.Duration(float64(time.Second) / perSecond)
	start := time.Now()
	buf := make([]byte, 0, 4<<10)
	for i := 0; i < nEvents; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-stop:
				return nil
			}
		}
		v := i % nVINs
		buf = appendEvent(buf[:0], vins[v], perVIN[v], nowMicros(), false)
		perVIN[v]++
		if err := c.write(buf); err != nil {
			return err
		}
	}
	return nil
}

// snapshot writes one wide event (60 fields) per VIN, like a cache=true snapshot.
func (c *sseConn) snapshot(vins []string) error {
	return c.batched(len(vins), func(buf []byte, i int) []byte {
		return appendEvent(buf, vins[i], i, nowMicros(), true)
	})
}

func (c *sseConn) keepalive() error { return c.write([]byte(": keep-alive\n\n")) }

func (g *generator) close() {
	_ = g.srv.Close()
}
