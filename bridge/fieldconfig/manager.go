package fieldconfig

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Applier *Applier
	Logger  logrus.FieldLogger
	// Publish receives each car's fields_status payload (retained by the caller).
	Publish func(vin string, status Status)
	Now     func() time.Time // nil: time.Now
	Backoff []time.Duration  // nil: DefaultBackoff()
}

// Manager applies teslemetry.fields once per car per start of the bridge:
// for the configured cars at start and for any other car when it is first
// seen. Each car is handled in its own goroutine, owned by Run; a failure is
// logged once and never stops anything (docs/fields.md).
type Manager struct {
	o ManagerOptions

	mu      sync.Mutex
	ctx     context.Context // nil until Run starts, then Run's context
	queued  []string        // cars seen before Run
	started map[string]bool // cars handled (or queued) during this run
	wg      sync.WaitGroup
}

// NewManager returns a Manager; nothing happens before Run.
func NewManager(o ManagerOptions) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff()
	}
	if o.Logger == nil {
		o.Logger = logrus.StandardLogger()
	}
	return &Manager{o: o, started: map[string]bool{}}
}

// Car asks for vin's streaming config to be applied; every call after the
// first for the same car does nothing. It never blocks, so it may be called
// while holding the bridge's locks.
func (m *Manager) Car(vin string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started[vin] {
		return
	}
	m.started[vin] = true
	if m.ctx == nil {
		m.queued = append(m.queued, vin)
		return
	}
	if m.ctx.Err() != nil {
		return
	}
	m.startLocked(vin)
}

// Run handles the cars queued so far and every car named later, until ctx
// ends; it returns when every car's work has stopped.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	for _, vin := range m.queued {
		m.startLocked(vin)
	}
	m.queued = nil
	m.mu.Unlock()
	<-ctx.Done()
	m.wg.Wait()
}

func (m *Manager) startLocked(vin string) {
	ctx := m.ctx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.handle(ctx, vin)
	}()
}

// handle applies one car's config, with retries, then logs and publishes the outcome.
func (m *Manager) handle(ctx context.Context, vin string) {
	log := m.o.Logger.WithField("vin", vin)
	res := Retry(ctx, m.o.Backoff, func(ctx context.Context) Result { return m.o.Applier.Apply(ctx, vin) },
		func(r Result, wait time.Duration) {
			log.WithError(r.Err).Debugf("streaming config: trying again in %s", wait)
		})
	if ctx.Err() != nil {
		return // stopping: the outcome of an interrupted attempt is not news
	}
	m.report(log, res)
	if m.o.Publish != nil {
		m.o.Publish(vin, StatusOf(res, m.o.Now()))
	}
}

func (m *Manager) report(log logrus.FieldLogger, res Result) {
	if res.Err != nil {
		log.WithError(res.Err).Warn("could not apply teslemetry.fields to the car's streaming config; the bridge carries on with the fields the car streams")
		return
	}
	if len(res.Changed) > 0 {
		log.WithField("fields", strings.Join(res.Changed, ",")).Info("streaming config updated: the car now streams these fields as listed in teslemetry.fields")
	} else if len(res.Ignored) == 0 {
		log.Info("streaming config already matches teslemetry.fields")
	}
	if len(res.Ignored) > 0 {
		log.WithField("fields", strings.Join(res.Ignored, ",")).Warn("Teslemetry ignored fields of teslemetry.fields (most likely the car's firmware does not have them)")
	}
	if res.Pending {
		log.Info("the car has not yet confirmed its streaming config; it does when it next connects")
	}
}
