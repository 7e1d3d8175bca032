package acceptance

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
)

type metrics struct {
	verdicts   *prometheus.CounterVec
	checks     *prometheus.CounterVec
	scanner    prometheus.Gauge
	duration   prometheus.Histogram
	revocation *revocation.Metrics
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
