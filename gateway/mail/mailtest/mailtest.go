// Package mailtest is the mail channel's test kit: S/MIME made by openssl,
// mail sent by swaks, a real IMAP server (Debian's dovecot) with a
// temporary configuration on a loopback port, and a submission server that
// records what it is given. Tests only.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
)

// SMIME says how openssl should sign.
type SMIME struct {
	Opaque bool // application/pkcs7-mime signed-data instead of multipart/signed
	LF     bool // every line end LF, as a Unix mail store keeps mail, instead of CRLF
	Header string
}

// Sign signs entity (a MIME entity: header, blank line, body) with
// `openssl smime -sign` and returns the whole mail, header prepended.
func Sign(t testing.TB, pki *acceptancetest.PKI, signer *acceptancetest.Cert, header string, entity []byte, o SMIME) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "entity"), filepath.Join(dir, "signed.eml")
	write(t, in, entity)
	args := []string{"smime", "-sign", "-binary", "-in", in, "-signer", signer.CertPath, "-inkey", signer.KeyPath,
		"-certfile", pki.ChainPEM(), "-md", "sha256", "-out", out}
	if o.Opaque {
		args = append(args, "-nodetach")
	}
	if !o.LF {
		args = append(args, "-crlfeol")
	}
	if r := extools.Run(t, nil, bin, args...); !r.OK() {
		t.Fatalf("openssl %v: %s", args, r.Stderr)
	}
	signed := read(t, out)
	if o.LF {
		signed = bytes.ReplaceAll(signed, []byte("\r\n"), []byte("\n"))
	}
	return withHeader(header, signed, !o.LF)
}

// Encrypt makes an S/MIME enveloped-data mail for recipient with
// `openssl smime -encrypt`.
func Encrypt(t testing.TB, recipient *acceptancetest.Cert, header string, entity []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "entity"), filepath.Join(dir, "enc.eml")
	write(t, in, entity)
	if r := extools.Run(t, nil, bin, "smime", "-encrypt", "-aes256", "-binary", "-crlfeol", "-in", in, "-out", out, recipient.CertPath); !r.OK() {
		t.Fatalf("openssl smime -encrypt: %s", r.Stderr)
	}
	return withHeader(header, read(t, out), true)
}

// Verify runs `openssl smime -verify` on a mail against the PKI's root
// and returns the signed content it printed, failing the test when the
// signature does not verify.
func Verify(t testing.TB, pki *acceptancetest.PKI, mail []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mail.eml"), filepath.Join(dir, "content")
	write(t, in, mail)
	r := extools.Run(t, nil, bin, "smime", "-verify", "-in", in, "-CAfile", pki.Root.CertPath, "-certfile", pki.ChainPEM(), "-out", out)
	if !r.OK() {
		t.Fatalf("openssl smime -verify: %s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "Verification successful") {
		t.Fatalf("openssl smime -verify said: %s", r.Stderr)
	}
	// The same with openssl cms, the newer front end.
	if r := extools.Run(t, nil, bin, "cms", "-verify", "-in", in, "-CAfile", pki.Root.CertPath, "-certfile", pki.ChainPEM(), "-out", out+".cms"); !r.OK() {
		t.Fatalf("openssl cms -verify: %s", r.Stderr)
	}
	return read(t, out)
}

// withHeader puts header lines (LF-separated in the test source) above
// the mail's own.
func withHeader(header string, mail []byte, crlf bool) []byte {
	if header == "" {
		return mail
	}
	h := strings.TrimRight(header, "\n") + "\n"
	if crlf {
		h = strings.ReplaceAll(h, "\n", "\r\n")
	}
	return append([]byte(h), mail...)
}

// CRLF turns a test's LF text into CRLF mail text.
func CRLF(s string) []byte {
	return bytes.ReplaceAll([]byte(strings.ReplaceAll(s, "\r\n", "\n")), []byte("\n"), []byte("\r\n"))
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Swaks sends mail with swaks, an SMTP client independent of ours, and
// returns what it printed and how it exited.
func Swaks(t testing.TB, args ...string) extools.Result {
	t.Helper()
	bin := extools.Require(t, "swaks")
	return extools.Run(t, nil, bin, append([]string{"--timeout", "60", "--hide-informational"}, args...)...)
}

// WriteFile writes b to a temporary file and returns its path.
func WriteFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	write(t, p, b)
	return p
}

// ServerCert is a server certificate for "localhost" from a CA made on the
// spot, and a client configuration that trusts it.
func ServerCert(t testing.TB, name string) (*pki.Identity, *tls.Config) {
	t.Helper()
	ca, err := pki.NewAuthority("seosgw " + name + " test CA")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.IssueTransport("localhost")
	if err != nil {
		t.Fatal(err)
	}
	return id, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
}
