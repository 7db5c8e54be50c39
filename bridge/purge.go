package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// PurgeOptions narrow what Purge deletes.
type PurgeOptions struct {
	VIN     string        // only this VIN's topics and discovery configs; "" for everything
	Collect time.Duration // how long to gather retained messages
	Logger  logrus.FieldLogger
}

// Purge deletes every retained topic and discovery config this instance owns
// by publishing empty retained payloads (docs/topics.md, "Removing
// everything"), and returns how many. Only what provably belongs to this
// base topic goes: topics that topic.Scheme.Parse names as this instance's
// (so never those of another instance whose base topic starts with or nests
// under ours), and of the discovery configs only those whose payload says
// they are ours as well (ha.Options.Ours: origin, device and base topic).
func Purge(ctx context.Context, cfg *config.Config, o PurgeOptions) (int, error) {
	client, err := dialShortLived(ctx, cfg, "purge")
	if err != nil {
		return 0, err
	}
	defer client.Disconnect(250)

	scheme := topic.New(cfg.MQTT.BaseTopic, cfg.HomeAssistant.DiscoveryPrefix)
	owned := purgeFilter(scheme, o.VIN)
	// A fixed collection time (no quiet period): purge is run by hand and
	// must find everything, however slowly a big store arrives.
	found, err := mqttpub.CollectRetained(ctx, client, []string{scheme.OwnFilter(), scheme.DiscoveryConfigFilter()}, owned,
		mqttpub.RetainedWindow{Limit: o.Collect})
	if err != nil {
		return 0, err
	}
	disc := ha.Options{Topics: scheme}
	var topics []string
	for t, payload := range found {
		if c, ok := scheme.ParseConfig(t); ok && !strings.HasPrefix(t, scheme.Base()+"/") && !disc.Ours(c.Node, payload) {
			continue // a config on one of our node ids that another instance published
		}
		topics = append(topics, t)
	}
	var tokens []paho.Token
	for _, t := range topics {
		tokens = append(tokens, client.Publish(t, 1, true, []byte{}))
	}
	for _, tok := range tokens {
		if !tok.WaitTimeout(10 * time.Second) {
			return 0, errors.New("deleting retained topics: no acknowledgement from the broker within 10s")
		}
		if err := tok.Error(); err != nil {
			return 0, fmt.Errorf("deleting retained topics: %w", err)
		}
	}
	if o.Logger != nil {
		o.Logger.WithField("topics", len(topics)).Info("purged")
	}
	return len(topics), nil
}

// purgeFilter accepts the topics of this instance (of one car when vin is
// set): state topics under the base topic and discovery configs on its
// nodes, as topic.Scheme parses them.
func purgeFilter(scheme topic.Scheme, vin string) func(string) bool {
	return func(t string) bool {
		owner := scheme.Parse(t)
		if vin != "" {
			return owner.Kind == topic.Vehicle && owner.ID == vin
		}
		return owner.Kind != topic.None
	}
}
