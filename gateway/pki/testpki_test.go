package pki_test

import (
	"crypto"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestWriteFiles(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	id := issue(t, ca, hostA, pki.WithKey(key(1)))
	dir := t.TempDir()
	// A key file left world-readable by an earlier tool must not stay so.
	writeFile(t, dir, "node-key.pem", []byte("old"))
	if err := os.Chmod(filepath.Join(dir, "node-key.pem"), 0o644); err != nil {
		t.Fatal(err)
	}

	certPath, keyPath, err := id.WriteFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	if certPath != filepath.Join(dir, "node.pem") || keyPath != filepath.Join(dir, "node-key.pem") {
		t.Errorf("paths %s, %s", certPath, keyPath)
	}
	if m := mode(t, keyPath); m != 0o600 {
		t.Errorf("key file mode %o, want 600", m)
	}
	if m := mode(t, certPath); m != 0o644 {
		t.Errorf("certificate file mode %o, want 644", m)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in dir, want 2 (no temporary files left)", len(entries))
	}
	back, err := pki.LoadIdentity(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Cert.Equal(id.Cert) || !back.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(id.Key.Public()) {
		t.Error("files do not load back to the same identity")
	}
	if _, _, err := id.WriteFiles(filepath.Join(dir, "absent"), "node"); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("write into a missing dir: err = %v", err)
	}
}

func TestLoadAuthority(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	dir := t.TempDir()
	caCert, caKey, err := ca.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := pki.LoadAuthority(caCert, caKey)
	if err != nil {
		t.Fatal(err)
	}
	id := issue(t, loaded, hostA, pki.WithKey(key(1)))
	if _, err := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: hostA}); err != nil {
		t.Errorf("certificate from the reloaded CA: %v", err)
	}

	leafCert, leafKey, err := id.WriteFiles(dir, "leaf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.LoadAuthority(leafCert, leafKey); err == nil || !strings.Contains(err.Error(), "not a CA certificate") {
		t.Errorf("loading a leaf as CA: err = %v", err)
	}
}

func TestMakeTestPKI(t *testing.T) {
	openssl := extools.Require(t, "openssl")
	dir := filepath.Join(t.TempDir(), "pki") // not there yet: MakeTestPKI creates it
	hosts := []string{hostA, hostB}
	p, err := pki.MakeTestPKI(dir, hosts, pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	if p.ReusedAuthority || p.CACert != filepath.Join(dir, "ca.pem") || p.CAKey != filepath.Join(dir, "ca-key.pem") {
		t.Errorf("result %+v", p)
	}
	if m := mode(t, p.CAKey); m != 0o600 {
		t.Errorf("CA key mode %o", m)
	}
	roots, err := pki.LoadCertificates(p.CACert)
	if err != nil || len(roots) != 1 || roots[0].Subject.CommonName != pki.TestAuthorityName {
		t.Fatalf("ca.pem: %d certificates, %v", len(roots), err)
	}
	checkHosts := func(t *testing.T, p *pki.TestPKI, hosts []string) {
		for _, h := range hosts {
			files, ok := p.Hosts[h]
			if !ok || files.Cert != filepath.Join(dir, h+".pem") || files.Key != filepath.Join(dir, h+"-key.pem") {
				t.Fatalf("host %s: files %+v", h, files)
			}
			if m := mode(t, files.Key); m != 0o600 {
				t.Errorf("%s mode %o", files.Key, m)
			}
			id, err := pki.LoadIdentity(files.Cert, files.Key)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{h, "localhost", "127.0.0.1"} {
				if _, err := id.Cert.Verify(x509.VerifyOptions{Roots: pki.CertPool(roots), DNSName: name,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
					t.Errorf("%s as %s: %v", h, name, err)
				}
			}
			for _, purpose := range []string{"sslserver", "sslclient"} {
				r := extools.Run(t, nil, openssl, "verify", "-purpose", purpose, "-CAfile", p.CACert, files.Cert)
				if !r.OK() {
					t.Errorf("openssl verify -purpose %s %s: %s%s", purpose, h, r.Stdout, r.Stderr)
				}
			}
		}
	}
	checkHosts(t, p, hosts)

	t.Run("second run reuses the CA", func(t *testing.T) {
		again, err := pki.MakeTestPKI(dir, []string{"ministry-c.obmen.local"}, pki.WithLoopback())
		if err != nil {
			t.Fatal(err)
		}
		if !again.ReusedAuthority || !again.Authority.Cert.Equal(roots[0]) {
			t.Fatal("the CA was replaced; certificates handed out before would stop verifying")
		}
		checkHosts(t, again, []string{"ministry-c.obmen.local"})
		checkHosts(t, p, hosts) // still valid
	})

	errCases := []struct {
		name  string
		setup func(dir string)
		hosts []string
		opts  []pki.Option
		want  string
	}{
		{name: "host named ca", hosts: []string{"ca"}, want: "overwrite the CA"},
		{name: "host twice", hosts: []string{hostA, strings.ToUpper(hostA)}, want: "given twice"},
		{name: "path as host", hosts: []string{"../evil"}, want: "host name"},
		{name: "one serial for several hosts", hosts: hosts, opts: []pki.Option{pki.WithSerial(big.NewInt(7))}, want: "same serial"},
		{name: "bad option", hosts: hosts, opts: []pki.Option{pki.WithKeyBits(1000)}, want: "key size"},
		{name: "CA key without certificate", hosts: hosts, want: "only one of",
			setup: func(dir string) {
				os.MkdirAll(dir, 0o755)
				os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("x"), 0o600)
			}},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pki")
			if tc.setup != nil {
				tc.setup(dir)
			}
			_, err := pki.MakeTestPKI(dir, tc.hosts, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if tc.setup == nil {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Error("a refused request still wrote files")
				}
			}
		})
	}
}
