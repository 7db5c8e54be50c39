package ha

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"

	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json")

func field(t *testing.T, name string) *catalog.Field {
	t.Helper()
	f, ok := catalog.Lookup(name)
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return f
}

// TestGolden pins the exact configs of a representative set of entities.
// Run `go test ./discovery/ha -run TestGolden -update` after a deliberate change
// and review the diff.
func TestGolden(t *testing.T) {
	o, v := testOptions, testVehicle
	with := func(u catalog.Units) Options { c := o; c.Units = u; return c }
	cases := map[string]func() []Message{
		"BatteryLevel":               func() []Message { return o.FieldEntities(v, field(t, "BatteryLevel")) },
		"Odometer_native":            func() []Message { return o.FieldEntities(v, field(t, "Odometer")) },
		"Odometer_metric":            func() []Message { return with(catalog.UnitsMetric).FieldEntities(v, field(t, "Odometer")) },
		"InsideTemp_imperial":        func() []Message { return with(catalog.UnitsImperial).FieldEntities(v, field(t, "InsideTemp")) },
		"TpmsPressureFl":             func() []Message { return o.FieldEntities(v, field(t, "TpmsPressureFl")) },
		"Gear":                       func() []Message { return o.FieldEntities(v, field(t, "Gear")) },
		"DetailedChargeState":        func() []Message { return o.FieldEntities(v, field(t, "DetailedChargeState")) },
		"Locked":                     func() []Message { return o.FieldEntities(v, field(t, "Locked")) },
		"DoorState":                  func() []Message { return o.FieldEntities(v, field(t, "DoorState")) },
		"FdWindow":                   func() []Message { return o.FieldEntities(v, field(t, "FdWindow")) },
		"Location":                   func() []Message { return o.FieldEntities(v, field(t, "Location")) },
		"ScheduledChargingStartTime": func() []Message { return o.FieldEntities(v, field(t, "ScheduledChargingStartTime")) },
		"VehicleName":                func() []Message { return o.FieldEntities(v, field(t, "VehicleName")) },
		"TpmsSoftWarnings":           func() []Message { return o.FieldEntities(v, field(t, "TpmsSoftWarnings")) },
		"UnknownField":               func() []Message { return o.FieldEntities(v, catalog.Unknown("SomeFutureField")) },
		"vehicle":                    func() []Message { return o.VehicleEntities(v) },
		"connectivity_wifi":          func() []Message { return []Message{o.ConnectivityEntity(v, "wifi")} },
		"charger_power":              func() []Message { return []Message{o.ChargerPowerEntity(v)} },
		"streaming_config":           func() []Message { return []Message{o.FieldsStatusEntity(v)} },
		"bridge":                     func() []Message { return o.BridgeEntities(true) },
		// Energy sites (sites.go).
		"site": func() []Message { return o.SiteEntities(testSite) },
		"site_solar_power": func() []Message {
			return o.SiteValueEntities(testSite, topic.SiteLiveStatus, "solar_power", SiteScalar)
		},
		"site_grid_status": func() []Message {
			return o.SiteValueEntities(testSite, topic.SiteLiveStatus, "grid_status", SiteScalar)
		},
		"site_default_real_mode": func() []Message {
			return o.SiteValueEntities(testSite, topic.SiteInfo, "default_real_mode", SiteScalar)
		},
		"site_total_solar_generation": func() []Message {
			return o.SiteValueEntities(testSite, topic.SiteEnergyTotals, "total_solar_generation", SiteScalar)
		},
		"site_wall_connector_power": func() []Message {
			return o.WallConnectorEntities(testSite, "1457768-02-G--PGT23123000987", "wall_connector_power")
		},
		// A bare vehicle: no model or firmware yet, name from the VIN.
		"vehicle_bare": func() []Message {
			return o.VehicleEntities(Vehicle{VIN: v.VIN, Name: DeviceName("", "", v.VIN)})[:1]
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			type golden struct {
				Topic   string          `json:"topic"`
				Payload json.RawMessage `json:"payload"`
			}
			var out []golden
			for _, m := range build() {
				if !json.Valid(m.Payload) {
					t.Fatalf("%s: invalid JSON", m.Topic)
				}
				out = append(out, golden{m.Topic, m.Payload})
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, buf.Bytes())
			}
		})
	}
}

// TestDeterministic checks that the same input gives byte-identical payloads.
func TestDeterministic(t *testing.T) {
	a := vehicleEntities(testOptions, testVehicle)
	b := vehicleEntities(testOptions, testVehicle)
	if len(a) != len(b) {
		t.Fatal("different entity counts")
	}
	for i := range a {
		if a[i].Topic != b[i].Topic || !bytes.Equal(a[i].Payload, b[i].Payload) {
			t.Errorf("%s: not deterministic", a[i].Topic)
		}
	}
}
