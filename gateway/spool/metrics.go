package spool

import (
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics exports a spool's counters and backlog, read at each scrape
// from its Status and its folders.
type metrics struct {
	s                                 *Spool
	drops, written, backlog, held, ok *prometheus.Desc
}

// RegisterMetrics exports the spool's metrics on reg:
//
//	seosgw_spool_drops_total{result}  drops taken: queued (outbox/ documents
//	                                  sent on), receipt_applied, failed (to failed/)
//	seosgw_spool_received_written_total  received documents written to inbox/
//	seosgw_spool_backlog_drops{folder}   drops not taken yet: outbox, receipts
//	                                     (the AIS's), work (claimed, being handled)
//	seosgw_spool_held_drops              drops waiting for a fresh register copy
//	seosgw_spool_last_scan_success_timestamp_seconds
func (s *Spool) RegisterMetrics(reg prometheus.Registerer) error {
	return reg.Register(&metrics{s: s,
		drops: prometheus.NewDesc("seosgw_spool_drops_total",
			"Spool drops taken since start, by result: queued (a document from outbox/ sent on), receipt_applied, failed (moved to failed/ with NAME.error).",
			[]string{"result"}, nil),
		written: prometheus.NewDesc("seosgw_spool_received_written_total", "Received documents written to the spool's inbox/ since start.", nil, nil),
		backlog: prometheus.NewDesc("seosgw_spool_backlog_drops",
			"Drops not taken yet, by folder: outbox and receipts (written by the AIS), work (claimed, being handled or held).", []string{"folder"}, nil),
		held: prometheus.NewDesc("seosgw_spool_held_drops",
			"Drops whose recipient the register copy does not know while the copy is not fresh; tried again each scan.", nil, nil),
		ok: prometheus.NewDesc("seosgw_spool_last_scan_success_timestamp_seconds", "When the spool last finished a scan without error (0 = never).", nil, nil),
	})
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.drops, m.written, m.backlog, m.held, m.ok} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.s.Status()
	for result, n := range map[string]int{"queued": st.Queued, "receipt_applied": st.Receipts, "failed": st.Failed} {
		ch <- prometheus.MustNewConstMetric(m.drops, prometheus.CounterValue, float64(n), result)
	}
	ch <- prometheus.MustNewConstMetric(m.written, prometheus.CounterValue, float64(st.Written))
	ch <- prometheus.MustNewConstMetric(m.held, prometheus.GaugeValue, float64(st.Waiting))
	var last float64
	if !st.LastOK.IsZero() {
		last = float64(st.LastOK.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(m.ok, prometheus.GaugeValue, last)
	for folder, dirs := range map[string][][2]string{
		"outbox":   {{Outbox, Outbox}},
		"receipts": {{Receipts, Receipts}},
		"work":     {{filepath.Join(Work, Outbox), Outbox}, {filepath.Join(Work, Receipts), Receipts}},
	} {
		n, ok := 0, true
		for _, d := range dirs {
			names, err := listDrops(filepath.Join(m.s.dir, d[0]), d[1])
			if err != nil {
				ok = false // an unreadable folder shows as missing, not as 0
				break
			}
			n += len(names)
		}
		if ok {
			ch <- prometheus.MustNewConstMetric(m.backlog, prometheus.GaugeValue, float64(n), folder)
		}
	}
}
