package e2e

// A small client of the Chrome DevTools Protocol, enough to drive Debian's
// headless chromium from the browser test: open a page, evaluate JavaScript,
// collect console errors, take screenshots. It speaks the protocol over a
// websocket with github.com/gorilla/websocket (already in go.sum through
// mochi-mqtt), so no browser-automation module is needed.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Chromium is a headless chromium process with one page open.
type Chromium struct {
	t       testing.TB
	cmd     *exec.Cmd
	stderr  *os.File
	ws      *websocket.Conn
	wmu     sync.Mutex
	session string

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan cdpReply
	problems []string // console errors, uncaught exceptions, failed loads
	closed   chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
	cdpReply
}

// StartChromium starts the browser at path and opens a blank page of the given size.
func StartChromium(t testing.TB, path string, width, height int) *Chromium {
	t.Helper()
	dir := t.TempDir()
	args := []string{
		"--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-sync", "--disable-component-update", "--hide-scrollbars", "--mute-audio",
		"--remote-debugging-port=0", "--user-data-dir=" + filepath.Join(dir, "profile"), "about:blank",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // chromium refuses to run as root with its sandbox
	}
	stderr, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	c := &Chromium{t: t, stderr: stderr, pending: map[int64]chan cdpReply{}, closed: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	c.cmd.Stdout, c.cmd.Stderr = stderr, stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helper processes go with it
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(c.Close)

	// DevToolsActivePort: the port on line 1, the browser's websocket path on line 2.
	portFile := filepath.Join(dir, "profile", "DevToolsActivePort")
	deadline := time.Now().Add(30 * time.Second)
	var lines []string
	for {
		if data, err := os.ReadFile(portFile); err == nil {
			lines = strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium wrote no DevToolsActivePort within 30 s; its log:\n%s", c.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.ws, _, err = websocket.DefaultDialer.Dial("ws://127.0.0.1:"+lines[0]+lines[1], nil)
	if err != nil {
		t.Fatalf("connecting to chromium's DevTools: %v", err)
	}
	go c.readLoop()

	var target struct {
		TargetID string `json:"targetId"`
	}
	c.browserCall("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	c.browserCall("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	c.session = attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		c.Call(m, nil, nil)
	}
	c.Call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
	}, nil)
	return c
}

func (c *Chromium) log() string {
	data, _ := os.ReadFile(c.stderr.Name())
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, "dbus") && !strings.Contains(l, "zygote") { // noise of a container without D-Bus
			keep = append(keep, l)
		}
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	return strings.Join(keep, "\n")
}

func (c *Chromium) readLoop() {
	defer close(c.closed)
	for {
		var m cdpMessage
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		if m.Method != "" {
			c.event(m.Method, m.Params)
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// event records what a user would see as an error in the browser console.
func (c *Chromium) event(method string, params json.RawMessage) {
	var problem string
	switch method {
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(params, &p)
		problem = "uncaught exception: " + p.Details.Text + " " + p.Details.Exception.Description
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(params, &p)
		if p.Type == "error" || p.Type == "assert" || p.Type == "warning" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value)+a.Description)
			}
			problem = "console." + p.Type + ": " + strings.Join(parts, " ")
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			problem = fmt.Sprintf("%s %s: %s %s", p.Entry.Source, p.Entry.Level, p.Entry.Text, p.Entry.URL)
		}
	}
	if problem != "" {
		c.mu.Lock()
		c.problems = append(c.problems, problem)
		c.mu.Unlock()
	}
}

// Problems returns the console errors and warnings seen so far.
func (c *Chromium) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

func (c *Chromium) browserCall(method string, params any, result any) {
	c.t.Helper()
	if err := c.call("", method, params, result); err != nil {
		c.t.Fatal(err)
	}
}

// Call sends a command to the page and decodes its result into result (when not nil).
func (c *Chromium) Call(method string, params any, result any) {
	c.t.Helper()
	if err := c.call(c.session, method, params, result); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Chromium) call(session, method string, params any, result any) error {
	if params == nil {
		params = map[string]any{}
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	c.wmu.Lock()
	err := c.ws.WriteJSON(msg)
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				return fmt.Errorf("%s: decoding %s: %w", method, r.Result, err)
			}
		}
		return nil
	case <-c.closed:
		return fmt.Errorf("%s: the browser connection closed; log:\n%s", method, c.log())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no answer within 30 s", method)
	}
}

// Navigate opens url in the page.
func (c *Chromium) Navigate(url string) {
	c.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	c.Call("Page.navigate", map[string]any{"url": url}, &r)
	if r.ErrorText != "" {
		c.t.Fatalf("navigating to %s: %s", url, r.ErrorText)
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value into out.
func (c *Chromium) Eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := c.call(c.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("evaluating %q: %s", expr, r.Exception.Text)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor evaluates expr until it returns true.
func (c *Chromium) WaitFor(ctx context.Context, what, expr string) {
	c.t.Helper()
	for {
		var ok bool
		err := c.Eval(expr, &ok)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("waiting for %s: %v (last error %v); console: %v", what, ctx.Err(), err, c.Problems())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Screenshot saves a PNG of the whole page.
func (c *Chromium) Screenshot(path string) { c.screenshot(path, 0) }

// ScreenshotTop saves a PNG of the top of the page, at most maxHeight CSS pixels.
func (c *Chromium) ScreenshotTop(path string, maxHeight float64) { c.screenshot(path, maxHeight) }

func (c *Chromium) screenshot(path string, maxHeight float64) {
	c.t.Helper()
	var m struct {
		Content struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	c.Call("Page.getLayoutMetrics", nil, &m)
	if maxHeight > 0 && m.Content.Height > maxHeight {
		m.Content.Height = maxHeight
	}
	var shot struct {
		Data string `json:"data"`
	}
	c.Call("Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.Content.Width, "height": m.Content.Height, "scale": 1},
	}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot %s (%d bytes, %.0fx%.0f)", path, len(png), m.Content.Width, m.Content.Height)
}

// Close ends the browser and its helper processes.
func (c *Chromium) Close() {
	if c.ws != nil {
		_ = c.call("", "Browser.close", nil, nil)
		_ = c.ws.Close()
	}
	if c.cmd.Process != nil {
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	_ = c.stderr.Close()
}
