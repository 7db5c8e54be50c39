package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/fieldconfig"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/rest"
)

// fieldsCmd shows each car's streaming config beside teslemetry.fields and,
// with --apply, sends the difference (docs/fields.md).
func fieldsCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("fields", out)
	path := configFlag(fs)
	vinFlag := fs.String("vin", "", "only this car (default: teslemetry.vins, else every car of the account)")
	apply := fs.Bool("apply", false, "send the missing or different fields to Teslemetry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	vin := strings.ToUpper(strings.TrimSpace(*vinFlag))
	if vin != "" && !config.ValidVIN(vin) {
		return usagef("--vin: %q is not a VIN (17 characters of A-Z and 0-9)", *vinFlag)
	}
	if cfg.Teslemetry.Token == "" {
		return usagef("fields needs teslemetry.token (or TESLEMETRY_TOKEN): the field configuration is read from Teslemetry")
	}
	client, err := rest.New(rest.Options{BaseURL: cfg.Teslemetry.URL, Token: cfg.Teslemetry.Token, UserAgent: "teslemetry2mqtt/" + version})
	if err != nil {
		return usageError{err}
	}
	vins, err := fieldsVINs(ctx, client, cfg, vin)
	if err != nil {
		return err
	}
	a := &fieldconfig.Applier{API: client, Wanted: cfg.Teslemetry.Fields}
	failed := 0
	for i, v := range vins {
		if i > 0 {
			fmt.Fprintln(out)
		}
		if !showFields(ctx, out, a, v, *apply) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("Teslemetry answered with an error for %d of %d cars (see above)", failed, len(vins))
	}
	return nil
}

// fieldsVINs are the cars to show: --vin, else teslemetry.vins, else the
// account's cars as Teslemetry lists them.
func fieldsVINs(ctx context.Context, c *rest.Client, cfg *config.Config, vin string) ([]string, error) {
	switch {
	case vin != "":
		return []string{vin}, nil
	case len(cfg.Teslemetry.VINs) > 0:
		return cfg.Teslemetry.VINs, nil
	}
	vins, r, err := c.Vehicles(ctx)
	switch {
	case err != nil:
		return nil, fmt.Errorf("finding the account's cars: %w (name one with --vin)", err)
	case !r.OK():
		return nil, fmt.Errorf("finding the account's cars: Teslemetry answered %d %s (name one with --vin)", r.Status, r.Reason())
	case len(vins) == 0:
		return nil, errors.New("Teslemetry lists no cars for this token (name one with --vin)")
	}
	return vins, nil
}

// showFields prints one car's table and, with apply, the PATCH and its
// answer. It reports whether Teslemetry answered without an error.
func showFields(ctx context.Context, out io.Writer, a *fieldconfig.Applier, vin string, apply bool) bool {
	cur, plan, err := a.Inspect(ctx, vin)
	if err != nil {
		fmt.Fprintf(out, "%s: error: %v\n", vin, err)
		return false
	}
	fmt.Fprintf(out, "%s: streaming config at Teslemetry (pending: %s)\n", vin, yesNo(cur.Pending))
	_ = fieldconfig.WriteTable(out, plan)
	changes := plan.Changes()
	switch {
	case len(a.Wanted) == 0:
		fmt.Fprintln(out, "teslemetry.fields lists no fields: nothing to send")
		return true
	case len(changes) == 0:
		fmt.Fprintln(out, "every listed field streams as wanted: nothing to send")
		return true
	case !apply:
		fmt.Fprintf(out, "%d to add or change: %s (run with --apply to send them)\n", len(changes), strings.Join(changes, ", "))
		return true
	}
	fmt.Fprintf(out, "sending PATCH /api/config/%s %s\n", vin, plan.Body())
	res := a.Patch(ctx, vin, cur, plan)
	if len(res.Answer) > 0 {
		fmt.Fprintf(out, "Teslemetry answered: %s\n", strings.TrimSpace(string(res.Answer)))
	}
	if res.Err != nil {
		fmt.Fprintf(out, "error: %v\n", res.Err)
		return false
	}
	fmt.Fprintf(out, "changed: %s\n", listOrNone(res.Changed))
	if len(res.Ignored) > 0 {
		fmt.Fprintf(out, "ignored: %s (the car's firmware may not have them, or the plan does not allow them)\n", strings.Join(res.Ignored, ", "))
	}
	if res.Pending {
		fmt.Fprintln(out, "pending: yes (the car takes the new config when it next connects)")
	}
	return true
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
