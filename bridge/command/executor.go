package command

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
)

// Sender is the part of the Teslemetry REST client the executor uses
// (*rest.Client implements it).
type Sender interface {
	Command(ctx context.Context, vin, name string, body any) (rest.Response, error)
	Wake(ctx context.Context, vin string) (string, rest.Response, error)
	VehicleState(ctx context.Context, vin string) (string, rest.Response, error)
	SiteCommand(ctx context.Context, siteID, endpoint string, body any) (rest.Response, error)
}

// Defaults of ExecutorOptions.
const (
	DefaultMaxQueue   = 16
	DefaultRetryDelay = 2 * time.Second
	DefaultWakeWait   = 30 * time.Second
	DefaultPollEvery  = 5 * time.Second
	DefaultTimeout    = 45 * time.Second
)

// ExecutorOptions configure an Executor.
type ExecutorOptions struct {
	Sender       Sender
	Timeout      time.Duration // receipt to result, wake included (commands.timeout)
	Wake         bool          // wake a sleeping car and send once more (commands.wake)
	MaxPerMinute int           // requests per car or site per minute; 0 = no limit
	MaxQueue     int           // waiting per car or site; DefaultMaxQueue when 0
	RetryDelay   time.Duration // before the one retry after a 5xx
	WakeWait     time.Duration // longest wait for the car to come online
	PollEvery    time.Duration // GET vehicle state this often while waiting
	// Now is the clock for results and the rate limit (time.Now when nil).
	Now func() time.Time
	// OnResult gets every result, on the worker's goroutine (or the
	// submitter's for busy/superseded); it must not block for long.
	OnResult func(Result)
}

type targetKey struct {
	t  Target
	id string
}

// Executor runs requests one at a time per car or site, in arrival order.
// Create it with NewExecutor; it does nothing until Run.
type Executor struct {
	o ExecutorOptions

	mu      sync.Mutex
	ctx     context.Context // nil until Run
	workers map[targetKey]*worker
	wg      sync.WaitGroup
}

// worker is the queue and the send history of one car or site.
type worker struct {
	key    targetKey
	queue  []*job
	active bool        // a goroutine is draining the queue
	sent   []time.Time // sends within the last minute (rate limit)
	online chan struct{}
}

type job struct {
	req     Request
	arrived time.Time
	mono    time.Time // arrival on the monotonic clock (deadline)
	// dispatched is the time from arrival to the first request written
	// (ns; 0 until then): written by the HTTP client's goroutine.
	dispatched atomic.Int64
}

// newJob is r arriving at now (the executor's clock); its deadline counts
// from the message's receipt when r has one.
func newJob(r Request, now time.Time) *job {
	mono := r.Received
	if mono.IsZero() {
		mono = time.Now()
	}
	return &job{req: r, arrived: now, mono: mono}
}

// NewExecutor returns an executor; zero options get the defaults.
func NewExecutor(o ExecutorOptions) *Executor {
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.WakeWait <= 0 {
		o.WakeWait = DefaultWakeWait
	}
	if o.PollEvery <= 0 {
		o.PollEvery = DefaultPollEvery
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnResult == nil {
		o.OnResult = func(Result) {}
	}
	return &Executor{o: o, workers: map[targetKey]*worker{}}
}

// Run starts the workers and blocks until ctx ends and every worker has
// stopped. Requests submitted before Run wait for it.
func (e *Executor) Run(ctx context.Context) error {
	e.mu.Lock()
	e.ctx = ctx
	for _, w := range e.workers {
		e.startLocked(w)
	}
	e.mu.Unlock()
	<-ctx.Done()
	e.wg.Wait()
	return nil
}

func (e *Executor) startLocked(w *worker) {
	if w.active || len(w.queue) == 0 || e.ctx == nil || e.ctx.Err() != nil {
		return
	}
	w.active = true
	e.wg.Add(1)
	go e.drain(e.ctx, w)
}

func (e *Executor) workerLocked(k targetKey) *worker {
	w := e.workers[k]
	if w == nil {
		w = &worker{key: k, online: make(chan struct{}, 1)}
		e.workers[k] = w
	}
	return w
}

// Submit queues a request. A waiting request of the same control is
// replaced (its result: superseded); a full queue refuses it (busy).
func (e *Executor) Submit(r Request) {
	j := newJob(r, e.o.Now())
	var reported []Result
	e.mu.Lock()
	w := e.workerLocked(targetKey{r.Target, r.ID})
	replaced := false
	for i, old := range w.queue {
		if old.req.Control == r.Control && old.req.Raw == r.Raw {
			w.queue[i] = j
			reported = append(reported, e.result(old, Result{Outcome: OutcomeSuperseded, Reason: "superseded"}))
			replaced = true
			break
		}
	}
	if !replaced {
		if len(w.queue) >= e.o.MaxQueue {
			reported = append(reported, e.result(j, Result{Outcome: OutcomeBusy, Reason: "busy"}))
		} else {
			w.queue = append(w.queue, j)
		}
	}
	e.startLocked(w)
	e.mu.Unlock()
	for _, res := range reported {
		e.o.OnResult(res)
	}
}

// StateChanged tells the executor a car's state from the stream ("online",
// "asleep", "offline"): a command waiting for its car to wake goes on at once.
func (e *Executor) StateChanged(vin, state string) {
	if state != "online" {
		return
	}
	e.mu.Lock()
	w := e.workers[targetKey{Vehicle, vin}]
	e.mu.Unlock()
	if w != nil {
		select {
		case w.online <- struct{}{}:
		default:
		}
	}
}

// Report delivers a result for a message that was never queued (denied,
// invalid payload), with the same shape and timing as the others.
func (e *Executor) Report(r Request, outcome, reason string) {
	e.o.OnResult(e.result(newJob(r, e.o.Now()), Result{Outcome: outcome, Reason: reason}))
}

func (e *Executor) drain(ctx context.Context, w *worker) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if len(w.queue) == 0 || ctx.Err() != nil {
			w.active = false
			e.mu.Unlock()
			return
		}
		j := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		e.mu.Unlock()
		e.o.OnResult(e.execute(ctx, w, j))
	}
}

// result completes r for job j.
func (e *Executor) result(j *job, r Result) Result {
	r.Target, r.ID, r.Control, r.Raw = j.req.Target, j.req.ID, j.req.Control, j.req.Raw
	if r.Command == "" {
		r.Command = j.req.Command
	}
	r.OK = r.Outcome == OutcomeOK
	r.At = e.o.Now()
	r.Duration = time.Since(j.mono)
	r.Dispatch = time.Duration(j.dispatched.Load())
	return r
}

var errRateLimited = errors.New("rate limited")

// allow records one send for w unless the rate limit forbids it.
func (e *Executor) allow(w *worker) bool {
	if e.o.MaxPerMinute <= 0 {
		return true
	}
	now := e.o.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	cut := 0
	for cut < len(w.sent) && now.Sub(w.sent[cut]) >= time.Minute {
		cut++
	}
	w.sent = append(w.sent[:0], w.sent[cut:]...)
	if len(w.sent) >= e.o.MaxPerMinute {
		return false
	}
	w.sent = append(w.sent, now)
	return true
}

// execute sends one request: wake and retry once on 408, retry once after a
// pause on 5xx, never otherwise.
func (e *Executor) execute(parent context.Context, w *worker, j *job) Result {
	ctx, cancel := context.WithDeadline(parent, j.mono.Add(e.o.Timeout))
	defer cancel()
	// The first request written ends the command's time in the bridge
	// (Result.Dispatch); the HTTP client reports it on its own goroutine.
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		j.dispatched.CompareAndSwap(0, int64(max(time.Since(j.mono), 1)))
	}})
	res := Result{}
	if ctx.Err() != nil {
		return e.result(j, e.ctxOutcome(parent, res))
	}
	if j.req.Skip != "" {
		res.Outcome, res.Reason = OutcomeOK, j.req.Skip
		return e.result(j, res)
	}
	send := func() (rest.Response, error) {
		if !e.allow(w) {
			return rest.Response{}, errRateLimited
		}
		res.Sent++
		switch j.req.Endpoint {
		case EndpointWake:
			_, r, err := e.o.Sender.Wake(ctx, j.req.ID)
			return r, err
		case EndpointSite:
			return e.o.Sender.SiteCommand(ctx, j.req.ID, j.req.Command, j.req.Body)
		default:
			return e.o.Sender.Command(ctx, j.req.ID, j.req.Command, j.req.Body)
		}
	}
	resp, err := send()
	woke, retried := false, false
	for err == nil {
		switch {
		case resp.Status == http.StatusRequestTimeout && j.req.Target == Vehicle && j.req.Endpoint == EndpointCommand && !woke && e.o.Wake:
			ok, werr := e.wake(ctx, w, j, &res)
			if werr != nil {
				err = werr
				continue
			}
			if !ok {
				res.Status = resp.Status
				if ctx.Err() != nil {
					return e.result(j, e.ctxOutcome(parent, res))
				}
				res.Outcome, res.Reason = OutcomeAsleep, "wake_failed: the car did not come online"
				return e.result(j, res)
			}
			woke, res.Woke = true, true
			resp, err = send()
			continue
		case resp.Status >= 500 && !retried:
			retried = true
			t := time.NewTimer(e.o.RetryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				res.Status = resp.Status
				return e.result(j, e.ctxOutcome(parent, res))
			case <-t.C:
			}
			resp, err = send()
			continue
		}
		break
	}
	if err != nil {
		switch {
		case errors.Is(err, errRateLimited):
			res.Outcome, res.Reason = OutcomeRateLimited, "rate_limited"
		case ctx.Err() != nil:
			res = e.ctxOutcome(parent, res)
		default:
			res.Outcome, res.Reason = OutcomeNetworkError, shortReason("network_error: "+err.Error())
		}
		return e.result(j, res)
	}
	res.Status = resp.Status
	classify(&res, resp, j.req.Endpoint)
	return e.result(j, res)
}

func (e *Executor) ctxOutcome(parent context.Context, res Result) Result {
	if parent.Err() != nil {
		res.Outcome, res.Reason = OutcomeCancelled, "cancelled: the bridge is stopping"
	} else {
		res.Outcome, res.Reason = OutcomeTimeout, "timeout"
	}
	return res
}

// wake sends wake_up and waits until the car is online: the wake answer says
// so, a state event says so, or GET /api/1/vehicles/<VIN> says so.
func (e *Executor) wake(ctx context.Context, w *worker, j *job, res *Result) (bool, error) {
	if !e.allow(w) {
		return false, errRateLimited
	}
	select { // a stale signal must not end the wait
	case <-w.online:
	default:
	}
	res.Sent++
	state, r, err := e.o.Sender.Wake(ctx, j.req.ID)
	if err != nil {
		return false, err
	}
	if !r.OK() {
		return false, nil
	}
	if state == "online" {
		return true, nil
	}
	wctx, cancel := context.WithTimeout(ctx, e.o.WakeWait)
	defer cancel()
	tick := time.NewTicker(e.o.PollEvery)
	defer tick.Stop()
	for {
		select {
		case <-wctx.Done():
			return false, nil
		case <-w.online:
			return true, nil
		case <-tick.C:
			if s, _, err := e.o.Sender.VehicleState(wctx, j.req.ID); err == nil && s == "online" {
				return true, nil
			}
		}
	}
}

// carRefusalsOK are the reasons of a result:false that mean the car is
// already where it was asked to be.
var carRefusalsOK = map[string]bool{"already_set": true, "not_charging": true, "requested": true}

// maxReason bounds a reason taken from Teslemetry's answer (an
// error_description can be long); Home Assistant shows at most 255.
const maxReason = 200

func shortReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// classify turns Teslemetry's answer into the result.
func classify(res *Result, r rest.Response, ep Endpoint) {
	defer func() { res.Reason = shortReason(res.Reason) }()
	switch {
	case r.OK():
		res.Outcome = OutcomeOK
		if ep != EndpointCommand {
			return
		}
		var body struct {
			Result *bool  `json:"result"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(r.Result, &body) != nil || body.Result == nil || *body.Result {
			res.Reason = body.Reason
			return
		}
		res.Reason = body.Reason
		if !carRefusalsOK[body.Reason] {
			res.Outcome = OutcomeRefused
			if res.Reason == "" {
				res.Reason = "refused"
			}
		}
	case r.Status == http.StatusRequestTimeout:
		res.Outcome, res.Reason = OutcomeAsleep, "asleep: "+r.Reason()
	case r.Status == http.StatusUnauthorized:
		res.Outcome, res.Reason = OutcomeUnauthorized, r.Reason()
	case r.Status == http.StatusPaymentRequired:
		res.Outcome, res.Reason = OutcomePayment, r.Reason()
	case r.Status == http.StatusForbidden:
		res.Outcome, res.Reason = OutcomeForbidden, r.Reason()
	case r.Status == http.StatusTooManyRequests:
		res.Outcome, res.Reason = OutcomeTooMany, r.Reason()
	case r.Status >= 500:
		res.Outcome, res.Reason = OutcomeServerError, r.Reason()
	default:
		res.Outcome, res.Reason = OutcomeClientError, r.Reason()
	}
}

// NoSender fails every request with a network error (nothing to send to).
type NoSender struct{}

var errNoSender = errors.New("no Teslemetry API configured")

// Command implements Sender.
func (NoSender) Command(context.Context, string, string, any) (rest.Response, error) {
	return rest.Response{}, errNoSender
}

// Wake implements Sender.
func (NoSender) Wake(context.Context, string) (string, rest.Response, error) {
	return "", rest.Response{}, errNoSender
}

// VehicleState implements Sender.
func (NoSender) VehicleState(context.Context, string) (string, rest.Response, error) {
	return "", rest.Response{}, errNoSender
}

// SiteCommand implements Sender.
func (NoSender) SiteCommand(context.Context, string, string, any) (rest.Response, error) {
	return rest.Response{}, errNoSender
}
