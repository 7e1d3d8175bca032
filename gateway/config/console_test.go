package config

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

const consoleOn = `console:
  listen: "127.0.0.1:7361"
  users_file: ais-token
`

func TestConsoleSection(t *testing.T) {
	dir := writeFiles(t)
	c, err := Parse([]byte(minimal), dir)
	if err != nil || c.Console.Enabled() {
		t.Fatalf("the console is off unless configured: %+v %v", c.Console, err)
	}
	if c, err = Parse([]byte(minimal+consoleOn), dir); err != nil {
		t.Fatalf("a valid console section: %v", err)
	}
	if !c.Console.Enabled() || c.Console.SessionIdle.D() != 30*time.Minute || c.Console.SessionMax.D() != 12*time.Hour || c.Console.PageSize != 50 {
		t.Errorf("defaults not applied: %+v", c.Console)
	}
	os.WriteFile(filepath.Join(dir, "open-users"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "reports"), 0o755)
	tlsOn := "  tls: {cert: cert.pem, key: key.pem}\n"
	for _, tc := range []struct{ name, extra, from, to, field, fix string }{
		{"not host:port", "", `listen: "127.0.0.1:7361"`, `listen: "7361"`, "console.listen", "host:port"},
		{"open without TLS", "", `listen: "127.0.0.1:7361"`, `listen: "0.0.0.0:7361"`, "console.listen", "console.tls.cert"},
		{"no users file", "", "users_file: ais-token", "", "console.users_file", "seosgw console user add"},
		{"users file readable by others", "", "users_file: ais-token", "users_file: open-users", "console.users_file", "chmod 600"},
		{"TLS key only", "  tls: {key: key.pem}\n", "", "", "console.tls.cert", "both cert and key"},
		{"TLS key readable by others", "  tls: {cert: cert.pem, key: open-users}\n", "", "", "console.tls.key", "chmod 600"},
		{"client CA without TLS", "  tls: {client_ca: ca.pem}\n", "", "", "console.tls.client_ca", "over TLS"},
		{"client CA missing", "  tls: {cert: cert.pem, key: key.pem, client_ca: nope.pem}\n", "", "", "console.tls.client_ca", "PEM bundle"},
		{"short idle", "  session_idle: 10s\n", "", "", "console.session_idle", "at least 1m"},
		{"max under idle", "  session_idle: 2h\n  session_max: 1h\n", "", "", "console.session_max", "session_idle"},
		{"reports not a folder", "  reports_dir: ais-token\n", "", "", "console.reports_dir", "not a folder"},
		{"page too large", "  page_size: 5000\n", "", "", "console.page_size", "1 to 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := consoleOn + tc.extra
			if tc.from != "" {
				y = strings.Replace(y, tc.from, tc.to, 1)
			}
			_, err := Parse([]byte(minimal+y), dir)
			if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.fix) {
				t.Fatalf("error %v should name %q and say %q", err, tc.field, tc.fix)
			}
		})
	}
	for _, ok := range []string{
		strings.Replace(consoleOn, `"127.0.0.1:7361"`, `"0.0.0.0:7361"`, 1) + tlsOn,
		consoleOn + "  tls: {cert: cert.pem, key: key.pem, client_ca: ca.pem}\n  reports_dir: reports\n",
	} {
		if _, err := Parse([]byte(minimal+ok), dir); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestConsoleClientCRL: console.tls.client_crl must come with client_ca
// and be a CRL that CA signed; a stale one is accepted (a runtime state).
func TestConsoleClientCRL(t *testing.T) {
	dir := writeFiles(t)
	ca, err := pki.NewAuthority("console operators CA")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pki.NewAuthority("another CA")
	now := time.Now()
	for name, a := range map[string]*pki.Authority{"operators.crl": ca, "other.crl": other} {
		b, err := a.CRL(nil, now.Add(-48*time.Hour), now.Add(-24*time.Hour)) // past its next update
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "operators-ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	tlsWith := func(extra string) string {
		return consoleOn + "  tls: {cert: cert.pem, key: key.pem" + extra + "}\n"
	}
	for _, tc := range []struct{ name, y, fix string }{
		{"without client_ca", tlsWith(", client_crl: operators.crl"), "set client_ca"},
		{"missing", tlsWith(", client_ca: operators-ca.pem, client_crl: nope.crl"), "no such file"},
		{"not a CRL", tlsWith(", client_ca: operators-ca.pem, client_crl: ais-token"), "give the CRL"},
		{"another CA's", tlsWith(", client_ca: operators-ca.pem, client_crl: other.crl"), "not signed by a certificate of console.tls.client_ca"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tc.y), dir)
			if err == nil || !strings.Contains(err.Error(), "console.tls.client_crl") || !strings.Contains(err.Error(), tc.fix) {
				t.Fatalf("error %v should name console.tls.client_crl and say %q", err, tc.fix)
			}
		})
	}
	if _, err := Parse([]byte(minimal+tlsWith(", client_ca: operators-ca.pem, client_crl: operators.crl")), dir); err != nil {
		t.Errorf("the CA's own CRL: %v", err)
	}
}
