package command

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

const testToken = "secret-token-123"

// results collects executor results.
type results struct {
	mu  sync.Mutex
	got []Result
	ch  chan struct{}
}

func newResults() *results { return &results{ch: make(chan struct{}, 100)} }

func (r *results) add(res Result) {
	r.mu.Lock()
	r.got = append(r.got, res)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *results) wait(t *testing.T, n int, timeout time.Duration) []Result {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]Result(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%d results after %v, want %d: %+v", len(r.got), timeout, n, r.got)
		}
	}
}

type execFixture struct {
	fake *testkit.FakeREST
	exec *Executor
	res  *results
}

func newExec(t *testing.T, mod func(*ExecutorOptions)) *execFixture {
	t.Helper()
	fake := testkit.NewFakeREST(t, testToken)
	client, err := rest.New(rest.Options{BaseURL: fake.URL(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	res := newResults()
	o := ExecutorOptions{Sender: client, Timeout: 5 * time.Second, Wake: true, MaxPerMinute: 100,
		RetryDelay: 50 * time.Millisecond, WakeWait: 2 * time.Second, PollEvery: 50 * time.Millisecond, OnResult: res.add}
	if mod != nil {
		mod(&o)
	}
	exec := NewExecutor(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = exec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &execFixture{fake: fake, exec: exec, res: res}
}

func req(t *testing.T, control, payload string) Request {
	t.Helper()
	c, ok := Lookup(Vehicle, control)
	if !ok {
		t.Fatalf("no control %s", control)
	}
	r, err := Parse(c, testVIN, []byte(payload), NoState{}, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExecutorSendsAndReports(t *testing.T) {
	f := newExec(t, nil)
	f.exec.Submit(req(t, "charge_limit", "80"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if !got.OK || got.Outcome != OutcomeOK || got.Status != 200 || got.Command != "set_charge_limit" || got.Woke || got.Sent != 1 {
		t.Fatalf("result %+v", got)
	}
	rs := f.fake.Requests()
	if len(rs) != 1 || rs[0].Path != "/api/1/vehicles/"+testVIN+"/command/set_charge_limit" || rs[0].Body != `{"percent":80}` ||
		rs[0].Auth != "Bearer "+testToken {
		t.Fatalf("requests %+v", rs)
	}
}

func TestExecutorInOrderOneAtATime(t *testing.T) {
	f := newExec(t, nil)
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 150 * time.Millisecond})
	f.exec.Submit(req(t, "lock", "LOCK"))
	f.exec.Submit(req(t, "flash_lights", "PRESS"))
	f.exec.Submit(req(t, "honk_horn", "PRESS"))
	got := f.res.wait(t, 3, 5*time.Second)
	want := []string{"lock", "flash_lights", "honk_horn"}
	for i, r := range got {
		if r.Control != want[i] || !r.OK {
			t.Fatalf("results %+v", got)
		}
	}
	rs := f.fake.Requests()
	// The second request left only after the slow first one was answered.
	if rs[1].At.Sub(rs[0].At) < 100*time.Millisecond {
		t.Errorf("second command sent %v after the first: not one at a time", rs[1].At.Sub(rs[0].At))
	}
}

// TestExecutorCoalesces: while one command runs, newer values of a waiting
// control replace older ones; only the newest is sent.
func TestExecutorCoalesces(t *testing.T) {
	f := newExec(t, nil)
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 200 * time.Millisecond})
	f.exec.Submit(req(t, "lock", "LOCK"))
	f.fake.WaitStarted(t, 1, 5*time.Second) // the lock is in flight
	for _, v := range []string{"60", "65", "70", "75"} {
		f.exec.Submit(req(t, "charge_limit", v))
	}
	got := f.res.wait(t, 5, 5*time.Second)
	super := 0
	for _, r := range got {
		if r.Outcome == OutcomeSuperseded {
			super++
		}
	}
	if super != 3 {
		t.Errorf("%d superseded, want 3: %+v", super, got)
	}
	var bodies []string
	for _, r := range f.fake.Requests() {
		if r.Command() == "set_charge_limit" {
			bodies = append(bodies, r.Body)
		}
	}
	if len(bodies) != 1 || bodies[0] != `{"percent":75}` {
		t.Errorf("charge limit bodies sent %v, want only the newest", bodies)
	}
}

func TestExecutorBusy(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.MaxQueue = 2 })
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 200 * time.Millisecond})
	f.exec.Submit(req(t, "lock", "LOCK"))
	f.fake.WaitStarted(t, 1, 5*time.Second) // the lock is in flight, not waiting
	f.exec.Submit(req(t, "flash_lights", "PRESS"))
	f.exec.Submit(req(t, "honk_horn", "PRESS"))
	f.exec.Submit(req(t, "frunk", "PRESS")) // third waiting: busy
	got := f.res.wait(t, 4, 5*time.Second)
	if got[0].Control != "frunk" || got[0].Outcome != OutcomeBusy || got[0].Reason != "busy" || got[0].Sent != 0 {
		t.Fatalf("first result %+v, want frunk busy", got[0])
	}
	for _, c := range f.fake.Commands() {
		if c == "actuate_trunk" {
			t.Error("busy command was sent")
		}
	}
}

// TestExecutorWakeThenRetry: 408 → wake_up → online → the command once more.
func TestExecutorWakeThenRetry(t *testing.T) {
	f := newExec(t, nil)
	f.fake.SetAsleep(testVIN, true)
	f.fake.SetWakeDelay(150 * time.Millisecond)
	f.exec.Submit(req(t, "lock", "UNLOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if !got.OK || !got.Woke || got.Status != 200 {
		t.Fatalf("result %+v", got)
	}
	cmds := f.fake.Commands()
	if len(cmds) != 3 || cmds[0] != "door_unlock" || cmds[1] != "wake_up" || cmds[2] != "door_unlock" {
		t.Fatalf("POSTs %v, want door_unlock, wake_up, door_unlock", cmds)
	}
	polls := 0
	for _, r := range f.fake.Requests() {
		if r.Method == "GET" {
			polls++
		}
	}
	if polls == 0 {
		t.Error("never polled the vehicle state while waking")
	}
}

// TestExecutorWakeFromStateEvent: a state event saying online ends the wait
// at once, without waiting for a poll.
func TestExecutorWakeFromStateEvent(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.PollEvery = time.Hour })
	f.fake.SetAsleep(testVIN, true)
	f.fake.SetWakeDelay(time.Hour)
	f.exec.Submit(req(t, "lock", "LOCK"))
	f.fake.WaitRequests(t, 2, 5*time.Second) // door_lock (408), wake_up
	f.fake.SetAsleep(testVIN, false)
	start := time.Now()
	f.exec.StateChanged(testVIN, "online")
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if !got.OK || !got.Woke || time.Since(start) > time.Second {
		t.Fatalf("result %+v after %v", got, time.Since(start))
	}
}

func TestExecutorWakeGivesUp(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.WakeWait = 200 * time.Millisecond })
	f.fake.SetAsleep(testVIN, true)
	f.fake.SetWakeDelay(time.Hour)
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if got.OK || got.Outcome != OutcomeAsleep || got.Woke || got.Status != 408 {
		t.Fatalf("result %+v", got)
	}
	if cmds := f.fake.Commands(); len(cmds) != 2 {
		t.Errorf("POSTs %v, want door_lock and wake_up only", cmds)
	}
}

func TestExecutorNoWakeWhenDisabled(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.Wake = false })
	f.fake.SetAsleep(testVIN, true)
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if got.OK || got.Outcome != OutcomeAsleep || !strings.HasPrefix(got.Reason, "asleep") {
		t.Fatalf("result %+v", got)
	}
	if cmds := f.fake.Commands(); len(cmds) != 1 {
		t.Errorf("POSTs %v", cmds)
	}
}

// TestExecutorNeverRetries4xx: 401/402/403/429/400 are reported and not retried.
func TestExecutorNeverRetries4xx(t *testing.T) {
	for status, outcome := range map[int]string{401: OutcomeUnauthorized, 402: OutcomePayment, 403: OutcomeForbidden,
		429: OutcomeTooMany, 400: OutcomeClientError, 404: OutcomeClientError} {
		f := newExec(t, nil)
		f.fake.Script("door_lock", testkit.RESTAnswer{Status: status})
		f.exec.Submit(req(t, "lock", "LOCK"))
		got := f.res.wait(t, 1, 5*time.Second)[0]
		if got.OK || got.Outcome != outcome || got.Status != status || got.Reason == "" {
			t.Errorf("%d: result %+v", status, got)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(f.fake.Requests()); n != 1 {
			t.Errorf("%d: %d requests, want 1", status, n)
		}
		if strings.Contains(string(got.JSON()), testToken) {
			t.Errorf("token in result")
		}
	}
}

func TestExecutorBadTokenNeverRetried(t *testing.T) {
	fake := testkit.NewFakeREST(t, testToken)
	client, _ := rest.New(rest.Options{BaseURL: fake.URL(), Token: "wrong"})
	res := newResults()
	exec := NewExecutor(ExecutorOptions{Sender: client, Wake: true, OnResult: res.add})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go exec.Run(ctx)
	exec.Submit(req(t, "lock", "LOCK"))
	got := res.wait(t, 1, 5*time.Second)[0]
	if got.Outcome != OutcomeUnauthorized || got.Reason != "invalid_token" || len(fake.Requests()) != 1 {
		t.Fatalf("%+v, %d requests", got, len(fake.Requests()))
	}
}

func TestExecutorRetries5xxOnce(t *testing.T) {
	f := newExec(t, nil)
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 503}, testkit.RESTAnswer{Status: 200})
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	rs := f.fake.Requests()
	if !got.OK || len(rs) != 2 || rs[1].At.Sub(rs[0].At) < 40*time.Millisecond {
		t.Fatalf("result %+v, requests %+v", got, rs)
	}

	f = newExec(t, nil)
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 500})
	f.exec.Submit(req(t, "lock", "LOCK"))
	got = f.res.wait(t, 1, 5*time.Second)[0]
	if got.OK || got.Outcome != OutcomeServerError || len(f.fake.Requests()) != 2 {
		t.Fatalf("result %+v, %d requests", got, len(f.fake.Requests()))
	}
}

func TestExecutorCarRefusal(t *testing.T) {
	f := newExec(t, nil)
	f.fake.Script("charge_stop", testkit.RESTAnswer{Status: 200, Body: `{"response":{"result":false,"reason":"not_charging"}}`})
	f.fake.Script("charge_start", testkit.RESTAnswer{Status: 200, Body: `{"response":{"result":false,"reason":"cable_not_connected"}}`})
	f.exec.Submit(req(t, "charging", "OFF"))
	f.res.wait(t, 1, 5*time.Second)
	f.exec.Submit(req(t, "charging", "ON"))
	got := f.res.wait(t, 2, 5*time.Second)
	if !got[0].OK || got[0].Reason != "not_charging" {
		t.Errorf("not_charging counts as done: %+v", got[0])
	}
	if got[1].OK || got[1].Outcome != OutcomeRefused || got[1].Reason != "cable_not_connected" {
		t.Errorf("refusal: %+v", got[1])
	}
}

func TestExecutorTimeout(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.Timeout = 150 * time.Millisecond })
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 2 * time.Second})
	start := time.Now()
	f.exec.Submit(req(t, "lock", "LOCK"))
	f.exec.Submit(req(t, "flash_lights", "PRESS")) // waits behind it past its own deadline
	got := f.res.wait(t, 2, 5*time.Second)
	if got[0].Outcome != OutcomeTimeout || got[1].Outcome != OutcomeTimeout || got[1].Sent != 0 {
		t.Fatalf("results %+v", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// Time counts from the message's receipt: Dispatch (receipt to the request
// written) is within Duration, a command that waited behind another counts
// its wait, and one received longer ago than commands.timeout is never sent.
func TestExecutorCountsFromReceipt(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.Timeout = time.Second })
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 200, Delay: 200 * time.Millisecond})
	lock, flash := req(t, "lock", "LOCK"), req(t, "flash_lights", "PRESS")
	lock.Received, flash.Received = time.Now().Add(-300*time.Millisecond), time.Now()
	f.exec.Submit(lock)
	f.exec.Submit(flash)
	got := f.res.wait(t, 2, 5*time.Second)
	if got[0].Dispatch < 300*time.Millisecond || got[0].Duration < got[0].Dispatch+200*time.Millisecond {
		t.Errorf("lock received 300 ms ago, answered after 200 ms: dispatch %v, duration %v", got[0].Dispatch, got[0].Duration)
	}
	if got[1].Dispatch < 190*time.Millisecond || got[1].Dispatch > got[1].Duration {
		t.Errorf("flash waited ~200 ms behind the lock: dispatch %v, duration %v", got[1].Dispatch, got[1].Duration)
	}

	stale := req(t, "honk_horn", "PRESS")
	stale.Received = time.Now().Add(-2 * time.Second)
	f.exec.Submit(stale)
	got = f.res.wait(t, 3, 5*time.Second)
	if r := got[2]; r.Outcome != OutcomeTimeout || r.Sent != 0 || r.Dispatch != 0 {
		t.Errorf("a command received 2 s ago with a 1 s timeout: %+v", r)
	}
	if n := len(f.fake.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (the stale honk never sent)", n)
	}
}

func TestExecutorRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newExec(t, func(o *ExecutorOptions) { o.MaxPerMinute = 2; o.Now = clock })
	f.exec.Submit(req(t, "flash_lights", "PRESS"))
	f.exec.Submit(req(t, "honk_horn", "PRESS"))
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 3, 5*time.Second)
	if !got[0].OK || !got[1].OK || got[2].Outcome != OutcomeRateLimited || got[2].Reason != "rate_limited" || got[2].Sent != 0 {
		t.Fatalf("results %+v", got)
	}
	if n := len(f.fake.Requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	f.exec.Submit(req(t, "lock", "LOCK"))
	if got := f.res.wait(t, 4, 5*time.Second)[3]; !got.OK {
		t.Fatalf("after a minute: %+v", got)
	}
	// Per car: another car has its own budget.
	r := req(t, "lock", "LOCK")
	r.ID = "5YJ3E7EB9NF000001"
	f.exec.Submit(r)
	if got := f.res.wait(t, 5, 5*time.Second)[4]; !got.OK {
		t.Fatalf("other car: %+v", got)
	}
}

// TestExecutorWakeCountsForRateLimit: the wake is one of max_per_minute.
func TestExecutorWakeCountsForRateLimit(t *testing.T) {
	f := newExec(t, func(o *ExecutorOptions) { o.MaxPerMinute = 2 })
	f.fake.SetAsleep(testVIN, true)
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if got.Outcome != OutcomeRateLimited {
		t.Fatalf("result %+v", got)
	}
	if cmds := f.fake.Commands(); len(cmds) != 2 || cmds[1] != "wake_up" {
		t.Fatalf("POSTs %v", cmds)
	}
}

func TestExecutorSiteAndWake(t *testing.T) {
	f := newExec(t, nil)
	c, _ := Lookup(Site, "backup_reserve")
	r, err := Parse(c, "123456", []byte("30"), nil, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.exec.Submit(r)
	f.exec.Submit(req(t, "wake", "PRESS"))
	got := f.res.wait(t, 2, 5*time.Second)
	paths := map[string]string{}
	for _, r := range f.fake.Requests() {
		paths[r.Path] = r.Body
	}
	if !got[0].OK || !got[1].OK {
		t.Fatalf("results %+v", got)
	}
	if b, ok := paths["/api/1/energy_sites/123456/backup"]; !ok || b != `{"backup_reserve_percent":30}` {
		t.Errorf("site request %v", paths)
	}
	if _, ok := paths["/api/1/vehicles/"+testVIN+"/wake_up"]; !ok {
		t.Errorf("wake request %v", paths)
	}
}

func TestExecutorSkipSendsNothing(t *testing.T) {
	f := newExec(t, nil)
	c, _ := Lookup(Vehicle, "trunk")
	r, _ := Parse(c, testVIN, []byte("OPEN"), mapState{"DoorState": `{"TrunkRear":true}`}, ParseOptions{})
	f.exec.Submit(r)
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if !got.OK || got.Reason != "already_set" || got.Sent != 0 || got.Dispatch != 0 || len(f.fake.Requests()) != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestExecutorSubmitBeforeRun(t *testing.T) {
	fake := testkit.NewFakeREST(t, testToken)
	client, _ := rest.New(rest.Options{BaseURL: fake.URL(), Token: testToken})
	res := newResults()
	exec := NewExecutor(ExecutorOptions{Sender: client, OnResult: res.add})
	exec.Submit(req(t, "lock", "LOCK"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = exec.Run(ctx); close(done) }()
	if got := res.wait(t, 1, 5*time.Second)[0]; !got.OK {
		t.Fatalf("%+v", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestExecutorLongReasonIsShortened(t *testing.T) {
	f := newExec(t, nil)
	long := strings.Repeat("é", 300)
	f.fake.Script("door_lock", testkit.RESTAnswer{Status: 400, Body: `{"response":null,"error_description":"` + long + `"}`})
	f.exec.Submit(req(t, "lock", "LOCK"))
	got := f.res.wait(t, 1, 5*time.Second)[0]
	if got.Outcome != OutcomeClientError || len(got.Reason) > maxReason+len("…") || !strings.HasSuffix(got.Reason, "…") {
		t.Fatalf("reason of %d bytes: %q", len(got.Reason), got.Reason)
	}
}
