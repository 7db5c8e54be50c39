package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// Reading the broker's retained store, shared by purge and by the stale
// discovery cleanup: a short-lived client of its own subscribes, gathers the
// retained messages the broker sends for the new subscription, and goes.

// dialShortLived connects a clean-session client with the configured broker
// and credentials and the client id <client_id>-<role>; it gives up when ctx
// ends or after 15 s.
func dialShortLived(ctx context.Context, cfg *config.Config, role string) (paho.Client, error) {
	tlsCfg, err := brokerTLS(cfg.MQTT)
	if err != nil {
		return nil, err
	}
	opts := paho.NewClientOptions().AddBroker(cfg.MQTT.URL).
		SetClientID(cfg.MQTT.ClientID + "-" + role).
		SetUsername(cfg.MQTT.Username).SetPassword(cfg.MQTT.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	client := paho.NewClient(opts)
	tok := client.Connect()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if tok.Error() == nil {
			return client, nil
		}
	case <-timer.C:
	case <-ctx.Done():
		client.Disconnect(0)
		return nil, ctx.Err()
	}
	client.Disconnect(0)
	return nil, fmt.Errorf("connecting to MQTT broker: %v", redact.Error(tok.Error(), cfg.MQTT.Password))
}

// retainedWindow says how long collectRetained listens: until Quiet has
// passed without a new message (when Quiet > 0), and never longer than Limit.
type retainedWindow struct {
	Quiet, Limit time.Duration
}

// collectRetained subscribes client to filters and returns the payloads of
// the retained, non-empty messages whose topic keep accepts, newest per
// topic. Messages that are not retained (live traffic) and empty ones
// (deletions) are skipped. It unsubscribes before returning.
func collectRetained(ctx context.Context, client paho.Client, filters []string, keep func(topic string) bool, w retainedWindow) (map[string][]byte, error) {
	var (
		mu      sync.Mutex
		got     = map[string][]byte{}
		arrived = make(chan struct{}, 1) // a poke per message, coalesced
	)
	handler := func(_ paho.Client, m paho.Message) {
		if !m.Retained() || len(m.Payload()) == 0 || !keep(m.Topic()) {
			return
		}
		mu.Lock()
		got[m.Topic()] = m.Payload()
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}
	subs := make(map[string]byte, len(filters))
	for _, f := range filters {
		subs[f] = 1
	}
	if tok := client.SubscribeMultiple(subs, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("subscribing: %v", tok.Error())
	}
	defer func() {
		if ctx.Err() == nil { // when stopping, the disconnect that follows is enough
			client.Unsubscribe(filters...).WaitTimeout(5 * time.Second)
		}
	}()

	limit := time.NewTimer(w.Limit)
	defer limit.Stop()
	var quiet *time.Timer
	var quietC <-chan time.Time // nil without Quiet: listen for all of Limit
	if w.Quiet > 0 {
		quiet = time.NewTimer(w.Quiet)
		defer quiet.Stop()
		quietC = quiet.C
	}
	for listening := true; listening; {
		select {
		case <-arrived:
			if quiet != nil {
				quiet.Reset(w.Quiet)
			}
		case <-quietC:
			listening = false
		case <-limit.C:
			listening = false
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string][]byte, len(got))
	for t, p := range got {
		out[t] = p
	}
	return out, nil
}
