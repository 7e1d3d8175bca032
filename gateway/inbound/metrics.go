package inbound

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// Metrics of the inbound endpoint.
type Metrics struct {
	requests          *prometheus.CounterVec
	refusals          *prometheus.CounterVec
	signatureFailures *prometheus.CounterVec
	size              prometheus.Histogram
	latency           prometheus.Histogram
	inFlight          prometheus.Gauge
	rejectedBusy      *prometheus.CounterVec
	slowBodies        prometheus.Counter
	tlsRefusals       *prometheus.CounterVec
	tolerated         *prometheus.CounterVec
}

// NewMetrics registers the endpoint's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_requests_total",
			Help: "Submit requests by message type and outcome (accepted, already_received, not_found, applied, repeated, not_applied, refused, soap_fault...)."},
			[]string{"type", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_refusals_total",
			Help: "Refused messages by reason."}, []string{"reason"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_signature_failures_total",
			Help: "Messages whose signature did not hold, by kind (digest, signature, wrapping, certificate, signer_mismatch...)."}, []string{"kind"}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seosgw_inbound_request_size_bytes",
			Help: "Size of Submit request bodies.", Buckets: prometheus.ExponentialBuckets(1024, 4, 10)}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seosgw_inbound_processing_seconds",
			Help: "Time from a full request to its reply.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_inbound_in_flight_requests",
			Help: "Submit requests being processed now."}),
		rejectedBusy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_busy_rejections_total",
			Help: "Requests turned away with 503: every slot taken (scope endpoint, max_concurrent) or the peer's share of them (scope peer, max_concurrent_per_peer)."},
			[]string{"scope"}),
		slowBodies: prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_inbound_slow_bodies_total",
			Help: "Requests cut off because their body arrived slower than endpoint.min_body_rate."}),
		tlsRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_tls_refusals_total",
			Help: "TLS handshakes refused after the chain checked out, by reason (not_in_register, register_unavailable)."}, []string{"reason"}),
		tolerated: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_inbound_tolerated_total",
			Help: "Messages accepted despite a known schema departure of production peers, by quirk (empty_attachment_list)."}, []string{"quirk"}),
	}
	reg.MustRegister(m.requests, m.refusals, m.signatureFailures, m.size, m.latency, m.inFlight, m.rejectedBusy, m.slowBodies, m.tlsRefusals, m.tolerated)
	for _, s := range []string{"endpoint", "peer"} {
		m.rejectedBusy.WithLabelValues(s)
	}
	for _, r := range []string{"not_in_register", "register_unavailable"} {
		m.tlsRefusals.WithLabelValues(r)
	}
	m.tolerated.WithLabelValues(string(seos.QuirkEmptyAttachmentList))
	// Every known series at 0 from the start: a panel or rate() over a
	// series that does not exist yet shows "No data", not "none".
	for _, r := range Reasons {
		m.refusals.WithLabelValues(string(r))
	}
	for _, k := range xmldsig.Kinds {
		m.signatureFailures.WithLabelValues(string(k))
	}
	m.signatureFailures.WithLabelValues(signerMismatch)
	m.signatureFailures.WithLabelValues(weakKey)
	m.signatureFailures.WithLabelValues(otherSignatureFailure)
	for t, outcomes := range map[seos.MessageType][]string{
		seos.TypeRegistrationRequest: {"accepted", "already_received", "refused"},
		seos.TypeStatusRequest:       {"accepted", "not_found", "refused"},
		seos.TypeStatusResponse:      {string(outbox.Applied), string(outbox.Repeated), string(outbox.NotApplied), "refused"},
		seos.TypeError:               {string(outbox.Applied), string(outbox.Repeated), string(outbox.NotApplied), "unmatched_error", "refused"},
		"none":                       {"soap_fault"},
	} {
		for _, o := range outcomes {
			m.requests.WithLabelValues(string(t), o)
		}
	}
	return m
}

// Signature failure kinds besides xmldsig's.
const (
	signerMismatch        = "signer_mismatch" // signed with another certificate than the TLS one / the register's
	weakKey               = "weak_key"        // an RSA key under tls.min_rsa_bits
	otherSignatureFailure = "other"
)
