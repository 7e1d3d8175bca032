package xmldsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
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
	if err := s.check(doc); err != nil {
		return err
	}
	_, _, hash := s.Hash.algorithms()
	h := hash.New()
	if err := writeDocumentC14N(h, doc, nil); err != nil {
		return fmt.Errorf("sign: canonicalise: %w", err)
	}
	_, err := s.appendSignature(doc, h.Sum(nil))
	return err
}

// check refuses what cannot be signed: no root, a key that is not RSA or
// not the certificate's, a document signed already.
func (s *Signer) check(doc *etree.Document) error {
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
	return nil
}

// appendSignature adds the Signature over a document whose canonical
// form hashes to digest, as the root's last child.
func (s *Signer) appendSignature(doc *etree.Document, digest []byte) (*etree.Element, error) {
	root := doc.Root()
	sigAlg, digAlg, hash := s.Hash.algorithms()
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
		return nil, fmt.Errorf("sign: canonicalise SignedInfo: %w", err)
	}
	sh := hash.New()
	sh.Write(canonical)
	value, err := s.Key.Sign(rand.Reader, sh.Sum(nil), hash)
	if err != nil {
		root.RemoveChild(sig)
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig.CreateElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	x509Data := sig.CreateElement("KeyInfo").CreateElement("X509Data")
	if serial := s.Cert.SerialNumber.String(); len(serial) <= maxSchemaSerialDigits {
		is := x509Data.CreateElement("X509IssuerSerial")
		is.CreateElement("X509IssuerName").SetText(s.Cert.Issuer.String())
		is.CreateElement("X509SerialNumber").SetText(serial)
	}
	x509Data.CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(s.Cert.Raw))
	return sig, nil
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

// Opener opens an attachment body kept outside the message.
type Opener func(*seos.StoredBody) (io.ReadCloser, error)

// WriteSigned writes m compactly to out with its signature, in one pass:
// the message's tree (attachment bodies left out, seos.Message.Tree) is
// walked, each body streamed from where it is kept (open), base64-encoded
// as it goes, and the digest computed from the very tokens written. The
// Signature is the root's last child, so it can follow. Nothing of an
// attachment is held but a chunk. The bytes are those SignMessage writes.
func (s *Signer) WriteSigned(out io.Writer, m *seos.Message, open Opener) error {
	doc, pending, err := m.Tree()
	if err != nil {
		return err
	}
	if err := s.check(doc); err != nil {
		return err
	}
	bodies := make(map[*etree.Element]*seos.Attachment, len(pending))
	for _, p := range pending {
		bodies[p.El] = p.Attachment
	}
	_, _, hash := s.Hash.algorithms()
	h := hash.New()
	c := newCanonicalizer(newC14NOut(h, false, ""))
	xw := xmldoc.NewWriter(out)
	root := doc.Root()
	var rootEnd xmltok.Token
	err = xmldoc.Walk(doc, func(tok *xmltok.Token, el *etree.Element) error {
		if el == root && tok.Kind == xmltok.EndElement {
			c.token(tok, false) // the signature goes before it in the bytes
			rootEnd = *tok
			return nil
		}
		c.token(tok, false)
		xw.Token(tok)
		if a := bodies[el]; a != nil && tok.Kind == xmltok.StartElement {
			return streamBody(a, open, func(b []byte) { c.plain(b); xw.Plain(b) })
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	sig, err := s.appendSignature(doc, h.Sum(nil))
	if err != nil {
		return err
	}
	if err := xmldoc.WalkElement(sig, func(tok *xmltok.Token, _ *etree.Element) error { xw.Token(tok); return nil }); err != nil {
		return err
	}
	xw.Token(&rootEnd)
	return xw.Flush()
}

// streamBody feeds an attachment body, base64-encoded, in chunks: text
// that needs no escaping.
func streamBody(a *seos.Attachment, open Opener, emit func([]byte)) error {
	var r io.Reader
	if a.Stored.Blob == "" {
		r = bytes.NewReader(a.Stored.Data)
	} else {
		rc, err := open(a.Stored)
		if err != nil {
			return fmt.Errorf("attachment %s: %w", a.FileName, err)
		}
		defer rc.Close()
		r = rc
	}
	const raw = 48 << 10 // whole base64 quanta: chunks encode on their own
	in := make([]byte, raw)
	enc := make([]byte, base64.StdEncoding.EncodedLen(raw))
	var n int64
	for {
		k, err := io.ReadFull(r, in)
		if k > 0 {
			n += int64(k)
			base64.StdEncoding.Encode(enc, in[:k])
			emit(enc[:base64.StdEncoding.EncodedLen(k)])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("attachment %s: %w", a.FileName, err)
		}
	}
	if n != a.Stored.Size {
		return fmt.Errorf("attachment %s: %d bytes where %d were stored", a.FileName, n, a.Stored.Size)
	}
	return nil
}
