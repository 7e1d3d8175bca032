package inbound

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Before the first message, every known refusal reason, signature
// failure kind and main request outcome is a series at 0, so dashboards
// show 0 rather than "No data".
func TestMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	for name, want := range map[string][]string{
		"seosgw_inbound_refusals_total":           {`reason="signature_invalid"`, `reason="clock_skew"`, `reason="sender_not_allowed"`, `reason="tls_certificate_mismatch"`},
		"seosgw_inbound_signature_failures_total": {`kind="digest"`, `kind="wrapping"`, `kind="signer_mismatch"`, `kind="other"`},
		"seosgw_inbound_requests_total":           {`outcome="accepted",type="MSG_DocumentRegistrationRequest"`, `outcome="refused",type="MSG_Error"`},
	} {
		got := gathered(t, reg, name)
		for _, w := range want {
			if v, ok := got[w]; !ok || v != 0 {
				t.Errorf("%s{%s}: %v (present %v), want 0", name, w, v, ok)
			}
		}
	}
	if n, err := testutil.GatherAndCount(reg, "seosgw_inbound_refusals_total"); err != nil || n < 13 {
		t.Errorf("%d refusal series, want one per Reason: %v", n, err)
	}
}

func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
			}
			out[strings.Join(ls, ",")] = m.GetCounter().GetValue()
		}
	}
	return out
}
