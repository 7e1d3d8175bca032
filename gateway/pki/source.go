package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
)

// Source is where the transport identity in force is read on every use: a
// fixed *Identity, or one that is swapped while the node runs (a renewed
// certificate), so that TLS handshakes and signatures take the new pair
// without a restart.
type Source interface {
	Current() *Identity
}

// Current is the identity itself: an *Identity is a Source that never
// changes.
func (id *Identity) Current() *Identity { return id }

// Key-size floor of a transport key: RSA below 2048 bits is refused by
// DAEU's CA and by current TLS stacks.
const (
	MinRSABits   = 2048
	MinECDSABits = 256
)

// CheckKeyStrength refuses a transport key under the floor: RSA of fewer
// than MinRSABits, ECDSA on a curve of fewer than MinECDSABits.
func CheckKeyStrength(id *Identity) error {
	switch k := id.Key.Public().(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits {
			return fmt.Errorf("the RSA key has %d bits, under the floor of %d; request a new certificate with seosgw pki csr", n, MinRSABits)
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < MinECDSABits {
			return fmt.Errorf("the ECDSA key has %d bits, under the floor of %d", n, MinECDSABits)
		}
	default:
		return fmt.Errorf("unsupported key type %T; SEOS transport keys are RSA", k)
	}
	return nil
}
