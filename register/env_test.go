package register_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
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
	key := testkit.ECKey(t) // one key for every certificate: fast; RSA adds nothing here
	daeu := testkit.NewPKI(t, "Test DAEU CA", key)
	other := testkit.NewPKI(t, "Other CA", key)
	p := &testPKI{dir: t.TempDir(), ca: daeu.CA}
	p.caFile = daeu.CAFile(t, p.dir)
	p.register = daeu.Issue(t, "register.obmen.local", pki.WithLoopback())
	p.regCert, p.regKey = testkit.Files(t, p.dir, p.register, "register")
	p.node = daeu.Issue(t, "node.obmen.local")
	p.nodeCert, p.nodeKey = testkit.Files(t, p.dir, p.node, "node")
	p.strangerCert, p.strangerKey = testkit.Files(t, p.dir, other.Issue(t, "node.obmen.local"), "stranger")
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
	reg, err := testregister.Open(context.Background(), filepath.Join(t.TempDir(), "register.db"), testregister.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	addr := testkit.Serve(t, func(ctx context.Context, ready func(net.Addr)) error {
		return reg.Serve(ctx, testregister.ServeConfig{Listen: "127.0.0.1:0", CertFile: p.regCert, KeyFile: p.regKey, ClientCAFile: p.caFile}, ready)
	})
	return reg, "https://" + addr.String() + "/service/"
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
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, k, v)
	}
	return testkit.Metric(t, reg, name, pairs...)
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
