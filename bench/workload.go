package main

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
)

// The workload: every event carries five fields of one VIN, VINs take turns,
// and every value differs from the previous value of its topic, so nothing is
// deduplicated. Odometer carries the send time in microseconds since the Unix
// epoch (an integer well inside float64's exact range), which the subscriber
// turns into a latency sample.
//
//	Odometer      send time, µs      → 1764100000123456
//	VehicleSpeed  number             → 63.2
//	Location      {latitude,longitude}
//	Gear          ShiftStateD / R    → D / R
//	InsideTemp    number             → 21.5
const fieldsPerEvent = 5

var eventFields = [fieldsPerEvent]string{"Odometer", "VehicleSpeed", "Location", "Gear", "InsideTemp"}

const baseTopic = "teslemetry"

// vinOf returns a valid, distinct VIN for index i.
func vinOf(i int) string { return fmt.Sprintf("5YJ3E7EB%09d", i) }

// nowMicros is the send timestamp carried in Odometer. It never repeats, so
// that two events of one VIN formatted within the same microsecond still
// differ (an unchanged value would rightly not be republished).
func nowMicros() int64 {
	for {
		t, last := time.Now().UnixMicro(), lastStamp.Load()
		if t <= last {
			t = last + 1
		}
		if lastStamp.CompareAndSwap(last, t) {
			return t
		}
	}
}

var lastStamp atomic.Int64

// wireValue appends the JSON value of field f for the k-th event of a VIN.
func wireValue(dst []byte, f int, k int, stamp int64) []byte {
	switch f {
	case 0:
		return strconv.AppendInt(dst, stamp, 10)
	case 1:
		return strconv.AppendFloat(dst, float64(k%997)/10+0.5, 'f', -1, 64)
	case 2:
		dst = append(dst, `{"latitude":`...)
		dst = strconv.AppendFloat(dst, -27.469771+float64(k%100000)*1e-6, 'f', 6, 64)
		dst = append(dst, `,"longitude":`...)
		dst = strconv.AppendFloat(dst, 153.025124-float64(k%100000)*1e-6, 'f', 6, 64)
		return append(dst, '}')
	case 3:
		if k%2 == 0 {
			return append(dst, `"ShiftStateD"`...)
		}
		return append(dst, `"ShiftStateR"`...)
	default:
		return strconv.AppendFloat(dst, 20+float64(k%100)/10+0.05, 'f', -1, 64)
	}
}

// payload appends what the bridge publishes for the same value (docs/payloads.md);
// the raw-paho baseline publishes exactly these bytes.
func payload(dst []byte, f int, k int, stamp int64) []byte {
	switch f {
	case 2:
		// Same digits as the wire: the bridge re-formats the parsed float in shortest form.
		dst = append(dst, `{"latitude":`...)
		lat, _ := strconv.ParseFloat(strconv.FormatFloat(-27.469771+float64(k%100000)*1e-6, 'f', 6, 64), 64)
		lon, _ := strconv.ParseFloat(strconv.FormatFloat(153.025124-float64(k%100000)*1e-6, 'f', 6, 64), 64)
		dst = strconv.AppendFloat(dst, lat, 'f', -1, 64)
		dst = append(dst, `,"longitude":`...)
		dst = strconv.AppendFloat(dst, lon, 'f', -1, 64)
		return append(dst, '}')
	case 3:
		if k%2 == 0 {
			return append(dst, 'D')
		}
		return append(dst, 'R')
	default: // numbers: published as sent
		return wireValue(dst, f, k, stamp)
	}
}

// appendEvent appends one Teslemetry SSE event (data line + blank line) for
// the k-th event of vin with the given fields (indexes into eventFields, or,
// with wide set, into wideFields).
func appendEvent(dst []byte, vin string, k int, stamp int64, wide bool) []byte {
	dst = append(dst, `data: {"createdAt":"`...)
	dst = time.UnixMicro(stamp).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, `","vin":"`...)
	dst = append(dst, vin...)
	dst = append(dst, `","data":{`...)
	if wide {
		for i, name := range wideFields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, name...)
			dst = append(dst, `":`...)
			if name == "Odometer" {
				dst = strconv.AppendInt(dst, stamp, 10)
			} else {
				dst = strconv.AppendFloat(dst, float64((k+i)%1000)/4, 'f', -1, 64)
			}
		}
	} else {
		for f, name := range eventFields {
			if f > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, name...)
			dst = append(dst, `":`...)
			dst = wireValue(dst, f, k, stamp)
		}
	}
	return append(dst, "}}\n\n"...)
}

// wideFields are 60 numeric catalog fields (Odometer first) for the
// last-value-cache scenario: 1,000 VINs × 60 fields.
var wideFields = func() []string {
	out := []string{"Odometer"}
	for _, f := range catalog.All() {
		if len(out) == 60 {
			break
		}
		if f.Name == "Odometer" || f.IsPlaceholder() || (f.Kind != catalog.KindFloat && f.Kind != catalog.KindInt) {
			continue
		}
		out = append(out, f.Name)
	}
	return out
}()
