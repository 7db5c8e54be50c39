package bridge

import (
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Stale discovery cleanup, as Zigbee2MQTT's Home Assistant extension does
// it: when a newer version stops publishing an entity, its retained config
// would keep a dead entity in Home Assistant forever. After every MQTT
// (re)connect, once its own republish is out, the bridge reads the retained discovery configs and deletes
// those that are provably its own and that this version can never publish.
//
// Collection uses a short-lived client of its own (as purge does) rather than
// the publisher's session: the publisher stays an outbound pipeline whose
// only subscription is Home Assistant's status, a large retained store
// (thousands of other integrations' configs) never queues behind or in front
// of the bridge's publishes, and the handler sees each message's topic and
// retained flag. Deletions go through the publisher (ClearRetained), which
// refuses any topic it holds a value for: a config the bridge published in
// this run is never deleted, and a deletion never enters its republish cache.

// cleanupWindow is how long a pass listens for retained configs: until none
// arrived for a second, at most five seconds.
var cleanupWindow = mqttpub.RetainedWindow{Quiet: time.Second, Limit: 5 * time.Second}

// staleCleanup finds and deletes stale discovery configs of this bridge.
type staleCleanup struct {
	cfg     *config.Config
	disc    ha.Options // its Topics say what is ours
	pub     *mqttpub.Publisher
	log     logrus.FieldLogger
	removed prometheus.Counter // nil without metrics
	window  mqttpub.RetainedWindow
	// requests holds at most one pending pass: connects during a pass
	// coalesce into one more pass after it.
	requests chan struct{}
}

func newStaleCleanup(cfg *config.Config, disc ha.Options, pub *mqttpub.Publisher, log logrus.FieldLogger, m *Metrics) *staleCleanup {
	c := &staleCleanup{cfg: cfg, disc: disc, pub: pub, log: log, window: cleanupWindow, requests: make(chan struct{}, 1)}
	if m != nil {
		c.removed = m.StaleDiscoveryRemoved
	}
	return c
}

func (c *staleCleanup) request() {
	select {
	case c.requests <- struct{}{}:
	default:
	}
}

// run performs one pass per request until ctx ends.
func (c *staleCleanup) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.requests:
			c.pass(ctx)
		}
	}
}

// pass collects the candidate configs and deletes the stale ones. The
// decision does not depend on what the publisher has republished:
// Publishable covers every entity this version could publish, and the
// publisher itself refuses the topics it holds. The pass still starts only
// once the republish is acknowledged (or after two seconds), so that the
// broker is not asked for its retained store while it is busy storing ours
// (the embedded broker of demo mode also races there).
func (c *staleCleanup) pass(ctx context.Context) {
	for range 20 {
		if ctx.Err() != nil || c.pub.Flush(100*time.Millisecond) {
			break
		}
	}
	// A pass is rare (once per connect) but transient-heavy: the first one
	// builds discovery's Publishable set by rendering every entity the
	// catalog can produce, and each collects the broker's retained configs.
	// Hand that memory back at once, so the bridge's resident size stays at
	// its steady level (measured: +1.8 MB RSS with two cars without this).
	defer debug.FreeOSMemory()
	found, err := c.collect(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			c.log.WithError(err).Warn("stale discovery cleanup skipped")
		}
		return
	}
	topics := make([]string, 0, len(found))
	for t := range found {
		topics = append(topics, t)
	}
	slices.Sort(topics) // a stable log order
	removed := 0
	for _, t := range topics {
		if ctx.Err() != nil {
			return
		}
		if !c.stale(t, found[t]) || !c.pub.ClearRetained(t) {
			continue
		}
		removed++
		if c.removed != nil {
			c.removed.Inc()
		}
		c.log.WithField("topic", t).Info("removed stale Home Assistant discovery config")
	}
	c.log.WithField("candidates", len(found)).WithField("removed", removed).Debug("stale discovery cleanup done")
}

// collect returns the retained configs on this bridge's nodes.
func (c *staleCleanup) collect(ctx context.Context) (map[string][]byte, error) {
	client, err := dialShortLived(ctx, c.cfg, "cleanup")
	if err != nil {
		return nil, err
	}
	defer client.Disconnect(250)
	return mqttpub.CollectRetained(ctx, client, []string{c.disc.Topics.DiscoveryConfigFilter()}, c.onOwnNode, c.window)
}

// ownNode parses a config topic and tells which of this bridge's nodes it
// names: <base>_bridge, <base>_<VIN> with a real VIN, or <base>_site_<id>
// (topic.Scheme parses only exact shapes, so another instance's nodes never
// match).
func (c *staleCleanup) ownNode(t string) (topic.ConfigTopic, topic.Kind) {
	ct, ok := c.disc.Topics.ParseConfig(t)
	if !ok {
		return ct, topic.None
	}
	switch o := c.disc.Topics.ParseNode(ct.Node); o.Kind {
	case topic.Bridge, topic.Vehicle, topic.Site:
		return ct, o.Kind
	}
	return ct, topic.None
}

// onOwnNode reports whether a config topic names one of this bridge's nodes.
// It looks at the topic only, so that other integrations' payloads are not
// even kept.
func (c *staleCleanup) onOwnNode(t string) bool {
	_, kind := c.ownNode(t)
	return kind != topic.None
}

// stale reports whether a retained config is this bridge's (right node,
// origin, device and base topic) and one this version never publishes.
func (c *staleCleanup) stale(t string, payload []byte) bool {
	ct, kind := c.ownNode(t)
	if kind == topic.None {
		return false
	}
	return !ha.Publishable(kind, ct.Component, ct.Object) && c.disc.Ours(ct.Node, payload)
}
