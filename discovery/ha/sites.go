package ha

import (
	"strings"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// Energy sites (Powerwall, solar, wall connectors; docs/energy-sites.md): one
// Home Assistant device per site, entities announced per key the first time
// the site sends it, like a car's fields. Everything here is pure.

// Site is the Home Assistant device of one energy site.
type Site struct {
	ID        string // energy_site_id, digits
	Name      string // SiteName
	Model     string // SiteModel; omitted when empty
	SWVersion string // SoftwareVersion of site_info.version; omitted when empty
}

// SiteName picks the device name of a site: its site_name, else
// "Energy site " + the last six digits of its id.
func SiteName(siteName, id string) string {
	if s := strings.TrimSpace(siteName); s != "" && s != "null" {
		return s
	}
	if len(id) > 6 {
		id = id[len(id)-6:]
	}
	return strings.TrimSpace("Energy site " + id)
}

// SiteModel names a site's hardware from site_info.components: a battery
// makes it a Powerwall, solar alone a Solar site; "" when neither is known.
func SiteModel(battery, solar bool) string {
	switch {
	case battery && solar:
		return "Powerwall + Solar"
	case battery:
		return "Powerwall"
	case solar:
		return "Solar"
	}
	return ""
}

// SiteValueKind says what a site member's payload is, which decides whether
// it gets an entity of its own.
type SiteValueKind uint8

// Site value kinds.
const (
	SiteScalar SiteValueKind = iota // number, bool, text or null
	SiteJSON                        // object or array (components, user_settings): no entity
)

// siteEntity is the Home Assistant metadata of one known site member.
type siteEntity struct {
	object, name string
	component    string
	class, unit  string
	state        string // state_class
	precision    int    // -1 = not set
	options      []string
	on, off      string // binary_sensor payloads
	diagnostic   bool
	enabled      bool
	icon         string
}

func sitePower(object, name, icon string, enabled bool) siteEntity {
	return siteEntity{object: object, name: name, component: catalog.ComponentSensor, class: "power", unit: "W",
		state: "measurement", precision: 0, enabled: enabled, icon: icon}
}

func siteTotal(object, name string, enabled bool) siteEntity {
	return siteEntity{object: object, name: name, component: catalog.ComponentSensor, class: "energy", unit: "Wh",
		state: "total_increasing", precision: 0, enabled: enabled}
}

func siteDiag(object, name string) siteEntity {
	return siteEntity{object: object, name: name, component: catalog.ComponentSensor, precision: -1, diagnostic: true}
}

// Operation modes (site_info.default_real_mode) and island states
// (live_status.island_status) as Teslemetry sends them.
var (
	OperationModes = []string{"autonomous", "self_consumption", "backup"}
	islandStates   = []string{"on_grid", "off_grid", "off_grid_intentional", "off_grid_unintentional", "island_status_unknown"}
)

// siteCatalog is the known members per site document (topic level).
var siteCatalog = map[string]map[string]siteEntity{
	topic.SiteLiveStatus: {
		"solar_power":         sitePower("solar_power", "Solar power", "mdi:solar-power", true),
		"battery_power":       sitePower("battery_power", "Battery power", "mdi:home-battery", true),
		"load_power":          sitePower("load_power", "Load power", "mdi:home-lightning-bolt", true),
		"grid_power":          sitePower("grid_power", "Grid power", "mdi:transmission-tower", true),
		"grid_services_power": sitePower("grid_services_power", "Grid services power", "", false),
		"generator_power":     sitePower("generator_power", "Generator power", "", false),
		"percentage_charged": {object: "percentage_charged", name: "Battery level", component: catalog.ComponentSensor, class: "battery", unit: "%",
			state: "measurement", precision: 1, enabled: true},
		"energy_left": {object: "energy_left", name: "Stored energy", component: catalog.ComponentSensor, class: "energy_storage", unit: "Wh",
			state: "measurement", precision: 0, enabled: true},
		"total_pack_energy": {object: "total_pack_energy", name: "Battery capacity", component: catalog.ComponentSensor, class: "energy_storage", unit: "Wh",
			state: "measurement", precision: 0, diagnostic: true},
		"grid_status": {object: "grid_status", name: "Grid status", component: catalog.ComponentBinarySensor, class: "power",
			on: "Active", off: "Inactive", enabled: true, icon: "mdi:transmission-tower"},
		"island_status": {object: "island_status", name: "Island status", component: catalog.ComponentSensor, class: "enum",
			options: islandStates, precision: -1, enabled: true},
		"storm_mode_active": {object: "storm_mode_active", name: "Storm watch active", component: catalog.ComponentBinarySensor,
			on: "true", off: "false", enabled: true, icon: "mdi:weather-lightning"},
		"backup_capable": {object: "backup_capable", name: "Backup capable", component: catalog.ComponentBinarySensor,
			on: "true", off: "false", diagnostic: true},
		"grid_services_active": {object: "grid_services_active", name: "Grid services active", component: catalog.ComponentBinarySensor,
			on: "true", off: "false", diagnostic: true},
		"timestamp": {object: "status_time", name: "Status time", component: catalog.ComponentSensor, class: "timestamp", precision: -1, diagnostic: true},
	},
	topic.SiteInfo: {
		"site_name": siteDiag("site_name", "Site name"),
		"backup_reserve_percent": {object: "backup_reserve_percent", name: "Backup reserve", component: catalog.ComponentSensor, unit: "%",
			state: "measurement", precision: 0, diagnostic: true, enabled: true, icon: "mdi:battery-lock"},
		"off_grid_vehicle_charging_reserve_percent": {object: "off_grid_vehicle_charging_reserve_percent", name: "Off-grid EV reserve",
			component: catalog.ComponentSensor, unit: "%", state: "measurement", precision: 0, diagnostic: true},
		"default_real_mode": {object: "default_real_mode", name: "Operation mode", component: catalog.ComponentSensor, class: "enum",
			options: OperationModes, precision: -1, enabled: true, icon: "mdi:home-battery"},
		"version": siteDiag("version", "Gateway version"),
		"id":      siteDiag("gateway_id", "Gateway ID"),
		"battery_count": {object: "battery_count", name: "Battery count", component: catalog.ComponentSensor, state: "measurement",
			precision: 0, diagnostic: true},
		"nameplate_power": {object: "nameplate_power", name: "Nameplate power", component: catalog.ComponentSensor, class: "power", unit: "W",
			precision: 0, diagnostic: true},
		"nameplate_energy": {object: "nameplate_energy", name: "Nameplate energy", component: catalog.ComponentSensor, class: "energy_storage", unit: "Wh",
			precision: 0, diagnostic: true},
		"installation_date": {object: "installation_date", name: "Installation date", component: catalog.ComponentSensor, class: "timestamp",
			precision: -1, diagnostic: true},
	},
	topic.SiteEnergyTotals: {
		"solar_energy_exported":                   siteTotal("solar_energy_exported", "Solar energy exported", false),
		"generator_energy_exported":               siteTotal("generator_energy_exported", "Generator energy exported", false),
		"grid_energy_imported":                    siteTotal("grid_energy_imported", "Grid energy imported", true),
		"grid_services_energy_imported":           siteTotal("grid_services_energy_imported", "Grid services energy imported", false),
		"grid_services_energy_exported":           siteTotal("grid_services_energy_exported", "Grid services energy exported", false),
		"grid_energy_exported_from_solar":         siteTotal("grid_energy_exported_from_solar", "Grid energy exported from solar", false),
		"grid_energy_exported_from_generator":     siteTotal("grid_energy_exported_from_generator", "Grid energy exported from generator", false),
		"grid_energy_exported_from_battery":       siteTotal("grid_energy_exported_from_battery", "Grid energy exported from battery", false),
		"battery_energy_exported":                 siteTotal("battery_energy_exported", "Battery energy exported", false),
		"battery_energy_imported_from_grid":       siteTotal("battery_energy_imported_from_grid", "Battery energy imported from grid", false),
		"battery_energy_imported_from_solar":      siteTotal("battery_energy_imported_from_solar", "Battery energy imported from solar", false),
		"battery_energy_imported_from_generator":  siteTotal("battery_energy_imported_from_generator", "Battery energy imported from generator", false),
		"consumer_energy_imported_from_grid":      siteTotal("consumer_energy_imported_from_grid", "Home energy from grid", false),
		"consumer_energy_imported_from_solar":     siteTotal("consumer_energy_imported_from_solar", "Home energy from solar", false),
		"consumer_energy_imported_from_battery":   siteTotal("consumer_energy_imported_from_battery", "Home energy from battery", false),
		"consumer_energy_imported_from_generator": siteTotal("consumer_energy_imported_from_generator", "Home energy from generator", false),
		"total_home_usage":                        siteTotal("total_home_usage", "Home usage", true),
		"total_battery_charge":                    siteTotal("total_battery_charge", "Battery charge", true),
		"total_battery_discharge":                 siteTotal("total_battery_discharge", "Battery discharge", true),
		"total_solar_generation":                  siteTotal("total_solar_generation", "Solar production", true),
		"total_grid_energy_exported":              siteTotal("total_grid_energy_exported", "Grid energy exported", true),
	},
}

// wallConnectorCatalog is the known members of a wall connector, by key.
var wallConnectorCatalog = map[string]siteEntity{
	"wall_connector_power": {object: "power", name: "power", component: catalog.ComponentSensor, class: "power", unit: "W",
		state: "measurement", precision: 0, enabled: true, icon: "mdi:ev-station"},
	"wall_connector_state":       {object: "state", name: "state", component: catalog.ComponentSensor, precision: -1, enabled: true, icon: "mdi:ev-station"},
	"wall_connector_fault_state": {object: "fault_state", name: "fault state", component: catalog.ComponentSensor, precision: -1, diagnostic: true},
	"vin":                        {object: "vin", name: "vehicle", component: catalog.ComponentSensor, precision: -1, enabled: true, icon: "mdi:car-electric"},
}

// Object-id prefixes of members the catalog does not know (newer firmware):
// a disabled diagnostic sensor each, under a prefix per document so that they
// never clash with a catalogued object.
var unknownSitePrefix = map[string]string{
	topic.SiteLiveStatus:   "live_status_",
	topic.SiteInfo:         "site_info_",
	topic.SiteEnergyTotals: "energy_totals_",
}

// wallConnectorPrefix starts the object id of every wall-connector entity:
// wall_connector_<din>_<member>.
const wallConnectorPrefix = "wall_connector_"

// Object ids of a site's own entities.
const (
	SiteStreamObject   = "stream"
	SiteLastSeenObject = "last_seen"
	SiteTariffObject   = "tariff"
)

// siteMessage completes c as an entity of site s and encodes it. avail is the
// entity's availability: the bridge state and the site's when nil.
func (o Options) siteMessage(s Site, component, object string, c config, avail []availability) Message {
	object = topic.IDPart(object)
	node := o.Topics.SiteNode(s.ID)
	c.UniqueID = node + "_" + object
	c.DefaultEntityID = component + "." + siteSlug(s) + "_" + catalog.Snake(object)
	if avail == nil {
		avail = o.siteAvailability(s)
	}
	c.Availability, c.AvailabilityMode = avail, "all"
	c.Device = o.siteDevice(s)
	c.Origin = o.origin()
	return Message{Topic: o.Topics.DiscoveryConfig(component, node, object), Payload: encode(c)}
}

// siteAvailability is what every entity of a site is available on: the
// bridge state and the site's own availability.
func (o Options) siteAvailability(s Site) []availability {
	return []availability{{o.Topics.BridgeState()}, {o.Topics.Site(s.ID, topic.Availability)}}
}

// siteDevice is the device block of every entity of site s, sensors and
// controls alike.
func (o Options) siteDevice(s Site) device {
	return device{Identifiers: []string{o.Topics.SiteNode(s.ID)}, Name: SiteName(s.Name, s.ID),
		Manufacturer: "Tesla", Model: s.Model, SWVersion: s.SWVersion, ViaDevice: o.Topics.BridgeNode()}
}

// siteSlug starts the default entity ids of site s: its name as a slug, else
// "energy_site_<last 6 of id>".
func siteSlug(s Site) string {
	if sl := slug(SiteName(s.Name, s.ID)); sl != "" {
		return sl
	}
	return slug(SiteName("", s.ID))
}

// config turns catalog metadata into a config reading stateTopic.
func (e siteEntity) config(name, stateTopic string) config {
	c := config{Name: name, DeviceClass: e.class, EnabledByDefault: e.enabled, Icon: e.icon, StateTopic: stateTopic}
	if e.diagnostic {
		c.EntityCategory = "diagnostic"
	}
	switch {
	case e.component == catalog.ComponentBinarySensor:
		c.PayloadOn, c.PayloadOff = e.on, e.off
		c.ValueTemplate = tplIn([]string{e.on, e.off})
	case e.class == "enum":
		c.Options, c.ValueTemplate = e.options, tplIn(e.options)
	case e.class == "timestamp":
		c.ValueTemplate = tplZonedTime
	case e.unit != "" || e.state != "" || e.class != "":
		c.UnitOfMeasurement, c.StateClass, c.ValueTemplate = e.unit, e.state, tplValue
		if e.precision >= 0 {
			p := e.precision
			c.SuggestedDisplayPrecision = &p
		}
	default:
		c.ValueTemplate = tplText
	}
	return c
}

// unknownSiteEntity is the entity of a member the catalog does not know:
// a disabled diagnostic sensor, except in energy_totals, whose members are
// all energies (so a new total still works in the Energy dashboard once
// enabled).
func unknownSiteEntity(level, key string) siteEntity {
	object := unknownSitePrefix[level] + topic.IDPart(key)
	label := strings.ReplaceAll(catalog.Snake(key), "_", " ")
	if label != "" {
		label = strings.ToUpper(label[:1]) + label[1:]
	}
	if level == topic.SiteEnergyTotals {
		return siteTotal(object, label, false)
	}
	return siteDiag(object, label)
}

// SiteValueEntities returns the discovery configs of one member of a site
// document — level is topic.SiteLiveStatus, topic.SiteInfo or
// topic.SiteEnergyTotals, key the member as sent — read from
// <base>/site/<id>/<level>/<key>. Objects and arrays (site_info.components,
// user_settings) get none, and neither do wall_connectors (see
// WallConnectorEntities) nor documents other than those three.
func (o Options) SiteValueEntities(s Site, level, key string, kind SiteValueKind) []Message {
	known, ok := siteCatalog[level]
	if !ok || kind == SiteJSON || key == "" || (level == topic.SiteLiveStatus && key == "wall_connectors") {
		return nil
	}
	e, ok := known[key]
	if !ok {
		e = unknownSiteEntity(level, key)
	}
	stateTopic := o.Topics.Site(s.ID, level, topic.Segment(key))
	return []Message{o.siteMessage(s, e.component, e.object, e.config(e.name, stateTopic), nil)}
}

// WallConnectorEntities returns the configs of one member of one wall
// connector, read from <base>/site/<id>/wall_connectors/<din>/<key>. Its
// entities are the site's, named "Wall connector <last 4 of DIN> …".
func (o Options) WallConnectorEntities(s Site, din, key string) []Message {
	if din == "" || key == "" || key == "din" {
		return nil
	}
	e, ok := wallConnectorCatalog[key]
	if !ok {
		// "member_" keeps a new member apart from the catalogued objects.
		e = siteDiag("member_"+topic.IDPart(key), strings.ReplaceAll(catalog.Snake(strings.TrimPrefix(key, wallConnectorPrefix)), "_", " "))
	}
	seg := topic.Segment(din)
	short := seg
	if len(short) > 4 {
		short = short[len(short)-4:]
	}
	name := "Wall connector " + short + " " + e.name
	object := wallConnectorPrefix + topic.IDPart(seg) + "_" + e.object
	stateTopic := o.Topics.Site(s.ID, topic.SiteWallConnectors, seg, topic.Segment(key))
	return []Message{o.siteMessage(s, e.component, object, e.config(name, stateTopic), nil)}
}

// tplZonedTime passes an ISO 8601 time with a zone (Z or ±hh:mm) and maps
// anything else to None: sites send local times with an offset, and Home
// Assistant refuses a timestamp without a zone.
const tplZonedTime = `{{ value if value is match('\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d.*(Z|[+-]\\d\\d:\\d\\d)$') else None }}`

// tplTariff shows the tariff's name (else its code) and unknown after a
// removal (payload null).
const tplTariff = "{{ ((value_json.name or value_json.code or 'tariff') | string)[:255] if value_json is mapping else None }}"

// SiteEntities returns a site's own entities: Stream (the health of the
// stream carrying it), Last seen, and Tariff (disabled; the whole document
// is its attributes).
func (o Options) SiteEntities(s Site) []Message {
	sch := o.Topics
	stream := config{Name: "Stream", DeviceClass: "connectivity", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: sch.Site(s.ID, topic.Availability), PayloadOn: "online", PayloadOff: "offline"}
	seen := config{Name: "Last seen", DeviceClass: "timestamp", EntityCategory: "diagnostic", EnabledByDefault: true,
		StateTopic: sch.Site(s.ID, topic.LastSeen), ValueTemplate: tplValue}
	tariff := config{Name: "Tariff", EntityCategory: "diagnostic", Icon: "mdi:cash-clock",
		StateTopic: sch.Site(s.ID, topic.SiteTariff), ValueTemplate: tplTariff,
		JSONAttributesTopic: sch.Site(s.ID, topic.SiteTariff), JSONAttributesTemplate: "{{ value_json | tojson if value_json is mapping else '{}' }}"}
	return []Message{
		// The stream entity reports the availability it would otherwise carry.
		o.siteMessage(s, catalog.ComponentBinarySensor, SiteStreamObject, stream, []availability{{sch.BridgeState()}}),
		o.siteMessage(s, catalog.ComponentSensor, SiteLastSeenObject, seen, nil),
		o.siteMessage(s, catalog.ComponentSensor, SiteTariffObject, tariff, nil),
	}
}

// SitePublishable reports whether this version can ever publish an entity
// with this component and object id on a site's node: a catalogued or own
// entity, a member the catalog does not know (by its prefix), or a wall
// connector's. The bridge's stale cleanup keeps those and deletes the rest.
func SitePublishable(component, object string) bool {
	if component != catalog.ComponentSensor && component != catalog.ComponentBinarySensor {
		return false
	}
	for _, m := range sitePublishable() {
		if m.component == component && m.object == object {
			return true
		}
	}
	if component == catalog.ComponentSensor {
		for _, p := range unknownSitePrefix {
			if rest, ok := strings.CutPrefix(object, p); ok && rest != "" {
				return true
			}
		}
		if strings.HasPrefix(object, wallConnectorPrefix) {
			return true
		}
	}
	return false
}

// sitePublishable lists every fixed (component, object id) of a site.
func sitePublishable() []struct{ component, object string } {
	var out []struct{ component, object string }
	add := func(component, object string) {
		out = append(out, struct{ component, object string }{component, object})
	}
	for _, known := range siteCatalog {
		for _, e := range known {
			add(e.component, e.object)
		}
	}
	add(catalog.ComponentBinarySensor, SiteStreamObject)
	add(catalog.ComponentSensor, SiteLastSeenObject)
	add(catalog.ComponentSensor, SiteTariffObject)
	return out
}
