package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/demo"
)

func demoCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("demo", out)
	listen := fs.String("listen", "127.0.0.1:1883", "address of the embedded MQTT broker")
	mqttURL := fs.String("mqtt-url", "", "publish to this existing broker instead of the embedded one")
	speed := fs.Float64("speed", 1, "replay speed factor (10 = ten times faster)")
	once := fs.Bool("once", false, "play the recording once and exit")
	verbose := fs.Bool("verbose", false, "also print the bridge's log")
	httpListen := fs.String("http", "", "serve the status page here, e.g. 127.0.0.1:8099")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *speed <= 0 {
		return usagef("--speed must be positive")
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	if *verbose {
		log.SetOutput(os.Stderr)
	}
	err := demo.Run(ctx, demo.Options{
		Listen: *listen, MQTTURL: *mqttURL, HTTP: *httpListen, Speed: *speed, Once: *once, Gap: 3 * time.Second,
		Out: out, Version: version, Logger: log,
	})
	if errors.Is(err, demo.ErrAddressInUse) {
		return usageError{err}
	}
	return err
}
