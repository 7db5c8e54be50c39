package command

import "github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"

// Spec is the control as Home Assistant discovery needs it.
func (c *Control) Spec() ha.ControlSpec {
	s := ha.ControlSpec{Name: c.Name, Platform: string(c.Platform), Label: c.Label, Icon: c.Icon,
		Options: c.Options, Min: c.Min, Max: c.Max, Step: c.Step, Unit: c.Unit}
	if c.Input == InputChoice {
		s.Payloads = c.Words()
	}
	return s
}
