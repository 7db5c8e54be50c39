package mqttpub

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"slices"
)

// Schemes are the broker URL schemes the bridge can connect with
// (mqtt.url): plain TCP, TLS and websockets.
var Schemes = []string{"tcp", "mqtt", "ssl", "mqtts", "ws", "wss"}

// secureSchemes are the schemes that connect with TLS, including the
// aliases paho and other clients accept.
var secureSchemes = []string{"ssl", "tls", "mqtts", "tcps", "wss"}

// ValidScheme reports whether scheme is one of Schemes.
func ValidScheme(scheme string) bool { return slices.Contains(Schemes, scheme) }

// SecureScheme reports whether a broker URL scheme connects with TLS.
func SecureScheme(scheme string) bool { return slices.Contains(secureSchemes, scheme) }

// TLSFiles are the TLS settings of a broker connection (mqtt.tls).
type TLSFiles struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
}

// BrokerTLS builds the TLS configuration for a broker URL: nil for a plain
// connection without client certificate or CA, else a configuration that
// trusts CAFile (when set, instead of the system roots) and presents
// CertFile/KeyFile (when set).
func BrokerTLS(brokerURL string, t TLSFiles) (*tls.Config, error) {
	u, _ := url.Parse(brokerURL)
	secure := u != nil && SecureScheme(u.Scheme)
	if !secure && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // user's explicit choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
