package command

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// States gives the payloads the bridge last published, per car and per site.
type States interface {
	Vehicle(vin string) State
	Site(id string) State
}

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	Scheme  topic.Scheme
	Enabled bool     // commands.enabled
	Raw     bool     // commands.raw
	Deny    []string // commands.deny: control (or raw command) names
	// VINs, when not empty, are the only cars commands go to
	// (teslemetry.vins); messages for others are ignored.
	VINs     []string
	Parse    ParseOptions
	Executor *Executor
	States   States // nil: no state known (trunk always sent, windows need a location)
	Logger   logrus.FieldLogger
	// Ignored is told why a message was not executed (retained, unknown
	// control, raw disabled); for metrics. May be nil.
	Ignored func(reason string)
}

// Dispatcher turns MQTT messages on the command topics into requests.
type Dispatcher struct {
	o    DispatcherOptions
	deny map[string]bool
	vins map[string]bool // nil: any car

	mu     sync.Mutex
	logged map[string]time.Time // ignore reason → last log
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Logger == nil {
		o.Logger = logrus.StandardLogger()
	}
	d := &Dispatcher{o: o, deny: map[string]bool{}, logged: map[string]time.Time{}}
	for _, n := range o.Deny {
		d.deny[n] = true
	}
	if len(o.VINs) > 0 {
		d.vins = map[string]bool{}
		for _, v := range o.VINs {
			d.vins[v] = true
		}
	}
	return d
}

// Subscriptions returns the command topics and their handler: none when
// commands are disabled; command/+ only with commands.raw.
func (d *Dispatcher) Subscriptions() map[string]func(mqttpub.Message) {
	subs := map[string]func(mqttpub.Message){}
	if !d.o.Enabled {
		return subs
	}
	subs[d.o.Scheme.VehicleSetFilter()] = d.Handle
	subs[d.o.Scheme.SiteSetFilter()] = d.Handle
	if d.o.Raw {
		subs[d.o.Scheme.VehicleCommandFilter()] = d.Handle
	}
	return subs
}

// Denied reports whether a control is refused by commands.deny.
func (d *Dispatcher) Denied(name string) bool { return d.deny[name] }

// Handle takes one message from a command topic. Retained messages are
// never executed.
func (d *Dispatcher) Handle(m mqttpub.Message) {
	if !d.o.Enabled {
		return
	}
	c, ok := d.o.Scheme.ParseCommand(m.Topic)
	if !ok {
		d.ignore("not_a_command_topic", "ignored a message on %q: not a command topic", m.Topic)
		return
	}
	if m.Retained {
		d.ignore("retained", "ignored a retained message on %s: commands are never run from the broker's "+
			"retained store; publish without the retain flag (and clear it: an empty retained message on that topic)", m.Topic)
		return
	}
	if c.Owner.Kind == topic.Vehicle && d.vins != nil && !d.vins[c.Owner.ID] {
		d.ignore("vin_not_configured", "ignored %s: the car is not in teslemetry.vins", m.Topic)
		return
	}
	if c.Raw {
		if !d.o.Raw {
			d.ignore("raw_disabled", "ignored %s: raw commands need commands.raw: true", m.Topic)
			return
		}
		req := Request{Target: Vehicle, ID: c.Owner.ID, Control: c.Name, Raw: true, Endpoint: EndpointCommand, Command: c.Name, Received: m.Received}
		if d.deny[c.Name] {
			d.o.Executor.Report(req, OutcomeDenied, "denied")
			return
		}
		r, err := ParseRaw(c.Owner.ID, c.Name, m.Payload)
		r.Received = m.Received
		if err != nil {
			if !IsCommandName(c.Name) {
				req.Control, req.Command = "invalid", ""
			}
			d.o.Executor.Report(req, OutcomeInvalid, ReasonOf(err))
			return
		}
		d.o.Executor.Submit(r)
		return
	}
	t := Vehicle
	if c.Owner.Kind == topic.Site {
		t = Site
	}
	ctl, ok := Lookup(t, c.Name)
	if !ok {
		d.ignore("unknown_control", "ignored %s: no %s control named %q (see docs/commands.md)", m.Topic, t, topic.Segment(c.Name))
		return
	}
	req := Request{Target: t, ID: c.Owner.ID, Control: ctl.Name, Endpoint: ctl.Endpoint, Command: ctl.Command, Received: m.Received}
	if d.deny[ctl.Name] {
		d.o.Executor.Report(req, OutcomeDenied, "denied")
		return
	}
	var st State = NoState{}
	if d.o.States != nil {
		if t == Vehicle {
			st = d.o.States.Vehicle(c.Owner.ID)
		} else {
			st = d.o.States.Site(c.Owner.ID)
		}
	}
	r, err := Parse(ctl, c.Owner.ID, m.Payload, st, d.o.Parse)
	r.Received = m.Received
	if err != nil {
		d.o.Executor.Report(req, OutcomeInvalid, ReasonOf(err))
		return
	}
	d.o.Executor.Submit(r)
}

// ignore counts a message that is not executed and logs it at most once a
// minute per reason.
func (d *Dispatcher) ignore(reason, format string, args ...any) {
	if d.o.Ignored != nil {
		d.o.Ignored(reason)
	}
	now := time.Now()
	d.mu.Lock()
	last, seen := d.logged[reason]
	if seen && now.Sub(last) < time.Minute {
		d.mu.Unlock()
		return
	}
	d.logged[reason] = now
	d.mu.Unlock()
	d.o.Logger.Warnf(format, args...)
}
