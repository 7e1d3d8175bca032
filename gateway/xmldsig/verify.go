package xmldsig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// Kind classifies verification failures for callers and metrics.
type Kind string

const (
	KindMissing     Kind = "missing"     // no message signature
	KindWrapping    Kind = "wrapping"    // a Signature where none belongs
	KindShape       Kind = "shape"       // outside the SEOS profile
	KindAlgorithm   Kind = "algorithm"   // an algorithm the profile does not allow
	KindCertificate Kind = "certificate" // KeyInfo certificate unusable or invalid now
	KindDigest      Kind = "digest"      // the signed content was changed
	KindSignature   Kind = "signature"   // SignatureValue does not verify
)

// Kinds lists every Kind, for metrics that show each at 0 from the start.
var Kinds = []Kind{KindMissing, KindWrapping, KindShape, KindAlgorithm, KindCertificate, KindDigest, KindSignature}

// Error is a signature that does not hold.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return "signature: " + e.Msg }

func fail(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Result describes a signature that holds.
type Result struct {
	Cert             *x509.Certificate // the signer; callers check chain and register serial
	SignatureMethod  string
	DigestMethod     string
	Canonicalization string
}

// Options for Verify.
type Options struct {
	// Now is the instant the certificate must be valid at; nil means time.Now.
	Now func() time.Time
	// Reread, for VerifyDigested, reads the message again and passes each
	// token to f; it is called only when the signature names a digest the
	// single pass did not compute (SHA-512, an InclusiveNamespaces list).
	// Without it such a signature cannot be checked.
	Reread func(f func(*xmltok.Token)) error
}

// seosNS is the message namespace; the author's signature sits in its Document.
const seosNS = "http://schemas.egov.bg/messaging/v1"

// Verify checks the message signature of doc as received, strictly: the one
// ds:Signature that is the last child of the root, one Reference URI="" with
// the enveloped transform, allowed algorithms, one signer certificate valid
// at opts.Now (copies of it may repeat, as the deployed .NET node writes
// them). It never searches the document for "a" signature.
func Verify(doc *etree.Document, opts Options) (*Result, error) {
	if doc.Root() == nil {
		return nil, fail(KindMissing, "document has no root element")
	}
	// The structure first, with no digest; then the one digest the
	// signature names.
	d := newDigester()
	var sig *etree.Element
	walk := func(d *Digester) func(*xmltok.Token, *etree.Element) error {
		return func(tok *xmltok.Token, el *etree.Element) error {
			if tok.Kind == xmltok.StartElement && tok.Depth == 2 && sig == nil && el.Tag == "Signature" && tok.Name.Space == Namespace {
				sig = el
			}
			d.Token(tok)
			return nil
		}
	}
	if err := xmldoc.Walk(doc, walk(d)); err != nil {
		return nil, err
	}
	opts.Reread = func(f func(*xmltok.Token)) error {
		return xmldoc.Walk(doc, func(tok *xmltok.Token, _ *etree.Element) error { f(tok); return nil })
	}
	return VerifyDigested(d, sig, opts)
}

// VerifyDigested checks a message whose tokens went through d, with sig
// its root's ds:Signature element (from a small tree kept while reading:
// its ancestors and their namespace declarations must be there, as
// SignedInfo's canonical form depends on them).
func VerifyDigested(d *Digester, sig *etree.Element, opts Options) (*Result, error) {
	if err := d.finish(); err != nil {
		return nil, err
	}
	if err := d.wrapping(); err != nil {
		return nil, err
	}
	p, err := readProfile(sig)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if t := now(); t.Before(p.cert.NotBefore) {
		return nil, fail(KindCertificate, "certificate (serial %X) is not valid before %s, and it is %s here: check for clock skew",
			p.cert.SerialNumber, p.cert.NotBefore.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	} else if t.After(p.cert.NotAfter) {
		return nil, fail(KindCertificate, "certificate (serial %X) expired at %s, and it is %s here (clock skew, if that looks wrong)",
			p.cert.SerialNumber, p.cert.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	key := digestKey{exclusive: p.refC14N == ExcC14N10, prefixList: p.refPrefixes, hash: p.digestHash}
	digest := d.sum(key)
	if digest == nil {
		if opts.Reread == nil {
			return nil, fail(KindAlgorithm, "the digest (%s) cannot be computed for this message", p.digestMethod)
		}
		again := newDigester(key)
		if err := opts.Reread(again.Token); err != nil {
			return nil, err
		}
		if err := again.finish(); err != nil {
			return nil, err
		}
		digest = again.sum(key)
	}
	if subtle.ConstantTimeCompare(digest, p.digestValue) != 1 {
		return nil, fail(KindDigest, "digest mismatch: the signed message was changed after signing")
	}
	canonical, err := p.canonicalSignedInfo()
	if err != nil {
		return nil, err
	}
	h := p.sigHash.New()
	h.Write(canonical)
	if err := rsa.VerifyPKCS1v15(p.pub, p.sigHash, h.Sum(nil), p.signatureValue); err != nil {
		return nil, fail(KindSignature, "SignatureValue does not verify with the certificate's key (serial %X)", p.cert.SerialNumber)
	}
	return &Result{Cert: p.cert, SignatureMethod: p.sigMethod, DigestMethod: p.digestMethod, Canonicalization: p.c14nMethod}, nil
}

func isDS(e *etree.Element, local string) bool {
	return e.Tag == local && e.NamespaceURI() == Namespace
}

// profile is a Signature element read against the SEOS profile.
type profile struct {
	signedInfo     *etree.Element
	c14nMethod     string
	c14nPrefixes   string
	sigMethod      string
	sigHash        crypto.Hash
	digestMethod   string
	digestHash     crypto.Hash
	digestValue    []byte
	refC14N        string // canonicalisation transform on the reference, if any
	refPrefixes    string
	signatureValue []byte
	cert           *x509.Certificate
	pub            *rsa.PublicKey
}

func readProfile(sig *etree.Element) (*profile, error) {
	p := &profile{}
	kids := sig.ChildElements()
	names := make([]string, len(kids))
	for i, k := range kids {
		if k.NamespaceURI() != Namespace {
			return nil, fail(KindShape, "unexpected element %s in Signature", k.FullTag())
		}
		names[i] = k.Tag
	}
	if strings.Join(names, ",") != "SignedInfo,SignatureValue,KeyInfo" {
		return nil, fail(KindShape, "Signature must hold SignedInfo, SignatureValue and KeyInfo in that order (no Object), found %s", strings.Join(names, ","))
	}
	p.signedInfo = kids[0]
	if err := p.readSignedInfo(kids[0]); err != nil {
		return nil, err
	}
	v, err := decodeB64(text(kids[1]))
	if err != nil {
		return nil, fail(KindShape, "SignatureValue is not base64: %v", err)
	}
	p.signatureValue = v
	if err := p.readKeyInfo(kids[2]); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *profile) readSignedInfo(si *etree.Element) error {
	kids := si.ChildElements()
	if len(kids) < 3 || !isDS(kids[0], "CanonicalizationMethod") || !isDS(kids[1], "SignatureMethod") {
		return fail(KindShape, "SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference")
	}
	if len(kids) != 3 || !isDS(kids[2], "Reference") {
		return fail(KindShape, "SignedInfo must hold exactly one Reference, found %d elements after SignatureMethod", len(kids)-2)
	}
	var err error
	if p.c14nMethod, p.c14nPrefixes, err = c14nAlgorithm(kids[0]); err != nil {
		return err
	}
	p.sigMethod = kids[1].SelectAttrValue("Algorithm", "")
	h, ok := signatureMethods[p.sigMethod]
	if !ok {
		return fail(KindAlgorithm, "signature method %q is not allowed (rsa-sha1, rsa-sha256, rsa-sha512)", p.sigMethod)
	}
	if len(kids[1].ChildElements()) > 0 {
		return fail(KindShape, "SignatureMethod must be empty (no HMAC output length)")
	}
	p.sigHash = h
	return p.readReference(kids[2])
}

func c14nAlgorithm(e *etree.Element) (alg, prefixes string, err error) {
	alg = e.SelectAttrValue("Algorithm", "")
	kids := e.ChildElements()
	switch alg {
	case C14N10:
		if len(kids) > 0 {
			return "", "", fail(KindShape, "inclusive canonicalization takes no parameters")
		}
	case ExcC14N10:
		if len(kids) > 1 || len(kids) == 1 && (kids[0].Tag != inclusiveNSName || kids[0].NamespaceURI() != ExcC14N10) {
			return "", "", fail(KindShape, "exclusive canonicalization takes only InclusiveNamespaces")
		}
		if len(kids) == 1 {
			prefixes = kids[0].SelectAttrValue("PrefixList", "")
		}
	default:
		return "", "", fail(KindAlgorithm, "canonicalization %q is not allowed (inclusive or exclusive C14N 1.0 without comments)", alg)
	}
	return alg, prefixes, nil
}

func (p *profile) readReference(ref *etree.Element) error {
	uri := ref.SelectAttr("URI")
	if uri == nil || uri.Value != "" {
		return fail(KindWrapping, `the Reference must cover the whole message (URI=""), found %s`, attrText(uri))
	}
	kids := ref.ChildElements()
	if len(kids) != 3 || !isDS(kids[0], "Transforms") || !isDS(kids[1], "DigestMethod") || !isDS(kids[2], "DigestValue") {
		return fail(KindShape, "Reference must hold Transforms (with the enveloped transform), DigestMethod and DigestValue")
	}
	transforms := kids[0].ChildElements()
	if len(transforms) == 0 || len(transforms) > 2 || !isDS(transforms[0], "Transform") ||
		transforms[0].SelectAttrValue("Algorithm", "") != Enveloped || len(transforms[0].ChildElements()) > 0 {
		return fail(KindShape, "the first and required transform is the enveloped-signature transform")
	}
	if len(transforms) == 2 {
		if !isDS(transforms[1], "Transform") {
			return fail(KindShape, "unexpected element %s in Transforms", transforms[1].FullTag())
		}
		var err error
		if p.refC14N, p.refPrefixes, err = c14nAlgorithm(transforms[1]); err != nil {
			return err
		}
	}
	p.digestMethod = kids[1].SelectAttrValue("Algorithm", "")
	h, ok := digestMethods[p.digestMethod]
	if !ok {
		return fail(KindAlgorithm, "digest method %q is not allowed (sha1, sha256, sha512)", p.digestMethod)
	}
	p.digestHash = h
	v, err := decodeB64(text(kids[2]))
	if err != nil || len(v) != h.Size() {
		return fail(KindShape, "DigestValue is not a %d-byte base64 value", h.Size())
	}
	p.digestValue = v
	return nil
}

func attrText(a *etree.Attr) string {
	if a == nil {
		return "no URI"
	}
	return fmt.Sprintf("URI=%q", a.Value)
}

// readKeyInfo finds the signer's certificate. The deployed .NET node
// writes it twice in one X509Data (KeyInfoX509Data(cert, EndCertOnly) and
// then AddCertificate(cert) again) with an X509IssuerSerial, so copies of
// that one certificate may repeat in any order; anything that could make
// "the signer" ambiguous is refused and named: a second, different
// certificate, a chain, or an X509IssuerSerial naming another certificate.
func (p *profile) readKeyInfo(ki *etree.Element) error {
	var data []*etree.Element
	for _, k := range ki.ChildElements() {
		switch {
		case isDS(k, "X509Data"):
			data = append(data, k)
		case isDS(k, "KeyName"), isDS(k, "KeyValue"):
			// informative; the certificate decides
		default:
			return fail(KindShape, "unexpected %s in KeyInfo", k.FullTag())
		}
	}
	if len(data) != 1 {
		return fail(KindCertificate, "KeyInfo must carry one X509Data with the signer's certificate, found %d X509Data elements", len(data))
	}
	var ders [][]byte
	var serials []*etree.Element
	for _, d := range data[0].ChildElements() {
		switch {
		case isDS(d, "X509Certificate"):
			der, err := decodeB64(text(d))
			if err != nil {
				return fail(KindCertificate, "X509Certificate %d is not base64: %v", len(ders)+1, err)
			}
			ders = append(ders, der)
		case isDS(d, "X509IssuerSerial"):
			serials = append(serials, d)
		case isDS(d, "X509SubjectName"), isDS(d, "X509SKI"):
		default:
			return fail(KindShape, "unexpected %s in X509Data", d.FullTag())
		}
	}
	if len(ders) == 0 {
		return fail(KindCertificate, "KeyInfo carries no X509Certificate: the signer's certificate must be in the message")
	}
	cert, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return fail(KindCertificate, "X509Certificate does not parse: %v", err)
	}
	for i, der := range ders[1:] {
		if bytes.Equal(der, ders[0]) {
			continue // a copy, as the deployed .NET node writes it
		}
		other, err := x509.ParseCertificate(der)
		if err != nil {
			return fail(KindCertificate, "X509Certificate %d does not parse: %v", i+2, err)
		}
		if bytes.Equal(other.RawSubject, cert.RawIssuer) || bytes.Equal(cert.RawSubject, other.RawIssuer) {
			return fail(KindCertificate, "KeyInfo carries a certificate chain (serial %X %q and serial %X %q): a SEOS signer sends its own certificate only",
				cert.SerialNumber, cert.Subject.String(), other.SerialNumber, other.Subject.String())
		}
		return fail(KindCertificate, "KeyInfo carries a second, different certificate (serial %X %q) besides serial %X %q: only copies of the signer's certificate may repeat",
			other.SerialNumber, other.Subject.String(), cert.SerialNumber, cert.Subject.String())
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail(KindAlgorithm, "the certificate key is not RSA")
	}
	for _, s := range serials {
		if err := checkIssuerSerial(s, cert); err != nil {
			return err
		}
	}
	p.cert, p.pub = cert, pub
	return nil
}

// checkIssuerSerial requires an X509IssuerSerial to name cert: its decimal
// serial and its issuer, however the peer wrote the name.
func checkIssuerSerial(s *etree.Element, cert *x509.Certificate) error {
	n, name := s.SelectElement("X509SerialNumber"), s.SelectElement("X509IssuerName")
	if n == nil || name == nil {
		return fail(KindShape, "X509IssuerSerial must hold X509IssuerName and X509SerialNumber")
	}
	serial := strings.TrimSpace(text(n))
	if v, ok := new(big.Int).SetString(serial, 10); !ok || v.Cmp(cert.SerialNumber) != 0 {
		return fail(KindCertificate, "X509IssuerSerial names another certificate: serial %.60s, but the certificate's is %s", serial, cert.SerialNumber)
	}
	issuer := strings.TrimSpace(text(name))
	same, err := sameName(issuer, cert.RawIssuer)
	if err != nil {
		return fail(KindCertificate, "X509IssuerName %.120q is not a distinguished name we can compare: %v", issuer, err)
	}
	if !same {
		return fail(KindCertificate, "X509IssuerSerial names another certificate: issuer %.120q, but the certificate's issuer is %q", issuer, cert.Issuer.String())
	}
	return nil
}

func (p *profile) canonicalSignedInfo() ([]byte, error) {
	if p.c14nMethod == C14N10 {
		b, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(p.signedInfo)
		if err != nil {
			return nil, fail(KindShape, "canonicalise SignedInfo: %v", err)
		}
		return b, nil
	}
	ctx, err := etreeutils.NSBuildParentContext(p.signedInfo)
	if err != nil {
		return nil, fail(KindShape, "SignedInfo namespaces: %v", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, p.signedInfo)
	if err != nil {
		return nil, fail(KindShape, "SignedInfo namespaces: %v", err)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(p.c14nPrefixes).Canonicalize(detached)
	if err != nil {
		return nil, fail(KindShape, "canonicalise SignedInfo: %v", err)
	}
	return b, nil
}

func text(e *etree.Element) string {
	var b strings.Builder
	for _, t := range e.Child {
		if c, ok := t.(*etree.CharData); ok {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func decodeB64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}
