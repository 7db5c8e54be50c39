package fieldconfig

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// WriteTable prints a plan as the table of `teslemetry2mqtt fields`: one row
// per field with what the car streams now, what teslemetry.fields wants, and
// what --apply does.
func WriteTable(w io.Writer, p Plan) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tSTREAMING NOW\tWANTED\tACTION")
	for _, it := range p.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Field, describeCurrent(it.Current), describeWanted(it.Wanted), it.Action)
	}
	return tw.Flush()
}

// describeCurrent shows a streamed entry: "every 60 s, delta 0.5, resend 600 s",
// "default" for an entry without settings, "-" when the field is not streamed.
func describeCurrent(e *Entry) string {
	if e == nil {
		return "-"
	}
	return describe(e.IntervalSeconds, e.MinimumDelta, e.ResendIntervalSeconds)
}

// describeWanted shows a listed entry the same way; "(not listed)" when the
// field is not in teslemetry.fields.
func describeWanted(s *config.FieldSpec) string {
	if s == nil {
		return "(not listed)"
	}
	return describe(s.IntervalSeconds, s.MinimumDelta, s.ResendIntervalSeconds)
}

func describe(interval *int, delta *float64, resend *int) string {
	var parts []string
	if interval != nil {
		parts = append(parts, "every "+strconv.Itoa(*interval)+" s")
	}
	if delta != nil {
		parts = append(parts, "delta "+strconv.FormatFloat(*delta, 'g', -1, 64))
	}
	if resend != nil {
		parts = append(parts, "resend "+strconv.Itoa(*resend)+" s")
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ", ")
}
