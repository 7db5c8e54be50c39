package catalog

import "strings"

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Snake turns an object id into snake_case for entity ids:
// "BatteryLevel" → "battery_level", "ACChargingPower" → "ac_charging_power",
// "DoorState_DriverFront" → "door_state_driver_front". Anything but ASCII
// letters and digits separates words; the result has no leading, trailing or
// doubled underscores.
func Snake(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	pending := false // a word break is due before the next letter or digit
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) {
			pending = true
			continue
		}
		if i > 0 && isUpper(c) {
			prev := s[i-1]
			next := byte(0)
			if i+1 < len(s) {
				next = s[i+1]
			}
			if isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(next)) {
				pending = true
			}
		}
		if pending && b.Len() > 0 {
			b.WriteByte('_')
		}
		pending = false
		if isUpper(c) {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
