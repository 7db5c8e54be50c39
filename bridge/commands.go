package bridge

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/command"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// commands is the bridge's command side (docs/commands.md): the subscribed
// set/ and command/ topics feed the dispatcher, the executor sends requests
// to Teslemetry, and each result is published on command_result, logged and
// counted. It keeps a copy of the few values the controls need (the car's
// position, the rear trunk, the windows). A bridge has none (nil) when
// commands.enabled is false; every method is a no-op on a nil *commands.
type commands struct {
	exec   *command.Executor
	disp   *command.Dispatcher
	topics topic.Scheme
	pub    Publisher
	log    logrus.FieldLogger
	m      *Metrics
	states *controlStates
}

// newCommands returns the command side, or nil when commands are disabled.
// sender nil means the Teslemetry REST API of the configuration.
func newCommands(cfg *config.Config, version string, topics topic.Scheme, pub Publisher, sender command.Sender,
	units catalog.Units, log logrus.FieldLogger, m *Metrics) (*commands, error) {
	if !cfg.Commands.Enabled {
		return nil, nil
	}
	if sender == nil {
		client, err := rest.New(rest.Options{BaseURL: cfg.Teslemetry.URL, Token: cfg.Teslemetry.Token, UserAgent: "teslemetry2mqtt/" + version})
		if err != nil {
			return nil, err
		}
		sender = client
	}
	for _, name := range cfg.Commands.Deny {
		_, car := command.Lookup(command.Vehicle, name)
		_, site := command.Lookup(command.Site, name)
		if !car && !site {
			log.WithField("name", topic.Segment(name)).Warn("commands.deny names no control: it only refuses a raw command of that name (docs/commands.md lists the controls)")
		}
	}
	c := &commands{topics: topics, pub: pub, log: log, m: m, states: &controlStates{cars: map[string]map[string][]byte{}, sites: map[string]map[string][]byte{}}}
	c.exec = command.NewExecutor(command.ExecutorOptions{
		Sender: sender, Timeout: time.Duration(cfg.Commands.Timeout), Wake: cfg.Commands.Wake,
		MaxPerMinute: cfg.Commands.MaxPerMinute, OnResult: c.result,
	})
	c.disp = command.NewDispatcher(command.DispatcherOptions{
		Scheme: topics, Enabled: true, Raw: cfg.Commands.Raw, Deny: cfg.Commands.Deny, VINs: cfg.Teslemetry.VINs,
		Parse: command.ParseOptions{Fahrenheit: units == catalog.UnitsImperial}, Executor: c.exec,
		States: c.states, Logger: log, Ignored: c.ignored,
	})
	return c, nil
}

// subscriptions are the command topics (none when disabled).
func (c *commands) subscriptions() map[string]func(mqttpub.Message) {
	if c == nil {
		return nil
	}
	return c.disp.Subscriptions()
}

// run runs the executor until ctx ends.
func (c *commands) run(ctx context.Context) {
	if c == nil {
		return
	}
	_ = c.exec.Run(ctx)
}

// denied reports whether a control is refused by commands.deny.
func (c *commands) denied(name string) bool { return c != nil && c.disp.Denied(name) }

// vehicleState passes a state event on: a command waiting for its car to
// wake goes on when it says online.
func (c *commands) vehicleState(vin, state string) {
	if c == nil {
		return
	}
	c.exec.StateChanged(vin, state)
}

// observe keeps the values controls read (called by the router for every
// value; it costs one switch for the others). It publishes the derived
// windows state when a window field changes it.
func (c *commands) observe(v *vehicle, field string, payload []byte) {
	if c == nil {
		return
	}
	switch field {
	case "Location", "DoorState":
		c.states.set(v.vin, field, payload)
	case "FdWindow", "FpWindow", "RdWindow", "RpWindow":
		c.states.set(v.vin, field, payload)
		state := ha.WindowsState(c.states.texts(v.vin, command.WindowFields))
		if state != "" {
			c.states.set(v.vin, command.WindowsStateField, []byte(state))
			c.pub.Publish(mqttpub.Value, c.topics.Vehicle(v.vin, topic.LevelDerived, ha.WindowsObject), []byte(state))
		}
	case "ChargeCurrentRequestMax":
		if f, err := strconv.ParseFloat(string(payload), 64); err == nil && f > 0 {
			v.maxChargeCurrent = f
		}
	}
}

// observeSite keeps a site_info value (key as published, e.g.
// "backup_reserve_percent" or "components") for the site controls.
func (c *commands) observeSite(siteID, key string, payload []byte) {
	if c == nil {
		return
	}
	c.states.setSite(siteID, key, payload)
}

// result publishes, logs and counts one command result.
func (c *commands) result(r command.Result) {
	var t string
	if r.Target == command.Site {
		t = c.topics.Site(r.ID, topic.CommandResult)
	} else {
		t = c.topics.Vehicle(r.ID, topic.CommandResult)
	}
	c.pub.Publish(mqttpub.Value, t, r.JSON())
	entry := c.log.WithFields(logrus.Fields{
		"target": r.ID, "control": r.MetricControl(), "command": r.Command, "outcome": r.Outcome,
		"status": r.Status, "woke": r.Woke, "duration_ms": r.Duration.Milliseconds(),
	})
	if r.Raw {
		entry = entry.WithField("raw", r.Control)
	}
	if r.OK {
		entry.Info("command done")
	} else {
		entry.WithField("reason", r.Reason).Info("command not done")
	}
	if c.m != nil {
		c.m.Commands.WithLabelValues(r.MetricControl(), r.Outcome).Inc()
		if r.Sent > 0 {
			c.m.CommandDuration.Observe(r.Duration.Seconds())
		}
		if r.Dispatch > 0 {
			c.m.CommandDispatch.Observe(r.Dispatch.Seconds())
		}
	}
}

// ignored counts a message on a command topic that was not executed.
func (c *commands) ignored(reason string) {
	if c.m != nil {
		c.m.Dropped.WithLabelValues("command_" + reason).Inc()
	}
}

// controlStates is the copy of values the controls read, per car and per
// site. The router writes under Bridge.mu; the dispatcher reads on the MQTT
// client's goroutines: it has a lock of its own.
type controlStates struct {
	mu    sync.Mutex
	cars  map[string]map[string][]byte
	sites map[string]map[string][]byte
}

func (s *controlStates) set(vin, field string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.cars[vin]
	if m == nil {
		m = map[string][]byte{}
		s.cars[vin] = m
	}
	m[field] = append(m[field][:0], payload...)
}

func (s *controlStates) setSite(id, key string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.sites[id]
	if m == nil {
		m = map[string][]byte{}
		s.sites[id] = m
	}
	m[key] = append(m[key][:0], payload...)
}

func (s *controlStates) texts(vin string, fields []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = string(s.cars[vin][f])
	}
	return out
}

// Vehicle implements command.States.
func (s *controlStates) Vehicle(vin string) command.State { return stateView{s, s.cars, vin} }

// Site implements command.States.
func (s *controlStates) Site(id string) command.State { return stateView{s, s.sites, id} }

type stateView struct {
	s  *controlStates
	m  map[string]map[string][]byte
	id string
}

func (v stateView) Value(field string) ([]byte, bool) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	p, ok := v.m[v.id][field]
	return bytes.Clone(p), ok
}

// lazyPublisher forwards to a publisher set after it was handed out (the
// command side is built before the MQTT publisher whose subscriptions it
// provides).
type lazyPublisher struct{ pub Publisher }

func (l *lazyPublisher) Publish(class mqttpub.Class, topic string, payload []byte) bool {
	return l.pub.Publish(class, topic, payload)
}

func (l *lazyPublisher) PublishTopic(class mqttpub.Class, topic []byte, payload []byte) bool {
	return l.pub.PublishTopic(class, topic, payload)
}
