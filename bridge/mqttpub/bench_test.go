package mqttpub_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/broker"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/mqttpub"
)

// BenchmarkPublishPipelined publishes changing values on 1000 topics through
// the window to the embedded broker; every publish is acknowledged before the
// benchmark ends.
func BenchmarkPublishPipelined(b *testing.B) {
	br, err := broker.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	p := mqttpub.New(mqttpub.Options{URL: br.URL(), ClientID: "bench", QoS: 1, Retain: true, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !p.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	topics := make([][]byte, 1000)
	for i := range topics {
		topics[i] = []byte("bench/v/" + strconv.Itoa(i))
	}
	payload := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	p.Hold()
	for i := 0; i < b.N; i++ {
		payload = strconv.AppendInt(payload[:0], int64(i), 10)
		p.PublishTopic(mqttpub.Value, topics[i%len(topics)], payload)
	}
	p.Release()
	if !p.Flush(30 * time.Second) {
		b.Fatal("not acknowledged")
	}
}

// BenchmarkPublishDisconnected is the cache path alone: changing values on
// 1000 topics recorded while no broker is connected.
func BenchmarkPublishDisconnected(b *testing.B) {
	p := mqttpub.New(mqttpub.Options{URL: "tcp://127.0.0.1:1", Logger: quietLogger()})
	topics := make([][]byte, 1000)
	for i := range topics {
		topics[i] = []byte("bench/v/" + strconv.Itoa(i))
	}
	payload := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		payload = strconv.AppendInt(payload[:0], int64(i), 10)
		p.PublishTopic(mqttpub.Value, topics[i%len(topics)], payload)
	}
}
