package bridge

import (
	"fmt"
	"testing"
)

// BenchmarkHandleDerivedInputs is BenchmarkDecodeRoute for events made only
// of inputs of the derived charger power, the path that does extra work: one
// op is one event of three values, with a charging session ending every tenth
// event.
func BenchmarkHandleDerivedInputs(b *testing.B) {
	events := make([][]byte, 1000)
	for i := range events {
		state := "DetailedChargeStateCharging"
		if i%10 == 9 {
			state = "DetailedChargeStateComplete"
		}
		events[i] = fmt.Appendf(nil, `{"vin":"5YJ3E7EB%09d","data":{"ACChargingPower":%d.5,"DCChargingPower":0,"DetailedChargeState":%q}}`,
			i%10, i%50, state)
	}
	benchHandle(b, newBenchBridge(b, true), events, 3)
}
