package ha

import (
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/catalog"
	"github.com/teslemetry2mqtt/teslemetry2mqtt/discovery/topic"
)

// StreamingConfigObject is the object id of the "Streaming config" sensor.
const StreamingConfigObject = "streaming_config"

// streamingConfigStates are the states of the "Streaming config" sensor.
var streamingConfigStates = []string{"ok", "pending", "error"}

// FieldsStatusEntity returns the diagnostic sensor "Streaming config" of a
// car: the outcome of applying teslemetry.fields to the car's streaming
// config (docs/fields.md), read from <base>/<VIN>/fields_status — ok,
// pending (the car has not confirmed it yet) or error, with the changed and
// ignored fields, the error and the time as attributes. It depends only on
// the bridge being connected, not on the car's stream.
func (o Options) FieldsStatusEntity(v Vehicle) Message {
	st := o.vehicleTopic(v, topic.FieldsStatus)
	c := config{Name: "Streaming config", DeviceClass: "enum", Options: streamingConfigStates,
		EntityCategory: "diagnostic", EnabledByDefault: true, Icon: "mdi:playlist-check",
		StateTopic:             st,
		ValueTemplate:          "{{ 'error' if not value_json.ok else ('pending' if value_json.pending else 'ok') }}",
		JSONAttributesTopic:    st,
		JSONAttributesTemplate: "{{ {'changed': value_json.changed, 'ignored': value_json.ignored, 'error': value_json.error, 'at': value_json.at} | tojson }}",
	}
	return o.vehicleMessage(v, catalog.ComponentSensor, StreamingConfigObject, c, []availability{{o.Topics.BridgeState()}})
}
