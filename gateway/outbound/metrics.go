package outbound

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/outbox"
)

// Metrics of outbound delivery.
type Metrics struct {
	depth       *prometheus.GaugeVec
	attempts    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	latency     prometheus.Histogram
	attemptTime prometheus.Histogram
	lastSuccess *prometheus.GaugeVec
}

// NewMetrics registers the delivery metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_outbox_items",
			Help: "Outbox items by state (queued, sending, delivered, failed, cancelled)."}, []string{"state"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_outbound_attempts_total",
			Help: "Delivery attempts by message kind and result (delivered, retry, failed)."}, []string{"kind", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_outbound_failures_total",
			Help: "Attempts that did not deliver, by reason (network, peer_error, reply_signature, ...)."}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seosgw_outbound_delivery_latency_seconds",
			Help: "From queueing to the recipient's acknowledgement.", Buckets: prometheus.ExponentialBuckets(0.05, 4, 12)}),
		attemptTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seosgw_outbound_attempt_seconds",
			Help: "Duration of one delivery attempt.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_outbound_last_success_timestamp_seconds",
			Help: "Last acknowledged delivery per recipient participant."}, []string{"peer"}),
	}
	reg.MustRegister(m.depth, m.attempts, m.failures, m.latency, m.attemptTime, m.lastSuccess)
	for _, s := range []outbox.Delivery{outbox.Queued, outbox.Sending, outbox.Delivered, outbox.Failed, outbox.Cancelled} {
		m.depth.WithLabelValues(string(s))
	}
	// Every known series at 0 from the start, so panels and rate() show 0
	// rather than "No data" before the first failure.
	for _, r := range append(failureReasons, peerAlertReasons...) {
		m.failures.WithLabelValues(r)
	}
	for _, k := range []outbox.Kind{outbox.KindRegistration, outbox.KindStatus, outbox.KindStatusRequest} {
		for _, r := range []string{"delivered", "retry", "failed"} {
			m.attempts.WithLabelValues(string(k), r)
		}
	}
	return m
}

// failureReasons are the reasons deliver.go gives a failed attempt (the
// label of seosgw_outbound_failures_total); tls_* are trust.CertError's,
// tls_peer_* the alerts a recipient refused us with (peerAlertReasons).
var failureReasons = []string{"network", "register", "build", "sign", "bad_endpoint", "store", "soap_fault", "http_status",
	"bad_reply", "reply_signature", "reply_signer", "reply_parties", "peer_error", "peer_error_internal", "peer_error_rotation_grace", "attempts_exhausted",
	"tls_untrusted", "tls_weak_key", "tls_revoked", "tls_revocation_unknown", "tls_not_registered"}

func (m *Metrics) observe(it *outbox.Item, o outbox.Outcome, reason string, took, sinceQueued time.Duration) {
	m.attemptTime.Observe(took.Seconds())
	switch {
	case o.Delivered:
		m.attempts.WithLabelValues(string(it.Kind), "delivered").Inc()
		m.latency.Observe(sinceQueued.Seconds())
		m.lastSuccess.WithLabelValues(it.RecipientGUID).SetToCurrentTime()
	case o.Final:
		m.attempts.WithLabelValues(string(it.Kind), "failed").Inc()
		m.failures.WithLabelValues(reason).Inc()
	default:
		m.attempts.WithLabelValues(string(it.Kind), "retry").Inc()
		m.failures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) setDepths(d map[outbox.Delivery]int) {
	for s, n := range d {
		m.depth.WithLabelValues(string(s)).Set(float64(n))
	}
}
