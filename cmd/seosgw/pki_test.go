package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
)

// nodeConfig writes a node configuration whose transport identity is a
// test PKI's certificate for host, and returns its path and the PKI.
func nodeConfig(t *testing.T, host string) (string, *pki.TestPKI) {
	t.Helper()
	dir := t.TempDir()
	tp, err := pki.MakeTestPKI(dir, []string{host})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ais-token"), []byte("token-0123456789\n"), 0o600)
	cfg := filepath.Join(dir, "seosgw.yaml")
	y := fmt.Sprintf(`participant: {guid: "{00000001-0000-4000-8000-000000000001}", eik: "000000001", name: "Община А"}
tls: {cert: %q, key: %q, ca: %q}
endpoint: {public_url: "https://public.%s:4443/seos/endpoint"}
register: {url: "https://register.obmen.local/"}
database: {path: gw.db}
ais: {token_file: ais-token}
`, tp.Hosts[host].Cert, tp.Hosts[host].Key, tp.CACert, host)
	if err := os.WriteFile(cfg, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, tp
}

func TestPKICSR(t *testing.T) {
	cfg, tp := nodeConfig(t, "a.obmen.local")
	out := t.TempDir()
	code, stdout, stderr := cli(t, nil, "pki", "csr", "--config", cfg, "--out", out, "--name", "renewal", "--bits", "3072")
	if code != 0 {
		t.Fatalf("pki csr: %d %s", code, stderr)
	}
	keyPath, csrPath := filepath.Join(out, "renewal-key.pem"), filepath.Join(out, "renewal.csr")
	for _, want := range []string{keyPath, csrPath, "RSA 3072 bits, mode 0600", "CN=a.obmen.local", "a.obmen.local, public.a.obmen.local"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	raw, _ := os.ReadFile(csrPath)
	csr, err := pki.ParseRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := pki.LoadIdentity(tp.Hosts["a.obmen.local"].Cert, tp.Hosts["a.obmen.local"].Key)
	if string(csr.RawSubject) != string(cur.Cert.RawSubject) {
		t.Errorf("subject %s, the certificate in force has %s", csr.Subject, cur.Cert.Subject)
	}
	// DAEU issues for the request: the answer and the new key are a pair.
	issued, err := tp.Authority.IssueFor(csr)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(out, "renewal.pem")
	os.WriteFile(certPath, (&pki.Identity{Cert: issued}).CertPEM(), 0o644)
	if _, err := pki.LoadIdentity(certPath, keyPath); err != nil {
		t.Errorf("issued certificate and new key: %v", err)
	}

	// A second run never touches the key it made.
	before, _ := os.ReadFile(keyPath)
	code, stdout, stderr = cli(t, nil, "pki", "csr", "--config", cfg, "--out", out, "--name", "renewal")
	if after, _ := os.ReadFile(keyPath); code != 1 || !strings.Contains(stderr, "exists already") || string(after) != string(before) || stdout != "" {
		t.Errorf("second run: %d %q %q", code, stdout, stderr)
	}
	// The default: beside tls.key, named by the date.
	code, stdout, stderr = cli(t, nil, "pki", "csr", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, filepath.Join(filepath.Dir(tp.Hosts["a.obmen.local"].Key), "transport-")) {
		t.Errorf("default place: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, nil, "pki", "csr", "--config", cfg, "--bits", "1024"); code != 2 || !strings.Contains(stderr, `"1024" is not one of 2048, 3072, 4096`) {
		t.Errorf("--bits 1024: %d %s", code, stderr)
	}
	// A key under tls.min_rsa_bits would be refused at the reload: not made.
	raised := filepath.Join(filepath.Dir(cfg), "raised.yaml")
	y, _ := os.ReadFile(cfg)
	os.WriteFile(raised, []byte(strings.Replace(string(y), "tls: {", "tls: {min_rsa_bits: 3072, ", 1)), 0o600)
	if code, _, stderr := cli(t, nil, "pki", "csr", "--config", raised, "--out", t.TempDir()); code != 1 || !strings.Contains(stderr, "--bits 2048 is under tls.min_rsa_bits (3072)") {
		t.Errorf("--bits 2048 under a 3072 floor: %d %s", code, stderr)
	}
}
