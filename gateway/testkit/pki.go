package testkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
)

// PKI is a DAEU-like CA made at test time, with the loopback identities
// it issued cached by host name.
type PKI struct {
	CA  *pki.Authority
	key crypto.Signer // shared by the CA and its identities; nil: RSA each, as DAEU issues
	mu  sync.Mutex
	ids map[string]*pki.Identity
}

// NewPKI is a CA whose certificates share one ECDSA P-256 key: fast, for
// tests where the key type does not matter (RSA generation would dominate
// them). Give the same key to several CAs to make strangers' ones.
func NewPKI(t testing.TB, name string, key crypto.Signer) *PKI {
	t.Helper()
	if key == nil {
		key = ECKey(t)
	}
	ca, err := pki.NewAuthority(name, pki.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{CA: ca, key: key, ids: map[string]*pki.Identity{}}
}

// ECKey is a new ECDSA P-256 key.
func ECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var shared struct {
	sync.Mutex
	p *PKI
}

// SharedPKI is one RSA CA ("test DAEU CA") per test binary, for tests whose
// signatures other stacks verify the way they verify DAEU's: its
// identities are made once and reused by every test.
func SharedPKI(t testing.TB) *PKI {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.p == nil {
		ca, err := pki.NewAuthority("test DAEU CA")
		if err != nil {
			t.Fatal(err)
		}
		shared.p = &PKI{CA: ca, ids: map[string]*pki.Identity{}}
	}
	return shared.p
}

// Host is host's transport identity, valid on loopback (127.0.0.1, ::1),
// issued once per PKI.
func (p *PKI) Host(t testing.TB, host string) *pki.Identity {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if id := p.ids[host]; id != nil {
		return id
	}
	id := p.Issue(t, host, pki.WithLoopback())
	p.ids[host] = id
	return id
}

// Issue is a new transport identity for host, issued with opts.
func (p *PKI) Issue(t testing.TB, host string, opts ...pki.Option) *pki.Identity {
	t.Helper()
	if p.key != nil {
		opts = append([]pki.Option{pki.WithKey(p.key)}, opts...)
	}
	id, err := p.CA.IssueTransport(host, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ExpiringIn is a new identity for host whose certificate ends d from now.
func (p *PKI) ExpiringIn(t testing.TB, host string, d time.Duration) *pki.Identity {
	t.Helper()
	now := time.Now()
	return p.Issue(t, host, pki.WithValidity(now.Add(-time.Hour), now.Add(d)))
}

// CAFile writes the CA certificate to dir (the test's own folder when
// empty) as ca.pem and returns its path.
func (p *PKI) CAFile(t testing.TB, dir string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	path, _, err := p.CA.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Files writes an identity to dir as base.pem and base-key.pem.
func Files(t testing.TB, dir string, id *pki.Identity, base string) (cert, key string) {
	t.Helper()
	cert, key, err := id.WriteFiles(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// Trust is a trust store of the CA alone (no CRLs) at the system clock.
func (p *PKI) Trust(t testing.TB) *trust.Store {
	t.Helper()
	ts, err := trust.New(p.CAFile(t, ""), nil, false, clock.System, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// Client talks HTTPS to serverName as id, trusting the CA.
func (p *PKI) Client(id *pki.Identity, serverName string) *http.Client {
	return Client(id, p.CA.Pool(), serverName)
}

// Client talks HTTPS to serverName as id (mutual TLS), trusting roots.
func Client(id *pki.Identity, roots *x509.CertPool, serverName string) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: ClientTLS(id, roots, serverName)}}
}

// ClientTLS is the TLS configuration of Client.
func ClientTLS(id *pki.Identity, roots *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: serverName, Certificates: []tls.Certificate{id.TLSCertificate()}}
}
