package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is an invalid configuration: the dotted key, the YAML line when known,
// and what is wrong with it.
type Error struct {
	Key  string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Key, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Key, e.Msg)
}

// Errors collects every problem found in one configuration.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return "invalid configuration:\n  " + strings.Join(lines, "\n  ")
}

// Env looks up an environment variable; os.LookupEnv in production, a map in tests.
type Env func(name string) (string, bool)

// Load reads the file at path (when it exists or required is true), applies
// defaults, ${VAR} expansion and environment overrides, and validates the result.
func Load(path string, required bool, env Env) (*Config, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && !required:
		data = nil
	default:
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, env)
}

// Parse builds a validated Config from YAML text (which may be empty).
func Parse(data []byte, env Env) (*Config, error) {
	cfg := Default()
	lines := map[string]int{}
	if len(strings.TrimSpace(string(data))) > 0 {
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, &Error{Key: "(file)", Msg: "not valid YAML: " + scrubYAML(strings.TrimPrefix(err.Error(), "yaml: "))}
		}
		if len(root.Content) > 0 {
			doc := root.Content[0]
			expandNode(doc, env)
			if errs := checkKeys(doc, reflect.TypeOf(cfg), "", lines); len(errs) > 0 {
				return nil, errs
			}
			if err := decodeFields(doc, reflect.ValueOf(&cfg).Elem(), ""); err != nil {
				return nil, err
			}
		}
	}
	applyEnv(&cfg, env)
	if strings.TrimSpace(cfg.MQTT.ClientID) == "" {
		host, _ := os.Hostname()
		cfg.MQTT.ClientID = DefaultClientID(host, cfg.MQTT.BaseTopic)
	}
	if errs := cfg.validate(); len(errs) > 0 {
		for _, e := range errs {
			if e.Line == 0 {
				e.Line = lines[e.Key]
			}
		}
		return nil, errs
	}
	return &cfg, nil
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode replaces ${VAR} and ${VAR:-default} in every scalar value.
func expandNode(n *yaml.Node, env Env) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = varPattern.ReplaceAllStringFunc(n.Value, func(m string) string {
			parts := varPattern.FindStringSubmatch(m)
			if v, ok := env(parts[1]); ok && v != "" {
				return v
			}
			return parts[3]
		})
		n.Tag = "" // let the target type decide after expansion
		n.Style = 0
	}
	for _, c := range n.Content {
		expandNode(c, env)
	}
}

// checkKeys reports unknown keys (strict decoding) with their dotted path and
// line, and records the line of every known key and list item for later
// validation messages. Keys the user chose (VINs, unknown keys) appear in the
// path through keyName, so that validation finds the line by the same path.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int) Errors {
	switch {
	case n.Kind == yaml.MappingNode:
		return checkMapping(n, t, path, lines)
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			lines[index(path, i)] = item.Line
		}
	}
	return nil
}

func checkMapping(n *yaml.Node, t reflect.Type, path string, lines map[string]int) Errors {
	var errs Errors
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				key := join(path, keyName(k.Value))
				errs = append(errs, &Error{Key: key, Line: k.Line, Msg: "unknown key" + suggest(t, k.Value)})
				continue
			}
			key := join(path, k.Value) // a known key, never a secret however long
			if first, dup := lines[key]; dup {
				// yaml.v3 lets the last one win without a word; a second
				// mqtt: section silently dropping the first is a trap.
				errs = append(errs, &Error{Key: key, Line: k.Line, Msg: fmt.Sprintf("is already set on line %d", first)})
				continue
			}
			lines[key] = k.Line
			errs = append(errs, checkKeys(v, f.Type, key, lines)...)
		case reflect.Map:
			key := join(path, keyName(k.Value))
			lines[key] = k.Line
			errs = append(errs, checkKeys(v, t.Elem(), key, lines)...)
		}
	}
	return errs
}

// decodeFields decodes each mapping entry of a section separately so a type
// error can name its key. checkKeys has already rejected unknown keys.
func decodeFields(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return &Error{Key: orRoot(path), Line: n.Line, Msg: "expected a mapping of keys"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, _ := fieldByTag(v.Type(), k.Value)
		if err := decodeNode(val, v.FieldByIndex(f.Index), join(path, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

// decodeNode decodes one value into v, descending into sections, maps and
// lists so that a type error names the innermost key and its line (a wrong
// vehicle name is vehicles.<VIN>.name, not vehicles). A null leaves the default.
func decodeNode(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if _, custom := v.Addr().Interface().(yaml.Unmarshaler); custom {
		return decodeWhole(n, v, key) // e.g. Duration: its own method decides
	}
	switch {
	case v.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		return decodeFields(n, v, key)
	case v.Kind() == reflect.Map && n.Kind == yaml.MappingNode && !hasMergeKey(n):
		return decodeMap(n, v, key)
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		return decodeList(n, v, key)
	}
	return decodeWhole(n, v, key)
}

// decodeWhole lets yaml.v3 decode a value (a scalar, or a mapping or list
// that cannot be split up) and replaces its error by our own.
func decodeWhole(n *yaml.Node, v reflect.Value, key string) error {
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return decodeError(n, v.Type(), key, err)
	}
	return nil
}

// decodeMap decodes a mapping entry by entry into a map such as vehicles. It
// rejects a key given twice, as yaml.v3 does, without repeating the key.
func decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := join(path, keyName(k.Value))
		if line, dup := first[k.Value]; dup {
			return &Error{Key: key, Line: k.Line, Msg: fmt.Sprintf("is already set on line %d", line)}
		}
		first[k.Value] = k.Line
		mk := reflect.New(v.Type().Key()).Elem()
		if err := decodeNode(k, mk, key); err != nil {
			return err
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := decodeNode(val, elem, key); err != nil {
			return err
		}
		v.SetMapIndex(mk, elem)
	}
	return nil
}

// decodeList decodes a sequence item by item, replacing the default list.
func decodeList(n *yaml.Node, v reflect.Value, path string) error {
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := decodeNode(item, list.Index(i), index(path, i)); err != nil {
			return err
		}
	}
	v.Set(list)
	return nil
}

// hasMergeKey reports a "<<: *anchor" entry, which only yaml.v3 itself can
// resolve; such a mapping is decoded whole.
func hasMergeKey(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			return true
		}
	}
	return false
}

// decodeError turns a decoding failure into an Error naming the key, the line
// and the expected type. yaml.v3's own text is dropped on purpose: it repeats
// the first characters of the value ("cannot unmarshal !!str `sk-SECR...`"),
// which may be a token pasted under the wrong key.
func decodeError(n *yaml.Node, t reflect.Type, key string, err error) *Error {
	var ve *valueError
	if errors.As(err, &ve) {
		return &Error{Key: key, Line: n.Line, Msg: ve.msg}
	}
	return &Error{Key: key, Line: n.Line, Msg: expectedType(t) + " (got " + describeNode(n) + ")"}
}

// expectedType says what kind of value a Go type takes, in the words of the
// configuration file.
func expectedType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Slice, reflect.Array:
		return "must be a list"
	case reflect.Map, reflect.Struct:
		return "must be a mapping"
	case reflect.String:
		return "must be a text value"
	}
	return "has the wrong type"
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("yaml"), ",")[0] == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// suggest names the known keys of a section, to help with typos.
func suggest(t reflect.Type, _ string) string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		keys = append(keys, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	sort.Strings(keys)
	return " (known keys: " + strings.Join(keys, ", ") + ")"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index is the dotted path of a list item, e.g. teslemetry.vins[1].
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

func orRoot(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

// applyEnv lets non-empty environment variables win over the file (config.example.yaml).
func applyEnv(c *Config, env Env) {
	for name, dst := range map[string]*string{
		"TESLEMETRY_TOKEN": &c.Teslemetry.Token,
		"TESLEMETRY_URL":   &c.Teslemetry.URL,
		"MQTT_URL":         &c.MQTT.URL,
		"MQTT_USERNAME":    &c.MQTT.Username,
		"MQTT_PASSWORD":    &c.MQTT.Password,
		"LOG_LEVEL":        &c.Log.Level,
		"HTTP_LISTEN":      &c.HTTP.Listen,
	} {
		if v, ok := env(name); ok && v != "" {
			*dst = v
		}
	}
}
