// Package xmldsig is the SEOS signature profile (PROTOCOL §4) on etree and
// goxmldsig: enveloped XML-DSig over the whole Message, signed and verified
// the way .NET SignedXml peers do, with the strict checks they skip.
package xmldsig

import (
	"crypto"
	_ "crypto/sha1" // rsa-sha1 / sha1 digests from older .NET peers
	_ "crypto/sha256"
	_ "crypto/sha512"

	dsig "github.com/russellhaering/goxmldsig"
)

// Namespace is the XML-DSig namespace.
const Namespace = dsig.Namespace

// Algorithm identifiers of the profile.
const (
	C14N10          = string(dsig.CanonicalXML10RecAlgorithmId)
	ExcC14N10       = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
	Enveloped       = string(dsig.EnvelopedSignatureAltorithmId)
	RSASHA1         = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256       = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA512       = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	DigestSHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	DigestSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
	DigestSHA512    = "http://www.w3.org/2001/04/xmlenc#sha512"
	inclusiveNSName = "InclusiveNamespaces"
)

var signatureMethods = map[string]crypto.Hash{
	RSASHA1:   crypto.SHA1,
	RSASHA256: crypto.SHA256,
	RSASHA512: crypto.SHA512,
}

var digestMethods = map[string]crypto.Hash{
	DigestSHA1:   crypto.SHA1,
	DigestSHA256: crypto.SHA256,
	DigestSHA512: crypto.SHA512,
}

// Hash selects the signing algorithms: SHA256 by default, SHA1 for older
// .NET peers configured so.
type Hash string

const (
	SHA256 Hash = "sha256"
	SHA1   Hash = "sha1"
)

// ParseHash reads a configuration or flag value.
func ParseHash(s string) (Hash, bool) {
	switch s {
	case "", "sha256":
		return SHA256, true
	case "sha1":
		return SHA1, true
	}
	return "", false
}

func (h Hash) algorithms() (signature, digest string, hash crypto.Hash) {
	if h == SHA1 {
		return RSASHA1, DigestSHA1, crypto.SHA1
	}
	return RSASHA256, DigestSHA256, crypto.SHA256
}
