package command

import (
	"encoding/json"
	"time"
)

// Outcomes: the low-cardinality label a Result is counted under.
const (
	OutcomeOK           = "ok"
	OutcomeRefused      = "refused"       // the car answered result:false
	OutcomeInvalid      = "invalid"       // the payload did not fit; nothing sent
	OutcomeDenied       = "denied"        // commands.deny
	OutcomeBusy         = "busy"          // the queue was full
	OutcomeSuperseded   = "superseded"    // a newer value of the same control replaced it
	OutcomeRateLimited  = "rate_limited"  // commands.max_per_minute
	OutcomeTimeout      = "timeout"       // commands.timeout
	OutcomeAsleep       = "asleep"        // 408 and no wake (or the wake did not bring it online)
	OutcomeUnauthorized = "unauthorized"  // 401
	OutcomePayment      = "payment"       // 402
	OutcomeForbidden    = "forbidden"     // 403
	OutcomeTooMany      = "too_many"      // 429
	OutcomeClientError  = "client_error"  // other 4xx
	OutcomeServerError  = "server_error"  // 5xx after the one retry
	OutcomeNetworkError = "network_error" // no answer
	OutcomeCancelled    = "cancelled"     // the bridge stopped
)

// Result is the outcome of one accepted message.
type Result struct {
	Target   Target
	ID       string
	Control  string // control name, or the raw command name
	Raw      bool
	Command  string // Teslemetry command, site endpoint or wake_up; "" when none was chosen
	OK       bool
	Reason   string // "" or Teslemetry's reason when ok; the problem otherwise
	Outcome  string
	Status   int // HTTP status of the last answer; 0 when nothing was answered
	Woke     bool
	Sent     int // requests sent to Teslemetry for it (wake included)
	At       time.Time
	Duration time.Duration // from receipt to result
	// Dispatch is the time from receipt to the first request written to
	// Teslemetry (queueing behind earlier commands included); 0 when
	// nothing was sent.
	Dispatch time.Duration
}

type resultJSON struct {
	Control    string `json:"control"`
	Command    string `json:"command"`
	OK         bool   `json:"ok"`
	Reason     string `json:"reason"`
	Status     *int   `json:"status"`
	Woke       bool   `json:"woke"`
	At         string `json:"at"`
	DurationMS int64  `json:"duration_ms"`
}

// JSON is the command_result payload:
// {"control","command","ok","reason","status","woke","at","duration_ms"}.
// status is null when Teslemetry was not asked (or did not answer).
func (r Result) JSON() []byte {
	j := resultJSON{Control: r.Control, Command: r.Command, OK: r.OK, Reason: r.Reason, Woke: r.Woke,
		At: r.At.UTC().Format(time.RFC3339Nano), DurationMS: r.Duration.Milliseconds()}
	if r.Raw {
		j.Control = "command/" + r.Control
	}
	if r.Status != 0 {
		s := r.Status
		j.Status = &s
	}
	b, _ := json.Marshal(j)
	return b
}

// MetricControl is the control label for metrics: the control name, or
// "raw" for raw commands (whose names are the user's).
func (r Result) MetricControl() string {
	if r.Raw {
		return "raw"
	}
	return r.Control
}
