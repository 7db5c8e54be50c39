package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

func purgeCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("purge", out)
	path := configFlag(fs)
	vin := fs.String("vin", "", "only purge the topics of this VIN")
	wait := fs.Duration("wait", 2*time.Second, "how long to collect retained topics before deleting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	if *vin != "" && !config.ValidVIN(*vin) {
		return usagef("--vin: %q is not a VIN", *vin)
	}
	log := newLogger(cfg, io.Discard)
	n, err := bridge.Purge(ctx, cfg, bridge.PurgeOptions{VIN: *vin, Collect: *wait, Logger: log})
	if err != nil {
		return err
	}
	what := "all VINs"
	if *vin != "" {
		what = "VIN " + *vin
	}
	fmt.Fprintf(out, "purged %d retained topic(s) of %s under %s/ and %s/\n", n, what,
		cfg.MQTT.BaseTopic, strings.TrimSuffix(cfg.HomeAssistant.DiscoveryPrefix, "/"))
	return nil
}
