package bridge

import (
	"fmt"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/status"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

func testBoard() (*statusBoard, *recorder) {
	rec := &recorder{}
	now := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	return newStatusBoard(rec, topic.New("teslemetry", "homeassistant"), func() time.Time { return now }), rec
}

// The board passes everything on and keeps exactly what the page shows.
func TestStatusBoardKeepsShownTopics(t *testing.T) {
	s, rec := testBoard()
	const vin = "5YJ3E7EB9NF123456"
	tp := topic.New("teslemetry", "homeassistant")
	other := topic.New("teslemetry_garage", "homeassistant")
	msgs := map[string]string{
		tp.Value(vin, "BatteryLevel"):                        "71",
		tp.Value(vin, "Gear"):                                "D",
		tp.Vehicle(vin, topic.LevelDerived, "charger_power"): "7.2",
		tp.Vehicle(vin, topic.LevelConnectivity, "wifi"):     "connected",
		tp.Vehicle(vin, topic.CommandResult):                 `{"command":"door_lock","ok":true}`,
		tp.Vehicle(vin, topic.FieldsStatus):                  `{"ok":true}`,
		tp.Site("12345", "live_status", "solar_power"):       "3200",
		tp.Site("12345", "site_info", "site_name"):           "Home",
		tp.Site("12345", topic.Availability):                 "online",
		// not shown (the state is in the bridge's own Snapshot)
		tp.Vehicle(vin, topic.State):                           "asleep",
		tp.Vehicle(vin, topic.Config):                          `{"fields":{}}`,
		tp.Vehicle(vin, topic.VehicleData):                     `{"big":"document"}`,
		tp.Vehicle(vin, topic.LevelAlerts, "X"):                `{"name":"X"}`,
		tp.Site("12345", "tariff"):                             `{"tariff":1}`,
		tp.BridgeInfo():                                        `{}`,
		other.Value(vin, "BatteryLevel"):                       "99",
		"homeassistant/sensor/teslemetry_" + vin + "/x/config": "{}",
	}
	for t, p := range msgs {
		if t == tp.Value(vin, "BatteryLevel") {
			s.PublishTopic(mqttpub.Value, []byte(t), []byte(p))
		} else {
			s.Publish(mqttpub.Value, t, []byte(p))
		}
	}
	if len(rec.msgs) != len(msgs) {
		t.Fatalf("passed on %d of %d messages", len(rec.msgs), len(msgs))
	}
	snap := status.Snapshot{Vehicles: []status.Vehicle{{VIN: vin}}}
	s.fill(&snap, catalog.UnitsNative)
	v := snap.Vehicles[0]
	var got []string
	for _, f := range v.Fields {
		got = append(got, f.Name+"="+string(f.Value)+" "+f.Unit)
	}
	want := []string{"BatteryLevel=71 %", "Gear=\"D\" ", "connectivity/wifi=\"connected\" ", "derived/charger_power=7.2 kW"}
	if len(got) != len(want) {
		t.Fatalf("fields %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if v.State != "" || string(v.LastCommand) != `{"command":"door_lock","ok":true}` || string(v.FieldsStatus) != `{"ok":true}` {
		t.Errorf("state %q (the bridge's Snapshot has it), last command %s, fields status %s", v.State, v.LastCommand, v.FieldsStatus)
	}
	if len(snap.Sites) != 1 {
		t.Fatalf("sites %+v", snap.Sites)
	}
	site := snap.Sites[0]
	if site.ID != "12345" || site.Name != "Home" || site.Availability != "online" || len(site.Values) != 2 {
		t.Errorf("site %+v", site)
	}
	if f := site.Values[0]; f.Name != "live_status/solar_power" || f.Unit != "W" || string(f.Value) != "3200" {
		t.Errorf("site value %+v", f)
	}
	for key, want := range map[string]string{
		"live_status/battery_power": "W", "wall_connectors/PGT123/wall_connector_power": "W",
		"live_status/percentage_charged": "%", "site_info/backup_reserve_percent": "%",
		"live_status/energy_left": "Wh", "energy_totals/solar_energy_exported": "Wh",
		"live_status/grid_status": "", "site_info/site_name": "",
	} {
		if got := siteUnit(key); got != want {
			t.Errorf("siteUnit(%s) = %q, want %q", key, got, want)
		}
	}
	if !v.Fields[0].UpdatedAt.Equal(time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("updated_at %v", v.Fields[0].UpdatedAt)
	}
}

// An unchanged value (the publisher says so) keeps its time of change.
func TestStatusBoardKeepsTimeOfChange(t *testing.T) {
	rec := &unchanging{}
	clock := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	s := newStatusBoard(rec, topic.New("teslemetry", "homeassistant"), func() time.Time { return clock })
	const vin = "5YJ3E7EB9NF123456"
	tp := topic.New("teslemetry", "homeassistant").Value(vin, "BatteryLevel")
	rec.changed = true
	s.Publish(mqttpub.Value, tp, []byte("70"))
	clock = clock.Add(time.Minute)
	rec.changed = false
	s.Publish(mqttpub.Value, tp, []byte("70"))
	snap := status.Snapshot{Vehicles: []status.Vehicle{{VIN: vin}}}
	s.fill(&snap, catalog.UnitsNative)
	if f := snap.Vehicles[0].Fields[0]; f.UpdatedAt.Minute() != 0 {
		t.Errorf("an unchanged value moved its time of change to %v", f.UpdatedAt)
	}
}

type unchanging struct{ changed bool }

func (u *unchanging) Publish(mqttpub.Class, string, []byte) bool      { return u.changed }
func (u *unchanging) PublishTopic(mqttpub.Class, []byte, []byte) bool { return u.changed }

// The value hot path stays allocation-free: a changed value of a known topic
// costs a map lookup and a copy into the entry's buffer.
func TestStatusBoardDoesNotAllocate(t *testing.T) {
	s, _ := testBoard()
	s.next = &unchanging{changed: true}
	tp := topic.New("teslemetry", "homeassistant")
	const vin = "5YJ3E7EB9NF123456"
	value := []byte(tp.Value(vin, "VehicleSpeed"))
	state := tp.Vehicle(vin, topic.Availability)
	payload, online := []byte("42.5"), []byte("online")
	s.PublishTopic(mqttpub.Value, value, payload)
	s.Publish(mqttpub.Value, state, []byte("online"))
	_, stop := s.notif.Subscribe() // a page is open
	defer stop()
	if n := testing.AllocsPerRun(200, func() { s.PublishTopic(mqttpub.Value, value, payload) }); n != 0 {
		t.Errorf("a changed value allocates %v times", n)
	}
	if n := testing.AllocsPerRun(200, func() { s.Publish(mqttpub.Value, state, online) }); n != 0 {
		t.Errorf("a changed availability allocates %v times", n)
	}
}

// BenchmarkStatusSnapshot is the cost of one page snapshot of a large fleet
// (100 cars × 60 values); the "locked" part is how long publishes may wait
// for it.
func BenchmarkStatusSnapshot(b *testing.B) {
	b.Run("total", func(b *testing.B) { benchSnapshot(b, false) })
	b.Run("locked", func(b *testing.B) { benchSnapshot(b, true) })
}

func benchSnapshot(b *testing.B, lockedOnly bool) {
	s, _ := testBoard()
	tp := topic.New("teslemetry", "homeassistant")
	snap := status.Snapshot{}
	for c := range 100 {
		vin := fmt.Sprintf("5YJ3E7EB9NF%06d", c)
		snap.Vehicles = append(snap.Vehicles, status.Vehicle{VIN: vin})
		for f := range 60 {
			s.Publish(mqttpub.Value, tp.Value(vin, fmt.Sprintf("Field%02d", f)), []byte("123.456"))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		cp := snap
		cp.Vehicles = append([]status.Vehicle(nil), snap.Vehicles...)
		if lockedOnly {
			s.copyEntries(&cp)
			continue
		}
		s.fill(&cp, catalog.UnitsNative)
	}
}
