package pki_test

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

// t0 is the fixed "now" of tests that do not talk to real TLS stacks or openssl.
var t0 = time.Date(2026, time.March, 3, 10, 0, 0, 0, time.UTC)

// rsaKeys are generated once: RSA generation is the slow part of issuing, and most
// tests are about the certificate, not the key.
var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	return keys
})

func key(i int) *rsa.PrivateKey { return rsaKeys()[i] }

func newAuthority(t testing.TB, name string, opts ...pki.Option) *pki.Authority {
	t.Helper()
	ca, err := pki.NewAuthority(name, opts...)
	if err != nil {
		t.Fatalf("NewAuthority: %v", err)
	}
	return ca
}

func issue(t testing.TB, ca *pki.Authority, host string, opts ...pki.Option) *pki.Identity {
	t.Helper()
	id, err := ca.IssueTransport(host, opts...)
	if err != nil {
		t.Fatalf("IssueTransport: %v", err)
	}
	return id
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyPEM(t testing.TB, id *pki.Identity) []byte {
	t.Helper()
	b, err := id.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
