package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Contract §8 "malformed JSON, unknown event kind, missing VIN, wrong value
// type → skip, count, log at most once a minute per kind; never crash, never
// stop the stream" and "event larger than 1 MiB → skip it, keep the stream",
// plus §4 "no generated topic ever contains + # an empty level or a NUL",
// through the built binary.
func TestFaultBadInputIsSkipped(t *testing.T) {
	mq := StartMosquitto(t, "")
	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.Subscribe(t, mq.URL(), "#")
	listen := freeAddr(t)
	br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: mq.URL(), HTTP: listen})
	battery := "teslemetry/" + vin1 + "/v/BatteryLevel"
	sub.WaitFor(battery, "71.4", 15*time.Second)

	marker := 0
	next := func(what string) {
		t.Helper()
		marker++
		tesla.Send(batteryEvent(vin1, marker))
		sub.WaitFor(battery, strconv.Itoa(marker), 10*time.Second)
		if !br.alive() {
			t.Fatalf("the bridge exited after %s:\n%s", what, br.Output())
		}
	}
	v := func(s string) string { return strings.ReplaceAll(s, "VIN", vin1) }
	huge := func(n int) string {
		return v(`{"vin":"VIN","data":{"MediaNowPlayingTitle":"`) + strings.Repeat("x", n) + `"}}`
	}
	cases := []struct {
		name, data string
	}{
		{"invalid JSON", `not json at all {`},
		{"truncated JSON", v(`{"vin":"VIN","data":{"BatteryLevel":1}`)},
		{"a JSON array", `[1,2,3]`},
		{"a number", `42`},
		{"a string", `"vin"`},
		{"null", `null`},
		{"missing VIN", `{"data":{"BatteryLevel":1}}`},
		{"VIN not a string", `{"vin":17,"data":{"BatteryLevel":1}}`},
		{"hostile VIN", `{"vin":"../#+","data":{"BatteryLevel":1}}`},
		{"VIN with a wildcard", `{"vin":"5YJ3E7EB9NF12345#","data":{"BatteryLevel":1}}`},
		{"VIN with a slash", `{"vin":"5YJ3E7EB9/F123456","state":"online"}`},
		{"lower-case VIN", `{"vin":"5yj3e7eb9nf123456","data":{"BatteryLevel":1}}`},
		{"empty VIN", `{"vin":"","data":{"BatteryLevel":1}}`},
		{"unknown event kind", v(`{"vin":"VIN","foo":{"bar":1}}`)},
		{"data not an object", v(`{"vin":"VIN","data":[1,2]}`)},
		{"wrong value types", v(`{"vin":"VIN","data":{"BatteryLevel":"abc","Locked":5,"Location":"here","Gear":12,"DoorState":[1]}}`)},
		{"deeply nested value", v(`{"vin":"VIN","data":{"BatteryLevel":`) + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}}`},
		{"state not a string", v(`{"vin":"VIN","state":{"x":1}}`)},
		{"alerts of the wrong shape", v(`{"vin":"VIN","alerts":[{"nope":1},"x"]}`)},
		{"event just under 1 MiB", huge(1<<20 - 200)},
	}
	for _, c := range cases {
		tesla.Send(c.data)
		next(c.name)
	}
	if got, _ := sub.Get("teslemetry/" + vin1 + "/v/MediaNowPlayingTitle"); len(got) < 1<<20-300 {
		t.Errorf("the event just under 1 MiB was not published (%d bytes)", len(got))
	}

	// Field names that are not topic segments are sanitised, not dropped.
	tesla.Send(v(`{"vin":"VIN","data":{"Foo/Bar":1,"A+B":2,"C#":3,"":4,"\u0000x":5,"x/+/#/":6,"Bätt":7}}`))
	next("hostile field names")
	for topic, want := range map[string]string{"Foo_Bar": "1", "A_B": "2", "C_": "3", "_": "4", "_x": "5", "x_____": "6", "B__tt": "7"} {
		sub.WaitFor("teslemetry/"+vin1+"/v/"+topic, want, 5*time.Second)
	}

	// Raw SSE: an event over 1 MiB (skipped, the stream goes on) and an empty data line.
	tesla.SendRaw("data: " + huge(2<<20) + "\n\n")
	next("a 2 MiB event")
	tesla.SendRaw("data:\n\n")
	next("an empty data: line")
	tesla.SendRaw("data: \n\n")
	next("a data: line with a space")
	tesla.SendRaw(": just a comment\nevent: nothing\n\n")
	next("a comment and an event name")
	if n := tesla.Requests(); n != 1 {
		t.Errorf("%d stream requests: bad input must not cost the connection", n)
	}

	// An event larger than the read buffer breaks the connection: the stream
	// is reopened and goes on.
	tesla.SendRaw("data: " + huge(5<<20) + "\n\n")
	tesla.WaitRequests(t, 2, 15*time.Second)
	tesla.WaitConnections(t, 1, 10*time.Second)
	next("a 5 MiB event")

	m := scrape(t, listen)
	var dropped []string
	for k, val := range m {
		if strings.HasPrefix(k, "teslemetry2mqtt_dropped_total") {
			dropped = append(dropped, fmt.Sprintf("%s=%v", strings.TrimPrefix(k, "teslemetry2mqtt_dropped_total"), val))
		}
	}
	t.Logf("/metrics dropped: %s", strings.Join(dropped, " "))
	for reason, least := range map[string]float64{
		"bad_json": 6, "bad_vin": 7, "wrong_type": 4, "bad_data": 1, "unknown_event": 1,
		"too_large": 2, "empty": 1, "bad_state": 1, "bad_alert": 1,
	} {
		if got := m[`teslemetry2mqtt_dropped_total{reason="`+reason+`"}`]; got < least {
			t.Errorf("dropped_total{reason=%q} = %v, want ≥ %v", reason, got, least)
		}
	}
	// Logged at most once a minute per kind.
	if n := br.lines("level=warning", "reason=bad_json"); n != 1 {
		t.Errorf("%d warnings for bad_json, want 1 (once a minute)", n)
	}

	// No generated topic is malformed; only real VINs (and the sample's
	// energy site) got topics.
	topics := sub.Latest()
	for topic := range topics {
		if !owned(topic) {
			continue
		}
		if why := badTopic(topic); why != "" {
			t.Errorf("topic %q %s", topic, why)
		}
		if strings.HasPrefix(topic, "teslemetry/") {
			if seg := strings.Split(topic, "/")[1]; seg != "bridge" && seg != "site" && seg != vin1 && seg != vin2 {
				t.Errorf("topic %q for a VIN that is not one", topic)
			}
		}
	}
	t.Logf("%d bad inputs skipped, %d topics checked, process alive, 2 stream requests", len(cases)+7, len(topics))
	if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
		t.Errorf("exit %d after %v", code, d)
	}
}
