package e2e

// Tests of the built container images, run by scripts/docker-test.sh (make
// docker-test), which builds them and passes their names in the environment;
// without it these tests skip. Containers use the host network so they reach
// the test's mosquitto and fake Teslemetry on loopback.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// dockerEnv is what scripts/docker-test.sh hands over.
type dockerEnv struct {
	cli      string
	images   map[string]string // Docker arch ("amd64", "arm64", "armv7") → image
	addons   map[string]string
	version  string
	emulated bool // foreign-arch binaries run under qemu
}

func dockerFromEnv(t *testing.T) dockerEnv {
	t.Helper()
	d := dockerEnv{
		cli:      os.Getenv("T2M_DOCKER"),
		images:   archMap(os.Getenv("T2M_IMAGES")),
		addons:   archMap(os.Getenv("T2M_ADDON_IMAGES")),
		version:  os.Getenv("T2M_IMAGE_VERSION"),
		emulated: os.Getenv("T2M_EMULATED") != "",
	}
	if d.cli == "" || len(d.images) == 0 {
		t.Skip("container images not built: run make docker-test")
	}
	return d
}

func archMap(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if arch, image, ok := strings.Cut(kv, "="); ok {
			m[arch] = image
		}
	}
	return m
}

// docker runs the Docker CLI and returns its combined output.
func (d dockerEnv) docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(d.cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// imageInfo is the part of `docker image inspect` the tests check.
type imageInfo struct {
	Os, Architecture, Variant string
	Size                      int64
	Config                    struct {
		User        string
		Entrypoint  []string
		Cmd         []string
		Env         []string
		Labels      map[string]string
		Healthcheck struct{ Test []string }
	}
}

func (d dockerEnv) inspect(t *testing.T, image string) imageInfo {
	t.Helper()
	var infos []imageInfo
	if err := json.Unmarshal([]byte(d.docker(t, "image", "inspect", image)), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("inspect %s: %v", image, err)
	}
	return infos[0]
}

// platform is the Docker arch key as "arch[/variant]" and the GOARCH the
// binary reports.
var platforms = map[string]struct{ arch, variant, goarch string }{
	"amd64": {"amd64", "", "amd64"},
	"arm64": {"arm64", "", "arm64"},
	"armv7": {"arm", "v7", "arm"},
}

// Every image is for the platform it claims, runs the right binary, and
// carries the metadata the Docker and Home Assistant conventions ask for.
func TestDockerImageMetadata(t *testing.T) {
	d := dockerFromEnv(t)
	check := func(t *testing.T, arch, image string, addon bool) {
		p := platforms[arch]
		info := d.inspect(t, image)
		t.Logf("%s: %s/%s%s, %.1f MB, user %q", image, info.Os, info.Architecture, info.Variant, float64(info.Size)/1e6, info.Config.User)
		if info.Os != "linux" || info.Architecture != p.arch || (p.variant != "" && info.Variant != p.variant) {
			t.Errorf("platform %s/%s/%s, want linux/%s/%s", info.Os, info.Architecture, info.Variant, p.arch, p.variant)
		}
		if info.Size > 25e6 {
			t.Errorf("image is %d bytes, want a small static image (< 25 MB)", info.Size)
		}
		if got := strings.Join(info.Config.Healthcheck.Test, " "); got != "CMD /teslemetry2mqtt healthcheck" {
			t.Errorf("HEALTHCHECK %q", got)
		}
		labels := info.Config.Labels
		if labels["org.opencontainers.image.version"] != d.version || labels["org.opencontainers.image.source"] == "" || labels["org.opencontainers.image.revision"] == "" {
			t.Errorf("OCI labels %v (want version %s, source, revision)", labels, d.version)
		}
		if addon {
			hassArch := map[string]string{"amd64": "amd64", "arm64": "aarch64"}[arch]
			if labels["io.hass.arch"] != hassArch || labels["io.hass.type"] != "app" || labels["io.hass.version"] != d.version {
				t.Errorf("add-on labels %v, want io.hass.arch=%s io.hass.type=app io.hass.version=%s", labels, hassArch, d.version)
			}
			// Root on purpose: the Supervisor writes /data/options.json 0600 as root.
			if info.Config.User != "" || strings.Join(info.Config.Entrypoint, " ") != "/teslemetry2mqtt run" {
				t.Errorf("add-on user %q entrypoint %q", info.Config.User, info.Config.Entrypoint)
			}
		} else if info.Config.User != "nonroot:nonroot" || strings.Join(info.Config.Entrypoint, " ") != "/teslemetry2mqtt" || strings.Join(info.Config.Cmd, " ") != "run" {
			t.Errorf("user %q entrypoint %q cmd %q, want nonroot, /teslemetry2mqtt, run", info.Config.User, info.Config.Entrypoint, info.Config.Cmd)
		}

		if arch != "amd64" && !d.emulated {
			t.Logf("%s: not run (no qemu binfmt for %s on this machine)", image, arch)
			return
		}
		out := d.docker(t, "run", "--rm", "--network", "none", "--platform", "linux/"+p.arch+suffix("/", p.variant),
			"--entrypoint", "/teslemetry2mqtt", image, "version")
		want := fmt.Sprintf("teslemetry2mqtt %s (commit %s", d.version, labels["org.opencontainers.image.revision"])
		if !strings.Contains(out, want) || !strings.Contains(out, "linux/"+p.goarch) {
			t.Errorf("version in %s: %q, want %q … linux/%s", image, out, want, p.goarch)
		}
	}
	for arch, image := range d.images {
		t.Run("docker-"+arch, func(t *testing.T) { check(t, arch, image, false) })
	}
	for arch, image := range d.addons {
		t.Run("addon-"+arch, func(t *testing.T) { check(t, arch, image, true) })
	}
	if len(d.images) != 3 || len(d.addons) != 2 {
		t.Errorf("images %v add-on images %v: want amd64, arm64, armv7 and amd64, arm64", d.images, d.addons)
	}
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// container is one running container of a test.
type container struct {
	d    dockerEnv
	t    *testing.T
	name string
}

// start runs image detached on the host network with a fast health check.
func (d dockerEnv) start(t *testing.T, image string, args ...string) *container {
	t.Helper()
	c := &container{d: d, t: t, name: fmt.Sprintf("t2m-e2e-%d", time.Now().UnixNano())}
	run := append([]string{"run", "-d", "--name", c.name, "--network", "host",
		"--health-interval", "1s", "--health-timeout", "5s", "--health-retries", "2"}, args...)
	d.docker(t, append(run, image)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container log:\n%s", c.logs())
		}
		exec.Command(d.cli, "rm", "-f", c.name).Run()
	})
	return c
}

func (c *container) state(format string) string {
	return c.d.docker(c.t, "inspect", "-f", format, c.name)
}

func (c *container) logs() string {
	out, _ := exec.Command(c.d.cli, "logs", c.name).CombinedOutput()
	return string(out)
}

// waitHealthy waits for Docker's HEALTHCHECK to report healthy.
func (c *container) waitHealthy(timeout time.Duration) time.Duration {
	c.t.Helper()
	return waitUntil(c.t, "container healthy", timeout, func() bool {
		return c.state("{{.State.Health.Status}}") == "healthy"
	})
}

// stop is `docker stop` (SIGTERM); it returns the exit code and how long it took.
func (c *container) stop() (int, time.Duration) {
	c.t.Helper()
	start := time.Now()
	c.d.docker(c.t, "stop", "-t", "15", c.name)
	took := time.Since(start)
	var code int
	fmt.Sscan(c.state("{{.State.ExitCode}}"), &code)
	return code, took
}

// checkRunning drives a started bridge container: the sample stream lands
// on retained topics under base, Docker reports it healthy, a live value
// passes through, and docker stop publishes offline and exits 0 within 5 s;
// no secret appears in its log.
func checkRunning(t *testing.T, c *container, sub *testkit.Subscriber, tesla *testkit.FakeTeslemetry, base string, secrets ...string) {
	t.Helper()
	sub.WaitFor(base+"/bridge/state", "online", 20*time.Second)
	sub.WaitFor(base+"/"+vin1+"/availability", "online", 10*time.Second)
	sub.WaitFor(base+"/"+vin1+"/v/Gear", "P", 10*time.Second)
	sub.WaitFor(base+"/"+vin2+"/v/DetailedChargeState", "Charging", 10*time.Second)
	sub.WaitUntil("discovery for BatteryLevel", 10*time.Second, func(l map[string]string) bool {
		return strings.Contains(l["homeassistant/sensor/"+base+"_"+vin1+"/BatteryLevel/config"], `"unique_id":"`+base+`_`+vin1+`_BatteryLevel"`)
	})
	took := c.waitHealthy(20 * time.Second)
	t.Logf("Docker reports the container healthy after %v more", took)

	tesla.Send(`{"vin":"` + vin1 + `","data":{"BatteryLevel":61}}`)
	sub.WaitFor(base+"/"+vin1+"/v/BatteryLevel", "61", 5*time.Second)

	code, stopTook := c.stop()
	t.Logf("docker stop: exit %d after %v", code, stopTook)
	if code != 0 || stopTook > 5*time.Second {
		t.Errorf("docker stop: exit %d after %v, want 0 within 5 s", code, stopTook)
	}
	sub.WaitFor(base+"/"+vin1+"/availability", "offline", 2*time.Second)
	sub.WaitFor(base+"/bridge/state", "offline", 2*time.Second)
	noSecrets(t, "container log", c.logs(), secrets...)
}

// The plain image, configured only through the environment (no config file
// mounted), as in the README's docker run line.
func TestDockerRunWithEnvironment(t *testing.T) {
	d := dockerFromEnv(t)
	mq, tesla, sub := streamAndBroker(t, "#")
	// HTTP_LISTEN moves /healthz off :8099; the HEALTHCHECK must follow it.
	listen := freeAddr(t)
	c := d.start(t, d.images["amd64"],
		"-e", "TESLEMETRY_TOKEN="+token, "-e", "TESLEMETRY_URL="+tesla.URL(),
		"-e", "MQTT_URL="+mq.URL(), "-e", "HTTP_LISTEN="+listen)
	checkRunning(t, c, sub, tesla, "teslemetry", token)
	if auth, _ := tesla.LastRequest(); auth != "Bearer "+token {
		t.Errorf("Teslemetry saw Authorization %q", auth)
	}
}

// The plain image with a config file mounted read-only at /config, read by
// the image's non-root user.
func TestDockerRunWithConfigFile(t *testing.T) {
	d := dockerFromEnv(t)
	mq, tesla, sub := streamAndBroker(t, "#")
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the container's user is nonroot (65532)
	cfg := fmt.Sprintf("teslemetry:\n  token: ${TESLEMETRY_TOKEN}\n  url: %s\nmqtt:\n  url: %s\n  base_topic: garage\n", tesla.URL(), mq.URL())
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The image sets HTTP_LISTEN=:8099, and the environment wins over the
	// file, so the port is moved (off the host's :8099) with HTTP_LISTEN.
	c := d.start(t, d.images["amd64"], "-v", dir+":/config:ro", "-e", "TESLEMETRY_TOKEN="+token,
		"-e", "HTTP_LISTEN="+freeAddr(t))
	checkRunning(t, c, sub, tesla, "garage", token)
}

// The add-on image as the Supervisor runs it: options in /data/options.json
// (root-owned, 0600), SUPERVISOR_TOKEN set, the MQTT broker found through
// the Supervisor's services API, /healthz on the fixed port 8099.
func TestDockerAddon(t *testing.T) {
	d := dockerFromEnv(t)
	image := d.addons["amd64"]
	if image == "" {
		t.Skip("no amd64 add-on image")
	}
	const supervisorToken = "sup-e2e-SECRET-77aa"
	mq, tesla, sub := streamAndBroker(t, "#")

	// http://supervisor resolves to 127.0.0.1 (--add-host), so the fake listens on port 80.
	ln, err := net.Listen("tcp", "127.0.0.1:80")
	if err != nil {
		t.Skipf("the fake Supervisor needs 127.0.0.1:80: %v", err)
	}
	asked := make(chan string, 10)
	sup := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization")
		fmt.Fprintf(w, `{"result":"ok","data":{"addon":"core_mosquitto","host":"127.0.0.1","port":%d,"ssl":false,"protocol":"3.1.1","username":"addons","password":"mqtt-e2e-SECRET-5c"}}`, mq.Port)
	})}}
	sup.Start()
	t.Cleanup(sup.Close)
	for _, port := range []string{"8099"} {
		if l, err := net.Listen("tcp", ":"+port); err != nil {
			t.Skipf("the add-on's fixed port %s is taken on this host: %v", port, err)
		} else {
			l.Close()
		}
	}

	dir := t.TempDir()
	opts := `{"token":"` + token + `","vins":[],"vehicle_names":[{"vin":"` + vin1 + `","name":"Red Car"}],"base_topic":"teslemetry","discovery":true,"discovery_prefix":"homeassistant","units":"native","log_level":"info"}`
	if err := os.WriteFile(filepath.Join(dir, "options.json"), []byte(opts), 0o600); err != nil {
		t.Fatal(err)
	}
	c := d.start(t, image, "-v", dir+":/data", "-e", "SUPERVISOR_TOKEN="+supervisorToken,
		"--add-host", "supervisor:127.0.0.1", "-e", "TESLEMETRY_URL="+tesla.URL())
	select {
	case got := <-asked:
		if got != "GET /services/mqtt Bearer "+supervisorToken {
			t.Errorf("Supervisor asked %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the add-on never asked the Supervisor; log:\n%s", c.logs())
	}
	sub.WaitUntil("device named from the options", 20*time.Second, func(l map[string]string) bool {
		return strings.Contains(l["homeassistant/sensor/teslemetry_"+vin1+"/BatteryLevel/config"], `"name":"Red Car"`)
	})
	checkRunning(t, c, sub, tesla, "teslemetry", token, supervisorToken, "mqtt-e2e-SECRET-5c")
}
