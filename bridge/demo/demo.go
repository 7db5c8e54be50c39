// Package demo runs the whole bridge with no account and no broker: an
// embedded MQTT broker and a bundled recording of two invented cars.
package demo

//go:generate go run ./gen recording.sse

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// Recording is the bundled recording (SSE text with ": t=" offsets): two cars,
// a drive with navigation, a charging session, doors and windows, an alert,
// connectivity changes, sleep and wake.
//
//go:embed recording.sse
var Recording []byte

// Options configure a demo run.
type Options struct {
	Listen  string        // embedded broker address; ignored when MQTTURL is set
	MQTTURL string        // use this broker instead of the embedded one
	Speed   float64       // replay speed factor
	Once    bool          // play the recording once, then stop
	Gap     time.Duration // pause between loops: the stream is down meanwhile (a stream drop)
	HTTP    string        // when set, serve the status page, /healthz and /api/status here
	Out     io.Writer     // every published topic and payload is printed here
	Version string
	Logger  logrus.FieldLogger
}

// ErrAddressInUse is returned when the broker port is taken.
var ErrAddressInUse = errors.New("address in use")

// Run plays the demo until ctx ends (or once through with Once).
func Run(ctx context.Context, o Options) error {
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Logger = l
	}
	brokerURL := o.MQTTURL
	if brokerURL == "" {
		b, err := broker.Start(o.Listen)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
				return fmt.Errorf("%w: %s is taken (another MQTT broker?); pick another with --listen 127.0.0.1:1884, or use it with --mqtt-url tcp://%s", ErrAddressInUse, o.Listen, o.Listen)
			}
			return err
		}
		defer b.Close()
		brokerURL = b.URL()
		fmt.Fprintf(o.Out, "# embedded MQTT broker on %s — try: mosquitto_sub -h %s -p %s -v -t 'teslemetry/#'\n",
			b.Addr(), hostOf(b.Addr()), portOf(b.Addr()))
		if err := b.Subscribe("#", printer(o.Out, config.Default().HomeAssistant.DiscoveryPrefix)); err != nil {
			return err
		}
	}
	cfg := config.Default()
	cfg.Teslemetry.Token = "demo"
	cfg.Teslemetry.OfflineAfter = config.Duration(2 * time.Second)
	cfg.MQTT.URL = brokerURL
	cfg.MQTT.ClientID = "teslemetry2mqtt-demo"
	cfg.Vehicles = map[string]config.Vehicle{}
	fmt.Fprintf(o.Out, "# playing the bundled recording of two cars at %gx speed\n", o.Speed)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sim := newSimCars()
	b, err := bridge.New(bridge.Options{
		Config: &cfg, Version: o.Version, Logger: o.Logger, CommandSender: sim,
		Sources: &bridge.Sources{Replay: &bridge.Replay{
			Open:  func() (io.Reader, error) { return bytes.NewReader(Recording), nil },
			Speed: o.Speed, Loop: !o.Once, Gap: o.Gap,
			Done: func() {
				time.AfterFunc(500*time.Millisecond, cancel) // let the last values reach the broker
			},
		}},
	})
	if err != nil {
		return err
	}
	sim.ingest = b.Ingest
	if o.HTTP != "" {
		stop, err := serveHTTP(runCtx, o.HTTP, b, o.Out)
		if err != nil {
			return err
		}
		defer stop()
	}
	return b.Run(runCtx)
}

// serveHTTP serves the bridge's HTTP endpoint (the status page) on addr
// until stop is called.
func serveHTTP(ctx context.Context, addr string, b *bridge.Bridge, out io.Writer) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	srv := &http.Server{Handler: bridge.HTTPHandlerWith(b, nil, bridge.HTTPOptions{Done: ctx.Done()}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	fmt.Fprintf(out, "# status page on http://%s/\n", l.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// printer prints each published topic and payload; discovery configs, which
// are long JSON documents, are shown by size only.
func printer(out io.Writer, prefix string) func(topic string, payload []byte, retained bool) {
	return func(topic string, payload []byte, _ bool) {
		p := string(payload)
		switch {
		case strings.HasPrefix(topic, "$SYS/"):
			return
		case strings.HasPrefix(topic, prefix+"/"):
			p = fmt.Sprintf("<discovery config, %d bytes>", len(payload))
		case len(p) > 160:
			p = p[:157] + "..."
		}
		fmt.Fprintf(out, "%s %s\n", topic, p)
	}
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
