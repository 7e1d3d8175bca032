package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1 signatures still arrive from older signing software
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAPSS  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
)

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(oidSHA224):
		return crypto.SHA224, nil
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported digest algorithm %s", oid)
}

// Result is what one signer's signature proved.
type Result struct {
	Signer      *SignerInfo
	Cert        *x509.Certificate // the signer's certificate from the message; nil if missing
	Hash        crypto.Hash
	SigningTime time.Time // claimed (signingTime attribute); zero when absent
	Err         error     // nil when the signature and digest verify
}

// Digests computes, in one pass over content, the digest for every
// algorithm the signers use.
func (sd *SignedData) Digests(content io.Reader) (map[crypto.Hash][]byte, error) {
	hs := map[crypto.Hash]io.Writer{}
	var ws []io.Writer
	for i := range sd.Signers {
		h, err := sd.Signers[i].Hash()
		if err != nil || hs[h] != nil {
			continue
		}
		hh := h.New()
		hs[h] = hh
		ws = append(ws, hh)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), content); err != nil {
		return nil, fmt.Errorf("cms: read the signed content: %w", err)
	}
	out := map[crypto.Hash][]byte{}
	for h, w := range hs {
		out[h] = w.(interface{ Sum([]byte) []byte }).Sum(nil)
	}
	return out, nil
}

// Verify checks every signer over content: the detached document for a
// .p7s, or nil to use the encapsulated content. Certificates are matched
// but not validated here.
func (sd *SignedData) Verify(content io.Reader) ([]Result, error) {
	if content == nil {
		if sd.detached {
			return nil, errors.New("cms: detached signature: the signed document is needed")
		}
		content = sd.Content()
	}
	digests, err := sd.Digests(content)
	if err != nil {
		return nil, err
	}
	return sd.VerifyDigests(digests), nil
}

// VerifyDigests checks every signer against precomputed content digests.
func (sd *SignedData) VerifyDigests(digests map[crypto.Hash][]byte) []Result {
	out := make([]Result, 0, len(sd.Signers))
	for i := range sd.Signers {
		si := &sd.Signers[i]
		res := Result{Signer: si, Cert: sd.signerCert(si), SigningTime: si.SigningTime()}
		res.Err = sd.verifyOne(si, res.Cert, digests, &res)
		out = append(out, res)
	}
	return out
}

func (sd *SignedData) verifyOne(si *SignerInfo, cert *x509.Certificate, digests map[crypto.Hash][]byte, res *Result) error {
	h, err := si.Hash()
	if err != nil {
		return err
	}
	res.Hash = h
	if cert == nil {
		return errors.New("the signer's certificate is not in the signature")
	}
	digest := digests[h]
	signed := digest
	if si.signedAttrs != nil {
		md, err := si.attr(oidAttrMessageDigest)
		if err != nil {
			return err
		}
		if md == nil {
			return errors.New("signed attributes without a message digest")
		}
		var want []byte
		if _, err := asn1.Unmarshal(md, &want); err != nil {
			return fmt.Errorf("message digest attribute: %w", err)
		}
		if !bytes.Equal(want, digest) {
			return errors.New("the document does not match the signed message digest (changed after signing)")
		}
		ct, err := si.attr(oidAttrContentType)
		if err != nil {
			return err
		}
		var oid asn1.ObjectIdentifier
		if ct == nil {
			return errors.New("signed attributes without a content type")
		}
		if _, err := asn1.Unmarshal(ct, &oid); err != nil || !oid.Equal(sd.ContentType) {
			return errors.New("the signed content type differs from the encapsulated one")
		}
		if err := checkSigningCertificate(si, cert); err != nil {
			return err
		}
		hh := h.New()
		hh.Write(si.signedAttrs)
		signed = hh.Sum(nil)
	}
	if err := checkSignature(cert.PublicKey, si, h, signed, si.signedAttrs); err != nil {
		return fmt.Errorf("signature value does not verify with the signer's certificate: %w", err)
	}
	return nil
}

// checkSignature verifies sig over digest (or, for Ed25519, over the
// message itself).
func checkSignature(pub crypto.PublicKey, si *SignerInfo, h crypto.Hash, digest, message []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if si.SigAlgOID.Equal(oidRSAPSS) {
			return rsa.VerifyPSS(k, h, digest, si.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		return rsa.VerifyPKCS1v15(k, h, digest, si.Signature)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, si.Signature) {
			return errors.New("ECDSA signature invalid")
		}
		return nil
	case ed25519.PublicKey:
		if message == nil || !si.SigAlgOID.Equal(oidEd25519) || !ed25519.Verify(k, message, si.Signature) {
			return errors.New("Ed25519 signature invalid")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key %T", pub)
}

// signerCert finds the signer's certificate among those in the message.
func (sd *SignedData) signerCert(si *SignerInfo) *x509.Certificate {
	for _, c := range sd.Certificates {
		if si.Serial != nil && c.SerialNumber.Cmp(si.Serial) == 0 && bytes.Equal(c.RawIssuer, si.IssuerRaw) {
			return c
		}
		if si.SubjectKeyID != nil && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
			return c
		}
	}
	return nil
}

// checkSigningCertificate enforces the ESS signing-certificate(-v2)
// attribute when present: it binds the signature to one certificate, so a
// certificate with the same key cannot be swapped in.
func checkSigningCertificate(si *SignerInfo, cert *x509.Certificate) error {
	type essCertID struct {
		Hash asn1.RawValue
		Rest asn1.RawValue `asn1:"optional"`
	}
	for _, v := range []struct {
		oid asn1.ObjectIdentifier
		v2  bool
	}{{oidAttrSigningCertV2, true}, {oidAttrSigningCert, false}} {
		raw, err := si.attr(v.oid)
		if err != nil {
			return err
		}
		if raw == nil {
			continue
		}
		var outer struct {
			Certs []asn1.RawValue
			Rest  asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(raw, &outer); err != nil || len(outer.Certs) == 0 {
			return errors.New("unreadable signing-certificate attribute")
		}
		h := crypto.SHA1
		var hashBytes []byte
		if v.v2 {
			// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial? }
			var fields []asn1.RawValue
			rest := outer.Certs[0].Bytes
			for len(rest) > 0 {
				var f asn1.RawValue
				var err error
				if rest, err = asn1.Unmarshal(rest, &f); err != nil {
					return errors.New("unreadable signing-certificate-v2 attribute")
				}
				fields = append(fields, f)
			}
			h = crypto.SHA256
			if len(fields) > 0 && fields[0].Tag == asn1.TagSequence {
				var alg struct{ Algorithm asn1.ObjectIdentifier }
				if _, err := asn1.Unmarshal(fields[0].FullBytes, &alg); err != nil {
					return errors.New("unreadable signing-certificate-v2 hash algorithm")
				}
				if h, err = hashOf(alg.Algorithm); err != nil {
					return err
				}
				fields = fields[1:]
			}
			if len(fields) == 0 || fields[0].Tag != asn1.TagOctetString {
				return errors.New("signing-certificate-v2 attribute without a certificate hash")
			}
			hashBytes = fields[0].Bytes
		} else {
			var id essCertID
			if _, err := asn1.Unmarshal(outer.Certs[0].FullBytes, &id); err != nil || id.Hash.Tag != asn1.TagOctetString {
				return errors.New("unreadable signing-certificate attribute")
			}
			hashBytes = id.Hash.Bytes
		}
		hh := h.New()
		hh.Write(cert.Raw)
		if !bytes.Equal(hh.Sum(nil), hashBytes) {
			return errors.New("the signing-certificate attribute names another certificate")
		}
		return nil
	}
	return nil
}

// segmented is a ReaderAt over pieces of another ReaderAt (the chunks of a
// BER constructed OCTET STRING), read in place.
type segmented struct {
	r      io.ReaderAt
	segs   [][2]int64
	starts []int64 // logical offset of each segment
	size   int64
}

func newSegmented(r io.ReaderAt, segs [][2]int64) (io.ReaderAt, int64) {
	if len(segs) == 1 {
		return io.NewSectionReader(r, segs[0][0], segs[0][1]), segs[0][1]
	}
	s := &segmented{r: r, segs: segs}
	for _, g := range segs {
		s.starts = append(s.starts, s.size)
		s.size += g[1]
	}
	return s, s.size
}

func (s *segmented) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("cms: negative offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	i := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > off }) - 1
	n := 0
	for ; i < len(s.segs) && n < len(p); i++ {
		within := off + int64(n) - s.starts[i]
		want := min(int64(len(p)-n), s.segs[i][1]-within)
		if want <= 0 {
			continue
		}
		m, err := s.r.ReadAt(p[n:n+int(want)], s.segs[i][0]+within)
		n += m
		if err != nil && !(err == io.EOF && int64(m) == want) {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
