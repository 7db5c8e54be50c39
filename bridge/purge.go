package bridge

import (
	"context"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// PurgeOptions narrow what Purge deletes.
type PurgeOptions struct {
	VIN     string        // only this VIN's topics and discovery configs; "" for everything
	Collect time.Duration // how long to gather retained messages
	Logger  logrus.FieldLogger
}

// Purge deletes every retained topic and discovery config the bridge owns by
// publishing empty retained payloads (contract §2), and returns how many.
func Purge(ctx context.Context, cfg *config.Config, o PurgeOptions) (int, error) {
	client, err := dialShortLived(ctx, cfg, "purge")
	if err != nil {
		return 0, err
	}
	defer client.Disconnect(250)

	base, prefix := cfg.MQTT.BaseTopic, cfg.HomeAssistant.DiscoveryPrefix
	owned := func(topic string) bool {
		if o.VIN != "" {
			return strings.HasPrefix(topic, base+"/"+o.VIN+"/") ||
				strings.Contains(topic, "/"+base+"_"+o.VIN+"/")
		}
		if strings.HasPrefix(topic, base+"/") {
			return true
		}
		parts := strings.Split(topic, "/")
		// <prefix>/<component>/<base>_<VIN or bridge>/<object>/config
		return len(parts) >= 4 && strings.HasPrefix(topic, prefix+"/") &&
			strings.HasPrefix(parts[len(parts)-3], base+"_") && parts[len(parts)-1] == "config"
	}
	// A fixed collection time (no quiet period): purge is run by hand and
	// must find everything, however slowly a big store arrives.
	topics, err := collectRetained(ctx, client, []string{base + "/#", prefix + "/+/+/+/config"}, owned,
		retainedWindow{Limit: o.Collect})
	if err != nil {
		return 0, err
	}
	var tokens []paho.Token
	for t := range topics {
		tokens = append(tokens, client.Publish(t, 1, true, []byte{}))
	}
	for _, tok := range tokens {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return 0, fmt.Errorf("deleting retained topics: %v", tok.Error())
		}
	}
	if o.Logger != nil {
		o.Logger.WithField("topics", len(topics)).Info("purged")
	}
	return len(topics), nil
}
