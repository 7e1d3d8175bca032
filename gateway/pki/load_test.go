package pki_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
)

func pemBlock(typ string, der []byte, headers map[string]string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func TestLoadIdentity(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	rsaID := issue(t, ca, hostA, pki.WithKey(key(1)))
	ecPriv := testkit.ECKey(t)
	ecID := issue(t, ca, hostB, pki.WithKey(ecPriv))
	other := issue(t, ca, hostB, pki.WithKey(key(2)))

	ecDER, err := x509.MarshalECPrivateKey(ecPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	caPEM := ca.CertPEM()

	cases := []struct {
		name      string
		cert, key []byte // key nil: the key is in the certificate file
		want      *pki.Identity
		wantChain int
		wantErr   string
		wantIs    error
	}{
		{name: "RSA PKCS#8", cert: rsaID.CertPEM(), key: keyPEM(t, rsaID), want: rsaID},
		{name: "RSA PKCS#1", cert: rsaID.CertPEM(), key: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key(1)), nil), want: rsaID},
		{name: "EC SEC 1 with parameters block", cert: ecID.CertPEM(),
			key: append(pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, nil), pemBlock("EC PRIVATE KEY", ecDER, nil)...), want: ecID},
		{name: "EC PKCS#8", cert: ecID.CertPEM(), key: keyPEM(t, ecID), want: ecID},
		{name: "certificate and key in one file", cert: append(rsaID.CertPEM(), keyPEM(t, rsaID)...), want: rsaID},
		{name: "chain before the leaf", cert: append(append([]byte{}, caPEM...), rsaID.CertPEM()...), key: keyPEM(t, rsaID), want: rsaID, wantChain: 1},
		{name: "key of another certificate", cert: rsaID.CertPEM(), key: keyPEM(t, other), wantIs: pki.ErrKeyMismatch, wantErr: "does not belong to the certificate in"},
		{name: "encrypted PKCS#8", cert: rsaID.CertPEM(), key: pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}, nil), wantErr: "openssl pkey"},
		{name: "encrypted PKCS#1", cert: rsaID.CertPEM(),
			key: pemBlock("RSA PRIVATE KEY", []byte{0x30, 0}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}), wantErr: "encrypted"},
		{name: "two keys", cert: rsaID.CertPEM(), key: append(keyPEM(t, rsaID), keyPEM(t, other)...), wantErr: "more than one private key"},
		{name: "Ed25519 key", cert: rsaID.CertPEM(), key: pemBlock("PRIVATE KEY", edDER, nil), wantErr: "unsupported private key type"},
		{name: "certificate as key file", cert: rsaID.CertPEM(), key: rsaID.CertPEM(), wantErr: "no PEM PRIVATE KEY block"},
		{name: "empty key file", cert: rsaID.CertPEM(), key: []byte("\n"), wantErr: "empty"},
		{name: "DER key", cert: rsaID.CertPEM(), key: x509.MarshalPKCS1PrivateKey(key(1)), wantErr: "openssl pkey -inform der"},
		{name: "DER certificate", cert: rsaID.Cert.Raw, key: keyPEM(t, rsaID), wantErr: "openssl x509 -inform der"},
		{name: "CRL as certificate", cert: pemBlock("X509 CRL", []byte{0x30, 0}, nil), key: keyPEM(t, rsaID), wantErr: `"X509 CRL" block`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath := writeFile(t, dir, "cert.pem", tc.cert)
			keyPath := certPath
			if tc.key != nil {
				keyPath = writeFile(t, dir, "key.pem", tc.key)
			}
			got, err := pki.LoadIdentity(certPath, keyPath)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("LoadIdentity: %v", err)
				}
				if !got.Cert.Equal(tc.want.Cert) || len(got.Chain) != tc.wantChain {
					t.Errorf("Cert %s with %d chain certificates, want %s with %d", got.Cert.Subject, len(got.Chain), tc.want.Cert.Subject, tc.wantChain)
				}
				if !tc.want.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Key.Public()) {
					t.Error("loaded key differs from the issued one")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.wantIs)
			}
			// Every error points at a file, so an operator knows which one to fix.
			if !strings.Contains(err.Error(), certPath) && !strings.Contains(err.Error(), keyPath) {
				t.Errorf("err = %v names neither file", err)
			}
		})
	}

	t.Run("mismatch names both files and the serial", func(t *testing.T) {
		dir := t.TempDir()
		certPath := writeFile(t, dir, "a.pem", rsaID.CertPEM())
		keyPath := writeFile(t, dir, "b-key.pem", keyPEM(t, other))
		_, err := pki.LoadIdentity(certPath, keyPath)
		for _, want := range []string{certPath, keyPath, pki.SerialHex(rsaID.Cert)} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to name %s", err, want)
			}
		}
	})

	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.pem")
		_, err := pki.LoadIdentity(missing, missing)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("err = %v, want a not-exist error naming %s", err, missing)
		}
	})

	t.Run("PKCS#12 bundle", func(t *testing.T) {
		dir := t.TempDir()
		certPath := writeFile(t, dir, "cert.pem", rsaID.CertPEM())
		keyPath := writeFile(t, dir, "key.pem", keyPEM(t, rsaID))
		pfx := filepath.Join(dir, "transport.pfx")
		extools.PKCS12(t, certPath, keyPath, pfx, "secret")
		_, err := pki.LoadIdentity(pfx, keyPath)
		if err == nil || !strings.Contains(err.Error(), "openssl pkcs12 -in "+pfx) {
			t.Errorf("err = %v, want the openssl pkcs12 command that splits it", err)
		}
	})
}

// TestLoadIdentityFromOpenSSL loads keys and certificates as openssl writes them.
func TestLoadIdentityFromOpenSSL(t *testing.T) {
	bin := extools.Require(t, "openssl")
	cases := []struct {
		name   string
		genKey []string // writes key.pem
	}{
		{"genpkey RSA (PKCS#8)", []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"}},
		{"genrsa -traditional (PKCS#1)", []string{"genrsa", "-traditional", "-out", "key.pem", "2048"}},
		{"ecparam -genkey (SEC 1 with parameters)", []string{"ecparam", "-name", "prime256v1", "-genkey", "-out", "key.pem"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keyPath, certPath := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
			args := slices.Clone(tc.genKey)
			args[slices.Index(args, "key.pem")] = keyPath
			if r := extools.Run(t, nil, bin, args...); !r.OK() {
				t.Fatalf("openssl %v: %s", tc.genKey, r.Stderr)
			}
			r := extools.Run(t, nil, bin, "req", "-new", "-x509", "-key", keyPath, "-out", certPath, "-subj", "/CN="+hostA, "-days", "1")
			if !r.OK() {
				t.Fatalf("openssl req: %s", r.Stderr)
			}
			id, err := pki.LoadIdentity(certPath, keyPath)
			if err != nil {
				t.Fatalf("LoadIdentity: %v", err)
			}
			if id.Cert.Subject.CommonName != hostA {
				t.Errorf("CN %q", id.Cert.Subject.CommonName)
			}
		})
	}
}

func TestLoadCertificates(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	other := newAuthority(t, "Other CA", pki.WithKey(key(1)))
	leaf := issue(t, other, hostA, pki.WithKey(key(2)))
	dir := t.TempDir()

	bundle := writeFile(t, dir, "bundle.pem", append(append([]byte("DAEU roots\n"), ca.CertPEM()...), other.CertPEM()...))
	certs, err := pki.LoadCertificates(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || !certs[0].Equal(ca.Cert) || !certs[1].Equal(other.Cert) {
		t.Fatalf("loaded %d certificates, want the two CAs in file order", len(certs))
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: pki.CertPool(certs)}); err != nil {
		t.Errorf("verify against CertPool(bundle): %v", err)
	}

	errCases := []struct {
		name string
		data []byte
		want string
	}{
		{"key in a CA bundle", append(ca.CertPEM(), keyPEM(t, &ca.Identity)...), `"PRIVATE KEY" block`},
		{"no PEM at all", []byte("hello\n"), "no PEM CERTIFICATE block"},
		{"corrupt certificate", pemBlock("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, nil), "certificate #1"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "bad.pem", tc.data)
			_, err := pki.LoadCertificates(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want one naming %s and mentioning %q", err, path, tc.want)
			}
		})
	}
	if _, err := pki.LoadCertificates(filepath.Join(dir, "absent.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: err = %v", err)
	}
}
