package acceptance_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestTrustedListAtRuntime: the trusted list is rechecked while the node
// runs. Past its NextUpdate it no longer vouches — the signature's trust is
// unknown and the document held, saying why; a replacement that does not
// verify is refused and counted, the last good list staying; a current
// list put in its place is taken at the next document, without a restart.
// Its issue and next-update times are metrics.
func TestTrustedListAtRuntime(t *testing.T) {
	e := newEnv(t)
	operator := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "TL operator"})
	now := time.Now()
	clk := clock.NewManual(now)
	file := filepath.Join(t.TempDir(), "tsl-bg.xml")
	put := func(b []byte, at time.Time) {
		t.Helper()
		if err := os.WriteFile(file+".new", b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(file+".new", at, at)
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
	first := acceptancetest.Read(t, acceptancetest.TrustedList(t, e.pki.Issuing, operator, now.Add(24*time.Hour)))
	put(first, now)
	reg := prometheus.NewRegistry()
	p, err := acceptance.Load(exampleRules(t, e.pki.CADir(t), e.clamd.Addr, func(s string) string {
		s = strings.Replace(s, "trusted_ca_dir: "+e.pki.CADir(t), `trusted_ca_dir: ""`, 1)
		// No revocation: the clock moves past the test CRL's nextUpdate.
		s = strings.Replace(s, "revocation: {mode: enforce", "revocation: {mode: advise", 1)
		return strings.Replace(s, "# trusted_list: {file: /etc/seosgw/tsl-bg.xml, signer_certs: /etc/seosgw/tsl-bg-signers.pem}",
			"trusted_list: {file: "+file+", signer_certs: "+operator.CertPath+", refresh: 1h}", 1)
	}), acceptance.WithRegistry(reg), acceptance.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	in := e.input(att("писмо.pdf", "application/pdf", e.letter))
	trust := func(want acceptance.Status, words string) acceptance.Verdict {
		t.Helper()
		v := p.Evaluate(context.Background(), in)
		if c := find(t, v, "signature.trust", "писмо.pdf"); c.Status != want || !strings.Contains(c.Reason.EN, words) {
			t.Errorf("trust %s %q, want %s containing %q\n%s", c.Status, c.Reason.EN, want, words, table(v))
		}
		return v
	}
	metric := func(name string) float64 { return testkit.Metric(t, reg, name) }
	trust(acceptance.Pass, "seosgw test Qualified Issuing CA")
	if got, want := metric("seosgw_acceptance_trusted_list_next_update_timestamp_seconds"), float64(now.Add(24*time.Hour).Unix()); got != want {
		t.Errorf("next update metric %v, want %v", got, want)
	}
	if got, want := metric("seosgw_acceptance_trusted_list_issue_timestamp_seconds"), float64(now.Unix()); got != want {
		t.Errorf("issue metric %v, want %v", got, want)
	}

	// A day and an hour on, the list is out of date: held, with the reason.
	clk.Advance(25 * time.Hour)
	if v := trust(acceptance.Unknown, "the trusted list is out of date"); v.Outcome != acceptance.Hold {
		t.Errorf("outcome %s with an out-of-date list, want hold", v.Outcome)
	}
	// A replacement whose signature does not verify is refused; the last
	// good list stays (still out of date: still held).
	put(bytes.Replace(first, []byte("seosgw test QTSP"), []byte("seosgw evil QTSP"), 1), now.Add(time.Minute))
	trust(acceptance.Unknown, "out of date")
	if got := metric("seosgw_acceptance_trusted_list_reload_failures_total"); got != 1 {
		t.Errorf("reload failures %v, want 1", got)
	}
	// The current list, put in place while running, is taken at once.
	fresh := clk.Now().Add(24 * time.Hour)
	put(acceptancetest.Read(t, acceptancetest.TrustedList(t, e.pki.Issuing, operator, fresh)), now.Add(2*time.Minute))
	if v := trust(acceptance.Pass, "seosgw test Qualified Issuing CA"); v.Outcome == acceptance.Hold && strings.Contains(table(v), "out of date") {
		t.Errorf("still held for the old list\n%s", table(v))
	}
	if got := metric("seosgw_acceptance_trusted_list_next_update_timestamp_seconds"); got != float64(fresh.Unix()) {
		t.Errorf("next update metric %v after the reload, want %v", got, fresh.Unix())
	}
}
