package main

import (
	"context"
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

// startWebhook serves the webhook receiver when webhook.listen is set; it
// stops with ctx. A listen failure is reported at once.
func startWebhook(ctx context.Context, cfg *config.Config, b *bridge.Bridge, log logrus.FieldLogger, errc chan<- error) error {
	if cfg.Webhook.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Webhook.Listen)
	if err != nil {
		return fmt.Errorf("webhook.listen %s: %w", cfg.Webhook.Listen, err)
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
	go func() {
		<-ctx.Done()
		shutdownServer(srv)
	}()
	return nil
}
