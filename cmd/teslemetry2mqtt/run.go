package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/addon"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/status"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// configFlag registers --config with its documented defaults.
func configFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("TESLEMETRY2MQTT_CONFIG")
	if def == "" {
		def = "config.yaml"
	}
	return fs.String("config", def, "config file (default $TESLEMETRY2MQTT_CONFIG, then ./config.yaml)")
}

// loadConfig loads the config; a missing default file ($TESLEMETRY2MQTT_CONFIG
// or ./config.yaml) is allowed — settings may come from the environment alone —
// a missing file named with --config is not.
func loadConfig(fs *flag.FlagSet, path string) (*config.Config, error) {
	required := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			required = true
		}
	})
	cfg, err := config.Load(path, required, os.LookupEnv)
	if err != nil {
		var ce config.Errors
		var e *config.Error
		if errors.As(err, &ce) || errors.As(err, &e) {
			return nil, usageError{fmt.Errorf("%s: %w", path, err)}
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

func runCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("run", out)
	path := configFlag(fs)
	replay := fs.String("replay", "", "read the stream from a recording instead of Teslemetry")
	speed := fs.Float64("speed", 1, "replay speed factor (with --replay)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := runConfig(ctx, fs, *path)
	if err != nil {
		return err
	}
	var open func() (io.Reader, error)
	if *replay != "" {
		data, err := os.ReadFile(*replay)
		if err != nil {
			return usagef("--replay: %v", err)
		}
		open = func() (io.Reader, error) { return bytes.NewReader(data), nil }
	}
	metrics := bridge.NewMetrics() // one set for the process: counters go on across reloads
	// SIGHUP reloads the configuration (README "Signals", docs/failures.md).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Ignore(syscall.SIGHUP) // also while the last bridge stops
	reload := func() (*config.Config, error) { return runConfig(ctx, fs, *path) }
	for {
		src := bridge.ConfiguredSources(cfg, version)
		if open != nil {
			src.Replay = &bridge.Replay{Open: open, Speed: *speed}
		}
		opts := bridge.Options{Config: cfg, Version: version, Sources: &src, Metrics: metrics}
		err := runBridge(ctx, cfg, opts, os.Stderr, hup, reload)
		var r reloaded
		if !errors.As(err, &r) {
			return err
		}
		cfg = r.cfg
	}
}

// reloaded is what runBridge returns after SIGHUP brought a valid new
// configuration and the running bridge stopped cleanly: run the next one.
type reloaded struct{ cfg *config.Config }

func (reloaded) Error() string { return "configuration reloaded" }

// runConfig is the add-on's options inside Home Assistant (SUPERVISOR_TOKEN set
// and /data/options.json present), else the config file.
func runConfig(ctx context.Context, fs *flag.FlagSet, path string) (*config.Config, error) {
	if !addon.Detect(os.LookupEnv) {
		return loadConfig(fs, path)
	}
	cfg, err := addon.LoadSystem(ctx, os.LookupEnv)
	if err != nil {
		var ce config.Errors
		var e *config.Error
		if errors.As(err, &ce) || errors.As(err, &e) || errors.Is(err, addon.ErrNoMQTTService) {
			return nil, usageError{fmt.Errorf("add-on options: %w", err)} // exit 2: a clear message, no crash loop
		}
		return nil, err
	}
	return cfg, nil
}

// runBridge runs a configured bridge with its HTTP endpoint until ctx ends.
// A signal on hup re-reads the configuration with reload: an invalid one is
// logged and the bridge keeps running; a valid one stops this bridge cleanly
// (offline states published, HTTP and webhook listeners closed) and is
// returned as reloaded. hup and reload may be nil.
func runBridge(ctx context.Context, cfg *config.Config, opts bridge.Options, logOut io.Writer, hup <-chan os.Signal, reload func() (*config.Config, error)) error {
	log := newLogger(cfg, logOut)
	opts.Logger = log
	if opts.Metrics == nil {
		opts.Metrics = bridge.NewMetrics()
	}
	log.WithFields(logrus.Fields{"version": version, "broker": cfg.Redacted().MQTT.URL, "base_topic": cfg.MQTT.BaseTopic}).Info("starting teslemetry2mqtt")
	b, err := bridge.New(opts)
	if err != nil {
		return usageError{err}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	if cfg.HTTP.Listen != "" {
		srvDone := make(chan struct{})
		srv := &http.Server{Addr: cfg.HTTP.Listen, Handler: bridge.HTTPHandlerWith(b, opts.Metrics, pageOptions(srvDone)), ReadHeaderTimeout: 5 * time.Second}
		srv.RegisterOnShutdown(func() { close(srvDone) }) // open status pages let go at once
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
			}
		}()
		defer shutdownServer(srv)
	}
	stopWebhook, err := startWebhook(cfg, b, log, errc)
	if err != nil {
		return err
	}
	defer stopWebhook()
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	for {
		select {
		case err := <-errc:
			cancel()
			waitStopped(log, done)
			return err
		case err := <-done:
			return err
		case <-ctx.Done():
			// SIGINT/SIGTERM: Run publishes the offline states and disconnects. A
			// broker that stopped answering can block publishing for much longer
			// than the 5 s a stop may take (docs/failures.md, "Stopping"), so the wait is bounded.
			return waitStopped(log, done)
		case <-hup:
			if reload == nil {
				log.Warn("SIGHUP: nothing to reload; still running")
				continue
			}
			log.Info("SIGHUP: reloading the configuration")
			next, err := reload()
			if err != nil {
				log.WithError(err).Error("SIGHUP: the new configuration is invalid; still running with the previous one")
				continue
			}
			cancel()
			if err := waitStopped(log, done); err != nil {
				return err
			}
			log.Info("SIGHUP: stopped; starting again with the new configuration")
			return reloaded{next}
		}
	}
}

// pageOptions are the status page's: inside the Home Assistant add-on it is
// the add-on's ingress panel and answers only to the ingress gateway.
func pageOptions(done <-chan struct{}) bridge.HTTPOptions {
	o := bridge.HTTPOptions{Done: done}
	if addon.Detect(os.LookupEnv) {
		o.PageAllow = status.AllowOnly(addon.IngressGateway())
	}
	return o
}

// shutdownGrace bounds the wait for the bridge to stop; with the HTTP
// server's shutdown (1 s) the process exits within 5 s of a signal.
const shutdownGrace = 3500 * time.Millisecond

func waitStopped(log logrus.FieldLogger, done <-chan error) error {
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		log.Errorf("stopping took longer than %s (MQTT broker not answering?); exiting without a clean disconnect", shutdownGrace)
		return nil
	}
}

func shutdownServer(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// newLogger builds the logrus logger of the config; secrets are scrubbed from every line.
func newLogger(cfg *config.Config, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	level, err := logrus.ParseLevel(cfg.Log.Level)
	if err != nil {
		level = logrus.InfoLevel
	}
	log.SetLevel(level)
	var f logrus.Formatter = &logrus.TextFormatter{FullTimestamp: true, DisableColors: true}
	if cfg.Log.Format == "json" {
		f = &logrus.JSONFormatter{}
	}
	log.SetFormatter(scrubbingFormatter{inner: f, redact: redact.New(cfg.Secrets()...)})
	return log
}

// scrubbingFormatter replaces secrets in formatted log lines, whatever put them there.
type scrubbingFormatter struct {
	inner  logrus.Formatter
	redact *redact.Redactor
}

func (s scrubbingFormatter) Format(e *logrus.Entry) ([]byte, error) {
	line, err := s.inner.Format(e)
	line = s.redact.Bytes(line)
	return line, err
}

func checkConfigCmd(_ context.Context, args []string, out io.Writer) error {
	fs := newFlags("check-config", out)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# %s is valid; effective configuration (secrets redacted):\n%s", *path, cfg.YAML())
	return nil
}

// healthURL is the /healthz address healthcheck asks by default: the bridge's
// own http.listen when $HTTP_LISTEN sets it (as in the Docker image, so a user
// who moves the port does not break the HEALTHCHECK), else the add-on's :8099.
// A listen address without a host, or with a wildcard one, is asked on loopback.
func healthURL(listen string) string {
	host, port, err := net.SplitHostPort(strings.TrimSpace(listen))
	if err != nil || port == "" {
		return "http://127.0.0.1:8099/healthz"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

func healthcheckCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("healthcheck", out)
	url := fs.String("url", healthURL(os.Getenv("HTTP_LISTEN")), "health endpoint to ask (default: from $HTTP_LISTEN, else :8099)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usagef("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s %s", resp.Status, bytes.TrimSpace(body))
	}
	fmt.Fprintf(out, "healthy: %s\n", bytes.TrimSpace(body))
	return nil
}
