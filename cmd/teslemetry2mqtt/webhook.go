package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/webhook"
)

// startWebhook serves the webhook receiver when webhook.listen is set; the
// returned stop closes it (and frees the port) before it returns. A listen
// failure is reported at once.
func startWebhook(cfg *config.Config, b *bridge.Bridge, log logrus.FieldLogger, errc chan<- error) (stop func(), err error) {
	if cfg.Webhook.Listen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.Webhook.Listen)
	if err != nil {
		return nil, fmt.Errorf("webhook.listen %s: %w", cfg.Webhook.Listen, err)
	}
	if cfg.Webhook.Authorization == "" {
		log.WithField("listen", ln.Addr().String()).Warn("webhook receiver without webhook.authorization: anyone who can reach this port can publish telemetry; set webhook.authorization")
	}
	h := webhook.Handler(webhook.Options{
		Path: cfg.Webhook.Path, Authorization: cfg.Webhook.Authorization,
		Logger: log.WithField("source", "webhook"), OnDrop: b.CountDrop,
	}, b)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	log.WithFields(logrus.Fields{"listen": ln.Addr().String(), "path": cfg.Webhook.Path}).Info("webhook receiver listening")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("webhook receiver: %w", err)
		}
	}()
	return func() {
		shutdownServer(srv)
	}, nil
}
