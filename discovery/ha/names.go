package ha

import (
	"strings"
	"unicode"
)

// DeviceName picks the Home Assistant device name of a vehicle
// (README, "Home Assistant"):
// the configured name, else the car's VehicleName, else "Tesla " + the last
// six characters of the VIN.
func DeviceName(configured, vehicleName, vin string) string {
	if s := strings.TrimSpace(configured); s != "" {
		return s
	}
	if s := strings.TrimSpace(vehicleName); s != "" && s != "null" {
		return s
	}
	vin = strings.TrimSpace(vin)
	if len(vin) > 6 {
		vin = vin[len(vin)-6:]
	}
	return strings.TrimSpace("Tesla " + vin)
}

var modelNames = map[string]string{
	"ModelS":     "Model S",
	"ModelX":     "Model X",
	"Model3":     "Model 3",
	"ModelY":     "Model Y",
	"SemiTruck":  "Semi",
	"Cybertruck": "Cybertruck",
}

// ModelName turns a CarType option ("Model3", also the wire form
// "CarTypeModel3") into the device model shown in Home Assistant ("Model 3").
// Unknown or empty types give "".
func ModelName(carTypeOption string) string {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(carTypeOption), "CarType"))
	switch s {
	case "", "Unknown", "null":
		return ""
	}
	if m, ok := modelNames[s]; ok {
		return m
	}
	if rest, ok := strings.CutPrefix(s, "Model"); ok && rest != "" && rest[0] != ' ' {
		return "Model " + rest
	}
	return s
}

// SoftwareVersion keeps the firmware version of a Version value and drops the
// build hash: "2026.26.6 3c0a1d2b9e7f" → "2026.26.6".
func SoftwareVersion(version string) string {
	s := strings.TrimSpace(version)
	if s == "null" {
		return ""
	}
	s, _, _ = strings.Cut(s, " ")
	return s
}

// fold transliterates common accented Latin letters for slugs.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ą': "a", 'æ': "ae",
	'ç': "c", 'č': "c", 'ć': "c", 'ď': "d", 'ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ě': "e", 'ę': "e", 'ē': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ő': "o", 'œ': "oe",
	'ř': "r", 'ś': "s", 'š': "s", 'ß': "ss", 'ť': "t", 'þ': "th",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ů': "u", 'ű': "u",
	'ý': "y", 'ÿ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
}

// slug makes the entity-id form of a device name, like Home Assistant's
// slugify: lower case, common accents folded, every other run of
// non-alphanumerics one "_", no leading or trailing "_". "Sparky" → "sparky",
// "Tesla 123456" → "tesla_123456".
func slug(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for _, r := range strings.ToLower(name) {
		var part string
		switch {
		case r < unicode.MaxASCII && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			part = string(r)
		case fold[r] != "":
			part = fold[r]
		default:
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteString(part)
	}
	return b.String()
}
