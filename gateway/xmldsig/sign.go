package xmldsig

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/seosgw/seosgw/gateway/seos"
)

// maxSchemaSerialDigits is the longest xsd:integer libxml2 validates (24
// digits; .NET's XmlSchemaSet stops at 29). A longer X509SerialNumber makes
// the whole message schema-invalid for peers that validate, so the issuer
// and serial are written only when they fit; the certificate, which is
// always there, identifies the signer on its own.
const maxSchemaSerialDigits = 24

// Signer signs messages with a participant's transport certificate.
type Signer struct {
	Key  crypto.Signer
	Cert *x509.Certificate
	Hash Hash // SHA256 unless a peer needs SHA1
}

// Sign appends an enveloped signature as the last child of the root: one
// Reference URI="" with only the enveloped transform, inclusive C14N 1.0,
// KeyInfo with the certificate and its issuer/serial, in the default
// namespace and without whitespace, as .NET verifiers need.
func (s *Signer) Sign(doc *etree.Document) error {
	root := doc.Root()
	if root == nil {
		return errors.New("sign: document has no root element")
	}
	if _, ok := s.Key.Public().(*rsa.PublicKey); !ok {
		return errors.New("sign: the SEOS profile signs with RSA keys only")
	}
	if !publicKeysEqual(s.Key.Public(), s.Cert.PublicKey) {
		return errors.New("sign: the private key does not belong to the certificate")
	}
	for _, k := range root.ChildElements() {
		if k.Tag == "Signature" && k.NamespaceURI() == Namespace {
			return errors.New("sign: the message is already signed")
		}
	}
	sigAlg, digAlg, hash := s.Hash.algorithms()

	h := hash.New()
	if err := writeDocumentC14N(h, doc, nil); err != nil {
		return fmt.Errorf("sign: canonicalise: %w", err)
	}
	digest := h.Sum(nil)

	sig := root.CreateElement("Signature")
	sig.CreateAttr("xmlns", Namespace)
	si := sig.CreateElement("SignedInfo")
	si.CreateElement("CanonicalizationMethod").CreateAttr("Algorithm", C14N10)
	si.CreateElement("SignatureMethod").CreateAttr("Algorithm", sigAlg)
	ref := si.CreateElement("Reference")
	ref.CreateAttr("URI", "")
	ref.CreateElement("Transforms").CreateElement("Transform").CreateAttr("Algorithm", Enveloped)
	ref.CreateElement("DigestMethod").CreateAttr("Algorithm", digAlg)
	ref.CreateElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))

	canonical, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(si)
	if err != nil {
		root.RemoveChild(sig)
		return fmt.Errorf("sign: canonicalise SignedInfo: %w", err)
	}
	sh := hash.New()
	sh.Write(canonical)
	value, err := s.Key.Sign(rand.Reader, sh.Sum(nil), hash)
	if err != nil {
		root.RemoveChild(sig)
		return fmt.Errorf("sign: %w", err)
	}
	sig.CreateElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	x509Data := sig.CreateElement("KeyInfo").CreateElement("X509Data")
	if serial := s.Cert.SerialNumber.String(); len(serial) <= maxSchemaSerialDigits {
		is := x509Data.CreateElement("X509IssuerSerial")
		is.CreateElement("X509IssuerName").SetText(s.Cert.Issuer.String())
		is.CreateElement("X509SerialNumber").SetText(serial)
	}
	x509Data.CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(s.Cert.Raw))
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// SignMessage builds m compactly, signs it and returns the bytes to send.
func (s *Signer) SignMessage(m *seos.Message) ([]byte, error) {
	doc, err := m.Document()
	if err != nil {
		return nil, err
	}
	if err := s.Sign(doc); err != nil {
		return nil, err
	}
	return seos.WriteCompact(doc)
}
