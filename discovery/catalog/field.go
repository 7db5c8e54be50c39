// Package catalog knows every Tesla Fleet Telemetry field: its value kind,
// enum wire prefix and options, unit and the conversions of units: native |
// metric | imperial, the member names of door and tyre values, and the part a
// field plays in derived values. The decoders and the Home Assistant package
// read it. It is built once at start-up and never changed; *Field values
// returned by Lookup, All and Unknown must be treated as read-only.
package catalog

import (
	"fmt"
	"strings"
)

// Kind is the value type of a field as catalogued (testdata/fleet-fields.tsv); it
// decides how the bridge decodes a value and which entities it gets.
type Kind string

// Kinds of field values. KindUnknown marks fields that are not in the catalog
// (see Unknown).
const (
	KindFloat        Kind = "float"
	KindInt          Kind = "int"
	KindBool         Kind = "bool"
	KindString       Kind = "string"
	KindEnum         Kind = "enum"
	KindLocation     Kind = "location"
	KindDoors        Kind = "doors"
	KindTireLocation Kind = "tire_location"
	KindTime         Kind = "time"
	KindTimestamp    Kind = "timestamp"
	KindNone         Kind = "none" // placeholder: Unknown, Deprecated_*, Experimental_*
	KindUnknown      Kind = "unknown"
)

// Components (Home Assistant entity platforms) used by the catalog.
const (
	ComponentSensor        = "sensor"
	ComponentBinarySensor  = "binary_sensor"
	ComponentDeviceTracker = "device_tracker"
)

// Field is one Fleet Telemetry field and its Home Assistant metadata.
// Values come from the catalog and must not be modified.
type Field struct {
	Name       string // Tesla spelling, e.g. "BatteryLevel"; also the topic level v/<Name>
	Number     int    // proto Field number
	Kind       Kind
	EnumType   string   // enum_type column of testdata/fleet-fields.tsv, e.g. "ShiftState", "LocationValue"
	EnumPrefix string   // wire prefix of enum values, e.g. "ShiftState" for "ShiftStateD"
	Options    []string // enum options without prefix and without "Unknown"; nil for non-enums

	// Home Assistant metadata.
	Label       string // entity name without the device name, e.g. "Battery level"
	Component   string // "sensor", "binary_sensor" or "device_tracker"; "" for placeholders
	DeviceClass string
	Unit        string // unit published with units: native (see UnitFor for the others)
	StateClass  string
	Precision   int  // suggested_display_precision; -1 = not set
	Diagnostic  bool // entity_category: diagnostic
	Enabled     bool // enabled_by_default
	Icon        string

	// Quantity selects the unit conversion of a numeric field (units.go);
	// "" means the value is published as streamed in every mode.
	Quantity Quantity
	// Inverted binary sensors are on when the value is false (Locked with
	// device_class lock: on means unlocked).
	Inverted bool
}

// IsPlaceholder reports whether the field is a reserved slot that is never
// sent (Unknown, Deprecated_*, Experimental_*); it gets no entities.
func (f *Field) IsPlaceholder() bool { return f.Kind == KindNone }

// catalog is the immutable field catalog built from fieldTable.
type catalog struct {
	byName map[string]*Field
	all    []*Field // number order
}

var fields = newCatalog(fieldTable[:], enumTypes)

func newCatalog(table []Field, enums map[string]enumType) *catalog {
	c := &catalog{byName: make(map[string]*Field, len(table)), all: make([]*Field, len(table))}
	for i := range table {
		f := &table[i]
		if f.Number != i {
			panic(fmt.Sprintf("discovery: field table row %d is %s (%d): rows must be in number order", i, f.Name, f.Number))
		}
		if f.Kind == KindEnum {
			e, ok := enums[f.EnumType]
			if !ok {
				panic("discovery: no options for enum type " + f.EnumType)
			}
			f.EnumPrefix, f.Options = e.Prefix, e.Options
		}
		c.byName[f.Name] = f
		c.all[i] = f
	}
	return c
}

// Lookup returns the catalog entry of a field by its Tesla name. It does not
// allocate and is meant for the per-value hot path.
func Lookup(name string) (*Field, bool) {
	f, ok := fields.byName[name]
	return f, ok
}

// All returns every catalog entry, placeholders included, in number order.
// The slice is a fresh copy; the fields are shared and read-only.
func All() []*Field {
	return append([]*Field(nil), fields.all...)
}

// Unknown returns a best-effort entry for a field the catalog does not know
// (newer firmware): a plain diagnostic sensor, disabled by default, without
// device class or unit, whose value is published as it arrives. name should
// already be a valid topic level. Each call returns a new Field.
func Unknown(name string) *Field {
	label := strings.ReplaceAll(Snake(name), "_", " ")
	if label != "" {
		label = strings.ToUpper(label[:1]) + label[1:]
	}
	return &Field{
		Name:       name,
		Number:     -1,
		Kind:       KindUnknown,
		Label:      label,
		Component:  ComponentSensor,
		Precision:  -1,
		Diagnostic: true,
	}
}
