package register

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Metrics are the sync's Prometheus metrics. A nil *Metrics records nothing.
//
// Once a Syncer uses them, every scrape first reads the sync state from the
// database (see refresh), so a sync run by another process — `seosgw
// register sync` next to the node — shows here as it shows in /readyz.
type Metrics struct {
	clk         clock.Clock
	lastSuccess atomic.Int64 // Unix nanoseconds; 0 = never
	state       atomic.Pointer[stateSource]

	lastSuccessTS prometheus.Gauge
	duration      *prometheus.HistogramVec
	failures      *prometheus.CounterVec
	consecutive   prometheus.Gauge
	entities      *prometheus.GaugeVec
	ageFunc       prometheus.GaugeFunc
	fullOverdue   prometheus.Gauge
	peerInfo      *prometheus.Desc
	rejectedTotal *prometheus.CounterVec
	certChanges   prometheus.Counter
}

// stateSource is where a scrape reads the sync state from.
type stateSource struct {
	cache    *Cache
	fullSync time.Duration
}

// scrapeTimeout bounds the database reads of one scrape; on timeout the
// gauges keep their last values.
const scrapeTimeout = 2 * time.Second

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.lastSuccessTS, m.duration, m.failures, m.consecutive, m.entities, m.ageFunc, m.fullOverdue, m.rejectedTotal,
		m.certChanges}
}

// watch makes scrapes read the sync state of cache; NewSyncer calls it.
func (m *Metrics) watch(c *Cache, fullSync time.Duration) {
	if m == nil {
		return
	}
	m.state.Store(&stateSource{cache: c, fullSync: fullSync})
}

// refresh sets the state gauges from the database.
func (m *Metrics) refresh() {
	src := m.state.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := src.cache.State(ctx)
	if err != nil {
		return
	}
	var ns int64 // 0 = never
	if !st.LastSuccess.IsZero() {
		ns = st.LastSuccess.UnixNano()
	}
	m.lastSuccess.Store(ns)
	m.lastSuccessTS.Set(float64(ns) / 1e9)
	m.consecutive.Set(float64(st.ConsecutiveFailures))
	overdue := 0.0
	if fullSyncOverdue(st, src.fullSync, m.clk.Now()) {
		overdue = 1
	}
	m.fullOverdue.Set(overdue)
	if counts, err := src.cache.Counts(ctx); err == nil {
		m.setCounts(counts)
	}
}

// Describe makes Metrics one prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	ch <- m.peerInfo
}

// Collect makes Metrics one prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.refresh()
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	m.collectPeers(ch)
}

// collectPeers emits seosgw_peer_info for every participant in the
// register copy (removed ones not), read at each scrape: the set follows
// the copy without stale series.
func (m *Metrics) collectPeers(ch chan<- prometheus.Metric) {
	src := m.state.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	rows, err := src.cache.db.QueryContext(ctx, `SELECT guid, eik, name FROM register_entities WHERE removed = 0`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var guid, eik, name string
		if rows.Scan(&guid, &eik, &name) == nil {
			ch <- prometheus.MustNewConstMetric(m.peerInfo, prometheus.GaugeValue, 1, guid, eik, name)
		}
	}
}

// entityStatuses are the label values of seosgw_register_entities.
var entityStatuses = []string{string(Active), string(Inactive), string(TemporarilyInactive), string(ListRemoved), "other"}

// NewMetrics makes the register metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer, clk clock.Clock) (*Metrics, error) {
	if clk == nil {
		clk = clock.System
	}
	m := &Metrics{
		clk: clk,
		lastSuccessTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "seosgw_register_last_success_timestamp_seconds",
			Help: "Unix time of the last successful register sync (0 = never).",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seosgw_register_sync_duration_seconds",
			Help:    "Duration of register syncs, by mode (full, incremental) and result (success, failure).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"mode", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seosgw_register_sync_failures_total",
			Help: "Failed register syncs by kind (transport, timeout, http_status, fault, malformed, too_large, store, refused, panic, other).",
		}, []string{"kind"}),
		consecutive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "seosgw_register_sync_consecutive_failures",
			Help: "Register syncs failed in a row since the last success.",
		}),
		entities: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "seosgw_register_entities",
			Help: "Participants in the register copy by status; removed ones count as status=\"removed\".",
		}, []string{"status"}),
		rejectedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seosgw_register_records_rejected_total",
			Help: "Register entities left out of an applied answer because a field is malformed, by field (e.g. Services/Version); the copy keeps their last good version.",
		}, []string{"field"}),
		certChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seosgw_register_certificate_changes_total",
			Help: "Participants' transport certificate serials that changed in the register copy (renewals), ours included.",
		}),
		fullOverdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "seosgw_register_full_sync_overdue",
			Help: "1 while a due full register sync (GetAllRecords) keeps failing; the copy then follows GetNewRecords only and misses removals.",
		}),
	}
	m.peerInfo = prometheus.NewDesc("seosgw_peer_info",
		"Always 1 for each participant in the register copy: its GUID (the peer label of the other metrics), EIK and name, for dashboards to join on.",
		[]string{"peer", "eik", "name"}, nil)
	m.ageFunc = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "seosgw_register_age_seconds",
		Help: "Seconds since the last successful register sync (+Inf = never); readiness fails past register.stale_after.",
	}, m.age)
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	for _, k := range FailureKinds {
		m.failures.WithLabelValues(k)
	}
	for _, s := range entityStatuses {
		m.entities.WithLabelValues(s)
	}
	for _, f := range EntityFields {
		m.rejectedTotal.WithLabelValues(f) // from zero, so increase() sees the first one
	}
	return m, nil
}

func (m *Metrics) certificateChanged() {
	if m == nil {
		return
	}
	m.certChanges.Inc()
}

func (m *Metrics) rejected(field string) {
	if m == nil {
		return
	}
	m.rejectedTotal.WithLabelValues(field).Inc()
}

func (m *Metrics) age() float64 {
	ns := m.lastSuccess.Load()
	if ns == 0 {
		return math.Inf(1)
	}
	return m.clk.Now().Sub(time.Unix(0, ns)).Seconds()
}

func (m *Metrics) setLastSuccess(t time.Time) {
	if m == nil || t.IsZero() {
		return
	}
	m.lastSuccess.Store(t.UnixNano())
	m.lastSuccessTS.Set(float64(t.UnixNano()) / 1e9)
}

func (m *Metrics) observe(mode, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(mode, result).Observe(d.Seconds())
}

func (m *Metrics) failed(kind string, consecutive int) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(kind).Inc()
	m.consecutive.Set(float64(consecutive))
}

func (m *Metrics) succeeded() {
	if m == nil {
		return
	}
	m.consecutive.Set(0)
}

func (m *Metrics) setCounts(counts map[Status]int) {
	if m == nil {
		return
	}
	other := 0
	known := map[string]bool{}
	for _, s := range entityStatuses {
		known[s] = true
	}
	for s, n := range counts {
		if !known[string(s)] {
			other += n
		}
	}
	for _, s := range entityStatuses {
		n := counts[Status(s)]
		if s == "other" {
			n = other
		}
		m.entities.WithLabelValues(s).Set(float64(n))
	}
}
