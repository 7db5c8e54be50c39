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
			return nil, &Error{Key: "(file)", Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
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
// line, and records the line of every known key for later validation messages.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int) Errors {
	var errs Errors
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		lines[key] = k.Line
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				errs = append(errs, &Error{Key: key, Line: k.Line, Msg: "unknown key" + suggest(t, k.Value)})
				continue
			}
			errs = append(errs, checkKeys(v, f.Type, key, lines)...)
		case reflect.Map:
			errs = append(errs, checkKeys(v, t.Elem(), key, lines)...)
		}
	}
	return errs
}

// decodeFields decodes each mapping entry separately so a type error can name its key.
func decodeFields(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return &Error{Key: orRoot(path), Line: n.Line, Msg: "expected a mapping of keys"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		f, _ := fieldByTag(v.Type(), k.Value)
		target := v.FieldByIndex(f.Index)
		if f.Type.Kind() == reflect.Struct && f.Type.NumField() > 0 && val.Kind == yaml.MappingNode {
			if err := decodeFields(val, target, key); err != nil {
				return err
			}
			continue
		}
		if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
			continue
		}
		if err := val.Decode(target.Addr().Interface()); err != nil {
			msg := err.Error()
			msg = regexp.MustCompile(`^yaml: (unmarshal errors:\n\s*)?(line \d+: )?`).ReplaceAllString(msg, "")
			return &Error{Key: key, Line: val.Line, Msg: msg}
		}
	}
	return nil
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

func orRoot(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

// applyEnv lets non-empty environment variables win over the file (contract §3).
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
