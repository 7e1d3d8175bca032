// Package smime signs outgoing mail: a detached CMS SignedData (RFC 5652)
// over the exact bytes of a MIME entity, wrapped in multipart/signed
// (RFC 8551 3.5.3) so that `openssl smime -verify` and mail clients check
// it. Received S/MIME is read by gateway/mail/mailmsg.
package smime

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

var (
	oidData             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSHA256           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidAttrContentType  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigst = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCert2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    algorithmIdentifier
	SignedAttrs        asn1.RawValue // [0] IMPLICIT SET OF Attribute
	SignatureAlgorithm algorithmIdentifier
	Signature          []byte
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier // detached: no eContent
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue // SET OF AlgorithmIdentifier
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue // [0] IMPLICIT SET OF Certificate
	SignerInfos      asn1.RawValue // SET OF SignerInfo
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, built by hand: encoding/asn1 drops the tag on a RawValue with FullBytes
}

// Signer signs with the administration's signing certificate.
type Signer struct {
	id  *pki.Identity
	now func() time.Time
}

// NewSigner signs with id (its Chain is shipped in every signature);
// now stamps the signing time.
func NewSigner(id *pki.Identity, now func() time.Time) (*Signer, error) {
	switch id.Key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("smime: %T keys cannot sign mail here; use RSA or ECDSA", id.Key.Public())
	}
	if id.Cert.KeyUsage != 0 && id.Cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, errors.New("smime: the certificate's key usage does not allow signing")
	}
	return &Signer{id: id, now: now}, nil
}

// Certificate is the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.id.Cert }

// SignDetached returns a DER ContentInfo holding SignedData over content,
// without the content (the .p7s of multipart/signed).
func (s *Signer) SignDetached(content []byte) ([]byte, error) {
	digest := sha256.Sum256(content)
	return s.signDigest(digest[:])
}

// signDigest is SignDetached over content whose SHA-256 is digest: the
// content itself need not be held (Stream hashes it as it goes out).
func (s *Signer) signDigest(digest []byte) ([]byte, error) {
	certHash := sha256.Sum256(s.id.Cert.Raw)
	attrs, err := attributeSet(
		attribute(oidAttrContentType, oidData),
		attribute(oidAttrSigningTime, s.now().UTC()),
		attribute(oidAttrMessageDigst, digest),
		// ESS signing-certificate-v2: binds the signature to this certificate.
		attribute(oidAttrSigningCert2, struct{ Certs []struct{ Hash []byte } }{Certs: []struct{ Hash []byte }{{Hash: certHash[:]}}}),
	)
	if err != nil {
		return nil, err
	}
	// The signature covers the attributes as a DER SET (tag 0x31); in the
	// SignerInfo they stand as [0] IMPLICIT.
	toSign := sha256.Sum256(attrs)
	var sigAlg algorithmIdentifier
	var opts crypto.SignerOpts = crypto.SHA256
	switch s.id.Key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		sigAlg = algorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	}
	sig, err := s.id.Key.Sign(rand.Reader, toSign[:], opts)
	if err != nil {
		return nil, fmt.Errorf("smime: sign: %w", err)
	}
	var signedAttrs asn1.RawValue
	if _, err := asn1.Unmarshal(attrs, &signedAttrs); err != nil {
		return nil, err
	}
	si := signerInfo{
		Version:            1,
		SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: s.id.Cert.RawIssuer}, Serial: s.id.Cert.SerialNumber},
		DigestAlgorithm:    algorithmIdentifier{Algorithm: oidSHA256},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: signedAttrs.Bytes},
		SignatureAlgorithm: sigAlg, Signature: sig,
	}
	siDER, err := asn1.Marshal(si)
	if err != nil {
		return nil, err
	}
	digestAlgs, err := asn1.Marshal(algorithmIdentifier{Algorithm: oidSHA256})
	if err != nil {
		return nil, err
	}
	var certs [][]byte
	for _, c := range append([]*x509.Certificate{s.id.Cert}, s.id.Chain...) {
		certs = append(certs, c.Raw)
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: digestAlgs},
		EncapContentInfo: encapContentInfo{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: derSetOf(certs)},
		SignerInfos:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: siDER},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
}

// attribute encodes Attribute ::= SEQUENCE { attrType, attrValues SET OF }
// with one value.
func attribute(oid asn1.ObjectIdentifier, value any) func() ([]byte, error) {
	return func() ([]byte, error) {
		v, err := asn1.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("smime: attribute %s: %w", oid, err)
		}
		return asn1.Marshal(struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}{oid, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: v}})
	}
}

// attributeSet is the DER SET OF the attributes, sorted as DER asks.
func attributeSet(attrs ...func() ([]byte, error)) ([]byte, error) {
	var enc [][]byte
	for _, a := range attrs {
		b, err := a()
		if err != nil {
			return nil, err
		}
		enc = append(enc, b)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: derSetOf(enc)})
}

// derSetOf concatenates the elements of a SET OF in DER order.
func derSetOf(elems [][]byte) []byte {
	sorted := append([][]byte(nil), elems...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	return bytes.Join(sorted, nil)
}
