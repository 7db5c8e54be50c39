package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/sse"
)

func recordCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("record", out)
	path := configFlag(fs)
	file := fs.String("out", "", "recording file to write (required)")
	duration := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("--out is required")
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	if cfg.Teslemetry.Token == "" {
		return usagef("teslemetry.token is required to record")
	}
	f, err := os.Create(*file)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	log := newLogger(cfg, os.Stderr)
	url := strings.TrimRight(cfg.Teslemetry.URL, "/") + "/sse"
	if len(cfg.Teslemetry.VINs) == 1 {
		url += "/" + cfg.Teslemetry.VINs[0]
	} else if len(cfg.Teslemetry.VINs) > 1 {
		log.Warn("record saves one stream: recording the account-wide /sse stream")
	}
	if cfg.Teslemetry.Cache {
		url += "?cache=true"
	}
	var events atomic.Int64
	err = sse.Run(ctx, sse.Config{
		URL: url, Token: cfg.Teslemetry.Token, UserAgent: "teslemetry2mqtt/" + version,
		IdleTimeout: cfg.Teslemetry.IdleTimeout.Std(), Recorder: f, Logger: log,
	}, countingHandler{&events})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fmt.Fprintf(out, "recorded %d event(s) to %s at %s\n", events.Load(), *file, time.Now().Format(time.RFC3339))
	return nil
}

type countingHandler struct{ n *atomic.Int64 }

func (c countingHandler) OnEvent([]byte)      { c.n.Add(1) }
func (c countingHandler) OnStatus(sse.Status) {}
