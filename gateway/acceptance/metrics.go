package acceptance

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
	"github.com/seosgw/seosgw/gateway/acceptance/trustlist"
)

type metrics struct {
	verdicts   *prometheus.CounterVec
	checks     *prometheus.CounterVec
	scanner    prometheus.Gauge
	duration   prometheus.Histogram
	revocation *revocation.Metrics
	// The trusted list in force: its age is time() minus its issue time.
	tlIssued, tlNextUpdate, tlLoaded prometheus.Gauge
	tlFailures                       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		verdicts: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_acceptance_verdicts_total",
			Help: "Documents judged by the acceptance policy, by outcome (accept, hold, reject)."}, []string{"outcome"})),
		checks: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_acceptance_checks_total",
			Help: "Acceptance checks by rule, result (pass, fail, unknown, not-applicable) and the outcome they asked for."}, []string{"rule", "result", "effect"})),
		scanner: revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_acceptance_scanner_up",
			Help: "1 when clamd answered the last scan or ping, 0 when it could not be reached (documents are then held)."})),
		duration: revocation.RegisterOrReuse(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seosgw_acceptance_evaluation_seconds",
			Help: "Time to judge one document, scans and signature checks included.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)})),
	}
	m.tlIssued = revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_acceptance_trusted_list_issue_timestamp_seconds",
		Help: "ListIssueDateTime of the trusted list in force (its age: time() minus this); 0 without a list."}))
	m.tlNextUpdate = revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_acceptance_trusted_list_next_update_timestamp_seconds",
		Help: "NextUpdate of the trusted list in force; past it, signatures under its CAs are held. 0 without a list."}))
	m.tlLoaded = revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_acceptance_trusted_list_loaded_timestamp_seconds",
		Help: "When the trusted list in force was last read and verified."}))
	m.tlFailures = revocation.RegisterOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_acceptance_trusted_list_reload_failures_total",
		Help: "Reloads of the trusted list refused (unreadable, or its signature does not verify); the last good list stays."}))
	m.revocation = revocation.NewMetrics(reg)
	for _, o := range []Outcome{Accept, Hold, Reject} {
		m.verdicts.WithLabelValues(string(o))
	}
	return m
}

func (m *metrics) record(v *Verdict, d time.Duration) {
	m.verdicts.WithLabelValues(string(v.Outcome)).Inc()
	for _, c := range v.Checks {
		effect := c.Effect
		if c.Mode == Advise {
			effect = "advise-" + effect
		}
		m.checks.WithLabelValues(c.Rule, string(c.Status), string(effect)).Inc()
	}
	m.duration.Observe(d.Seconds())
}

func (m *metrics) scannerUp(up bool) {
	if up {
		m.scanner.Set(1)
	} else {
		m.scanner.Set(0)
	}
}

// trustedList shows the list in force (nil: none).
func (m *metrics) trustedList(l *trustlist.List, loaded time.Time) {
	if l == nil {
		return
	}
	ts := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	m.tlIssued.Set(ts(l.IssueDate))
	m.tlNextUpdate.Set(ts(l.NextUpdate))
	m.tlLoaded.Set(ts(loaded))
}

func (m *metrics) trustedListReloadFailed() { m.tlFailures.Inc() }
