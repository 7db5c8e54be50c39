package addon

// Checks of the add-on files in addon/ against each other, against the
// Supervisor's schema rules and the add-on linter, and against the options
// this package understands.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/bridge/config"
)

const addonDir = "../../addon"

func readYAML(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(addonDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// linterDefaults are the defaults of frenck/action-addon-linter's
// config.schema.json: a key set to its default is a linter error.
var linterDefaults = map[string]any{
	"advanced": false, "apparmor": true, "audio": false, "auth_api": false, "auto_uart": false,
	"backup": "hot", "boot": "auto", "devicetree": false, "docker_api": false, "full_access": false,
	"gpio": false, "hassio_api": false, "hassio_role": "default", "homeassistant_api": false,
	"host_dbus": false, "host_ipc": false, "host_network": false, "host_pid": false, "host_uts": false,
	"ingress": false, "ingress_port": 8099, "ingress_stream": false, "init": true, "journald": false,
	"kernel_modules": false, "legacy": false, "panel_admin": true, "panel_icon": "mdi:puzzle",
	"realtime": false, "stage": "stable", "startup": "application", "stdin": false, "timeout": 10,
	"tmpfs": false, "uart": false, "udev": false, "usb": false, "video": false,
	"options": map[string]any{}, "schema": map[string]any{}, "ulimits": map[string]any{},
}

// linterKeys are the other keys the linter's schema allows (additionalProperties: false).
var linterKeys = []string{
	"arch", "backup_exclude", "backup_pre", "backup_post", "breaking_versions", "codenotary",
	"description", "devices", "discovery", "environment", "homeassistant", "image", "ingress_entry",
	"machine", "map", "name", "panel_title", "ports", "ports_description", "privileged", "services",
	"slug", "url", "version", "watchdog", "webui",
}

// schemaElement is the Supervisor's RE_SCHEMA_ELEMENT (supervisor/addons/options.py).
var schemaElement = regexp.MustCompile(`^(?:|bool|email|url|port|device(?:\((subsystem=[a-z]+)\))?` +
	`|str(?:\((\d+)?,(\d+)?\))?|password(?:\((\d+)?,(\d+)?\))?|int(?:\((\d+)?,(\d+)?\))?` +
	`|float(?:\(([\d\.]+)?,([\d\.]+)?\))?|match\((.*)\)|list\((.+)\))\??$`)

func TestAddonConfigFollowsLinter(t *testing.T) {
	cfg := readYAML(t, "config.yaml")
	for key, value := range cfg {
		if def, ok := linterDefaults[key]; ok {
			if reflect.DeepEqual(normalise(value), normalise(def)) {
				t.Errorf("config.yaml: %q restates its default %v (the linter rejects that)", key, def)
			}
			continue
		}
		if !slices.Contains(linterKeys, key) {
			t.Errorf("config.yaml: unknown key %q", key)
		}
	}
	for _, key := range []string{"name", "version", "slug", "description", "arch"} {
		if _, ok := cfg[key]; !ok {
			t.Errorf("config.yaml: required key %q missing", key)
		}
	}
	if _, ok := cfg["watchdog"]; ok {
		t.Error("config.yaml: watchdog is obsolete; the image has a HEALTHCHECK")
	}
	if _, ok := cfg["host_network"]; ok {
		t.Error("config.yaml: no host_network")
	}
	if _, ok := cfg["privileged"]; ok {
		t.Error("config.yaml: no privileges")
	}
	if !reflect.DeepEqual(cfg["arch"], []any{"aarch64", "amd64"}) {
		t.Errorf("arch = %v, want exactly [aarch64 amd64]", cfg["arch"])
	}
	services, _ := cfg["services"].([]any)
	if !slices.Contains(services, any("mqtt:want")) || slices.Contains(services, any("mqtt:need")) {
		t.Errorf("services = %v, want mqtt:want (not need)", services)
	}
	if cfg["init"] != false {
		t.Errorf("init = %v, want false (single binary, no s6-overlay)", cfg["init"])
	}
	if cfg["slug"] != "teslemetry2mqtt" || cfg["image"] != "ghcr.io/teslemetry2mqtt/teslemetry2mqtt-addon" {
		t.Errorf("slug %v / image %v", cfg["slug"], cfg["image"])
	}
	if v, _ := cfg["homeassistant"].(string); v < "2025.10" {
		t.Errorf("homeassistant = %q: default_entity_id needs 2025.10 or later", v)
	}
	// The webhook port must be the one the package configures.
	ports, _ := cfg["ports"].(map[string]any)
	if _, ok := ports["8098/tcp"]; !ok || len(ports) != 1 || WebhookPort != 8098 {
		t.Errorf("ports = %v, want only 8098/tcp (WebhookPort %d)", ports, WebhookPort)
	}
	// The status page is the ingress panel: ingress on, on the port the bridge
	// listens on (the default 8099, which must not be restated), never
	// published on the host.
	if cfg["ingress"] != true {
		t.Errorf("ingress = %v, want true (the status page is the add-on's panel)", cfg["ingress"])
	}
	ingressPort := linterDefaults["ingress_port"]
	if p, ok := cfg["ingress_port"]; ok {
		ingressPort = p
	}
	if want := strings.TrimPrefix(HTTPListen, ":"); fmt.Sprint(ingressPort) != want {
		t.Errorf("ingress port %v, but the bridge serves the page on %s", ingressPort, HTTPListen)
	}
	if _, published := ports[fmt.Sprint(ingressPort)+"/tcp"]; published {
		t.Errorf("the ingress port %v is published in ports: the page must be reachable only through ingress", ingressPort)
	}
	if icon, _ := cfg["panel_icon"].(string); !strings.HasPrefix(icon, "mdi:") {
		t.Errorf("panel_icon = %q, want an mdi: icon", icon)
	}
	if title, _ := cfg["panel_title"].(string); title == "" {
		t.Error("panel_title missing")
	}
	if gw := IngressGateway(); gw.String() != "172.30.32.2" {
		t.Errorf("IngressGateway = %v, want Home Assistant's ingress gateway 172.30.32.2", gw)
	}
	desc, _ := cfg["ports_description"].(map[string]any)
	for p := range ports {
		if desc[p] == nil {
			t.Errorf("ports_description lacks %s", p)
		}
	}
}

// normalise makes YAML-decoded and Go literal values comparable.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "{}"
		}
	case int:
		return float64(x)
	}
	return v
}

func TestAddonOptionsMatchSchema(t *testing.T) {
	cfg := readYAML(t, "config.yaml")
	opts, _ := cfg["options"].(map[string]any)
	schema, _ := cfg["schema"].(map[string]any)
	if len(opts) == 0 || len(schema) == 0 {
		t.Fatal("config.yaml needs options and schema")
	}
	for key, value := range opts {
		typ, ok := schema[key]
		if !ok {
			t.Errorf("option %q has no schema entry", key)
			continue
		}
		checkValue(t, key, typ, value)
	}
	for key, typ := range schema {
		if _, ok := opts[key]; ok {
			continue
		}
		if s, ok := typ.(string); !ok || !strings.HasSuffix(s, "?") {
			t.Errorf("schema key %q (%v) has no default in options and is not optional (no trailing ?): the Supervisor would refuse to start", key, typ)
		}
	}
	for key, typ := range schema {
		checkSchema(t, key, typ, 1)
	}
	if schema["token"] != "password" {
		t.Errorf("token schema = %v, want password", schema["token"])
	}
	for _, key := range []string{"mqtt_password", "webhook_authorization"} {
		if s, _ := schema[key].(string); !strings.HasPrefix(s, "password") {
			t.Errorf("%s schema = %v, want password?", key, schema[key])
		}
	}
	if schema["log_level"] != "list(debug|info|warning|error)" {
		t.Errorf("log_level schema = %v", schema["log_level"])
	}

	// Every schema key is an option this package reads, and the other way round.
	var known []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(options{})) {
		known = append(known, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	sort.Strings(known)
	var keys []string
	for k := range schema {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(known, keys) {
		t.Errorf("schema keys %v differ from the options Load reads %v", keys, known)
	}
}

func checkSchema(t *testing.T, key string, typ any, depth int) {
	t.Helper()
	if depth > 2 {
		t.Errorf("%s: options may nest at most 2 levels", key)
	}
	switch x := typ.(type) {
	case string:
		if !schemaElement.MatchString(x) {
			t.Errorf("%s: %q is not a Supervisor schema type", key, x)
		}
	case []any:
		if len(x) != 1 {
			t.Errorf("%s: a list schema has exactly one element", key)
			return
		}
		if _, isList := x[0].([]any); isList {
			t.Errorf("%s: a list may not directly contain a list", key)
		}
		checkSchema(t, key, x[0], depth+1)
	case map[string]any:
		for k, v := range x {
			if _, ok := v.(string); !ok {
				t.Errorf("%s.%s: keep nested options flat", key, k)
			}
			checkSchema(t, key+"."+k, v, depth)
		}
	default:
		t.Errorf("%s: unexpected schema %T", key, typ)
	}
}

// checkValue validates a default value against its schema type, as the Supervisor would.
func checkValue(t *testing.T, key string, typ, value any) {
	t.Helper()
	switch x := typ.(type) {
	case []any:
		list, ok := value.([]any)
		if !ok {
			t.Errorf("option %s: want a list, got %v", key, value)
			return
		}
		for _, v := range list {
			checkValue(t, key, x[0], v)
		}
	case map[string]any:
		m, ok := value.(map[string]any)
		if !ok {
			t.Errorf("option %s: want a mapping, got %v", key, value)
			return
		}
		for k, v := range m {
			checkValue(t, key+"."+k, x[k], v)
		}
	case string:
		s := strings.TrimSuffix(x, "?")
		switch {
		case s == "bool":
			if _, ok := value.(bool); !ok {
				t.Errorf("option %s: %v is not a bool", key, value)
			}
		case strings.HasPrefix(s, "list("):
			choices := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "list("), ")"), "|")
			if v, _ := value.(string); !slices.Contains(choices, v) {
				t.Errorf("option %s: %v is not one of %v", key, value, choices)
			}
		case strings.HasPrefix(s, "str"), strings.HasPrefix(s, "password"):
			if _, ok := value.(string); !ok {
				t.Errorf("option %s: %v is not a string", key, value)
			}
		}
	}
}

func TestAddonTranslations(t *testing.T) {
	cfg := readYAML(t, "config.yaml")
	schema, _ := cfg["schema"].(map[string]any)
	tr := readYAML(t, "translations/en.yaml")
	conf, _ := tr["configuration"].(map[string]any)
	for key, typ := range schema {
		checkTranslation(t, key, typ, conf[key])
	}
	for key := range conf {
		if _, ok := schema[key]; !ok {
			t.Errorf("translation for %q, which is not an option", key)
		}
	}
	network, _ := tr["network"].(map[string]any)
	ports, _ := cfg["ports"].(map[string]any)
	for p := range ports {
		if s, _ := network[p].(string); s == "" {
			t.Errorf("translations: network lacks %s", p)
		}
	}
}

func checkTranslation(t *testing.T, key string, typ, entry any) {
	t.Helper()
	e, ok := entry.(map[string]any)
	if !ok {
		t.Errorf("translations: no entry for option %q", key)
		return
	}
	if s, _ := e["name"].(string); s == "" {
		t.Errorf("translations: %q has no name", key)
	}
	if s, _ := e["description"].(string); s == "" {
		t.Errorf("translations: %q has no description", key)
	}
	if list, ok := typ.([]any); ok {
		typ = list[0]
	}
	if nested, ok := typ.(map[string]any); ok {
		fields, _ := e["fields"].(map[string]any)
		for k, v := range nested {
			checkTranslation(t, key+"."+k, v, fields[k])
		}
	}
}

// The defaults shown in the add-on UI are the config package's defaults, and
// loading them changes nothing else.
func TestAddonDefaultsAreConfigDefaults(t *testing.T) {
	cfg := readYAML(t, "config.yaml")
	opts, _ := cfg["options"].(map[string]any)
	opts["token"] = "tok-1"
	data, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	sup := newSupervisor(t, &fakeSupervisor{status: 200, body: mosquittoAnswer})
	got, err := Load(context.Background(), data, sup, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want0 := defaultsWith("tok-1")
	host, _ := os.Hostname()
	want0.MQTT.ClientID = config.DefaultClientID(host, want0.MQTT.BaseTopic)
	if want := want0; !reflect.DeepEqual(*got, want) {
		t.Errorf("add-on defaults differ from config.Default()\n got: %+v\nwant: %+v", *got, want)
	}
	// Each default value is literally the config default (not just equivalent).
	want := map[string]any{"base_topic": "teslemetry", "discovery": true, "discovery_prefix": "homeassistant", "units": "native", "log_level": "info"}
	for k, v := range want {
		if opts[k] != v {
			t.Errorf("option %s default = %v, want %v", k, opts[k], v)
		}
	}
}

func TestAddonVersionEverywhere(t *testing.T) {
	cfg := readYAML(t, "config.yaml")
	version, _ := cfg["version"].(string)
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(version) {
		t.Fatalf("version %q", version)
	}
	changelog, err := os.ReadFile(filepath.Join(addonDir, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`(?m)^## \[?v?(\d+\.\d+\.\d+)`).FindSubmatch(changelog)
	if first == nil || string(first[1]) != version {
		t.Errorf("CHANGELOG.md's newest entry %q differs from config.yaml version %q", first, version)
	}
	dockerfile, err := os.ReadFile(filepath.Join(addonDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(dockerfile)
	if n := strings.Count(df, "ARG BUILD_VERSION="+version+"\n"); n != 2 {
		t.Errorf("addon/Dockerfile: want ARG BUILD_VERSION=%s in the build and final stage, found %d", version, n)
	}
	if strings.Contains(df, "$BUILD_FROM") || strings.Contains(df, "${BUILD_FROM}") {
		t.Error("addon/Dockerfile: use a literal FROM, not BUILD_FROM")
	}
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(df, -1) {
		image, stage := m[1], m[2]
		if strings.Contains(image, "$") && !stages[strings.Split(image, "$")[0]+"amd64"] {
			t.Errorf("addon/Dockerfile: FROM %s is not literal", image)
		}
		if stage != "" {
			stages[stage] = true
		}
	}
	for _, want := range []string{
		`io.hass.type="app"`, `io.hass.version="${BUILD_VERSION}"`, `io.hass.arch="amd64"`, `io.hass.arch="aarch64"`,
		"org.opencontainers.image.source=", `CMD ["/teslemetry2mqtt", "healthcheck"]`, `ENTRYPOINT ["/teslemetry2mqtt", "run"]`,
		"CGO_ENABLED=0", "-trimpath", "./cmd/teslemetry2mqtt",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("addon/Dockerfile lacks %s", want)
		}
	}
	if HTTPListen != ":8099" {
		t.Errorf("HTTPListen %q: the healthcheck command asks 127.0.0.1:8099", HTTPListen)
	}
}

func TestAddonFolderFiles(t *testing.T) {
	for _, name := range []string{"config.yaml", "Dockerfile", "README.md", "DOCS.md", "CHANGELOG.md", "icon.png", "logo.png", "translations/en.yaml"} {
		if _, err := os.Stat(filepath.Join(addonDir, name)); err != nil {
			t.Error(err)
		}
	}
	// The Supervisor scans the repository for add-ons: no other config.yaml/json/yml anywhere.
	root := filepath.Join(addonDir, "..")
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		switch d.Name() {
		case "config.yaml", "config.yml", "config.json":
			if rel, _ := filepath.Rel(root, path); rel != filepath.Join("addon", "config.yaml") {
				t.Errorf("%s would be taken for an add-on by the Supervisor", rel)
			}
		}
		return nil
	})
	repo := readYAML(t, "../repository.yaml")
	if repo["name"] == nil || repo["url"] != "https://github.com/teslemetry2mqtt/teslemetry2mqtt" {
		t.Errorf("repository.yaml = %v", repo)
	}
}
