// Package discovery knows every Tesla Fleet Telemetry field and turns it into
// Home Assistant MQTT discovery configs (contract §5 and §7).
//
// It has five parts:
//
//   - the field catalog (fields_table.go, enums.go): one curated entry per row
//     of reference/fleet-fields.tsv with its value kind, enum wire prefix and
//     options, and Home Assistant metadata (component, device_class, unit,
//     state_class, display precision, category, enabled by default);
//   - units (units.go): what a numeric value as streamed becomes under
//     units: native | metric | imperial, and the unit declared for it;
//   - discovery payloads (entities.go): the retained config messages for a
//     field, the per-vehicle status entities and the bridge device;
//   - derived values (derived.go): which fields feed the charger power, the
//     rule as a small state value the bridge keeps per car, and the charger
//     power's entity;
//   - stale-config knowledge (publishable.go): which (component, object id)
//     pairs this version can publish per node kind, derived from the code
//     above, and whether a retained config is this bridge's.
//
// The package is pure: no I/O, no mutable package state. The catalog is built
// once at start-up and never changed; *Field values returned by Lookup, All
// and Unknown must be treated as read-only. Everything is safe for concurrent
// use.
package discovery
