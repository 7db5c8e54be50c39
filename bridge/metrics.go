package bridge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the bridge's Prometheus metrics, in a registry of their own.
type Metrics struct {
	Registry      *prometheus.Registry
	Events        *prometheus.CounterVec // by kind
	Values        prometheus.Counter
	Publishes     prometheus.Counter
	PublishErrors *prometheus.CounterVec // by reason
	Dropped       *prometheus.CounterVec // by reason
	Reconnects    *prometheus.CounterVec // by stream
	StreamUp      *prometheus.GaugeVec   // by stream
	LastEvent     *prometheus.GaugeVec   // unix seconds, by VIN
	MQTTConnected prometheus.Gauge
	// StaleDiscoveryRemoved counts the retained discovery configs of this
	// bridge that this version never publishes, deleted after a connect.
	StaleDiscoveryRemoved prometheus.Counter
	// SetAside counts MQTT messages not sent because the broker refused
	// them (closed the connection right after each); TooLarge counts
	// payloads above mqtt.max_payload, skipped. See docs/failures.md.
	SetAside prometheus.Counter
	TooLarge prometheus.Counter
	// Commands counts command results by control ("raw" for raw commands)
	// and outcome (docs/commands.md).
	Commands *prometheus.CounterVec
	// CommandDuration is the time from a command message's receipt to its
	// result, for commands that reached Teslemetry.
	CommandDuration prometheus.Histogram
	// CommandDispatch is the time from a command message's receipt to its
	// first request written to Teslemetry: the command's time in the bridge.
	CommandDispatch prometheus.Histogram
}

// NewMetrics creates and registers the bridge's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_events_total", Help: "Events received, by kind.",
		}, []string{"kind"}),
		Values: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_values_total", Help: "Telemetry values decoded.",
		}),
		Publishes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_publishes_total", Help: "MQTT publishes acknowledged.",
		}),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_publish_errors_total", Help: "MQTT publishes that failed, by reason.",
		}, []string{"reason"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_dropped_total", Help: "Inputs skipped, by reason.",
		}, []string{"reason"}),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_stream_reconnects_total", Help: "Stream reconnects, by stream path.",
		}, []string{"stream"}),
		StreamUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "teslemetry2mqtt_stream_up", Help: "1 while the stream is connected.",
		}, []string{"stream"}),
		LastEvent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "teslemetry2mqtt_last_event_timestamp_seconds", Help: "Unix time of the newest event, by VIN (age = time() - value).",
		}, []string{"vin"}),
		MQTTConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "teslemetry2mqtt_mqtt_connected", Help: "1 while the MQTT connection is up.",
		}),
		StaleDiscoveryRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_stale_discovery_removed_total",
			Help: "Retained Home Assistant discovery configs of this bridge that this version no longer publishes, deleted.",
		}),
		SetAside: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_mqtt_messages_set_aside_total",
			Help: "MQTT messages not sent because the broker refused them (it closed the connection right after each).",
		}),
		TooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_mqtt_payload_too_large_total",
			Help: "MQTT payloads larger than mqtt.max_payload, skipped.",
		}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teslemetry2mqtt_commands_total", Help: "Command results, by control and outcome.",
		}, []string{"control", "outcome"}),
		CommandDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "teslemetry2mqtt_command_duration_seconds", Help: "Receipt to result of commands sent to Teslemetry (wake included).",
			Buckets: []float64{0.25, 0.5, 1, 2, 4, 8, 15, 30, 45, 60},
		}),
		CommandDispatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "teslemetry2mqtt_command_dispatch_seconds",
			Help:    "Receipt of a command message to its first request written to Teslemetry (time spent in the bridge, waiting behind earlier commands included).",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10, 60},
		}),
	}
	m.Registry.MustRegister(m.SetAside, m.TooLarge)
	m.Registry.MustRegister(m.Events, m.Values, m.Publishes, m.PublishErrors, m.Dropped,
		m.Reconnects, m.StreamUp, m.LastEvent, m.MQTTConnected, m.StaleDiscoveryRemoved, m.Commands, m.CommandDuration, m.CommandDispatch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
