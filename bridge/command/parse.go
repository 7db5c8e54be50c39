package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxPayload bounds a set/ payload and a raw command's JSON body.
const MaxPayload = 16 << 10

// Request is one accepted message, ready for the Executor.
type Request struct {
	Target   Target
	ID       string // VIN or site id
	Control  string // control name; the command name for raw commands
	Raw      bool   // from <base>/<VIN>/command/<name>
	Endpoint Endpoint
	Command  string // Teslemetry command, site endpoint, or "wake_up"
	Body     any    // JSON body; nil for none
	// Skip, when set, means nothing needs sending: the state already is
	// what was asked (the result is ok with this reason).
	Skip string
	// Received is when the message reached the bridge (zero: when it was
	// submitted); commands.timeout and the result's duration count from it.
	Received time.Time
}

// State gives the payload the bridge last published for a field of the
// target (a telemetry field, "derived/windows", or a site_info key).
type State interface {
	Value(field string) ([]byte, bool)
}

// NoState knows nothing.
type NoState struct{}

// Value implements State.
func (NoState) Value(string) ([]byte, bool) { return nil, false }

// ParseOptions are the settings that change how payloads read.
type ParseOptions struct {
	Fahrenheit bool // temperatures arrive in °F (units: imperial)
}

// PayloadError is a payload that does not fit its control. Its text is the
// result's reason.
type PayloadError struct{ Reason string }

func (e *PayloadError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &PayloadError{Reason: "invalid_payload: " + fmt.Sprintf(format, args...)}
}

// quote shows at most 32 characters of a payload in a reason.
func quote(p string) string {
	if len(p) > 32 {
		cut := 32
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		p = p[:cut] + "…"
	}
	return strconv.Quote(p)
}

// Parse turns the payload of a set/<control> message into a request. A
// payload that does not fit returns a *PayloadError and nothing is sent.
func Parse(c *Control, id string, payload []byte, s State, o ParseOptions) (Request, error) {
	if s == nil {
		s = NoState{}
	}
	if len(payload) > MaxPayload {
		return Request{}, invalid("longer than %d bytes", MaxPayload)
	}
	if !utf8.Valid(payload) {
		return Request{}, invalid("not UTF-8 text")
	}
	p := strings.TrimSpace(string(payload))
	r := Request{Target: c.Target, ID: id, Control: c.Name, Endpoint: c.Endpoint, Command: c.Command}
	switch c.Input {
	case InputChoice:
		for _, ch := range c.Choices {
			if strings.EqualFold(p, ch.Payload) {
				return fromChoice(r, ch, s)
			}
		}
		return Request{}, invalid("%s: want %s", quote(p), strings.Join(c.Words(), " or "))
	case InputNumber:
		v, err := number(p, c.Min, c.Max, c.Step, c.Unit)
		if err != nil {
			return Request{}, err
		}
		r.Body = withExtra(c.Extra, c.Param, v)
		return r, nil
	case InputSelect:
		for i, opt := range c.Options {
			if strings.EqualFold(p, opt) {
				r.Body = withExtra(c.Extra, c.Param, c.Values[i])
				return r, nil
			}
		}
		return Request{}, invalid("%s: want one of %s", quote(p), strings.Join(c.Options, ", "))
	case InputTemperature:
		v, err := temperature(p, c.Min, c.Max, o.Fahrenheit)
		if err != nil {
			return Request{}, err
		}
		body := map[string]any{}
		for _, name := range c.Params {
			body[name] = v
		}
		r.Body = body
		return r, nil
	}
	return Request{}, fmt.Errorf("control %s: no input kind", c.Name)
}

func fromChoice(r Request, ch Choice, s State) (Request, error) {
	r.Command = ch.Action.Command
	if ch.SkipIf != nil && stateIs(s, *ch.SkipIf) {
		r.Skip = "already_set"
		return r, nil
	}
	var body map[string]any
	if len(ch.Action.Body) > 0 || ch.Action.Location {
		body = make(map[string]any, len(ch.Action.Body)+2)
		for k, v := range ch.Action.Body {
			body[k] = v
		}
	}
	if ch.Action.Location {
		lat, lon, ok := location(s)
		if !ok {
			return Request{}, &PayloadError{Reason: "location_unknown: the car's position has not been streamed yet"}
		}
		body["lat"], body["lon"] = lat, lon
	}
	if body != nil {
		r.Body = body
	}
	return r, nil
}

func withExtra(extra map[string]any, param string, v any) map[string]any {
	b := make(map[string]any, len(extra)+1)
	for k, x := range extra {
		b[k] = x
	}
	b[param] = v
	return b
}

// number reads a decimal number in [min, max]; step 1 wants a whole number
// (80 and 80.0 both read as 80).
func number(p string, lo, hi, step float64, unit string) (any, error) {
	f, err := strconv.ParseFloat(p, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(p, "xXpP_") {
		return nil, invalid("%s is not a number", quote(p))
	}
	if f < lo || f > hi {
		return nil, invalid("%s is outside %s..%s%s", quote(p), fmtNum(lo), fmtNum(hi), unitSuffix(unit))
	}
	if step == 1 {
		if f != math.Trunc(f) {
			return nil, invalid("%s is not a whole number", quote(p))
		}
		return int(f), nil
	}
	return f, nil
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// temperature reads a temperature in °C (or °F) and returns °C rounded to
// half a degree, within [lo, hi] °C.
func temperature(p string, lo, hi float64, fahrenheit bool) (float64, error) {
	f, err := strconv.ParseFloat(p, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(p, "xXpP_") {
		return 0, invalid("%s is not a temperature", quote(p))
	}
	unit, l, h := "°C", lo, hi
	if fahrenheit {
		unit, l, h = "°F", CToF(lo), CToF(hi)
		f = (f - 32) * 5 / 9
	}
	c := math.Round(f*2) / 2
	if c < lo || c > hi {
		return 0, invalid("%s is outside %s..%s %s", quote(p), fmtNum(l), fmtNum(h), unit)
	}
	return c, nil
}

// CToF converts °C to °F, rounded to a whole degree (the climate entity's
// limits under units: imperial).
func CToF(c float64) float64 { return math.Round(c*9/5 + 32) }

// stateIs reports whether the published state matches the condition.
func stateIs(s State, c Condition) bool {
	raw, ok := s.Value(c.Field)
	if !ok {
		return false
	}
	if c.Key == "" {
		return string(bytes.TrimSpace(raw)) == c.Value
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	v, ok := obj[c.Key]
	return ok && string(v) == c.Value
}

// location returns the car's last published position.
func location(s State) (lat, lon float64, ok bool) {
	raw, found := s.Value("Location")
	if !found {
		return 0, 0, false
	}
	var l struct {
		Lat *float64 `json:"latitude"`
		Lon *float64 `json:"longitude"`
	}
	if json.Unmarshal(raw, &l) != nil || l.Lat == nil || l.Lon == nil {
		return 0, 0, false
	}
	return *l.Lat, *l.Lon, true
}

// IsCommandName reports whether name can be a Teslemetry command name: 1–64
// characters of a-z, 0-9 and _.
func IsCommandName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ParseRaw turns a <base>/<VIN>/command/<name> message into a request: the
// payload is the command's JSON body, an object (empty = {}).
func ParseRaw(vin, name string, payload []byte) (Request, error) {
	if !IsCommandName(name) {
		return Request{}, invalid("command name %s: want a-z, 0-9 and _", quote(name))
	}
	if len(payload) > MaxPayload {
		return Request{}, invalid("longer than %d bytes", MaxPayload)
	}
	body := bytes.TrimSpace(payload)
	if len(body) == 0 {
		body = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return Request{}, invalid("the body must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return Request{}, invalid("the body must be a JSON object")
	}
	return Request{Target: Vehicle, ID: vin, Control: name, Raw: true, Endpoint: EndpointCommand,
		Command: name, Body: json.RawMessage(buf.Bytes())}, nil
}

// ReasonOf returns the result reason of a parse error.
func ReasonOf(err error) string {
	var pe *PayloadError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return "invalid_payload"
}
