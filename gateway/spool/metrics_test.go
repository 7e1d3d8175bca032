package spool

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/outbox"
)

// The spool's metrics follow its work: drops waiting in outbox/ are the
// backlog, a good one counts as queued, a bad one as failed; every series
// is there (at 0) from the start.
func TestSpoolMetrics(t *testing.T) {
	e := newEnv(t, "")
	reg := prometheus.NewRegistry()
	if err := e.sp.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
		series:
			for _, m := range f.Metric {
				for i := 0; i+1 < len(labels); i += 2 {
					for _, l := range m.Label {
						if l.GetName() == labels[i] && l.GetValue() != labels[i+1] {
							continue series
						}
					}
				}
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no series %s%v", name, labels)
		return 0
	}
	for _, r := range []string{"queued", "receipt_applied", "failed"} {
		if v := value("seosgw_spool_drops_total", "result", r); v != 0 {
			t.Errorf("drops{%s} starts at %v", r, v)
		}
	}
	e.put("outbox/letter.json", []byte(letterJSON))
	e.put("outbox/letter-123/pokana.pdf", []byte("%PDF-1.4 покана"))
	e.put("outbox/opis.txt", []byte("опис"))
	e.put("outbox/bad.json", []byte(`{"recipient":`))
	if v := value("seosgw_spool_backlog_drops", "folder", "outbox"); v != 2 {
		t.Errorf("backlog before a scan: %v, want 2 (attachment files are not drops)", v)
	}
	e.scan(3)
	if n := len(e.items(outbox.KindRegistration)); n != 1 {
		t.Fatalf("%d queued", n)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"seosgw_spool_drops_total", []string{"result", "queued"}, 1},
		{"seosgw_spool_drops_total", []string{"result", "failed"}, 1},
		{"seosgw_spool_backlog_drops", []string{"folder", "outbox"}, 0},
		{"seosgw_spool_backlog_drops", []string{"folder", "work"}, 0},
		{"seosgw_spool_held_drops", nil, 0},
	} {
		if v := value(c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	if v := value("seosgw_spool_last_scan_success_timestamp_seconds"); v != float64(e.clk.Now().UnixNano())/1e9 {
		t.Errorf("last scan %v, want %v", v, e.clk.Now().Unix())
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
