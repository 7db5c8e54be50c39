package bridge

import (
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/command"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
)

// Control entities (docs/commands.md, "Home Assistant"): with commands
// enabled, a control is announced when the field its state comes from is
// first seen (announceField calls announceFieldControls), buttons and the
// "Last command" sensor with the car. Denied controls are not announced.

// controlKeyPrefix starts the announced-entity key of a control.
const controlKeyPrefix = "control:"

// haControls is what the Home Assistant component needs to know about
// controls; nil when commands are disabled.
type haControls struct {
	byField map[string][]*command.Control // state field → the controls it announces
	always  []*command.Control            // buttons: announced with the car
	denied  func(string) bool
}

func newHAControls(denied func(string) bool) *haControls {
	c := &haControls{byField: map[string][]*command.Control{}, denied: denied}
	for _, ctl := range command.Controls(command.Vehicle) {
		switch {
		case ctl.Name == ha.ClimateTemperatureControl: // part of the climate entity
		case ctl.StateField == "":
			c.always = append(c.always, ctl)
		case ctl.StateField == command.WindowsStateField:
			for _, f := range command.WindowFields {
				c.byField[f] = append(c.byField[f], ctl)
			}
		default:
			c.byField[ctl.StateField] = append(c.byField[ctl.StateField], ctl)
		}
	}
	return c
}

// enableControls turns control discovery on.
func (h *homeAssistant) enableControls(denied func(string) bool) {
	if h == nil {
		return
	}
	h.controls = newHAControls(denied)
}

// announceCarControls publishes the buttons and the Last command sensor once.
func (h *homeAssistant) announceCarControls(v *vehicle) {
	if h == nil || h.controls == nil {
		return
	}
	// Runs for every event: the Last command key (a constant, no
	// allocation) says whether the car's controls were announced.
	if !h.firstTime(v, controlKeyPrefix+ha.LastCommandObject) {
		return
	}
	h.publish(h.opts.LastCommandEntity(v.device))
	for _, ctl := range h.controls.always {
		h.announceControl(v, ctl.Name)
	}
}

// announceFieldControls publishes the controls whose state field is field.
func (h *homeAssistant) announceFieldControls(v *vehicle, field string) {
	if h == nil || h.controls == nil {
		return
	}
	for _, ctl := range h.controls.byField[field] {
		h.announceControl(v, ctl.Name)
	}
}

// announceControl publishes one control's entity once.
func (h *homeAssistant) announceControl(v *vehicle, name string) {
	if h == nil || h.controls == nil || h.controls.denied(name) {
		return
	}
	ctl, ok := command.Lookup(command.Vehicle, name)
	if !ok || !h.firstTime(v, controlKeyPrefix+name) {
		return
	}
	if m, ok := h.opts.VehicleControlEntity(v.device, ctl.Spec(), v.maxChargeCurrent); ok {
		h.publish(m)
	}
}

// reannounceControl publishes a control again when it was announced (its
// config changed: the charge current maximum).
func (h *homeAssistant) reannounceControl(v *vehicle, name string) {
	if h == nil || v.disc == nil || !v.disc.announced[controlKeyPrefix+name] {
		return
	}
	delete(v.disc.announced, controlKeyPrefix+name)
	h.announceControl(v, name)
}

// reannounceKey is reannounce's case for control keys.
func (h *homeAssistant) reannounceControlKey(v *vehicle, key string) bool {
	name, ok := strings.CutPrefix(key, controlKeyPrefix)
	if !ok {
		return false
	}
	if name == ha.LastCommandObject {
		if h.firstTime(v, key) {
			h.publish(h.opts.LastCommandEntity(v.device))
		}
		return true
	}
	h.announceControl(v, name)
	return true
}

// siteControlsByKey maps a site_info value (its key, dotted for a member of a
// nested object: "components.customer_preferred_export_rule") to the site
// controls it announces.
var siteControlsByKey = func() map[string][]*command.Control {
	m := map[string][]*command.Control{}
	for _, ctl := range command.Controls(command.Site) {
		m[ctl.StateField] = append(m[ctl.StateField], ctl)
	}
	return m
}()

// siteInfoSeen is the hook for energy-site state: call it for every
// site_info value published (key as above, payload as published). It keeps
// the value for the site controls and announces the controls it reflects,
// plus the site's Last command sensor, once per site.
func (r *router) siteInfoSeen(site ha.Site, key string, payload []byte) {
	if r.cmds == nil {
		return
	}
	r.cmds.observeSite(site.ID, key, payload)
	r.ha.announceSiteControls(site, key)
}

// announceSiteControls publishes the site controls whose state is key, once.
func (h *homeAssistant) announceSiteControls(site ha.Site, key string) {
	if h == nil || h.controls == nil {
		return
	}
	if h.siteAnnounced == nil {
		h.siteAnnounced = map[string]bool{}
	}
	first := func(k string) bool {
		if h.siteAnnounced[site.ID+"/"+k] {
			return false
		}
		h.siteAnnounced[site.ID+"/"+k] = true
		return true
	}
	if first(ha.LastCommandObject) {
		h.publish(h.opts.SiteLastCommandEntity(site))
	}
	for _, ctl := range siteControlsByKey[key] {
		if h.controls.denied(ctl.Name) || !first(ctl.Name) {
			continue
		}
		if m, ok := h.opts.SiteControlEntity(site, ctl.Spec()); ok {
			h.publish(m)
		}
	}
}
