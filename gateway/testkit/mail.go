package testkit

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

// The mail channel's kit: S/MIME made and checked by openssl, mail sent by
// swaks, a real IMAP server (dovecot.go) and a submission server that
// records what it takes (submission.go).

// SMIME says how openssl should sign a mail.
type SMIME struct {
	Opaque bool // application/pkcs7-mime signed-data instead of multipart/signed
	LF     bool // every line end LF, as a Unix mail store keeps mail, instead of CRLF
}

// SignMail signs entity (a MIME entity: header, blank line, body) with
// `openssl smime -sign` and returns the whole mail, header prepended.
func SignMail(t testing.TB, p *acceptancetest.PKI, signer *acceptancetest.Cert, header string, entity []byte, o SMIME) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "entity"), filepath.Join(dir, "signed.eml")
	writeFile(t, in, entity)
	args := []string{"smime", "-sign", "-binary", "-in", in, "-signer", signer.CertPath, "-inkey", signer.KeyPath,
		"-certfile", p.ChainPEM(), "-md", "sha256", "-out", out}
	if o.Opaque {
		args = append(args, "-nodetach")
	}
	if !o.LF {
		args = append(args, "-crlfeol")
	}
	if r := extools.Run(t, nil, bin, args...); !r.OK() {
		t.Fatalf("openssl %v: %s", args, r.Stderr)
	}
	signed := acceptancetest.Read(t, out)
	if o.LF {
		signed = bytes.ReplaceAll(signed, []byte("\r\n"), []byte("\n"))
	} else {
		// openssl writes the signature's base64 with bare LF: as sent over
		// SMTP, every line ends in CRLF (the signed part already does).
		signed = CRLF(string(signed))
	}
	return withHeader(header, signed, !o.LF)
}

// EncryptMail makes an S/MIME enveloped-data mail for recipient with
// `openssl smime -encrypt`.
func EncryptMail(t testing.TB, recipient *acceptancetest.Cert, header string, entity []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "entity"), filepath.Join(dir, "enc.eml")
	writeFile(t, in, entity)
	if r := extools.Run(t, nil, bin, "smime", "-encrypt", "-aes256", "-binary", "-crlfeol", "-in", in, "-out", out, recipient.CertPath); !r.OK() {
		t.Fatalf("openssl smime -encrypt: %s", r.Stderr)
	}
	return withHeader(header, CRLF(string(acceptancetest.Read(t, out))), true)
}

// VerifyMail runs `openssl smime -verify` and `openssl cms -verify` on a
// mail against the PKI's root and returns the signed content, failing the
// test when the signature does not verify.
func VerifyMail(t testing.TB, p *acceptancetest.PKI, mail []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mail.eml"), filepath.Join(dir, "content")
	writeFile(t, in, mail)
	r := extools.Run(t, nil, bin, "smime", "-verify", "-in", in, "-CAfile", p.Root.CertPath, "-certfile", p.ChainPEM(), "-out", out)
	if !r.OK() {
		t.Fatalf("openssl smime -verify: %s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "Verification successful") {
		t.Fatalf("openssl smime -verify said: %s", r.Stderr)
	}
	// The same with openssl cms, the newer front end.
	if r := extools.Run(t, nil, bin, "cms", "-verify", "-in", in, "-CAfile", p.Root.CertPath, "-certfile", p.ChainPEM(), "-out", out+".cms"); !r.OK() {
		t.Fatalf("openssl cms -verify: %s", r.Stderr)
	}
	return acceptancetest.Read(t, out)
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

// Swaks sends mail with swaks, an SMTP client independent of ours, and
// returns what it printed and how it exited.
func Swaks(t testing.TB, args ...string) extools.Result {
	t.Helper()
	bin := extools.Require(t, "swaks")
	return extools.Run(t, nil, bin, append([]string{"--timeout", "60", "--hide-informational"}, args...)...)
}

// SendMail sends mail (CRLF text ending in CRLF) to an SMTP server with
// swaks, from and to the envelope addresses; extra are more swaks
// arguments (--tls, --protocol LMTP, ...). The server receives mail byte
// for byte: swaks ends the data with CRLF . CRLF itself.
func SendMail(t testing.TB, server, from, to string, mail []byte, extra ...string) extools.Result {
	t.Helper()
	data := TempFile(t, "mail.eml", bytes.TrimSuffix(mail, []byte("\r\n")))
	return Swaks(t, append([]string{"--server", server, "--from", from, "--to", to, "--data", "@" + data}, extra...)...)
}

// TempFile writes b to a file in the test's folder and returns its path.
func TempFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	writeFile(t, p, b)
	return p
}

// LocalhostTLS is a server identity for "localhost" (and the loopback
// addresses) from a CA made on the spot, a client configuration that
// trusts it, and the CA's certificate file (for a client configured by
// file, such as seosgw's mail.submission.ca).
func LocalhostTLS(t testing.TB, name string) (*pki.Identity, *tls.Config, string) {
	t.Helper()
	p := NewPKI(t, "seosgw "+name+" test CA", nil)
	return p.Host(t, "localhost"), &tls.Config{RootCAs: p.CA.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}, p.CAFile(t, "")
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
