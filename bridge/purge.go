package bridge

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
	tlsCfg, err := brokerTLS(cfg.MQTT)
	if err != nil {
		return 0, err
	}
	opts := paho.NewClientOptions().AddBroker(cfg.MQTT.URL).
		SetClientID(cfg.MQTT.ClientID + "-purge").
		SetUsername(cfg.MQTT.Username).SetPassword(cfg.MQTT.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	client := paho.NewClient(opts)
	if tok := client.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("connecting to MQTT broker: %v", tok.Error())
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
	var (
		mu     sync.Mutex
		topics = map[string]bool{}
	)
	handler := func(_ paho.Client, m paho.Message) {
		if m.Retained() && len(m.Payload()) > 0 && owned(m.Topic()) {
			mu.Lock()
			topics[m.Topic()] = true
			mu.Unlock()
		}
	}
	filters := map[string]byte{base + "/#": 1, prefix + "/+/+/+/config": 1}
	if tok := client.SubscribeMultiple(filters, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("subscribing: %v", tok.Error())
	}
	select {
	case <-time.After(o.Collect):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	client.Unsubscribe(base+"/#", prefix+"/+/+/+/config").WaitTimeout(5 * time.Second)
	mu.Lock()
	defer mu.Unlock()
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
