package pki

import (
	"crypto"
	"crypto/rsa"
	"fmt"
)

// DefaultMinRSABits is the smallest RSA key seosgw accepts unless
// tls.min_rsa_bits says otherwise: 1024-bit RSA has been out of use since
// 2013 (NIST SP 800-131A), and DAEU issues 2048-bit transport keys.
const DefaultMinRSABits = 2048

// WeakKeyError is an RSA key under the floor.
type WeakKeyError struct{ Bits, Min int }

func (e *WeakKeyError) Error() string {
	return fmt.Sprintf("RSA key of %d bits is under the %d-bit floor (tls.min_rsa_bits)", e.Bits, e.Min)
}

// CheckKey refuses an RSA public key shorter than minBits
// (DefaultMinRSABits when minBits is 0) with a *WeakKeyError. Other key
// types pass: ECDSA keys are only made at sizes that hold.
func CheckKey(pub crypto.PublicKey, minBits int) error {
	if minBits <= 0 {
		minBits = DefaultMinRSABits
	}
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minBits {
		return &WeakKeyError{Bits: k.N.BitLen(), Min: minBits}
	}
	return nil
}
