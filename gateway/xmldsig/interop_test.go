package xmldsig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/schemas"
)

// Interop with the two other XML-DSig stacks SEOS meets: xmlsec1 (libxml2,
// as Java/C nodes canonicalise) and .NET SignedXml (the known node). Each
// verifies what the others sign, and a one-character change fails in all.

func xmlsecVerify(t *testing.T, p *testPKI, file string) extools.Result {
	t.Helper()
	bin := extools.Require(t, "xmlsec1")
	return extools.Run(t, nil, bin, "--verify", "--enabled-reference-uris", "empty", "--trusted-pem", p.caPEM, file)
}

// peerPFX writes a's identity as a PKCS#12 file Mono can read, once.
func peerPFX(t testing.TB, p *testPKI) string {
	t.Helper()
	pfx := filepath.Join(p.dir, "a.pfx")
	p.prepared.Do(func() { extools.PKCS12(t, p.aCert, p.aKey, pfx, "test") })
	return pfx
}

func TestSeosgwSignedVerifiesElsewhere(t *testing.T) {
	p := getPKI(t)
	for _, h := range []Hash{SHA256, SHA1} {
		signed := signBytes(t, p.signer(p.a, h), message(t, 2000))
		tampered := bytes.Replace(signed, []byte("Писмо"), []byte("Писма"), 1)
		good, bad := writeTemp(t, "good.xml", signed), writeTemp(t, "bad.xml", tampered)
		t.Run("xmlsec1/"+string(h), func(t *testing.T) {
			if r := xmlsecVerify(t, p, good); !r.OK() {
				t.Fatalf("xmlsec1 refused our signature: %s", r.Stderr)
			}
			if r := xmlsecVerify(t, p, bad); r.OK() {
				t.Fatal("xmlsec1 accepted a tampered message")
			}
		})
		t.Run("dotnet/"+string(h), func(t *testing.T) {
			r := extools.Peer(t, "verify", good)
			out := strings.TrimSpace(r.Stdout)
			if !r.OK() || !strings.HasPrefix(out, "OK ") || pki.NormalizeSerial(out[3:]) != pki.SerialHex(p.a.Cert) {
				t.Fatalf(".NET refused our signature: %s %s", r.Stdout, r.Stderr)
			}
			if r := extools.Peer(t, "verify", bad); r.OK() {
				t.Fatal(".NET accepted a tampered message")
			}
		})
	}
}

func TestDotnetSignedVerifiesInSeosgw(t *testing.T) {
	p := getPKI(t)
	pfx := peerPFX(t, p)
	in := writeTemp(t, "in.xml", message(t, 2000))
	// sign-node writes KeyInfo as the deployed node does: the certificate
	// twice and X509IssuerSerial with .NET's issuer name.
	for _, c := range []struct{ verb, h string }{{"sign", "sha1"}, {"sign", "sha256"}, {"sign-node", "sha1"}, {"sign-node", "sha256"}} {
		verb, h := c.verb, c.h
		t.Run(verb+"/"+h, func(t *testing.T) {
			r := extools.Peer(t, verb, in, pfx, "test", h)
			if !r.OK() {
				t.Fatalf(".NET sign: %s %s", r.Stdout, r.Stderr)
			}
			signed := []byte(r.Stdout)
			res, err := verifyBytes(t, signed)
			if err != nil {
				t.Fatalf("seosgw refused a .NET signature: %v", err)
			}
			if !res.Cert.Equal(p.a.Cert) {
				t.Error("wrong signer certificate")
			}
			if _, err := verifyBytes(t, bytes.Replace(signed, []byte("Писмо"), []byte("Писма"), 1)); err == nil {
				t.Error("seosgw accepted a tampered .NET-signed message")
			}
		})
	}
}

// xmlsec1 signs from a template; these cover rsa-sha1/sha1 (older peers)
// and exclusive C14N. Java-style prefixed messages, whose bindings
// SignedInfo inherits, are in the peer zoo (integration/e2e/testdata/zoo/java).
func TestXmlsecSignedVerifiesInSeosgw(t *testing.T) {
	p := getPKI(t)
	bin := extools.Require(t, "xmlsec1")
	msg := string(message(t, 500))
	cases := []struct {
		name, doc, c14n, sig, digest, prefix string
	}{
		{"rsa-sha1", msg, C14N10, RSASHA1, DigestSHA1, ""},
		{"rsa-sha256", msg, C14N10, RSASHA256, DigestSHA256, ""},
		{"rsa-sha512", msg, C14N10, RSASHA512, DigestSHA512, ""},
		{"exclusive c14n", msg, ExcC14N10, RSASHA256, DigestSHA256, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := template(c.doc, c.c14n, c.sig, c.digest, c.prefix)
			in := writeTemp(t, "tmpl.xml", []byte(tmpl))
			out := filepath.Join(t.TempDir(), "signed.xml")
			r := extools.Run(t, nil, bin, "--sign", "--privkey-pem", p.aKey+","+p.aCert, "--output", out, in)
			if !r.OK() {
				t.Fatalf("xmlsec1 sign: %s", r.Stderr)
			}
			signed := readFile(t, out)
			if _, err := verifyBytes(t, signed); err != nil {
				t.Fatalf("seosgw refused an xmlsec1 signature: %v\n%s", err, signed)
			}
			if _, err := verifyBytes(t, bytes.Replace(signed, []byte("Писмо"), []byte("Писма"), 1)); err == nil {
				t.Error("seosgw accepted a tampered xmlsec1-signed message")
			}
		})
	}
}

func template(doc, c14n, sig, digest, p string) string {
	t := fmt.Sprintf(`<%sSignature%s><%sSignedInfo><%sCanonicalizationMethod Algorithm="%s"/><%sSignatureMethod Algorithm="%s"/>`+
		`<%sReference URI=""><%sTransforms><%sTransform Algorithm="%s"/></%sTransforms><%sDigestMethod Algorithm="%s"/><%sDigestValue/></%sReference></%sSignedInfo>`+
		`<%sSignatureValue/><%sKeyInfo><%sX509Data/></%sKeyInfo></%sSignature>`,
		p, nsDecl(p), p, p, c14n, p, sig, p, p, p, Enveloped, p, p, digest, p, p, p, p, p, p, p, p)
	end := strings.LastIndex(doc, "</")
	return doc[:end] + t + doc[end:]
}

func nsDecl(p string) string {
	if p == "" {
		return ` xmlns="` + Namespace + `"`
	}
	return "" // the prefix is bound on the root
}

// Signed messages stay schema-valid for peers that validate: xmllint on the
// reference (or project) schemas and the .NET XmlSchemaSet. With a 128-bit
// serial this holds only because X509IssuerSerial is left out.
func TestSignedMessagesAreSchemaValid(t *testing.T) {
	p := getPKI(t)
	dir := extools.ReferenceSchemas(t)
	if dir == "" {
		dir = t.TempDir()
		if err := schemas.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	entry := filepath.Join(dir, "seos-all.xsd")
	if _, err := os.Stat(entry); err != nil {
		entry = filepath.Join(dir, schemas.Entry)
	}
	for name, id := range map[string]*pki.Identity{"64-bit serial": p.a, "128-bit serial": p.b} {
		t.Run(name, func(t *testing.T) {
			file := writeTemp(t, "signed.xml", signBytes(t, p.signer(id, SHA256), message(t, 100)))
			if ok, msg := extools.XMLLint(t, entry, file); !ok {
				t.Errorf("xmllint: %s", msg)
			}
			if r := extools.Peer(t, "xsd", file, dir); !r.OK() {
				t.Errorf(".NET XmlSchemaSet: %s", r.Stdout)
			}
		})
	}
}
