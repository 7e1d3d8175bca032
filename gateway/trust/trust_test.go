package trust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
)

type fixture struct {
	ca, other    *pki.Authority
	server, good *pki.Identity
	revoked      *pki.Identity
	foreign      *pki.Identity
	caPath       string
	crlPath      string
	dir          string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	var err error
	must := func(e error) {
		if e != nil {
			t.Fatal(e)
		}
	}
	f.ca, err = pki.NewAuthority("DAEU test CA")
	must(err)
	f.other, err = pki.NewAuthority("someone else")
	must(err)
	f.server, err = f.ca.IssueTransport("b.obmen.local", pki.WithLoopback())
	must(err)
	f.good, err = f.ca.IssueTransport("a.obmen.local")
	must(err)
	f.revoked, err = f.ca.IssueTransport("c.obmen.local")
	must(err)
	f.foreign, err = f.other.IssueTransport("a.obmen.local")
	must(err)
	f.caPath = filepath.Join(f.dir, "ca.pem")
	must(os.WriteFile(f.caPath, f.ca.CertPEM(), 0o644))
	f.crlPath = filepath.Join(f.dir, "daeu.crl")
	f.writeCRL(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), f.revoked)
	return f
}

func (f *fixture) writeCRL(t *testing.T, this, next time.Time, revoked ...*pki.Identity) {
	t.Helper()
	var certs []*x509.Certificate
	for _, r := range revoked {
		certs = append(certs, r.Cert)
	}
	b, err := f.ca.CRL(certs, this, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.crlPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// handshake runs a real mutual-TLS handshake on loopback; the client sends
// its certificate even when the server's CA list does not name its issuer.
func handshake(t *testing.T, server *tls.Config, client *pki.Identity, roots *Store) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		srvErr <- c.(*tls.Conn).Handshake()
	}()
	cert := client.TLSCertificate()
	cfg := &tls.Config{RootCAs: roots.Roots, ServerName: "b.obmen.local",
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
	if err == nil {
		conn.Close()
	}
	if e := <-srvErr; e != nil {
		return e
	}
	return err
}

func TestServerRequiresTrustedUnrevokedClients(t *testing.T) {
	f := newFixture(t)
	s, err := New(f.caPath, []string{f.crlPath}, false, clock.System, quiet(), NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	srv := s.ServerTLS(f.server)
	if err := handshake(t, srv, f.good, s); err != nil {
		t.Fatalf("trusted client refused: %v", err)
	}
	if err := handshake(t, srv, f.foreign, s); err == nil {
		t.Error("client from another CA accepted")
	}
	err = handshake(t, srv, f.revoked, s)
	if !IsRevoked(err) {
		t.Errorf("revoked client: %v", err)
	}
}

func TestClientChecksServerAndRevocation(t *testing.T) {
	f := newFixture(t)
	s, _ := New(f.caPath, []string{f.crlPath}, false, clock.System, quiet(), nil)
	addr := handshakeServer(t, &tls.Config{Certificates: []tls.Certificate{f.server.TLSCertificate()}})
	dial := func(name string) error {
		c, err := tls.Dial("tcp", addr, s.ClientTLS(f.good, name))
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("b.obmen.local"); err != nil {
		t.Fatalf("good server refused: %v", err)
	}
	if err := dial("other.obmen.local"); err == nil {
		t.Error("certificate for another host accepted")
	}
	f.writeCRL(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), f.server)
	s.CRLs.Load()
	if err := dial("b.obmen.local"); !IsRevoked(err) {
		t.Errorf("revoked server: %v", err)
	}
}

func TestCRLProblemsAreUnknownNotRevoked(t *testing.T) {
	f := newFixture(t)
	clk := clock.NewManual(time.Now())
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	closed := NewCRLSet([]string{f.crlPath}, []*x509.Certificate{f.ca.Cert}, false, clk, quiet(), m)
	open := NewCRLSet([]string{f.crlPath}, []*x509.Certificate{f.ca.Cert}, true, clk, quiet(), nil)
	if err := closed.Load(); err != nil {
		t.Fatal(err)
	}
	open.Load()
	if err := closed.Check(f.good.Cert); err != nil {
		t.Fatalf("good certificate with a fresh CRL: %v", err)
	}
	clk.Advance(48 * time.Hour) // past NextUpdate
	err := closed.Check(f.good.Cert)
	var ce *CertError
	if !errors.As(err, &ce) || ce.Reason != "revocation_unknown" || IsRevoked(err) {
		t.Errorf("stale CRL, fail-closed: %v", err)
	}
	if err := open.Check(f.good.Cert); err != nil {
		t.Errorf("stale CRL, fail-open: %v", err)
	}
	if testutil.ToFloat64(m.stale) != 1 {
		t.Error("seosgw_crl_stale not raised")
	}
	if !IsRevoked(open.Check(f.revoked.Cert)) {
		t.Error("a stale CRL still names its revoked serials")
	}
	// A fresh file is picked up without a restart.
	f.writeCRL(t, clk.Now().Add(-time.Hour), clk.Now().Add(24*time.Hour))
	os.Chtimes(f.crlPath, clk.Now(), clk.Now().Add(time.Minute))
	clk.Advance(reloadEvery)
	if err := closed.Check(f.revoked.Cert); err != nil {
		t.Errorf("after reload the un-revoked certificate should pass: %v", err)
	}
	// A CRL signed by someone else is not believed.
	b, _ := f.other.CRL(nil, clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour))
	os.WriteFile(f.crlPath, b, 0o644)
	if err := closed.Load(); err == nil {
		t.Error("CRL from a foreign CA loaded")
	}
	if lint, _ := testutil.CollectAndLint(m.stale); len(lint) > 0 {
		t.Errorf("metric lint: %v", lint)
	}
}

func TestNewFailsClosedOnMissingCRL(t *testing.T) {
	f := newFixture(t)
	if _, err := New(f.caPath, []string{filepath.Join(f.dir, "missing.crl")}, false, clock.System, quiet(), nil); err == nil {
		t.Error("fail-closed start with an unreadable CRL")
	}
	if _, err := New(f.caPath, []string{filepath.Join(f.dir, "missing.crl")}, true, clock.System, quiet(), nil); err != nil {
		t.Errorf("fail-open start: %v", err)
	}
}

// Readiness asks Problem even when no peer connects: it must see a fresh
// CRL dropped in by the operator, and keep the stale gauge current.
func TestProblemReloadsOnItsOwn(t *testing.T) {
	f := newFixture(t)
	clk := clock.NewManual(time.Now())
	m := NewMetrics(prometheus.NewRegistry())
	set := NewCRLSet([]string{f.crlPath}, []*x509.Certificate{f.ca.Cert}, false, clk, quiet(), m)
	set.Load()
	clk.Advance(48 * time.Hour)
	if set.Problem() == nil || testutil.ToFloat64(m.stale) != 1 {
		t.Fatal("a CRL past its next update is not reported")
	}
	f.writeCRL(t, clk.Now().Add(-time.Hour), clk.Now().Add(24*time.Hour))
	os.Chtimes(f.crlPath, clk.Now(), clk.Now().Add(time.Minute))
	clk.Advance(reloadEvery)
	if err := set.Problem(); err != nil || testutil.ToFloat64(m.stale) != 0 {
		t.Errorf("fresh CRL not picked up by Problem: %v", err)
	}
}
