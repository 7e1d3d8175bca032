package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
)

// DefaultMinRSABits is the smallest RSA key seosgw accepts unless
// tls.min_rsa_bits says otherwise: 1024-bit RSA has been out of use since
// 2013 (NIST SP 800-131A), and DAEU issues 2048-bit transport keys.
const DefaultMinRSABits = 2048

// MinECDSABits is the smallest ECDSA curve accepted (P-256): the smaller
// ones are no safer than RSA under the floor.
const MinECDSABits = 256

// WeakKeyError is a key under the floor.
type WeakKeyError struct {
	Algorithm string // RSA or ECDSA
	Bits, Min int
}

func (e *WeakKeyError) Error() string {
	if e.Algorithm == "ECDSA" {
		return fmt.Sprintf("ECDSA key of %d bits is under the %d-bit floor", e.Bits, e.Min)
	}
	return fmt.Sprintf("RSA key of %d bits is under the %d-bit floor (tls.min_rsa_bits)", e.Bits, e.Min)
}

// CheckKey is the one key-size floor, for our own transport key (at start
// and on every reload) and for peers' (TLS, message and reply signatures,
// the register's certificate): an RSA key shorter than minBits
// (DefaultMinRSABits when minBits is 0) or an ECDSA key on a curve under
// MinECDSABits is refused with a *WeakKeyError. Other key types pass.
func CheckKey(pub crypto.PublicKey, minBits int) error {
	if minBits <= 0 {
		minBits = DefaultMinRSABits
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minBits {
			return &WeakKeyError{Algorithm: "RSA", Bits: n, Min: minBits}
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < MinECDSABits {
			return &WeakKeyError{Algorithm: "ECDSA", Bits: n, Min: MinECDSABits}
		}
	}
	return nil
}
