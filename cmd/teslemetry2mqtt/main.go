// Command teslemetry2mqtt bridges Teslemetry's Tesla telemetry stream to MQTT
// with Home Assistant discovery. See README.md and the contract in DOCS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

// Exit codes (README, "Command line").
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad usage or an invalid configuration: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the bridge (default)", runCmd},
		{"demo", "embedded broker + bundled recording of two cars, no account needed", demoCmd},
		{"record", "save the raw stream to a file for bug reports and replay", recordCmd},
		{"check-config", "validate the config and print it with secrets redacted", checkConfigCmd},
		{"purge", "delete every retained topic and discovery config the bridge owns", purgeCmd},
		{"fields", "show (and with --apply, send) each car's streaming config at Teslemetry", fieldsCmd},
		{"healthcheck", "exit 0 when the bridge's /healthz says healthy", healthcheckCmd},
		{"version", "print version, commit and Go version", versionCmd},
	}
}

func main() {
	tuneRuntime()
	// A closed log pipe must not kill the bridge: writes to it fail instead
	// (docs/failures.md "Signals").
	signal.Ignore(syscall.SIGPIPE)
	if name, _ := commandName(os.Args[1:]); name == "run" {
		// A reload request must never kill run: ignored until run handles it.
		signal.Ignore(syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals(os.Args[1:])...)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commandName splits a command line into the command (default "run") and its arguments.
func commandName(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "run", args
}

// stopSignals are the signals that stop the command of args cleanly: SIGINT
// and SIGTERM, and SIGHUP too except for run, where SIGHUP reloads the
// configuration (docs/failures.md "Signals").
func stopSignals(args []string) []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if name, _ := commandName(args); name != "run" {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// execute runs one command line and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name, args := commandName(args)
	if name == "help" {
		printUsage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args, stdout)
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintln(stderr, "teslemetry2mqtt:", err)
			return exitUsage
		default:
			fmt.Fprintln(stderr, "teslemetry2mqtt:", err)
			return exitFailure
		}
	}
	fmt.Fprintf(stderr, "teslemetry2mqtt: unknown command %q\n\n", name)
	printUsage(stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: teslemetry2mqtt [command] [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'teslemetry2mqtt <command> -h' for the flags of a command.")
}

// newFlags returns a flag set whose errors become usage errors.
func newFlags(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func versionCmd(_ context.Context, args []string, out io.Writer) error {
	fs := newFlags("version", out)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "teslemetry2mqtt %s (commit %s, %s, %s/%s)\n", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}

// tuneRuntime sets the process-wide runtime limits the bridge is measured with
// (BENCHMARKS.md), unless the environment sets them. One processor: the
// pipeline is one stream reader handing each value through paho's goroutines
// to one socket, and a second processor only turns those hand-offs into
// cross-core wake-ups (about 30 % more CPU per value), CPU that a broker on the
// same machine needs more. A soft memory limit of 32 MiB keeps a large
// last-value cache (tens of thousands of topics) from letting the heap grow to
// twice its size between collections; small caches never get near it.
func tuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(32 << 20)
	}
}
