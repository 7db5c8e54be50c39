// Package discovery is the root of what teslemetry2mqtt knows without doing
// any I/O. It has no code of its own; its parts are:
//
//   - catalog: what a Fleet Telemetry field is — every field with its value
//     kind, enum wire prefix and options, unit and unit conversions, door and
//     tyre member names, and the inputs and rules of derived values (charger
//     power). The decoders (bridge/teslemetry, bridge/webhook) read it.
//   - ha: what Home Assistant sees — the discovery configs of every field,
//     the per-car status entities and the bridge device, device names, and
//     the stale-config knowledge (could this version publish an entity; is a
//     retained config this bridge's).
//   - topic: the one topic scheme that builds and parses every topic the
//     bridge owns (docs/topics.md).
//
// Dependencies point one way: ha reads catalog and topic; nothing here
// imports the bridge. Everything is pure and safe for concurrent use.
package discovery
