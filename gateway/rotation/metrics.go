package rotation

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/pki"
)

// Metrics of the transport certificate's renewal. A nil *Metrics records
// nothing.
//
//	seosgw_transport_certificate_reloads_total{trigger,result}  reloads: sighup or file; swapped, unchanged, refused
//	seosgw_transport_certificate_reload_failures_total{reason}  refused: unreadable, key_mismatch, key_too_small
//	seosgw_transport_certificate_info{serial}                   1 for the certificate in force
//	seosgw_transport_certificate_swap_timestamp_seconds         when it was put in force
//	seosgw_transport_certificate_registered                     1 when the register copy lists it as ours
//	seosgw_transport_certificate_rotation_grace                 1 while the grace window is open
type Metrics struct {
	reloads  *prometheus.CounterVec
	failures *prometheus.CounterVec
	info     *prometheus.GaugeVec
	swapped  prometheus.Gauge
}

// Reasons a reload is refused (the failures metric's label).
var refusalReasons = []string{"unreadable", "key_mismatch", "key_too_small"}

// NewMetrics registers the counters on reg; Watch adds the gauges that
// read the node's state at each scrape.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_transport_certificate_reloads_total",
			Help: "Reloads of our transport certificate and key, by trigger (sighup, file) and result (swapped, unchanged, refused)."},
			[]string{"trigger", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_transport_certificate_reload_failures_total",
			Help: "Reloads refused, keeping the pair in force, by reason (unreadable, key_mismatch, key_too_small)."}, []string{"reason"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_transport_certificate_info",
			Help: "1 for our transport certificate in force, by serial (the register's CertificateSN)."}, []string{"serial"}),
		swapped: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_transport_certificate_swap_timestamp_seconds",
			Help: "When the transport certificate in force was put in force (at start, or by a reload)."}),
	}
	reg.MustRegister(m.reloads, m.failures, m.info, m.swapped)
	for _, t := range []string{TriggerSignal, TriggerFile} {
		for _, r := range []Result{Swapped, Unchanged, Refused} {
			m.reloads.WithLabelValues(t, string(r))
		}
	}
	for _, r := range refusalReasons {
		m.failures.WithLabelValues(r)
	}
	return m
}

// Watch registers the gauges that read k's certificate and g's register
// copy at each scrape.
func (m *Metrics) Watch(reg prometheus.Registerer, k *Keeper, g *Grace) {
	read := func(f func(ctx context.Context) bool) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if f(ctx) {
				return 1
			}
			return 0
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "seosgw_transport_certificate_registered",
			Help: "1 when the register copy lists our transport certificate in force as ours; 0 means peers refuse it (or will once their copies catch up)."},
			read(func(ctx context.Context) bool {
				ok, err := g.Registered(ctx, pki.SerialHex(k.Current().Cert))
				return ok && err == nil
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "seosgw_transport_certificate_rotation_grace",
			Help: "1 while the rotation grace window is open (tls.rotation_grace after our register CertificateSN changed): peers' Errors that blame our certificate are retried."},
			read(func(ctx context.Context) bool { _, ok := g.Active(ctx); return ok })),
	)
}

func (m *Metrics) reloaded(trigger string, r Result, reason string) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(trigger, string(r)).Inc()
	if r == Refused {
		m.failures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) inForce(id *pki.Identity, at time.Time) {
	if m == nil {
		return
	}
	m.info.Reset()
	m.info.WithLabelValues(pki.SerialHex(id.Cert)).Set(1)
	m.swapped.Set(float64(at.Unix()))
}
