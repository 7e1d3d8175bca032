package trust

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Fail-closed refuses to start without a CRL (TestNewFailsClosedOnMissingCRL),
// but a CRL file that disappears or breaks at runtime leaves its last good
// list in force until that list's NextUpdate: revocation is still known,
// peers are judged by it, and the problem is reported.
func TestRuntimeKeepsTheLastGoodCRL(t *testing.T) {
	f := newFixture(t)
	clk := clock.NewManual(time.Now())
	m := NewMetrics(prometheus.NewRegistry())
	set := NewCRLSet([]string{f.crlPath}, []*x509.Certificate{f.ca.Cert}, false, clk, quiet(), m)
	if err := set.Load(); err != nil {
		t.Fatal(err)
	}
	for what, broken := range map[string]func(){
		"removed":   func() { os.Remove(f.crlPath) },
		"truncated": func() { os.WriteFile(f.crlPath, []byte("-----BEGIN X509 CRL-----\n"), 0o644) },
	} {
		broken()
		clk.Advance(reloadEvery)
		if err := set.Check(f.good.Cert); err != nil {
			t.Errorf("%s: a good peer refused while the last good CRL is in force: %v", what, err)
		}
		if !IsRevoked(set.Check(f.revoked.Cert)) {
			t.Errorf("%s: a revoked peer not refused", what)
		}
		if err := set.Problem(); err == nil || !strings.Contains(err.Error(), "the last good list stays in force until") {
			t.Errorf("%s: Problem = %v", what, err)
		}
		if testutil.ToFloat64(m.stale) != 0 {
			t.Errorf("%s: seosgw_crl_stale raised though revocation is known", what)
		}
		f.writeCRL(t, clk.Now().Add(-time.Hour), clk.Now().Add(24*time.Hour), f.revoked)
		os.Chtimes(f.crlPath, clk.Now(), clk.Now().Add(time.Minute))
		clk.Advance(reloadEvery)
		if err := set.Problem(); err != nil {
			t.Errorf("%s, then fixed: %v", what, err)
		}
	}
	os.Remove(f.crlPath)
	clk.Advance(25 * time.Hour) // past the last good list's NextUpdate
	var ce *CertError
	if err := set.Check(f.good.Cert); !errors.As(err, &ce) || ce.Reason != "revocation_unknown" {
		t.Errorf("past NextUpdate without a new list: %v", err)
	}
}

// With fail-open and a missing file, the file is not read again on every
// check: it is looked at every reloadEvery, read again when it appears or
// changes, and otherwise retried at a doubling interval.
func TestMissingCRLIsReadWithBackoff(t *testing.T) {
	f := newFixture(t)
	clk := clock.NewManual(time.Now())
	m := NewMetrics(prometheus.NewRegistry())
	missing := filepath.Join(f.dir, "later.crl")
	set := NewCRLSet([]string{missing}, []*x509.Certificate{f.ca.Cert}, true, clk, quiet(), m)
	if err := set.Load(); err == nil {
		t.Fatal("a missing CRL loaded")
	}
	for range 600 { // ten minutes of checks and readiness probes, a second apart
		clk.Advance(time.Second)
		if err := set.Check(f.good.Cert); err != nil {
			t.Fatalf("fail-open refused: %v", err)
		}
		set.Problem()
		set.Problem()
	}
	// 1 at start, then retries after 10s, 20s, 40s, 80s, 160s, 320s.
	if loads, errs := testutil.ToFloat64(m.loads), testutil.ToFloat64(m.loadErrors); loads > 7 || errs != loads {
		t.Errorf("%v loads (%v failed) in ten minutes; want at most 7", loads, errs)
	}
	if testutil.ToFloat64(m.stale) != 1 {
		t.Error("seosgw_crl_stale not raised")
	}
	os.Rename(f.crlPath, missing) // the fetch job delivers it
	clk.Advance(reloadEvery)
	if err := set.Problem(); err != nil || testutil.ToFloat64(m.stale) != 0 {
		t.Errorf("the CRL appeared, not picked up within reloadEvery: %v", err)
	}
}
