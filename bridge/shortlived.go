package bridge

import (
	"context"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
)

// dialShortLived connects the short-lived client of purge and the stale
// cleanup with the configured broker and credentials and the client id
// <client_id>-<role>.
func dialShortLived(ctx context.Context, cfg *config.Config, role string) (paho.Client, error) {
	tlsCfg, err := mqttpub.BrokerTLS(cfg.MQTT.URL, mqttpub.TLSFiles(cfg.MQTT.TLS))
	if err != nil {
		return nil, err
	}
	return mqttpub.DialShortLived(ctx, mqttpub.DialOptions{
		URL: cfg.MQTT.URL, Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		ClientID: cfg.MQTT.ClientID + "-" + role, TLS: tlsCfg,
	})
}
