package bridge

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

// benchEvents returns n Teslemetry data events for nVINs cars, five fields
// each (the bench workload: a number carrying a timestamp, a number, a
// location, an enum and a number), every value different from the previous
// value of its topic, also across the wrap-around from the last event to the first.
func benchEvents(nVINs, n int) [][]byte {
	out := make([][]byte, n)
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range out {
		vin := fmt.Sprintf("5YJ3E7EB%09d", i%nVINs)
		k := i / nVINs // per-VIN event number: n/nVINs distinct values per topic, n/nVINs even
		ts := base.Add(time.Duration(i) * time.Millisecond)
		gear := "ShiftStateD"
		if k%2 == 1 {
			gear = "ShiftStateR"
		}
		out[i] = fmt.Appendf(nil, `{"createdAt":%q,"vin":%q,"data":{"Odometer":%d,"VehicleSpeed":%s,"Location":{"latitude":%.6f,"longitude":%.6f},"Gear":%q,"InsideTemp":%s}}`,
			ts.Format("2006-01-02T15:04:05.000Z"), vin, ts.UnixMicro(),
			strconv.FormatFloat(float64(k%997)/10+0.5, 'f', -1, 64),
			-27.469771+float64(k)*1e-6, 153.025124-float64(k)*1e-6, gear,
			strconv.FormatFloat(20+float64(k%100)/10+0.05, 'f', -1, 64))
	}
	return out
}

// newBenchBridge returns a bridge that is not connected to any broker: every
// value is decoded, formatted, routed to its topic and recorded in the
// publisher's last-value cache, but nothing is sent.
func newBenchBridge(b *testing.B, discovery bool) *Bridge {
	yml := fmt.Sprintf("teslemetry:\n  token: t\n  url: http://127.0.0.1:1\nmqtt:\n  url: tcp://127.0.0.1:1\nhomeassistant:\n  discovery: %t\n", discovery)
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	br, err := New(Options{Config: cfg, Version: "bench", Logger: log, Metrics: NewMetrics()})
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// BenchmarkDecodeRoute is the bridge's per-value work without MQTT: SSE event
// data → Parse → per value: catalog lookup, payload formatting, topic
// routing, change detection in the last-value cache. One op is one event of
// five values; values/s and allocs/value are reported.
func BenchmarkDecodeRoute(b *testing.B) {
	for _, c := range []struct {
		name      string
		vins      int
		discovery bool
	}{{"10VINs", 10, false}, {"10VINs_discovery", 10, true}, {"1000VINs", 1000, false}} {
		b.Run(c.name, func(b *testing.B) {
			benchHandle(b, newBenchBridge(b, c.discovery), benchEvents(c.vins, 4000), 5)
		})
	}
}

// benchHandle feeds events (of perEvent values each) to br.handleData, after
// a warm-up pass in which every VIN and topic is seen once, and reports
// values/s, allocs/value and ns/value.
func benchHandle(b *testing.B, br *Bridge, events [][]byte, perEvent int) {
	for _, ev := range events {
		br.handleData(nil, ev)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		br.handleData(nil, events[i%len(events)])
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	values := float64(b.N * perEvent)
	b.ReportMetric(values/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/values, "allocs/value")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/values, "ns/value")
}
