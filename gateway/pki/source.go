package pki

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
