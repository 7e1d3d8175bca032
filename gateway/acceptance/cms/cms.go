// Package cms reads Cryptographic Message Syntax (RFC 5652) as documents are
// signed and encrypted with it: CAdES .p7s/.p7m and the CMS inside PDF
// signatures. It walks BER over an io.ReaderAt, so an attached document is
// hashed as a stream and never copied; it verifies signer infos (message
// digest, signature, signing-certificate binding) but not certificate trust.
package cms

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Kind is the content type of a ContentInfo.
type Kind string

// Content types that matter for acceptance.
const (
	KindData              Kind = "data"
	KindSignedData        Kind = "signed-data"
	KindEnvelopedData     Kind = "enveloped-data"
	KindEncryptedData     Kind = "encrypted-data"
	KindAuthEnvelopedData Kind = "auth-enveloped-data"
	KindDigestedData      Kind = "digested-data"
	KindOther             Kind = "other"
)

// Encrypted reports content only its recipients can read.
func (k Kind) Encrypted() bool {
	return k == KindEnvelopedData || k == KindEncryptedData || k == KindAuthEnvelopedData
}

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidDigestedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 5}
	oidEncryptedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidAuthEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}

	oidAttrContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCert    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
)

func kindOf(oid asn1.ObjectIdentifier) Kind {
	switch {
	case oid.Equal(oidData):
		return KindData
	case oid.Equal(oidSignedData):
		return KindSignedData
	case oid.Equal(oidEnvelopedData):
		return KindEnvelopedData
	case oid.Equal(oidEncryptedData):
		return KindEncryptedData
	case oid.Equal(oidAuthEnvelopedData):
		return KindAuthEnvelopedData
	case oid.Equal(oidDigestedData):
		return KindDigestedData
	}
	return KindOther
}

// ContentKind reads only the outer ContentInfo's type: enough to tell a
// signature from an encrypted envelope.
func ContentKind(r io.ReaderAt, size int64) (Kind, error) {
	w := &walker{r: r, size: size}
	_, oid, _, err := w.contentInfo()
	if err != nil {
		return "", err
	}
	return kindOf(oid), nil
}

// contentInfo reads ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }.
func (w *walker) contentInfo() (node, asn1.ObjectIdentifier, node, error) {
	top, err := w.header(0, w.size, 0)
	if err != nil {
		return node{}, nil, node{}, err
	}
	if !top.is(classUniversal, tagSequence) || !top.constructed {
		return node{}, nil, node{}, fmt.Errorf("%w: not a ContentInfo SEQUENCE", errMalformed)
	}
	kids, err := w.children(top, 0)
	if err != nil {
		return node{}, nil, node{}, err
	}
	if len(kids) < 1 || !kids[0].is(classUniversal, tagOID) {
		return node{}, nil, node{}, fmt.Errorf("%w: ContentInfo without a content type", errMalformed)
	}
	oid, err := w.oid(kids[0])
	if err != nil {
		return node{}, nil, node{}, err
	}
	var content node
	if len(kids) > 1 {
		if !kids[1].is(classContext, 0) || !kids[1].constructed {
			return node{}, nil, node{}, fmt.Errorf("%w: ContentInfo content is not [0] EXPLICIT", errMalformed)
		}
		inner, err := w.children(kids[1], 1)
		if err != nil || len(inner) != 1 {
			return node{}, nil, node{}, fmt.Errorf("%w: ContentInfo content holds %d elements", errMalformed, len(inner))
		}
		content = inner[0]
	}
	return top, oid, content, nil
}

func (w *walker) oid(nd node) (asn1.ObjectIdentifier, error) {
	b, err := w.bytes(nd)
	if err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(b, &oid); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: bad OBJECT IDENTIFIER at offset %d", errMalformed, nd.start)
	}
	return oid, nil
}

// SignedData is a parsed CMS SignedData whose encapsulated content stays in
// the ReaderAt.
type SignedData struct {
	ContentType  asn1.ObjectIdentifier
	Certificates []*x509.Certificate
	Signers      []SignerInfo

	r        io.ReaderAt
	content  [][2]int64 // where the eContent octets lie; nil when detached
	detached bool
}

// SignerInfo is one signer's part of a SignedData.
type SignerInfo struct {
	IssuerRaw    []byte // DER Name of the certificate's issuer (issuerAndSerialNumber form)
	Serial       *big.Int
	SubjectKeyID []byte // the subjectKeyIdentifier form
	DigestOID    asn1.ObjectIdentifier
	SigAlgOID    asn1.ObjectIdentifier
	SigAlgParams asn1.RawValue
	Signature    []byte
	signedAttrs  []byte // DER of the SET (tag rewritten from [0])
	attrs        []attribute
	HasTimestamp bool // an RFC 3161 signature time-stamp is attached (not evaluated)
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// ErrNotSigned is a ContentInfo that holds no SignedData.
var ErrNotSigned = errors.New("cms: not a SignedData")

// Parse reads a DER or BER ContentInfo holding SignedData from r.
func Parse(r io.ReaderAt, size int64) (*SignedData, error) {
	w := &walker{r: r, size: size}
	_, oid, content, err := w.contentInfo()
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if k := kindOf(oid); k != KindSignedData {
		return nil, fmt.Errorf("%w (content type %s, %s)", ErrNotSigned, oid, k)
	}
	sd, err := w.signedData(content)
	if err != nil {
		return nil, fmt.Errorf("cms: SignedData: %w", err)
	}
	return sd, nil
}

func (w *walker) signedData(nd node) (*SignedData, error) {
	if !nd.is(classUniversal, tagSequence) {
		return nil, fmt.Errorf("%w: not a SEQUENCE", errMalformed)
	}
	kids, err := w.children(nd, 2)
	if err != nil {
		return nil, err
	}
	// version, digestAlgorithms, encapContentInfo, [0] certs?, [1] crls?, signerInfos
	if len(kids) < 4 || !kids[0].is(classUniversal, tagInteger) || !kids[1].is(classUniversal, tagSet) || !kids[2].is(classUniversal, tagSequence) {
		return nil, fmt.Errorf("%w: fields out of order", errMalformed)
	}
	sd := &SignedData{r: w.r}
	encap, err := w.children(kids[2], 3)
	if err != nil {
		return nil, err
	}
	if len(encap) < 1 || !encap[0].is(classUniversal, tagOID) {
		return nil, fmt.Errorf("%w: encapContentInfo without a type", errMalformed)
	}
	if sd.ContentType, err = w.oid(encap[0]); err != nil {
		return nil, err
	}
	switch len(encap) {
	case 1:
		sd.detached = true
	case 2:
		if !encap[1].is(classContext, 0) {
			return nil, fmt.Errorf("%w: eContent is not [0] EXPLICIT", errMalformed)
		}
		in, err := w.children(encap[1], 4)
		if err != nil || len(in) != 1 {
			return nil, fmt.Errorf("%w: eContent holds %d elements", errMalformed, len(in))
		}
		if sd.content, err = w.segments(in[0], 5); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: encapContentInfo has %d fields", errMalformed, len(encap))
	}
	rest := kids[3:]
	if len(rest) > 0 && rest[0].is(classContext, 0) {
		certs, err := w.children(rest[0], 3)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if !c.is(classUniversal, tagSequence) {
				continue // other certificate formats (attribute certificates) are not used here
			}
			der, err := w.bytes(c)
			if err != nil {
				return nil, err
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("certificate at offset %d: %w", c.start, err)
			}
			sd.Certificates = append(sd.Certificates, cert)
		}
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0].is(classContext, 1) {
		rest = rest[1:] // CRLs carried in the message are not trusted; revocation is fetched
	}
	if len(rest) != 1 || !rest[0].is(classUniversal, tagSet) {
		return nil, fmt.Errorf("%w: no signerInfos SET", errMalformed)
	}
	infos, err := w.children(rest[0], 3)
	if err != nil {
		return nil, err
	}
	for _, in := range infos {
		si, err := w.signerInfo(in)
		if err != nil {
			return nil, fmt.Errorf("signer info at offset %d: %w", in.start, err)
		}
		sd.Signers = append(sd.Signers, si)
	}
	if len(sd.Signers) == 0 {
		return nil, fmt.Errorf("%w: no signer", errMalformed)
	}
	return sd, nil
}

func (w *walker) signerInfo(nd node) (SignerInfo, error) {
	var si SignerInfo
	kids, err := w.children(nd, 4)
	if err != nil {
		return si, err
	}
	if len(kids) < 5 {
		return si, fmt.Errorf("%w: %d fields", errMalformed, len(kids))
	}
	sid := kids[1]
	switch {
	case sid.is(classUniversal, tagSequence):
		parts, err := w.children(sid, 5)
		if err != nil || len(parts) != 2 || !parts[1].is(classUniversal, tagInteger) {
			return si, fmt.Errorf("%w: issuerAndSerialNumber", errMalformed)
		}
		if si.IssuerRaw, err = w.bytes(parts[0]); err != nil {
			return si, err
		}
		b, err := w.bytes(parts[1])
		if err != nil {
			return si, err
		}
		si.Serial = new(big.Int)
		if _, err := asn1.Unmarshal(b, &si.Serial); err != nil {
			return si, fmt.Errorf("%w: serial number: %v", errMalformed, err)
		}
	case sid.is(classContext, 0):
		if si.SubjectKeyID, err = w.content(sid); err != nil {
			return si, err
		}
	default:
		return si, fmt.Errorf("%w: unknown signer identifier", errMalformed)
	}
	var alg struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	readAlg := func(n node) error {
		b, err := w.bytes(n)
		if err != nil {
			return err
		}
		alg.Parameters = asn1.RawValue{}
		if _, err := asn1.Unmarshal(b, &alg); err != nil {
			return fmt.Errorf("%w: algorithm identifier: %v", errMalformed, err)
		}
		return nil
	}
	if err := readAlg(kids[2]); err != nil {
		return si, err
	}
	si.DigestOID = alg.Algorithm
	i := 3
	if kids[i].is(classContext, 0) {
		raw, err := w.bytes(kids[i])
		if err != nil {
			return si, err
		}
		if kids[i].len < 0 {
			return si, fmt.Errorf("%w: signed attributes must be DER", errMalformed)
		}
		raw[0] = 0x31 // the signature covers the attributes as a SET OF (RFC 5652 5.4)
		si.signedAttrs = raw
		if _, err := asn1.UnmarshalWithParams(raw, &si.attrs, "set"); err != nil {
			return si, fmt.Errorf("%w: signed attributes: %v", errMalformed, err)
		}
		i++
	}
	if i+1 >= len(kids) {
		return si, fmt.Errorf("%w: no signature", errMalformed)
	}
	if err := readAlg(kids[i]); err != nil {
		return si, err
	}
	si.SigAlgOID, si.SigAlgParams = alg.Algorithm, alg.Parameters
	if !kids[i+1].is(classUniversal, tagOctetString) {
		return si, fmt.Errorf("%w: signature is not an OCTET STRING", errMalformed)
	}
	if si.Signature, err = w.content(kids[i+1]); err != nil {
		return si, err
	}
	if i+2 < len(kids) && kids[i+2].is(classContext, 1) {
		raw, err := w.bytes(kids[i+2])
		if err == nil && kids[i+2].len >= 0 {
			raw[0] = 0x31
			var un []attribute
			if _, err := asn1.UnmarshalWithParams(raw, &un, "set"); err == nil {
				for _, a := range un {
					si.HasTimestamp = si.HasTimestamp || a.Type.Equal(oidAttrTimeStampToken)
				}
			}
		}
	}
	return si, nil
}

// Detached reports a signature whose content travels separately (.p7s).
func (sd *SignedData) Detached() bool { return sd.detached }

// Content streams the encapsulated content (nil when detached).
func (sd *SignedData) Content() io.Reader {
	if sd.detached {
		return nil
	}
	rs := make([]io.Reader, 0, len(sd.content))
	for _, s := range sd.content {
		rs = append(rs, io.NewSectionReader(sd.r, s[0], s[1]))
	}
	return io.MultiReader(rs...)
}

// ContentReaderAt gives random access to the encapsulated content, without
// copying it, so the document inside a .p7m can be inspected like any other.
func (sd *SignedData) ContentReaderAt() (io.ReaderAt, int64) {
	if sd.detached {
		return nil, 0
	}
	return newSegmented(sd.r, sd.content)
}

// attr returns the single value of a signed attribute, or nil.
func (si *SignerInfo) attr(oid asn1.ObjectIdentifier) ([]byte, error) {
	var found []byte
	for _, a := range si.attrs {
		if !a.Type.Equal(oid) {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("attribute %s appears twice", oid)
		}
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(a.Values.Bytes, &v)
		if err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("attribute %s must have exactly one value", oid)
		}
		found = v.FullBytes
	}
	return found, nil
}

// SigningTime is the signer's claimed signing time (the signingTime
// attribute), zero when absent.
func (si *SignerInfo) SigningTime() time.Time {
	b, _ := si.attr(oidAttrSigningTime)
	if b == nil {
		return time.Time{}
	}
	var t time.Time
	if _, err := asn1.Unmarshal(b, &t); err != nil {
		return time.Time{}
	}
	return t
}

// Hash is the signer's digest algorithm.
func (si *SignerInfo) Hash() (crypto.Hash, error) { return hashOf(si.DigestOID) }
