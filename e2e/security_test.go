package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Contract §8: the token and the MQTT password never appear in logs (even at
// debug level), bridge/info or any other topic, check-config output or error
// messages — also when the broker refuses the password or Teslemetry answers
// 401 with a body that echoes the token.

const (
	mqttUser   = "t2m"
	hookSecret = "Bearer hook-SECRET-5d4c"
	wrongPass  = "pw-wrong-SECRET-8e7f"
)

// passwordBroker starts mosquitto that accepts only mqttUser with password.
func passwordBroker(t *testing.T) *Mosquitto {
	t.Helper()
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Skip("mosquitto_passwd not installed")
	}
	pw := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, mqttUser, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	return StartMosquitto(t, fmt.Sprintf("allow_anonymous false\npassword_file %s\n%s", pw, rootUser()))
}

func withLogin(o *paho.ClientOptions) { o.SetUsername(mqttUser).SetPassword(password) }

// noSecrets fails when any secret occurs in text.
func noSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret %q in %s", s, where)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Status + "\n" + string(b)
}

func TestSecretsNeverLeak(t *testing.T) {
	mq := passwordBroker(t)
	secrets := []string{token, password, hookSecret, wrongPass}

	// Anonymous clients are refused: the broker really checks the password.
	anon := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL()).SetClientID("anon").SetConnectTimeout(5 * time.Second))
	if tok := anon.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		anon.Disconnect(0)
		t.Fatal("the broker accepts anonymous clients")
	}

	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.SubscribeWith(t, mq.URL(), "#", withLogin)
	listen := freeAddr(t)
	o := cfgOpts{
		Tesla: tesla.URL(), Broker: mq.URL(), Username: mqttUser, Password: password,
		LogLevel: "debug", HTTP: listen, VINs: []string{vin1},
		Extra: fmt.Sprintf("webhook: {listen: %q, authorization: %q}\n", freeAddr(t), hookSecret),
	}

	t.Run("running bridge", func(t *testing.T) {
		br := runBridge(t, o)
		sub.WaitFor("teslemetry/"+vin1+"/availability", "online", 15*time.Second)
		sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
		sub.WaitUntil("bridge/info", 10*time.Second, func(l map[string]string) bool {
			return strings.Contains(l["teslemetry/bridge/info"], `"connected":true`)
		})
		if auth, url := tesla.LastRequest(); auth != "Bearer "+token || strings.Contains(url, token) {
			t.Errorf("token must travel only in the Authorization header: %q %q", auth, url)
		}
		// Teslemetry revokes the token and echoes it (and the password) back.
		echo := fmt.Sprintf(`{"error":"invalid_token %s","error_description":"Bearer %s / %s"}`, token, token, password)
		tesla.SetResponse(http.StatusUnauthorized, http.Header{"Www-Authenticate": {"Bearer " + token}}, echo)
		tesla.DropAll()
		br.waitLog(10*time.Second, "token rejected")
		sub.WaitFor("teslemetry/"+vin1+"/availability", "offline", 10*time.Second)
		health := httpGet(t, "http://"+listen+"/healthz")
		metrics := httpGet(t, "http://"+listen+"/metrics")
		page := httpGet(t, "http://"+listen+"/") + httpGet(t, "http://"+listen+"/assets/app.js")
		api := httpGet(t, "http://"+listen+"/api/status")
		if !strings.Contains(api, `"vin":"`+vin1+`"`) || !strings.Contains(api, `"name":"Gear"`) {
			t.Errorf("/api/status lacks the car: %.300s", api)
		}
		if !strings.Contains(health, "503") {
			t.Errorf("/healthz with a rejected token: %s", health)
		}
		if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
			t.Errorf("exit %d after %v", code, d)
		}
		out := br.Output()
		if !strings.Contains(out, "level=debug") {
			t.Error("no debug lines: the log level was not debug")
		}
		noSecrets(t, "the debug log", out, secrets...)
		noSecrets(t, "/healthz", health, secrets...)
		noSecrets(t, "/metrics", metrics, secrets...)
		noSecrets(t, "the status page", page, secrets...)
		noSecrets(t, "/api/status", api, secrets...)
		n := 0
		for _, m := range sub.Messages() {
			noSecrets(t, "topic "+m.Topic, m.Topic+" "+m.Payload, secrets...)
			n++
		}
		t.Logf("checked %d log bytes at debug level, %d MQTT messages (incl. bridge/info), /healthz, /metrics, the status page and /api/status", len(out), n)
	})

	t.Run("check-config", func(t *testing.T) {
		path := writeFile(t, "config.yaml", o.yaml())
		cmd := exec.Command(binary, "check-config", "--config", path)
		cmd.Env = append(os.Environ(), "T2M_TEST_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<redacted>") {
			t.Fatalf("check-config: %v\n%s", err, out)
		}
		noSecrets(t, "check-config output", string(out), secrets...)
		// An invalid configuration holding every secret: the errors name keys, not values.
		bad := o
		bad.Extra += "units: furlongs\n"
		bad.Broker = "tcp://" + mqttUser + ":" + password + "@127.0.0.1:1/x"
		cmd = exec.Command(binary, "check-config", "--config", writeFile(t, "bad.yaml", bad.yaml()))
		cmd.Env = append(os.Environ(), "T2M_TEST_TOKEN="+token)
		out, _ = cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "units") {
			t.Errorf("invalid config: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
		}
		noSecrets(t, "check-config errors", string(out), secrets...)
	})

	t.Run("broker refuses the password", func(t *testing.T) {
		wrong := o
		wrong.Password = wrongPass
		wrong.HTTP = ""
		wrong.Extra = ""
		tesla.SetStatus(0)
		br := runBridge(t, wrong)
		br.waitLog(15*time.Second, "MQTT broker unreachable")
		time.Sleep(2 * time.Second) // a few more refused attempts
		if code, d := br.stop(syscall.SIGINT); code != 0 || d > 5*time.Second {
			t.Errorf("exit %d after %v", code, d)
		}
		out := br.Output()
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "MQTT broker unreachable") {
				line = l
			}
		}
		t.Logf("refused: %s", line)
		if !strings.Contains(strings.ToLower(line), "not authori") && !strings.Contains(strings.ToLower(line), "bad user name or password") {
			t.Errorf("the error does not say why: %s", line)
		}
		noSecrets(t, "the log of a refused login", out, secrets...)
	})

	t.Run("password in the broker URL", func(t *testing.T) {
		inURL := o
		inURL.Password, inURL.Username, inURL.HTTP, inURL.Extra = "", "", "", ""
		inURL.Broker = strings.Replace(mq.URL(), "tcp://", "tcp://"+mqttUser+":"+password+"@", 1)
		inURL.ClientID = "t2m-url-login"
		tesla.SetStatus(0)
		br := runBridge(t, inURL)
		br.waitLog(15*time.Second, "MQTT connected")
		sub.WaitFor("teslemetry/bridge/state", "online", 10*time.Second)
		if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
			t.Errorf("exit %d after %v", code, d)
		}
		noSecrets(t, "the log with the password in mqtt.url", br.Output(), secrets...)
		cmd := exec.Command(binary, "check-config", "--config", writeFile(t, "url.yaml", inURL.yaml()))
		cmd.Env = append(os.Environ(), "T2M_TEST_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("check-config: %v\n%s", err, out)
		}
		noSecrets(t, "check-config with the password in mqtt.url", string(out), secrets...)
	})
}
