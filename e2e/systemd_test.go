package e2e

// The systemd unit deploy/teslemetry2mqtt.service, tested for real by
// scripts/systemd-test.sh: it prepares a Debian root file system with systemd
// and passes it in T2M_SYSTEMD_ROOTFS; without it this test skips.
//
// The test copies that root file system (the cache stays pristine), installs
// a static build of the bridge by running the install commands of the unit's
// header comment in a chroot, and boots it with systemd-nspawn, so systemd is
// the container's PID 1 even on a host without systemd. The container shares
// the host's network: the service reaches the test's mosquitto and fake
// Teslemetry on loopback, and the test reaches its /healthz. The test talks to
// the container's systemd with nsenter (machinectl would need systemd on the
// host).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	unitName  = "teslemetry2mqtt"
	unitFile  = "../deploy/teslemetry2mqtt.service"
	unitUser  = "teslemetry2mqtt"
	sdBase    = "pi" // mqtt.base_topic of the installed config
	sdConfDir = "/etc/teslemetry2mqtt"
	// What the header's install commands copy from, and where the test puts
	// each file in the container before running them.
	stageDir = "/root/t2m-install"
)

// containerPath is PATH for commands run in the chroot or the container.
const containerPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func TestSystemdUnit(t *testing.T) {
	cached := systemdRootfs(t)
	mq, tesla, sub := streamAndBroker(t, "#")
	listen := freeAddr(t)
	conf := func(mqttExtra string) string {
		return fmt.Sprintf("teslemetry:\n  token: ${TESLEMETRY_TOKEN}\n  url: %s\n"+
			"mqtt:\n  url: %s\n  client_id: t2m-systemd-%d\n  base_topic: %s\n%s"+
			"log:\n  level: info\nhttp:\n  listen: %s\n",
			tesla.URL(), mq.URL(), os.Getpid(), sdBase, mqttExtra, listen)
	}

	// a. Install per the unit's header, then boot.
	root := copyRootfs(t, cached)
	installPerHeader(t, root, conf(""))
	c := bootContainer(t, root)

	// b. Started at boot, as the dedicated user, fully working.
	st, _ := c.waitUnit("the service active after boot", 30*time.Second, func(s unitState) bool {
		return s["ActiveState"] == "active" && s.mainPID() > 0
	})
	t.Logf("b. service active %v after nspawn started (MainPID %d in the container)", time.Since(c.started).Round(time.Millisecond), st.mainPID())
	c.checkMainProcess(st.mainPID())
	topicsFrom := time.Now()
	sub.WaitFor(sdBase+"/bridge/state", "online", 20*time.Second)
	sub.WaitFor(sdBase+"/"+vin1+"/availability", "online", 10*time.Second)
	sub.WaitFor(sdBase+"/"+vin1+"/v/Gear", "P", 10*time.Second)
	t.Logf("b. retained bridge/state, availability and Gear arrived %v after active", time.Since(topicsFrom).Round(time.Millisecond))
	waitUntil(t, "/healthz healthy", 10*time.Second, func() bool { return healthz(listen) })
	if auth, _ := tesla.LastRequest(); auth != "Bearer "+token {
		t.Errorf("Teslemetry saw Authorization %q, want the token from %s/env", auth, sdConfDir)
	}

	// c. A crash (SIGKILL) is restarted after RestartSec=5.
	oldPID := st.mainPID()
	availBefore := sub.Count(sdBase + "/" + vin1 + "/availability")
	killed := time.Now()
	// minbase has no kill binary: bash's builtin it is.
	c.mustRun("bash", "-c", fmt.Sprintf("kill -9 %d", oldPID))
	// The broker publishes the bridge's will for the dead session.
	sub.WaitFor(sdBase+"/bridge/state", "offline", 5*time.Second)
	st, _ = c.waitUnit("a new MainPID after kill -9", 20*time.Second, func(s unitState) bool {
		return s["ActiveState"] == "active" && s.mainPID() > 0 && s.mainPID() != oldPID
	})
	restart := time.Since(killed)
	t.Logf("c. kill -9 %d: active again as MainPID %d after %v, NRestarts=%s", oldPID, st.mainPID(), restart.Round(time.Millisecond), st["NRestarts"])
	if restart < 5*time.Second || restart > 12*time.Second {
		t.Errorf("restart took %v, want 5–12 s (RestartSec=5)", restart)
	}
	if st["NRestarts"] != "1" {
		t.Errorf("NRestarts=%s, want 1", st["NRestarts"])
	}
	sub.WaitFor(sdBase+"/bridge/state", "online", 10*time.Second)
	sub.WaitUntil("vin1 availability republished online", 10*time.Second, func(l map[string]string) bool {
		return sub.Count(sdBase+"/"+vin1+"/availability") > availBefore && l[sdBase+"/"+vin1+"/availability"] == "online"
	})
	t.Logf("c. topics online again %v after the kill", time.Since(killed).Round(time.Millisecond))
	c.checkMainProcess(st.mainPID())

	// d. systemctl stop: offline states published, clean exit, quickly.
	stopping := time.Now()
	c.mustRun("systemctl", "stop", unitName)
	stopTook := time.Since(stopping)
	sub.WaitFor(sdBase+"/bridge/state", "offline", 2*time.Second)
	sub.WaitFor(sdBase+"/"+vin1+"/availability", "offline", 2*time.Second)
	st = c.unit()
	t.Logf("d. systemctl stop took %v: %s", stopTook.Round(time.Millisecond), st)
	if stopTook > 5*time.Second {
		t.Errorf("systemctl stop took %v, want < 5 s", stopTook)
	}
	if st["ActiveState"] != "inactive" || st["Result"] != "success" || st["ExecMainStatus"] != "0" {
		t.Errorf("after stop: %s, want inactive, Result=success, ExecMainStatus=0", st)
	}

	// e. An invalid config fails with exit code 2 and is not restarted in a loop.
	// os.WriteFile truncates the existing file: it keeps its 0640 root:group.
	writeInRoot(t, root, sdConfDir+"/config.yaml", conf("  qos: 7\n"))
	starting := time.Now()
	if _, err := c.run("systemctl", "start", unitName); err != nil {
		t.Logf("e. systemctl start: %v", err) // Type=simple: start usually succeeds, the process fails after
	}
	st, _ = c.waitUnit("the service failed on the invalid config", 10*time.Second, func(s unitState) bool {
		return s["ActiveState"] == "failed"
	})
	t.Logf("e. failed %v after systemctl start: %s", time.Since(starting).Round(time.Millisecond), st)
	if st["ExecMainStatus"] != "2" || st["Result"] != "exit-code" {
		t.Errorf("invalid config: %s, want ExecMainStatus=2 Result=exit-code", st)
	}
	sleepUntil(starting.Add(7 * time.Second)) // past RestartSec=5: a restart would have happened
	st = c.unit()
	t.Logf("e. 7 s after start: %s", st)
	if st["ActiveState"] != "failed" || st["NRestarts"] != "0" {
		t.Errorf("7 s after the invalid start: %s, want still failed with NRestarts=0 (RestartPreventExitStatus=2)", st)
	}
	var qosLine string
	waitUntil(t, "the journal naming mqtt.qos", 5*time.Second, func() bool {
		out, _ := c.run("journalctl", "-u", unitName, "--no-pager", "-o", "cat")
		qosLine = lineWith(out, "mqtt.qos")
		return qosLine != ""
	})
	t.Logf("e. journal: %s", qosLine)

	// f. The hardening, scored by systemd itself.
	exposure, rating := c.securityExposure()
	t.Logf("f. systemd-analyze security: overall exposure %.1f %s", exposure, rating)
	if exposure > 2.0 {
		t.Errorf("exposure %.1f %s, want ≤ 2.0", exposure, rating)
	}

	// g. The token (only in the env file) never reaches the journal or the unit's state.
	journal := c.mustRun("journalctl", "--no-pager", "-o", "verbose")
	if !strings.Contains(journal, "Started") || !strings.Contains(journal, unitName) {
		t.Errorf("the journal looks empty (%d bytes): the secret check below would prove nothing", len(journal))
	}
	noSecrets(t, "the container's journal", journal, token)
	show, _ := c.run("systemctl", "show", unitName)
	noSecrets(t, "systemctl show", show, token)
	noSecrets(t, "the container console", c.console(), token)
	t.Logf("g. token absent from %d bytes of journal", len(journal))

	// h. A clean poweroff ends systemd-nspawn.
	c.poweroff(20 * time.Second)
}

// systemdRootfs returns the prepared root file system, or skips.
func systemdRootfs(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("T2M_SYSTEMD_ROOTFS")
	if dir == "" {
		t.Skip("no systemd root file system: run scripts/systemd-test.sh")
	}
	// From here on the caller asked for this test: a missing piece fails it.
	if os.Geteuid() != 0 {
		t.Fatal("T2M_SYSTEMD_ROOTFS is set but the test is not root (chroot and systemd-nspawn need it)")
	}
	for _, tool := range []string{"systemd-nspawn", "nsenter", "mosquitto"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/systemd-test.sh installs it)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/systemd/systemd")); err != nil {
		t.Fatalf("%s has no systemd: %v", dir, err)
	}
	return dir
}

// copyRootfs copies the cached root file system, so the install and the
// boot (journal, machine state) never change the cache.
func copyRootfs(t *testing.T, cached string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	start := time.Now()
	if out, err := exec.Command("cp", "-a", cached, root).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", cached, err, out)
	}
	t.Logf("a. copied the root file system in %v", time.Since(start).Round(time.Millisecond))
	return root
}

// buildRelease builds the binary as a release is built (static, no race
// detector: that is what people install), not the harness's -race binary.
func buildRelease(t *testing.T, out string) {
	t.Helper()
	start := time.Now()
	build := exec.Command("go", "build", "-trimpath", "-o", out, "../cmd/teslemetry2mqtt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Logf("a. built a static %s binary in %v", runtime.GOARCH, time.Since(start).Round(time.Millisecond))
}

// headerStep is one install command of the unit's header comment, adapted
// to a chroot: either a shell command or an edit of a file.
type headerStep struct {
	shell string // run with sh -c in the chroot
	edit  string // sudoedit: the file to write the token line into
}

// unitHeader parses the unit's header comment: the commands of its
// "Install:" block and of its config check. The commands are the
// documentation's own, with these changes for a chroot: no sudo, the
// source files renamed to where the test stages them, `sudoedit` becomes a
// write, `journalctl -f` is left out, and `systemctl daemon-reload` /
// `enable --now` become an offline `systemctl enable`: no systemd runs in a
// chroot, the service starts when the container boots.
func unitHeader(t *testing.T, unit string, sources map[string]string) (install []headerStep, check string) {
	t.Helper()
	var block *[]string
	var installLines, checkLines []string
	for _, line := range strings.Split(unit, "\n") {
		switch {
		case line == "# Install:":
			block = &installLines
		case strings.HasPrefix(line, "# Check the config"):
			block = &checkLines
		case block != nil && strings.HasPrefix(line, "#   "):
			*block = append(*block, strings.TrimPrefix(line, "#   "))
		default:
			block = nil
		}
	}
	used := map[string]bool{}
	for _, line := range installLines {
		line, _, _ = strings.Cut(line, "  #") // a trailing comment
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "sudoedit "):
			install = append(install, headerStep{edit: strings.TrimSpace(strings.TrimPrefix(line, "sudoedit "))})
			continue
		case strings.HasPrefix(line, "journalctl "):
			continue
		}
		var parts []string
		for _, part := range strings.Split(line, "&&") {
			f := strings.Fields(strings.TrimSpace(part))
			if len(f) > 0 && f[0] == "sudo" {
				f = f[1:]
			}
			if len(f) >= 2 && f[0] == "systemctl" && f[1] == "daemon-reload" {
				continue
			}
			systemctl := len(f) > 0 && f[0] == "systemctl"
			var kept []string
			for _, field := range f {
				if staged, ok := sources[field]; ok {
					field, used[field] = staged, true
				}
				if !(systemctl && field == "--now") {
					kept = append(kept, field)
				}
			}
			parts = append(parts, strings.Join(kept, " "))
		}
		install = append(install, headerStep{shell: strings.Join(parts, " && ")})
	}
	for src := range sources {
		if !used[src] {
			t.Fatalf("the unit header's install steps no longer copy %s; update e2e/systemd_test.go:\n%s", src, strings.Join(installLines, "\n"))
		}
	}
	if len(checkLines) != 1 {
		t.Fatalf("want one config-check command in the unit header, got %q", checkLines)
	}
	return install, strings.TrimPrefix(checkLines[0], "sudo ")
}

// installPerHeader stages the binary, config and unit in the root file
// system, runs the header's install commands in a chroot, checks what they
// made, and runs the header's config check.
func installPerHeader(t *testing.T, root, config string) {
	t.Helper()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(root, stageDir)
	if err := os.MkdirAll(stage, 0o700); err != nil {
		t.Fatal(err)
	}
	binName := "teslemetry2mqtt-linux-" + runtime.GOARCH
	buildRelease(t, filepath.Join(stage, binName))
	for name, content := range map[string][]byte{"config.yaml": []byte(config), "teslemetry2mqtt.service": unit} {
		if err := os.WriteFile(filepath.Join(stage, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	steps, check := unitHeader(t, string(unit), map[string]string{
		"teslemetry2mqtt-linux-arm64":    stageDir + "/" + binName,
		"config.example.yaml":            stageDir + "/config.yaml",
		"deploy/teslemetry2mqtt.service": stageDir + "/teslemetry2mqtt.service",
	})
	for _, s := range steps {
		if s.edit != "" {
			t.Logf("a. (sudoedit %s) TESLEMETRY_TOKEN=…", s.edit)
			writeInRoot(t, root, s.edit, "TESLEMETRY_TOKEN="+token+"\n")
			continue
		}
		t.Logf("a. chroot# %s", s.shell)
		if out, err := chroot(root, s.shell); err != nil {
			t.Fatalf("%s: %v\n%s", s.shell, err, out)
		}
	}
	checkInstalled(t, root)

	out, err := chroot(root, check)
	t.Logf("a. chroot# %s → %s", check, firstLine(out))
	if err != nil || !strings.Contains(out, "is valid") {
		t.Fatalf("the header's config check: %v\n%s", err, out)
	}
	noSecrets(t, "check-config output", out, token)
}

// checkInstalled verifies owners and modes: the service's group may read
// the config and the env file, nobody else may.
func checkInstalled(t *testing.T, root string) {
	t.Helper()
	out, err := chroot(root, "getent group "+unitUser)
	f := strings.Split(strings.TrimSpace(out), ":")
	if err != nil || len(f) < 3 {
		t.Fatalf("getent group %s: %v %q", unitUser, err, out)
	}
	gid, _ := strconv.Atoi(f[2])
	want := []struct {
		path string
		mode os.FileMode
		gid  int
	}{
		{"/usr/local/bin/teslemetry2mqtt", 0o755, 0},
		{sdConfDir, os.ModeDir | 0o750, gid},
		{sdConfDir + "/config.yaml", 0o640, gid},
		{sdConfDir + "/env", 0o640, gid},
		{"/etc/systemd/system/teslemetry2mqtt.service", 0o644, 0},
	}
	for _, w := range want {
		fi, err := os.Stat(filepath.Join(root, w.path))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != w.mode || st.Uid != 0 || int(st.Gid) != w.gid {
			t.Errorf("%s: %v %d:%d, want %v 0:%d", w.path, fi.Mode(), st.Uid, st.Gid, w.mode, w.gid)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "/etc/systemd/system/multi-user.target.wants/teslemetry2mqtt.service")); err != nil {
		t.Errorf("not enabled: %v", err)
	}
}

// chroot runs a shell command in the root file system with a clean environment.
func chroot(root, command string) (string, error) {
	out, err := exec.Command("chroot", root, "/usr/bin/env", "-i", containerPath, "LANG=C.UTF-8",
		"/bin/sh", "-c", command).CombinedOutput()
	return string(out), err
}

// writeInRoot replaces a file's content; an existing file keeps its owner and mode.
func writeInRoot(t *testing.T, root, path, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lineWith returns the first line of s that contains sub, or "".
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func healthz(listen string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + listen + "/healthz")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode == http.StatusOK && strings.Contains(string(body), `"healthy":true`)
}

// nspawnContainer is a root file system booted by systemd-nspawn.
type nspawnContainer struct {
	t       *testing.T
	cmd     *exec.Cmd
	started time.Time
	pid1    int // the container's systemd, as a host PID
	mu      sync.Mutex
	out     bytes.Buffer // nspawn's output: the container's console
	done    chan struct{}
}

// bootContainer boots root in the background. The machine name carries
// $T2M_SYSTEMD_RUN, so the script can find containers a killed test left.
func bootContainer(t *testing.T, root string) *nspawnContainer {
	t.Helper()
	run := os.Getenv("T2M_SYSTEMD_RUN")
	if run == "" {
		run = strconv.Itoa(os.Getpid())
	}
	c := &nspawnContainer{t: t, done: make(chan struct{})}
	// --keep-unit and --register=no: there is no systemd on the host to create a
	// scope or register the machine with (without them: "Failed to open system bus").
	// --console=passive: the console goes to our buffer and nothing reads stdin.
	c.cmd = exec.Command("systemd-nspawn", "-D", root, "-b", "-M", "t2m-systemd-"+run,
		"--keep-unit", "--register=no", "--console=passive")
	w := syncWriter{&c.mu, &c.out}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.kill)
	c.pid1 = c.findPID1(10 * time.Second)
	t.Logf("a. systemd-nspawn %d booting %s, the container's systemd is host PID %d", c.cmd.Process.Pid, root, c.pid1)
	return c
}

// findPID1 returns nspawn's child once it has become systemd. It looks only
// at this nspawn's children, never at other containers on the host.
func (c *nspawnContainer) findPID1(timeout time.Duration) int {
	c.t.Helper()
	var pid int
	waitUntil(c.t, "the container's systemd", timeout, func() bool {
		select {
		case <-c.done:
			c.t.Fatalf("systemd-nspawn exited while booting:\n%s", c.consoleTail())
		default:
		}
		pid = childNamed(c.cmd.Process.Pid, "systemd")
		return pid > 0
	})
	return pid
}

// childNamed returns the PID of a child of parent whose command name is comm
// (any child if comm is ""), or 0.
func childNamed(parent int, comm string) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …"; comm may contain spaces and parentheses.
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		rest := strings.Fields(s[close+1:])
		if len(rest) < 2 || (comm != "" && s[open+1:close] != comm) || rest[1] != strconv.Itoa(parent) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		return pid
	}
	return 0
}

func (c *nspawnContainer) console() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

var ansiColor = regexp.MustCompile("\x1b\\[[0-9;]*m")

// consoleTail is the end of the console without colors, for failure reports.
// (TERM=dumb would drop the colors, but then systemd prints no boot status at all.)
func (c *nspawnContainer) consoleTail() string {
	lines := strings.Split(strings.TrimRight(ansiColor.ReplaceAllString(c.console(), ""), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func (c *nspawnContainer) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// run runs a command in all of the container's namespaces and returns its
// standard output; the error carries the standard error.
func (c *nspawnContainer) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid1), "-a", "--"}, args...)...)
	cmd.Env = []string{containerPath, "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), err
}

func (c *nspawnContainer) mustRun(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// unitState is the part of `systemctl show` the test checks.
type unitState map[string]string

func (s unitState) mainPID() int { n, _ := strconv.Atoi(s["MainPID"]); return n }

func (s unitState) String() string {
	var b strings.Builder
	for _, k := range unitProps {
		fmt.Fprintf(&b, "%s=%s ", k, s[k])
	}
	return strings.TrimSpace(b.String())
}

var unitProps = []string{"ActiveState", "SubState", "Result", "MainPID", "ExecMainStatus", "NRestarts"}

// showUnit asks the container's systemd for the unit's state.
func (c *nspawnContainer) showUnit() (unitState, error) {
	out, err := c.run("systemctl", "show", unitName, "-p", strings.Join(unitProps, ","))
	if err != nil {
		return nil, err
	}
	s := unitState{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			s[k] = v
		}
	}
	return s, nil
}

func (c *nspawnContainer) unit() unitState {
	c.t.Helper()
	s, err := c.showUnit()
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// waitUnit polls the unit's state every 50 ms until cond holds. Errors count
// as "not yet": early in the boot systemctl cannot connect.
func (c *nspawnContainer) waitUnit(what string, timeout time.Duration, cond func(unitState) bool) (unitState, time.Duration) {
	c.t.Helper()
	start := time.Now()
	var last unitState
	var lastErr error
	for time.Since(start) < timeout {
		if c.exited() {
			c.t.Fatalf("systemd-nspawn exited while waiting for %s", what)
		}
		s, err := c.showUnit()
		if err == nil && cond(s) {
			return s, time.Since(start)
		}
		last, lastErr = s, err
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("after %v still waiting for %s: %s (error %v)", timeout, what, last, lastErr)
	return nil, 0
}

// checkMainProcess reads the main process's status in the container: it
// runs as the dedicated user, with no privileges left, under seccomp.
func (c *nspawnContainer) checkMainProcess(pid int) {
	c.t.Helper()
	passwd := strings.Split(strings.TrimSpace(c.mustRun("getent", "passwd", unitUser)), ":")
	if len(passwd) < 4 {
		c.t.Fatalf("getent passwd %s: %q", unitUser, passwd)
	}
	uid, gid := passwd[2], passwd[3]
	// Type=simple is "active" as soon as systemd forks: until the exec the
	// process is systemd's "(try2mqtt)", still root, sandbox not yet applied.
	var status map[string]string
	waitUntil(c.t, fmt.Sprintf("MainPID %d to exec the bridge", pid), 5*time.Second, func() bool {
		status = c.procStatus(pid)
		return status["Name"] == "teslemetry2mqtt"
	})
	want := map[string]string{
		"Uid":        strings.Repeat(uid+" ", 3) + uid, // real, effective, saved, fs
		"Gid":        strings.Repeat(gid+" ", 3) + gid,
		"NoNewPrivs": "1",                // NoNewPrivileges=yes
		"Seccomp":    "2",                // SystemCallFilter=
		"CapEff":     "0000000000000000", // no capabilities at all
		"CapBnd":     "0000000000000000", // CapabilityBoundingSet=
	}
	for k, v := range want {
		if status[k] != v {
			c.t.Errorf("MainPID %d %s: %q, want %q", pid, k, status[k], v)
		}
	}
	c.t.Logf("   MainPID %d (%s): Uid %s (%s), NoNewPrivs %s, Seccomp %s, CapBnd %s", pid, status["Name"], status["Uid"], unitUser, status["NoNewPrivs"], status["Seccomp"], status["CapBnd"])
}

// procStatus reads /proc/<pid>/status in the container (its PID namespace).
func (c *nspawnContainer) procStatus(pid int) map[string]string {
	c.t.Helper()
	status := map[string]string{}
	for _, l := range strings.Split(c.mustRun("cat", fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			status[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return status
}

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`)

// securityExposure returns systemd-analyze's overall exposure score (0 = best, 10 = worst).
func (c *nspawnContainer) securityExposure() (float64, string) {
	c.t.Helper()
	out := c.mustRun("systemd-analyze", "security", "--no-pager", unitName)
	m := exposureLine.FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("no overall exposure level in:\n%s", out)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		c.t.Fatal(err)
	}
	return n, m[2]
}

// poweroff shuts the container down cleanly and waits for nspawn to exit.
func (c *nspawnContainer) poweroff(timeout time.Duration) {
	c.t.Helper()
	start := time.Now()
	if _, err := c.run("systemctl", "poweroff"); err != nil {
		c.t.Logf("h. systemctl poweroff: %v", err) // the connection may drop as systemd goes down
	}
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("systemd-nspawn still running %v after poweroff", timeout)
	}
	code := c.cmd.ProcessState.ExitCode()
	c.t.Logf("h. poweroff: systemd-nspawn exited %d after %v", code, time.Since(start).Round(time.Millisecond))
	if code != 0 {
		c.t.Errorf("systemd-nspawn exit code %d after poweroff, want 0", code)
	}
}

// kill tears a container down that the test did not power off. SIGKILL to
// nspawn alone would orphan the container, so its systemd goes first
// (killing a PID namespace's init kills everything in it).
func (c *nspawnContainer) kill() {
	if c.exited() {
		if c.t.Failed() {
			c.t.Logf("container console (end):\n%s", c.consoleTail())
		}
		return
	}
	// The console is not drained once the container is killed: the journal
	// tells what happened, the whole journal's end covers boot problems.
	if c.t.Failed() && c.pid1 > 0 {
		unit, err := c.run("journalctl", "-u", unitName, "--no-pager")
		c.t.Logf("journal of %s (%v):\n%s", unitName, err, unit)
		all, err := c.run("journalctl", "-n", "30", "--no-pager")
		c.t.Logf("end of the container's journal (%v):\n%s", err, all)
	}
	init := c.pid1
	if init == 0 { // the boot never got as far as exec'ing systemd
		init = childNamed(c.cmd.Process.Pid, "")
	}
	if init > 0 {
		_ = syscall.Kill(init, syscall.SIGKILL)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
