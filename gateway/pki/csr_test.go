package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// A renewal asks for what the certificate in force has, with a new key;
// the CA's answer loads with that key as a transport identity.
func TestRenewalRequest(t *testing.T) {
	ca, err := NewAuthority("test DAEU CA")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ca.IssueTransport("ministry.obmen.local", WithSubject(pkix.Name{Organization: []string{"Министерство на примерите"}, Country: []string{"BG"}}),
		WithDNSNames("gw.ministry.obmen.local"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := RenewalOf(cur.Cert, "ministry.obmen.local", "public.ministry.obmen.local", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ministry.obmen.local", "gw.ministry.obmen.local", "public.ministry.obmen.local"}; !slices.Equal(r.DNSNames, want) {
		t.Errorf("names %v, want %v", r.DNSNames, want)
	}
	keyPEM, csrPEM, err := r.Request(3072)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseRequest(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	if string(csr.RawSubject) != string(cur.Cert.RawSubject) || !slices.Equal(csr.DNSNames, r.DNSNames) {
		t.Errorf("request for %s %v, want %s %v", csr.Subject, csr.DNSNames, cur.Cert.Subject, r.DNSNames)
	}
	if k := csr.PublicKey.(*rsa.PublicKey); k.N.BitLen() != 3072 {
		t.Errorf("key of %d bits", k.N.BitLen())
	}
	issued, err := ca.IssueFor(csr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "new.pem"), filepath.Join(dir, "new-key.pem")
	if err := WriteNewFile(keyPath, keyPEM, 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if err := WriteNewFile(certPath, (&Identity{Cert: issued}).CertPEM(), 0o644, ""); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(certPath, keyPath)
	if err != nil {
		t.Fatalf("the issued certificate and the new key: %v", err)
	}
	if err := CheckKey(id.Cert.PublicKey, 0); err != nil {
		t.Error(err)
	}
	if id.Cert.Subject.String() != cur.Cert.Subject.String() || SerialHex(id.Cert) == SerialHex(cur.Cert) {
		t.Errorf("renewed %s serial %s; was %s serial %s", id.Cert.Subject, SerialHex(id.Cert), cur.Cert.Subject, SerialHex(cur.Cert))
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o", st.Mode().Perm())
	}
	// Never over an existing file; what was there stays.
	if err := WriteNewFile(keyPath, []byte("other"), 0o600, ""); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("second write: %v", err)
	}
	if b, _ := os.ReadFile(keyPath); string(b) != string(keyPEM) {
		t.Error("the existing key was changed")
	}
	// OpenSSL reads the request as DAEU's tools would.
	openssl := extools.Require(t, "openssl")
	csrPath := filepath.Join(dir, "new.csr")
	os.WriteFile(csrPath, csrPEM, 0o644)
	res := extools.Run(t, nil, openssl, "req", "-in", csrPath, "-noout", "-verify", "-text")
	if !res.OK() || !strings.Contains(res.Stdout+res.Stderr, "verify OK") || !strings.Contains(res.Stdout, "DNS:public.ministry.obmen.local") ||
		!strings.Contains(res.Stdout, "CN = ministry.obmen.local") {
		t.Errorf("openssl req: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestKeyStrengthFloor: one floor, tls.min_rsa_bits (2048 unless set),
// for every RSA key; ECDSA under P-256 is refused too.
func TestKeyStrengthFloor(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := NewAuthority("x")
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, c := range []struct {
		name    string
		pub     crypto.PublicKey
		min     int
		refused string
	}{
		{"RSA-1024, default floor", &weak.PublicKey, 0, "RSA key of 1024 bits is under the 2048-bit floor (tls.min_rsa_bits)"},
		{"RSA-2048, default floor", ca.Key.Public(), 0, ""},
		{"RSA-2048, floor 3072", ca.Key.Public(), 3072, "RSA key of 2048 bits is under the 3072-bit floor"},
		{"RSA-1024, floor 1024", &weak.PublicKey, 1024, ""},
		{"ECDSA P-224", &p224.PublicKey, 0, "ECDSA key of 224 bits is under the 256-bit floor"},
		{"ECDSA P-256", &p256.PublicKey, 0, ""},
	} {
		err := CheckKey(c.pub, c.min)
		var weak *WeakKeyError
		if c.refused == "" && err != nil || c.refused != "" && (!errors.As(err, &weak) || !strings.Contains(err.Error(), c.refused)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.refused)
		}
	}
}

// ParseRequest takes what an operator or DAEU hands back: any bytes give a
// request whose signature holds, or an error.
func FuzzParseRequest(f *testing.F) {
	ca, err := NewAuthority("test DAEU CA")
	if err != nil {
		f.Fatal(err)
	}
	cur, err := ca.IssueTransport("ministry.obmen.local")
	if err != nil {
		f.Fatal(err)
	}
	r, err := RenewalOf(cur.Cert)
	if err != nil {
		f.Fatal(err)
	}
	_, csrPEM, err := r.Request(2048)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(csrPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMII=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add(cur.CertPEM())
	f.Fuzz(func(t *testing.T, b []byte) {
		csr, err := ParseRequest(b)
		if err == nil && csr.CheckSignature() != nil {
			t.Error("accepted a request whose signature does not hold")
		}
	})
}
