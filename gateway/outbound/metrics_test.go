package outbound

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Before the first attempt the failure reasons and attempt results are
// series at 0, so the outbound panels show 0 rather than "No data".
func TestMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{}
	for _, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if seen[f.GetName()] == nil {
					seen[f.GetName()] = map[string]bool{}
				}
				if m.GetCounter().GetValue() != 0 {
					t.Errorf("%s starts at %v", f.GetName(), m.GetCounter().GetValue())
				}
				seen[f.GetName()][l.GetValue()] = true
			}
		}
	}
	for name, values := range map[string][]string{
		"seosgw_outbound_failures_total": {"network", "peer_error", "attempts_exhausted", "reply_signature", "tls_untrusted"},
		"seosgw_outbound_attempts_total": {"registration", "status_request", "delivered", "retry", "failed"},
	} {
		for _, v := range values {
			if !seen[name][v] {
				t.Errorf("%s has no series labelled %q before the first attempt", name, v)
			}
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
