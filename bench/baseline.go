package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The raw-paho baseline runs as a child process (the bench binary re-executed
// with --child baseline) so that its CPU time and peak RSS are measured from
// /proc exactly like the bridge's. It publishes the very messages the bridge
// publishes for the workload — same topics, same payload bytes, QoS 1,
// retained — with paho.mqtt.golang's defaults (its own TCP connection, one
// write per publish), fully pipelined: it never waits for an acknowledgement
// before the next publish, except that it keeps at most `window` tokens
// outstanding because paho has only 65,535 message ids.
//
// Protocol on stdin/stdout: the child connects, publishes one warm-up value
// per topic, waits for those acknowledgements and prints "ready"; on a line
// "go" it publishes; when every token has completed it prints
// "done <unix ns of the last acknowledgement> <errors>" and exits at stdin EOF.
func baselineChild(args []string) {
	fs := flag.NewFlagSet("baseline", flag.ExitOnError)
	broker := fs.String("broker", "", "broker URL")
	nVINs := fs.Int("vins", 10, "VINs")
	nValues := fs.Int("values", 200000, "values to publish")
	rate := fs.Float64("rate", 0, "values per second (0: as fast as possible)")
	window := fs.Int("window", 20000, "tokens outstanding at most")
	_ = fs.Parse(args)

	o := paho.NewClientOptions().AddBroker(*broker).SetClientID(fmt.Sprintf("paho-baseline-%d", os.Getpid()))
	c := paho.NewClient(o)
	if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		fmt.Fprintln(os.Stderr, "baseline: connect failed:", t.Error())
		os.Exit(1)
	}
	topics := make([][fieldsPerEvent]string, *nVINs)
	for v := range topics {
		for f, name := range eventFields {
			topics[v][f] = baseTopic + "/" + vinOf(v) + "/v/" + name
		}
	}
	perVIN := make([]int, *nVINs)
	ring := make([]paho.Token, *window) // circular: head is the oldest, n outstanding
	head, n := 0, 0
	errs := 0
	var lastAck time.Time
	wait := func(t paho.Token) {
		if !t.WaitTimeout(60*time.Second) || t.Error() != nil {
			errs++
		}
		lastAck = time.Now()
	}
	publishEvent := func(v int) {
		k := perVIN[v]
		perVIN[v]++
		stamp := nowMicros()
		for f := range eventFields {
			if n == len(ring) {
				wait(ring[head])
				ring[head] = nil
				head = (head + 1) % len(ring)
				n--
			}
			ring[(head+n)%len(ring)] = c.Publish(topics[v][f], 1, true, payload(nil, f, k, stamp))
			n++
		}
	}
	for v := range topics { // warm-up: every topic once
		publishEvent(v)
	}
	drain := func() {
		for ; n > 0; n-- {
			wait(ring[head])
			ring[head] = nil
			head = (head + 1) % len(ring)
		}
	}
	drain()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		os.Exit(1)
	}
	nEvents := *nValues / fieldsPerEvent
	start := time.Now()
	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) * fieldsPerEvent / *rate)
	}
	for i := 0; i < nEvents; i++ {
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		publishEvent(i % *nVINs)
	}
	drain()
	fmt.Printf("done %d %d\n", lastAck.UnixNano(), errs)
	for in.Scan() {
	}
	c.Disconnect(100)
}
