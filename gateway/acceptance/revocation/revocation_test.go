package revocation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
	"github.com/seosgw/seosgw/gateway/clock"
)

func newChecker(t *testing.T, cfg revocation.Config) (*revocation.Checker, *prometheus.Registry, *clock.Manual) {
	reg := prometheus.NewRegistry()
	clk := clock.NewManual(time.Now())
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return revocation.New(cfg, nil, clk, revocation.NewMetrics(reg)), reg, clk
}

func TestCRL(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	good := p.Issue(t, acceptancetest.SignerSpec{Name: "Good"})
	bad := p.Issue(t, acceptancetest.SignerSpec{Name: "Revoked"})
	p.Revoke(t, bad)
	c, reg, clk := newChecker(t, revocation.Config{CRL: true})
	ctx := context.Background()

	if r := c.Check(ctx, good.Cert, p.Issuing.Cert); r.Status != revocation.Good || r.Source != "crl" {
		t.Fatalf("good: %+v", r)
	}
	if r := c.Check(ctx, bad.Cert, p.Issuing.Cert); r.Status != revocation.Revoked || r.RevokedAt.IsZero() {
		t.Fatalf("revoked: %+v", r)
	}
	if n := p.CRLFetches.Load(); n != 1 {
		t.Errorf("CRL fetched %d times, want 1 (cached until its next update)", n)
	}
	// Past nextUpdate the list is fetched again; a server that fails then
	// makes a good certificate unknown but still knows the revoked one.
	clk.Advance(2 * time.Hour)
	p.SetCRLUnavailable(true)
	if r := c.Check(ctx, good.Cert, p.Issuing.Cert); r.Status != revocation.Unknown || !strings.Contains(r.Err.Error(), "503") {
		t.Fatalf("good with the CRL server down: %+v", r)
	}
	if r := c.Check(ctx, bad.Cert, p.Issuing.Cert); r.Status != revocation.Revoked {
		t.Fatalf("revoked with the CRL server down: %+v", r)
	}
	if got := testutil.ToFloat64(mustVec(t, reg, "seosgw_acceptance_revocation_fetch_failures_total", "crl")); got < 1 {
		t.Errorf("failures metric %v", got)
	}
}

func TestCRLUnreachableIsNeverRevoked(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	for name, spec := range map[string]acceptancetest.SignerSpec{
		"nothing listens": {Name: "A", CRLURL: acceptancetest.UnreachableURL(t, "/ca.crl")},
		"not a CRL":       {Name: "B", CRLURL: p.CRLServer.URL + "/missing.crl"},
		"no source":       {Name: "C", CRLURL: "-"},
	} {
		t.Run(name, func(t *testing.T) {
			cert := p.Issue(t, spec)
			p.Revoke(t, cert) // even a revoked certificate is only unknown without its CRL
			c, _, _ := newChecker(t, revocation.Config{CRL: true, OCSP: true})
			r := c.Check(context.Background(), cert.Cert, p.Issuing.Cert)
			if r.Status != revocation.Unknown || r.Err == nil {
				t.Fatalf("%+v", r)
			}
		})
	}
}

func TestCRLSizeLimit(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	cert := p.Issue(t, acceptancetest.SignerSpec{Name: "A"})
	c, _, _ := newChecker(t, revocation.Config{CRL: true, MaxCRLBytes: 100})
	if r := c.Check(context.Background(), cert.Cert, p.Issuing.Cert); r.Status != revocation.Unknown || !strings.Contains(r.Err.Error(), "limit") {
		t.Fatalf("%+v", r)
	}
}

func TestCRLFromAnotherIssuerIsRefused(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	other := acceptancetest.NewPKI(t)
	cert := p.Issue(t, acceptancetest.SignerSpec{Name: "A", CRLURL: other.CRLServer.URL + "/issuing.crl"})
	c, _, _ := newChecker(t, revocation.Config{CRL: true})
	if r := c.Check(context.Background(), cert.Cert, p.Issuing.Cert); r.Status != revocation.Unknown || !strings.Contains(r.Err.Error(), "not signed by") {
		t.Fatalf("%+v", r)
	}
}

func TestOCSP(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	p.StartOCSP(t)
	good := p.Issue(t, acceptancetest.SignerSpec{Name: "Good", OCSP: true, CRLURL: "-"})
	bad := p.Issue(t, acceptancetest.SignerSpec{Name: "Revoked", OCSP: true, CRLURL: "-"})
	p.Revoke(t, bad)
	c, reg, _ := newChecker(t, revocation.Config{OCSP: true, CRL: true})
	ctx := context.Background()
	if r := c.Check(ctx, good.Cert, p.Issuing.Cert); r.Status != revocation.Good || r.Source != "ocsp" {
		t.Fatalf("good: %+v", r)
	}
	if r := c.Check(ctx, bad.Cert, p.Issuing.Cert); r.Status != revocation.Revoked || r.Source != "ocsp" {
		t.Fatalf("revoked: %+v", r)
	}
	if n := testutil.CollectAndCount(reg, "seosgw_acceptance_revocation_fetch_seconds"); n == 0 {
		t.Error("no latency observed")
	}
}

func TestOCSPDownFallsBackToCRL(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	p.OCSPURL = acceptancetest.UnreachableURL(t, "/")
	cert := p.Issue(t, acceptancetest.SignerSpec{Name: "A", OCSP: true})
	c, _, _ := newChecker(t, revocation.Config{OCSP: true, CRL: true})
	if r := c.Check(context.Background(), cert.Cert, p.Issuing.Cert); r.Status != revocation.Good || r.Source != "crl" {
		t.Fatalf("%+v", r)
	}
}

func mustVec(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.Metric {
				for _, l := range m.Label {
					if l.GetValue() == label {
						return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
					}
				}
			}
		}
	}
	t.Fatalf("%s{%s} not found", name, label)
	return nil
}
