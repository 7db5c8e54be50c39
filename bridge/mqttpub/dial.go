package mqttpub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// DialOptions configure a short-lived client (DialShortLived).
type DialOptions struct {
	URL, Username, Password string
	ClientID                string        // the whole client id, e.g. "<client_id>-purge"
	TLS                     *tls.Config   // from BrokerTLS; nil for a plain connection
	Timeout                 time.Duration // how long to wait for the broker; default 15 s
}

// DialShortLived connects a clean-session client without automatic
// reconnect, for a job that reads the broker's retained store and goes
// (purge, the stale discovery cleanup). It gives up when ctx ends or after
// o.Timeout. The password never appears in its errors.
func DialShortLived(ctx context.Context, o DialOptions) (paho.Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	opts := paho.NewClientOptions().AddBroker(o.URL).
		SetClientID(o.ClientID).
		SetUsername(o.Username).SetPassword(o.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(o.Timeout)
	if o.TLS != nil {
		opts.SetTLSConfig(o.TLS)
	}
	client := paho.NewClient(opts)
	tok := client.Connect()
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	var err error
	select {
	case <-tok.Done():
		if err = tok.Error(); err == nil {
			return client, nil
		}
	case <-timer.C:
		err = fmt.Errorf("no answer within %s", o.Timeout)
	case <-ctx.Done():
		client.Disconnect(0)
		return nil, ctx.Err()
	}
	client.Disconnect(0)
	return nil, fmt.Errorf("connecting to MQTT broker: %w", withoutSecret(err, o.Password))
}

// withoutSecret keeps a secret out of an error's text (docs/failures.md).
func withoutSecret(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "<redacted>"))
}
