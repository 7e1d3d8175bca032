package xmldsig

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

func TestSignVerify(t *testing.T) {
	p := getPKI(t)
	for _, h := range []Hash{SHA256, SHA1} {
		t.Run(string(h), func(t *testing.T) {
			signed := signBytes(t, p.signer(p.a, h), message(t, 3000))
			r, err := verifyBytes(t, signed)
			if err != nil {
				t.Fatal(err)
			}
			if pki.SerialHex(r.Cert) != pki.SerialHex(p.a.Cert) {
				t.Errorf("signer serial %s, want %s", pki.SerialHex(r.Cert), pki.SerialHex(p.a.Cert))
			}
			wantSig, wantDigest, _ := h.algorithms()
			if r.SignatureMethod != wantSig || r.DigestMethod != wantDigest || r.Canonicalization != C14N10 {
				t.Errorf("algorithms %s %s %s", r.SignatureMethod, r.DigestMethod, r.Canonicalization)
			}
		})
	}
}

// The profile's shape: last child, default namespace, one enveloped
// transform, certificate and issuer/serial, no whitespace anywhere.
func TestSignatureShape(t *testing.T) {
	p := getPKI(t)
	s := string(signBytes(t, p.signer(p.a, SHA256), message(t, 0)))
	want := regexp.MustCompile(`</Body><Signature xmlns="http://www\.w3\.org/2000/09/xmldsig#"><SignedInfo>` +
		`<CanonicalizationMethod Algorithm="http://www\.w3\.org/TR/2001/REC-xml-c14n-20010315"></CanonicalizationMethod>` +
		`<SignatureMethod Algorithm="http://www\.w3\.org/2001/04/xmldsig-more#rsa-sha256"></SignatureMethod>` +
		`<Reference URI=""><Transforms><Transform Algorithm="http://www\.w3\.org/2000/09/xmldsig#enveloped-signature"></Transform></Transforms>` +
		`<DigestMethod Algorithm="http://www\.w3\.org/2001/04/xmlenc#sha256"></DigestMethod><DigestValue>[A-Za-z0-9+/=]{44}</DigestValue></Reference></SignedInfo>` +
		`<SignatureValue>[A-Za-z0-9+/=]+</SignatureValue><KeyInfo><X509Data><X509IssuerSerial><X509IssuerName>[^<]+</X509IssuerName>` +
		`<X509SerialNumber>[0-9]+</X509SerialNumber></X509IssuerSerial><X509Certificate>[A-Za-z0-9+/=]+</X509Certificate></X509Data></KeyInfo></Signature></Message>$`)
	if !want.MatchString(s) {
		t.Errorf("signature not in the SEOS shape:\n%s", s[strings.Index(s, "</Body>"):])
	}
	if regexp.MustCompile(`>\s+<`).MatchString(s) {
		t.Error("whitespace between elements")
	}
	// A 128-bit serial has 39 digits, more than xmllint and .NET's schema
	// validators take as xsd:integer: issuer/serial is left out then.
	long := string(signBytes(t, p.signer(p.b, SHA256), message(t, 0)))
	if strings.Contains(long, "X509IssuerSerial") || !strings.Contains(long, "<X509Data><X509Certificate>") {
		t.Errorf("long serial written: %s", long[strings.Index(long, "<KeyInfo>"):])
	}
}

func TestSignRefuses(t *testing.T) {
	p := getPKI(t)
	signed := signBytes(t, p.signer(p.a, SHA256), message(t, 0))
	if err := p.signer(p.a, SHA256).Sign(parse(t, signed)); err == nil {
		t.Error("signed an already signed message")
	}
	wrong := &Signer{Key: p.b.Key, Cert: p.a.Cert}
	if err := wrong.Sign(parse(t, message(t, 0))); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("key of another certificate: %v", err)
	}
}

func TestTamperingFails(t *testing.T) {
	p := getPKI(t)
	signed := signBytes(t, p.signer(p.a, SHA256), message(t, 100))
	cases := map[string][]byte{
		"one character of content": bytes.Replace(signed, []byte("Писмо"), []byte("Писма"), 1),
		"MessageGUID":              tamperGUID(signed),
		"whitespace added":         bytes.Replace(signed, []byte("<Body>"), []byte("<Body> "), 1),
		"signature value":          flipFirst(signed, "<SignatureValue>"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(b, signed) {
				t.Fatal("tamper did not change the message")
			}
			if _, err := verifyBytes(t, b); err == nil {
				t.Fatal("tampered message verified")
			}
		})
	}
}

func tamperGUID(b []byte) []byte {
	i := bytes.Index(b, []byte("<MessageGUID>{")) + len("<MessageGUID>{")
	out := append([]byte(nil), b...)
	if out[i] == 'a' {
		out[i] = 'b'
	} else {
		out[i] = 'a'
	}
	return out
}

// Each shape an attacker could use to make a verifier check something else
// than the message it acts on must be refused, with the right kind.
func TestRefusesWrappingAndProfileBreaks(t *testing.T) {
	p := getPKI(t)
	signed := string(signBytes(t, p.signer(p.a, SHA256), message(t, 0)))
	sigStart := strings.Index(signed, "<Signature ")
	sig := signed[sigStart : len(signed)-len("</Message>")]
	bodyStart, bodyEnd := strings.Index(signed, "<Body>"), strings.Index(signed, "</Body>")+len("</Body>")
	body := signed[bodyStart:bodyEnd]
	other := signBytes(t, p.signer(p.b, SHA256), message(t, 0))
	otherCert := regexp.MustCompile(`<X509Certificate>[^<]+</X509Certificate>`).Find(other)

	cases := []struct {
		name string
		doc  string
		kind Kind
	}{
		{"unsigned", string(message(t, 0)), KindMissing},
		{"second signature on the root", strings.Replace(signed, "</Message>", sig+"</Message>", 1), KindWrapping},
		{"signature not last", strings.Replace(strings.Replace(signed, sig, "", 1), "<Body>", sig+"<Body>", 1), KindWrapping},
		{"signature copied into the header", strings.Replace(signed, "</Header>", sig+"</Header>", 1), KindWrapping},
		{"signature inside the message signature", strings.Replace(signed, "</KeyInfo>", "</KeyInfo><Object>"+sig+"</Object>", 1), KindWrapping},
		{"reference to a sub-element", strings.Replace(strings.Replace(signed, `<Reference URI="">`, `<Reference URI="#b">`, 1), "<Body>", `<Body Id="b">`, 1), KindWrapping},
		{"reference without URI", strings.Replace(signed, `<Reference URI="">`, `<Reference>`, 1), KindWrapping},
		{"body moved into an Object, new body in place", strings.Replace(strings.Replace(signed, body, strings.Replace(body, "Писмо", "Заповед", 1), 1), "</KeyInfo>", "</KeyInfo><Object>"+body+"</Object>", 1), KindShape},
		{"duplicated body", strings.Replace(signed, body, body+body, 1), KindDigest},
		{"two references", strings.Replace(signed, "</SignedInfo>", `<Reference URI=""><Transforms><Transform Algorithm="`+Enveloped+`"></Transform></Transforms><DigestMethod Algorithm="`+DigestSHA256+`"></DigestMethod><DigestValue>AAAA</DigestValue></Reference></SignedInfo>`, 1), KindShape},
		{"XPath transform", strings.Replace(signed, "</Transforms>", `<Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><XPath>1</XPath></Transform></Transforms>`, 1), KindAlgorithm},
		{"no enveloped transform", strings.Replace(signed, Enveloped, C14N10, 1), KindShape},
		{"HMAC signature method", strings.Replace(signed, RSASHA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1", 1), KindAlgorithm},
		{"MD5 digest", strings.Replace(signed, DigestSHA256, "http://www.w3.org/2001/04/xmldsig-more#md5", 1), KindAlgorithm},
		{"c14n with comments", strings.Replace(signed, C14N10, C14N10+"#WithComments", 1), KindAlgorithm},
		{"two certificates", strings.Replace(signed, "</X509Data>", string(otherCert)+"</X509Data>", 1), KindCertificate},
		{"two X509Data", strings.Replace(signed, "</KeyInfo>", "<X509Data>"+string(otherCert)+"</X509Data></KeyInfo>", 1), KindCertificate},
		{"another certificate in KeyInfo", regexp.MustCompile(`<X509Certificate>[^<]+</X509Certificate>`).ReplaceAllString(signed, string(otherCert)), KindCertificate},
		{"no KeyInfo", regexp.MustCompile(`<KeyInfo>.*</KeyInfo>`).ReplaceAllString(signed, ""), KindShape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == signed {
				t.Fatal("case did not change the message")
			}
			_, err := verifyBytes(t, []byte(c.doc))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error of kind %s, got %v", c.kind, err)
			}
			if e.Kind != c.kind {
				t.Errorf("kind %s (%v), want %s", e.Kind, err, c.kind)
			}
		})
	}
}

func TestIssuerSerialMustMatch(t *testing.T) {
	p := getPKI(t)
	signed := string(signBytes(t, p.signer(p.a, SHA256), message(t, 0)))
	bad := regexp.MustCompile(`<X509SerialNumber>[0-9]+</X509SerialNumber>`).ReplaceAllString(signed, "<X509SerialNumber>12345</X509SerialNumber>")
	_, err := verifyBytes(t, []byte(bad))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindCertificate {
		t.Fatalf("mismatched X509IssuerSerial: %v", err)
	}
}

// Another signer's certificate with this signature: the value does not verify.
func TestSubstitutedCertificateFailsSignature(t *testing.T) {
	p := getPKI(t)
	signed := string(signBytes(t, p.signer(p.a, SHA256), message(t, 0)))
	other := signBytes(t, p.signer(p.b, SHA256), message(t, 0))
	swap := regexp.MustCompile(`<KeyInfo>.*</KeyInfo>`)
	bad := swap.ReplaceAllString(signed, string(swap.Find(other)))
	_, err := verifyBytes(t, []byte(bad))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindSignature {
		t.Fatalf("want a signature failure, got %v", err)
	}
}

func TestCertificateValidityUsesInjectedClock(t *testing.T) {
	p := getPKI(t)
	signed := signBytes(t, p.signer(p.a, SHA256), message(t, 0))
	cases := map[string]struct {
		at   time.Time
		want string
	}{
		"before":  {p.a.Cert.NotBefore.Add(-time.Minute), "not valid before"},
		"after":   {p.a.Cert.NotAfter.Add(time.Minute), "expired"},
		"within":  {p.a.Cert.NotBefore.Add(time.Hour), ""},
		"at edge": {p.a.Cert.NotAfter, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(parse(t, signed), Options{Now: func() time.Time { return c.at }})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindCertificate || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "clock skew") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// The author's own signature inside Document is not the message signature
// and does not disturb verification.
func TestAuthorSignatureAllowed(t *testing.T) {
	p := getPKI(t)
	inner := string(signBytes(t, p.signer(p.b, SHA256), message(t, 0)))
	authorSig := inner[strings.Index(inner, "<Signature "):strings.LastIndex(inner, "</Message>")]
	msg := strings.Replace(string(message(t, 0)), "</Document>", authorSig+"</Document>", 1)
	signed := signBytes(t, p.signer(p.a, SHA256), []byte(msg))
	r, err := verifyBytes(t, signed)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Cert.Equal(p.a.Cert) {
		t.Error("verified the author's signature instead of the message's")
	}
}

// flipFirst changes the first character after marker to another base64 one.
func flipFirst(b []byte, marker string) []byte {
	out := append([]byte(nil), b...)
	i := bytes.Index(out, []byte(marker)) + len(marker)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// KeyInfo as peers write it: the deployed .NET node repeats the signer's
// certificate and adds X509IssuerSerial; any order is fine, and every other
// certificate or a serial/issuer naming another one is refused by name.
func TestKeyInfoAsPeersWriteIt(t *testing.T) {
	p := getPKI(t)
	signed := string(signBytes(t, p.signer(p.a, SHA256), message(t, 0)))
	cert := "<X509Certificate>" + base64.StdEncoding.EncodeToString(p.a.Cert.Raw) + "</X509Certificate>"
	wrapped := "<X509Certificate>" + wrap76(base64.StdEncoding.EncodeToString(p.a.Cert.Raw)) + "</X509Certificate>"
	other := "<X509Certificate>" + base64.StdEncoding.EncodeToString(p.b.Cert.Raw) + "</X509Certificate>"
	caCert := "<X509Certificate>" + base64.StdEncoding.EncodeToString(p.ca.Cert.Raw) + "</X509Certificate>"
	serial := func(issuer, n string) string {
		return "<X509IssuerSerial><X509IssuerName>" + issuer + "</X509IssuerName><X509SerialNumber>" + n + "</X509SerialNumber></X509IssuerSerial>"
	}
	dotnet := serial(dotnetName(p.a.Cert.Issuer), p.a.Cert.SerialNumber.String())
	rfc := serial(p.a.Cert.Issuer.String(), p.a.Cert.SerialNumber.String())
	cases := []struct {
		name, x509Data, want string // want: "" accepted, else part of the error
	}{
		{"deployed .NET node: twice, then issuer/serial", cert + cert + dotnet, ""},
		{"issuer/serial first", dotnet + cert + cert, ""},
		{"issuer/serial between copies", cert + dotnet + cert, ""},
		{"three copies, one wrapped, no issuer/serial", cert + wrapped + cert, ""},
		{"RFC 4514 issuer name", cert + rfc, ""},
		{"issuer/serial twice", rfc + cert + dotnet + cert, ""},
		{"a different second certificate", cert + other, "second, different certificate"},
		{"a different first certificate", other + cert + dotnet, "second, different certificate"},
		{"a chain", cert + caCert, "certificate chain"},
		{"a chain, CA first", caCert + cert, "certificate chain"},
		{"serial of another certificate", cert + cert + serial(dotnetName(p.a.Cert.Issuer), p.b.Cert.SerialNumber.String()), "names another certificate: serial"},
		{"issuer of another certificate", cert + cert + serial("CN=another CA, O=Elsewhere", p.a.Cert.SerialNumber.String()), "names another certificate: issuer"},
		{"issuer name that is no name", cert + serial("just text", p.a.Cert.SerialNumber.String()), "not a distinguished name"},
		{"no certificate", dotnet, "no X509Certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := regexp.MustCompile(`<KeyInfo>.*</KeyInfo>`).ReplaceAllLiteralString(signed, "<KeyInfo><X509Data>"+c.x509Data+"</X509Data></KeyInfo>")
			r, err := verifyBytes(t, []byte(doc))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !r.Cert.Equal(p.a.Cert) {
					t.Error("wrong signer")
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindCertificate || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a certificate failure saying %q", err, c.want)
			}
		})
	}
}

// dotnetName writes a name as .NET's X500DistinguishedName.Name does:
// most specific first, ", " between attributes.
func dotnetName(n pkix.Name) string {
	rdns := n.ToRDNSequence()
	var parts []string
	for i := len(rdns) - 1; i >= 0; i-- {
		for _, a := range rdns[i] {
			parts = append(parts, shortType[a.Type.String()]+"="+fmt.Sprint(a.Value))
		}
	}
	return strings.Join(parts, ", ")
}

var shortType = map[string]string{"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.6": "C", "2.5.4.11": "OU", "2.5.4.7": "L"}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}
