package judge

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/inbox"
)

// Metrics are the judge's: its failures as they happen, and the two
// backlogs read from the inbox at each scrape (a clerk's decision on a
// held document changes one without the judge knowing).
type Metrics struct {
	failures *prometheus.CounterVec
	db       *sql.DB
	log      *slog.Logger
	waiting  *prometheus.Desc
	oldest   *prometheus.Desc
	held     *prometheus.Desc
}

// NewMetrics registers the judge's metrics on reg; the backlogs are
// counted in db.
func NewMetrics(reg prometheus.Registerer, db *sql.DB, log *slog.Logger) (*Metrics, error) {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_acceptance_judge_failures_total",
			Help: "Documents the judge could not list, read or record a verdict for (by step); each stays checking and is tried again."}, []string{"step"}),
		db: db, log: log,
		waiting: prometheus.NewDesc("seosgw_acceptance_documents_waiting",
			"Received documents waiting for the acceptance policy's verdict (inbox state checking): the AIS does not see them yet.", nil, nil),
		oldest: prometheus.NewDesc("seosgw_acceptance_oldest_waiting_timestamp_seconds",
			"When the document waiting longest for a verdict was received (no sample when none waits).", nil, nil),
		held: prometheus.NewDesc("seosgw_acceptance_documents_held",
			"Documents the acceptance policy held that a clerk has not registered or rejected yet (received, needsReview).", nil, nil),
	}
	for _, s := range []string{"list", "read", "record"} {
		m.failures.WithLabelValues(s)
	}
	for _, c := range []prometheus.Collector{m.failures, backlog{m}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) failed(step string) {
	if m != nil {
		m.failures.WithLabelValues(step).Inc()
	}
}

// backlog counts the inbox at scrape time.
type backlog struct{ m *Metrics }

func (b backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.m.waiting
	ch <- b.m.oldest
	ch <- b.m.held
}

func (b backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := inbox.CountBacklog(ctx, b.m.db)
	if err != nil {
		// No sample rather than a wrong zero (the rest of /metrics still
		// answers; the database's own readiness check says why).
		b.m.log.Warn("counting the acceptance backlog for /metrics", "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(b.m.waiting, prometheus.GaugeValue, float64(n.Checking))
	ch <- prometheus.MustNewConstMetric(b.m.held, prometheus.GaugeValue, float64(n.Held))
	if !n.Oldest.IsZero() {
		ch <- prometheus.MustNewConstMetric(b.m.oldest, prometheus.GaugeValue, float64(n.Oldest.UnixNano())/1e9)
	}
}
