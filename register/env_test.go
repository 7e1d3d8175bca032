package register_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
	"github.com/seosgw/seosgw/register/testregister"
)

// testPKI is a DAEU-like CA, written to files as the CLI needs them: the
// register's server certificate, a node's transport certificate, and a
// stranger's from another CA.
type testPKI struct {
	dir               string
	ca                *pki.Authority
	caFile            string
	register, node    *pki.Identity
	regCert, regKey   string
	nodeCert, nodeKey string
	strangerCert      string
	strangerKey       string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // fast; RSA adds nothing here
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: t.TempDir()}
	if p.ca, err = pki.NewAuthority("Test DAEU CA", pki.WithKey(key)); err != nil {
		t.Fatal(err)
	}
	if p.caFile, _, err = p.ca.WriteFiles(p.dir, "ca"); err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewAuthority("Other CA", pki.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.Authority, host, base string, opts ...pki.Option) (*pki.Identity, string, string) {
		id, err := ca.IssueTransport(host, append(opts, pki.WithKey(key))...)
		if err != nil {
			t.Fatal(err)
		}
		c, k, err := id.WriteFiles(p.dir, base)
		if err != nil {
			t.Fatal(err)
		}
		return id, c, k
	}
	p.register, p.regCert, p.regKey = issue(p.ca, "register.obmen.local", "register", pki.WithLoopback())
	p.node, p.nodeCert, p.nodeKey = issue(p.ca, "node.obmen.local", "node")
	_, p.strangerCert, p.strangerKey = issue(other, "node.obmen.local", "stranger")
	return p
}

func (p *testPKI) client(t *testing.T, url string, id *pki.Identity, timeout time.Duration, max int64) *daeu.Client {
	t.Helper()
	c, err := daeu.NewClient(daeu.Options{URL: url, Identity: id, RootCAs: p.ca.Pool(), Timeout: timeout, MaxResponseBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// startRegister runs a test register in-process on loopback over real
// mutual TLS and returns it with its URL.
func startRegister(t *testing.T, p *testPKI, clk clock.Clock) (*testregister.Register, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := testregister.Open(ctx, filepath.Join(t.TempDir(), "register.db"), testregister.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- reg.Serve(ctx, testregister.ServeConfig{Listen: "127.0.0.1:0", CertFile: p.regCert, KeyFile: p.regKey, ClientCAFile: p.caFile},
			func(a net.Addr) { addr <- a })
	}()
	var url string
	select {
	case a := <-addr:
		url = "https://" + a.String() + "/service/"
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		reg.Close()
	})
	return reg, url
}

// stubRegister serves h as a "register" with the real register's
// certificate and client-certificate demand.
func stubRegister(t *testing.T, p *testPKI, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.register.TLSCertificate()},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ca.Pool()}
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL + "/service/"
}

// metric reads one series from a registry; -1 when absent.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue series
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spy records what the sync asks the register.
type spy struct {
	register.Source
	calls []string
}

func (s *spy) GetAllRecords(ctx context.Context) (*register.Listing, error) {
	s.calls = append(s.calls, "GetAllRecords")
	return s.Source.GetAllRecords(ctx)
}

func (s *spy) GetNewRecords(ctx context.Context, since string) (*register.Listing, error) {
	s.calls = append(s.calls, "GetNewRecords("+since+")")
	return s.Source.GetNewRecords(ctx, since)
}
