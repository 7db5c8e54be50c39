package bridge

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/teslemetry"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/ha"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Energy sites (docs/energy-sites.md): per-site state beside the per-car
// state, fed by the live_status, site_info, energy_totals and tariff events
// of the account-wide stream.

// Bounds on the bridge's memory for energy sites: a stream that names more
// sites, or a site that sends ever new keys, cannot grow it without limit.
// What is beyond them is skipped and counted (limit_sites, limit_site_topics).
const (
	MaxSites        = 64  // energy sites the bridge keeps
	MaxSiteTopics   = 512 // distinct value topics of one site
	siteAnnounceMax = 2 * time.Minute
)

// SiteControlPaths are the site_info values the energy-site controls reflect;
// a control is announced once its value is known (see SiteInfoValue). The
// nested ones are reported under these dotted paths.
var SiteControlPaths = []string{
	"backup_reserve_percent",
	"default_real_mode",
	"components.customer_preferred_export_rule",
	"components.disallow_charge_from_grid_with_solar_installed",
	"user_settings.storm_mode_enabled",
	"off_grid_vehicle_charging_reserve_percent",
}

// SiteInfoValue hears the site_info values of an energy site, for the
// site controls (state kept, control announced once its value is known):
// for every site_info event, each non-null top-level member (key as sent,
// payload as published on site_info/<key>) and each non-null nested member
// of SiteControlPaths under its dotted path with its value as a payload
// ("components.customer_preferred_export_rule" → pv_only), with the site's
// Home Assistant device as it is after that event. It is called with the
// bridge's lock held, after the values are published, and must not call
// back into the Bridge.
type SiteInfoValue func(site ha.Site, key string, payload []byte)

// site is what the bridge knows about one energy site.
type site struct {
	id        string // digits, a valid topic level
	stream    *stream
	available string // "", "online", "offline"
	firstSeen time.Time
	lastSeen  time.Time

	device  ha.Site
	hasInfo bool            // a site_info arrived: the device is named
	topics  map[string]bool // value topics published (bounded by MaxSiteTopics)
	// entities are the discovery entities due (announced once the device
	// is named, or siteAnnounceMax after first sight), by key; announced
	// says whether they are out.
	entities  map[siteKey]bool
	announced bool
}

// siteKey is one entity source of a site: a member of a document, a member
// of a wall connector, or the site's own entities (level "").
type siteKey struct {
	level, din, key string
	kind            ha.SiteValueKind
}

// routeSite publishes the energy-site part of an event that arrived on st.
func (r *router) routeSite(st *stream, ev *teslemetry.Event) {
	s := ev.Site
	if s == nil || !r.cfg.Teslemetry.EnergySites {
		return
	}
	if s.ID == "" {
		return // the decoder reported it (bad_site_id)
	}
	si := r.energySite(s.ID, st)
	if si == nil {
		r.drop("limit_sites", "energy site %s skipped: more than %d sites", s.ID, MaxSites)
		return
	}
	if s.Info != nil {
		r.updateSiteDevice(si, s.Info)
	}
	sch := r.topics
	for _, m := range teslemetry.SiteMessages(sch, s) {
		if !si.topics[m.Topic] {
			if len(si.topics) >= MaxSiteTopics {
				r.drop("limit_site_topics", "energy site %s: value topics beyond %d skipped", s.ID, MaxSiteTopics)
				continue
			}
			si.topics[m.Topic] = true
		}
		r.pub.Publish(mqttpub.Value, m.Topic, m.Payload)
	}
	if s.Info != nil {
		r.reportSiteInfo(si, s.Info)
	}
	r.noteSiteEntities(si, s)
	now := r.now()
	if !si.announced && (si.hasInfo || now.Sub(si.firstSeen) >= siteAnnounceMax) {
		si.announced = true
		r.ha.announceSite(si)
	}
	seen := now
	if !ev.CreatedAt.IsZero() {
		var ok bool
		if seen, ok = believable(ev.CreatedAt, now); !ok {
			r.drop(reasonFutureTime, "createdAt %s of energy site %s is more than %s ahead of the bridge's clock; last_seen uses the time of arrival",
				ev.CreatedAt.UTC().Format(time.RFC3339), si.id, MaxClockSkew)
		}
	}
	if seen.After(si.lastSeen) {
		if si.lastSeen.IsZero() || seen.Unix() != si.lastSeen.Unix() {
			r.pub.Publish(mqttpub.Value, sch.Site(si.id, topic.LastSeen), []byte(seen.UTC().Format(time.RFC3339)))
		}
		si.lastSeen = seen
	}
}

// energySite returns the state of a site, creating it on first sight; nil
// when MaxSites are known already.
func (r *router) energySite(id string, st *stream) *site {
	si, ok := r.sites[id]
	if !ok {
		if len(r.sites) >= MaxSites {
			return nil
		}
		si = &site{id: id, firstSeen: r.now(), device: ha.Site{ID: id, Name: ha.SiteName("", id)},
			topics: map[string]bool{}, entities: map[siteKey]bool{{}: true}}
		r.sites[id] = si
		if r.onNewSite != nil {
			defer r.onNewSite()
		}
	}
	if si.stream == nil && st != nil {
		si.stream = st
		st.sites[id] = true
		if st.connected {
			r.setSiteAvailability(si, "online")
		}
	}
	return si
}

func (r *router) setSiteAvailability(si *site, state string) {
	if si == nil || si.available == state {
		return
	}
	si.available = state
	r.pub.Publish(mqttpub.Availability, r.topics.Site(si.id, topic.Availability), []byte(state))
}

// setStreamSitesAvailability follows a stream's health for the sites it carries.
func (r *router) setStreamSitesAvailability(st *stream, state string) {
	for id := range st.sites {
		r.setSiteAvailability(r.sites[id], state)
	}
}

// updateSiteDevice takes the device's name, model and firmware from a
// site_info and re-announces the site when they changed.
func (r *router) updateSiteDevice(si *site, info *teslemetry.SiteDoc) {
	d := si.device
	if name := info.Value("site_name"); name != nil {
		d.Name = ha.SiteName(string(name), si.id)
	}
	if v := info.Value("version"); v != nil {
		d.SWVersion = ha.SoftwareVersion(string(v))
	}
	if info.Has("components.battery") || info.Has("components.solar") {
		d.Model = ha.SiteModel(info.Has("components.battery") && componentOn(info, "battery"),
			info.Has("components.solar") && componentOn(info, "solar"))
	}
	changed := d != si.device
	si.device, si.hasInfo = d, true
	if changed && si.announced {
		r.ha.announceSite(si)
	}
}

// reportSiteInfo hands a site_info's values to the site controls
// (siteInfoSeen, controls.go) and to the SiteInfoValue listener.
func (r *router) reportSiteInfo(si *site, info *teslemetry.SiteDoc) {
	ctl := si.device
	emit := func(key string, payload []byte) {
		r.siteInfoSeen(ctl, key, payload)
		if r.siteInfoValue != nil {
			r.siteInfoValue(si.device, key, payload)
		}
	}
	for _, v := range info.Values {
		if string(v.Payload) != "null" {
			emit(v.Key, v.Payload)
		}
	}
	for _, p := range SiteControlPaths {
		if !strings.Contains(p, ".") {
			continue // a top-level member, reported above
		}
		if payload, ok := info.Lookup(p); ok && string(payload) != "null" {
			emit(p, payload)
		}
	}
}

// componentOn reports whether site_info.components.<name> is true.
func componentOn(info *teslemetry.SiteDoc, name string) bool {
	var c map[string]any
	return json.Unmarshal(info.Value("components"), &c) == nil && c[name] == true
}

// noteSiteEntities records the entity sources an event brings, and announces
// the new ones at once when the site's entities are already out.
func (r *router) noteSiteEntities(si *site, s *teslemetry.Site) {
	var fresh []siteKey
	note := func(k siteKey) {
		if si.entities[k] {
			return
		}
		if len(si.entities) >= MaxSiteTopics {
			return // the value was not published either
		}
		si.entities[k] = true
		fresh = append(fresh, k)
	}
	docs := []struct {
		level string
		doc   *teslemetry.SiteDoc
	}{{topic.SiteLiveStatus, s.LiveStatus}, {topic.SiteInfo, s.Info}, {topic.SiteEnergyTotals, s.Totals}}
	for _, d := range docs {
		if d.doc == nil {
			continue
		}
		for _, v := range d.doc.Values {
			kind := ha.SiteScalar
			if v.JSON {
				kind = ha.SiteJSON
			}
			note(siteKey{level: d.level, key: v.Key, kind: kind})
		}
		for _, wc := range d.doc.WallConnectors {
			for _, v := range wc.Values {
				note(siteKey{level: topic.SiteWallConnectors, din: wc.DIN, key: v.Key})
			}
		}
	}
	if si.announced {
		for _, k := range fresh {
			r.ha.announceSiteEntity(si, k)
		}
	}
}

// announceSite publishes every due entity of a site (again, after its device
// changed).
func (h *homeAssistant) announceSite(si *site) {
	if h == nil {
		return
	}
	keys := make([]siteKey, 0, len(si.entities))
	for k := range si.entities {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, c siteKey) int {
		if a.level != c.level {
			return cmp.Compare(a.level, c.level)
		}
		if a.din != c.din {
			return cmp.Compare(a.din, c.din)
		}
		return cmp.Compare(a.key, c.key)
	})
	for _, k := range keys {
		h.announceSiteEntity(si, k)
	}
}

// announceSiteEntity publishes the discovery configs of one entity source.
func (h *homeAssistant) announceSiteEntity(si *site, k siteKey) {
	if h == nil {
		return
	}
	var msgs []ha.Message
	switch k.level {
	case "":
		msgs = h.opts.SiteEntities(si.device)
	case topic.SiteWallConnectors:
		msgs = h.opts.WallConnectorEntities(si.device, k.din, k.key)
	default:
		msgs = h.opts.SiteValueEntities(si.device, k.level, k.key, k.kind)
	}
	h.publish(msgs...)
}

// SiteSnapshot is one energy site in a Snapshot.
type SiteSnapshot struct {
	ID           string
	Name         string    // the Home Assistant device name
	Model        string    // Powerwall, Solar, Powerwall + Solar; "" before site_info says
	Availability string    // "online", "offline" or "" before the first
	LastSeen     time.Time // zero before the first event
}

// siteSnapshots copies the per-site state, sorted by id.
func (r *router) siteSnapshots() []SiteSnapshot {
	out := make([]SiteSnapshot, 0, len(r.sites))
	for _, si := range r.sites {
		out = append(out, SiteSnapshot{ID: si.id, Name: si.device.Name, Model: si.device.Model, Availability: si.available, LastSeen: si.lastSeen})
	}
	slices.SortFunc(out, func(a, c SiteSnapshot) int { return cmp.Compare(a.ID, c.ID) })
	return out
}
