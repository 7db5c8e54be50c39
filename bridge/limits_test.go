package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCapSetAdmitsUpToTheCapOnly(t *testing.T) {
	var c capSet
	for i := range MaxInterfaces {
		if ok, _ := c.admit(limitInterface, "if"+strconv.Itoa(i)); !ok {
			t.Fatalf("interface %d refused below the cap", i)
		}
	}
	ok, first := c.admit(limitInterface, "one-too-many")
	if ok || !first {
		t.Fatalf("over the cap: ok %v first %v, want false true", ok, first)
	}
	if ok, first := c.admit(limitInterface, "another"); ok || first {
		t.Fatalf("second refusal: ok %v first %v, want false false", ok, first)
	}
	if ok, _ := c.admit(limitInterface, "if3"); !ok {
		t.Fatal("an admitted name was refused later")
	}
	if ok, _ := c.admit(limitAlert, "if-other-kind"); !ok {
		t.Fatal("kinds share a cap")
	}
	if n := len(c.seen[limitInterface]); n != MaxInterfaces {
		t.Fatalf("%d names remembered, want %d (memory bounded)", n, MaxInterfaces)
	}
}

func TestBelievableClampsFutureTimes(t *testing.T) {
	now := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		want time.Time
		ok   bool
	}{
		{now.Add(-time.Hour), now.Add(-time.Hour), true},
		{now.Add(30 * time.Second), now.Add(30 * time.Second), true},
		{now.Add(MaxClockSkew + time.Second), now, false},
		{now.AddDate(10, 0, 0), now, false},
	} {
		got, ok := believable(tc.in, now)
		if !got.Equal(tc.want) || ok != tc.ok {
			t.Errorf("believable(%v) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// The router applies the caps: past MaxUnknownFields a car's new unknown
// names publish nothing (neither value nor discovery); catalog fields go on.
func TestRouterCapsUnknownFields(t *testing.T) {
	r, rec := testRouter(t, true)
	const vin = "5YJ3E7EB9NF123456"
	var b strings.Builder
	b.WriteString(`{"vin":"` + vin + `","data":{`)
	for i := range MaxUnknownFields + 50 {
		fmt.Fprintf(&b, `"Future%d":%d,`, i, i)
	}
	b.WriteString(`"BatteryLevel":80}}`)
	r.route(nil, parse(t, b.String()))
	values := 0
	for _, m := range rec.msgs {
		if strings.HasPrefix(m.topic, "teslemetry/"+vin+"/v/Future") {
			values++
		}
	}
	if values != MaxUnknownFields {
		t.Errorf("%d unknown-field values published, want %d", values, MaxUnknownFields)
	}
	if _, ok := rec.last("teslemetry/" + vin + "/v/Future" + strconv.Itoa(MaxUnknownFields)); ok {
		t.Error("a name past the cap was published")
	}
	if p, _ := rec.last("teslemetry/" + vin + "/v/BatteryLevel"); p != "80" {
		t.Errorf("BatteryLevel %q after the cap, want 80", p)
	}
	// An admitted name keeps updating.
	r.route(nil, parse(t, `{"vin":"`+vin+`","data":{"Future0":42}}`))
	if p, _ := rec.last("teslemetry/" + vin + "/v/Future0"); p != "42" {
		t.Errorf("Future0 = %q, want 42", p)
	}
}

// A createdAt far ahead of the clock does not pin last_seen; a webhook
// event for a VIN outside teslemetry.vins creates nothing.
func TestRouterClockAndVINFilter(t *testing.T) {
	r, rec := testRouter(t, false)
	const vin = "5YJ3E7EB9NF123456"
	r.route(nil, parse(t, `{"createdAt":"2099-01-01T00:00:00Z","vin":"`+vin+`","data":{"BatteryLevel":1}}`))
	if p, _ := rec.last("teslemetry/" + vin + "/last_seen"); p != "2026-12-04T06:00:00Z" {
		t.Errorf("last_seen %q after a createdAt in 2099, want the time of arrival", p)
	}
	r.route(nil, parse(t, `{"createdAt":"2026-12-04T06:00:30Z","vin":"`+vin+`","data":{"BatteryLevel":2}}`))
	if p, _ := rec.last("teslemetry/" + vin + "/last_seen"); p != "2026-12-04T06:00:30Z" {
		t.Errorf("last_seen %q, want a createdAt within the skew believed", p)
	}

	r.cfg.Teslemetry.VINs = []string{vin}
	const other = "7SAYGDEE1PA098765"
	r.route(nil, parse(t, `{"vin":"`+other+`","data":{"BatteryLevel":3}}`))
	for _, m := range rec.msgs {
		if strings.Contains(m.topic, other) {
			t.Fatalf("published %s for a VIN outside teslemetry.vins", m.topic)
		}
	}
}
