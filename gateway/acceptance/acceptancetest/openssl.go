package acceptancetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// CMSOptions adjust SignCMS.
type CMSOptions struct {
	Attached bool     // .p7m: the document inside the signature
	Stream   bool     // BER with indefinite lengths, as streaming signers write
	NoAttrs  bool     // no signed attributes (old PKCS#7 style)
	PSS      bool     // RSASSA-PSS instead of PKCS#1 v1.5
	Digest   string   // sha256 by default
	Extra    []string // more openssl cms arguments
}

// SignCMS signs data with `openssl cms -sign` and returns the DER signature:
// detached CAdES (.p7s) by default, attached (.p7m) with Attached.
func SignCMS(t testing.TB, p *PKI, signer *Cert, data []byte, o CMSOptions) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.p7")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	md := o.Digest
	if md == "" {
		md = "sha256"
	}
	args := []string{"cms", "-sign", "-binary", "-in", in, "-signer", signer.CertPath, "-inkey", signer.KeyPath,
		"-certfile", p.ChainPEM(), "-md", md, "-outform", "DER", "-out", out, "-nosmimecap"}
	if o.Attached {
		args = append(args, "-nodetach")
	}
	if o.Stream {
		args = append(args, "-stream")
	}
	if o.NoAttrs {
		args = append(args, "-noattr")
	}
	if o.PSS {
		args = append(args, "-keyopt", "rsa_padding_mode:pss")
	}
	args = append(args, o.Extra...)
	if r := extools.Run(t, nil, bin, args...); !r.OK() {
		t.Fatalf("openssl %v: %s", args, r.Stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// EncryptCMS makes CMS EnvelopedData for recipient with `openssl cms -encrypt`.
func EncryptCMS(t testing.TB, recipient *Cert, data []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.p7m")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := extools.Run(t, nil, bin, "cms", "-encrypt", "-binary", "-aes256", "-in", in, "-outform", "DER", "-out", out, recipient.CertPath); !r.OK() {
		t.Fatalf("openssl cms -encrypt: %s", r.Stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
