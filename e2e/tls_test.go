package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/testkit"
)

// Contract §8: "TLS to the broker with a custom CA and client certificates
// works (ssl:// / mqtts://)" — against mosquitto with require_certificate.

type testPKI struct {
	dir                  string
	ca, server, client   string // certificate files
	serverKey, clientKey string
	caPool               *x509.CertPool
	clientCert           tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	issue := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, der
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}

	caKey := newKey()
	ca, caDER := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "t2m test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil, caKey)
	p.ca = write("ca.pem", "CERTIFICATE", caDER)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(ca)

	srvKey := newKey()
	_, srvDER := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey, srvKey)
	p.server = write("server.pem", "CERTIFICATE", srvDER)
	p.serverKey = write("server-key.pem", "EC PRIVATE KEY", keyDER(srvKey))

	cliKey := newKey()
	_, cliDER := issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "teslemetry2mqtt"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey, cliKey)
	p.client = write("client.pem", "CERTIFICATE", cliDER)
	p.clientKey = write("client-key.pem", "EC PRIVATE KEY", keyDER(cliKey))
	cert, err := tls.LoadX509KeyPair(p.client, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientCert = cert
	return p
}

func TestFaultTLSBrokerWithClientCertificates(t *testing.T) {
	pki := newPKI(t)
	mq := StartMosquitto(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n%s",
		pki.ca, pki.server, pki.serverKey, rootUser()))
	brokerURL := fmt.Sprintf("mqtts://127.0.0.1:%d", mq.Port)
	tlsCfg := &tls.Config{RootCAs: pki.caPool, Certificates: []tls.Certificate{pki.clientCert}, MinVersion: tls.VersionTLS12}

	// Without a client certificate the broker refuses the connection.
	noCert := paho.NewClient(paho.NewClientOptions().AddBroker(fmt.Sprintf("ssl://127.0.0.1:%d", mq.Port)).
		SetClientID("no-cert").SetConnectTimeout(5 * time.Second).
		SetTLSConfig(&tls.Config{RootCAs: pki.caPool, MinVersion: tls.VersionTLS12}))
	if tok := noCert.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		noCert.Disconnect(0)
		t.Fatal("the broker accepted a client without a certificate")
	}

	tesla := testkit.NewFakeTeslemetry(t, token)
	tesla.SetSnapshot(sample(t)...)
	sub := testkit.SubscribeWith(t, fmt.Sprintf("ssl://127.0.0.1:%d", mq.Port), "#", func(o *paho.ClientOptions) { o.SetTLSConfig(tlsCfg) })

	t.Run("CA and client certificate", func(t *testing.T) {
		br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: brokerURL,
			MQTTExtra: fmt.Sprintf("  tls: {ca_file: %q, cert_file: %q, key_file: %q}\n", pki.ca, pki.client, pki.clientKey)})
		start := time.Now()
		sub.WaitFor("teslemetry/bridge/state", "online", 15*time.Second)
		sub.WaitFor("teslemetry/"+vin1+"/v/Gear", "P", 15*time.Second)
		sub.WaitFor("teslemetry/"+vin2+"/v/Odometer", "9521.442", 15*time.Second)
		sub.WaitUntil("discovery over TLS", 15*time.Second, func(l map[string]string) bool {
			_, ok := l["homeassistant/sensor/teslemetry_"+vin1+"/BatteryLevel/config"]
			return ok
		})
		t.Logf("over TLS with a client certificate: %d retained topics within %v", len(sub.Latest()), time.Since(start).Round(time.Millisecond))
		if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
			t.Errorf("exit %d after %v", code, d)
		}
		sub.WaitFor("teslemetry/bridge/state", "offline", 5*time.Second)
	})

	t.Run("unknown CA is refused", func(t *testing.T) {
		br := runBridge(t, cfgOpts{Tesla: tesla.URL(), Broker: brokerURL, ClientID: "t2m-no-ca",
			MQTTExtra: fmt.Sprintf("  tls: {cert_file: %q, key_file: %q}\n", pki.client, pki.clientKey)})
		br.waitLog(15*time.Second, "MQTT broker unreachable")
		if code, d := br.stop(syscall.SIGTERM); code != 0 || d > 5*time.Second {
			t.Errorf("exit %d after %v", code, d)
		}
		if !strings.Contains(br.Output(), "certificate") {
			t.Errorf("the error does not name the certificate problem:\n%s", br.Output())
		}
		if br.lines("MQTT connected") != 0 {
			t.Error("connected to a broker whose certificate it cannot verify")
		}
	})
}
