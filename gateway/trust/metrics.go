package trust

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the CRL set.
type Metrics struct {
	nextUpdate  *prometheus.GaugeVec
	stale       prometheus.Gauge
	loads       prometheus.Counter
	loadErrors  prometheus.Counter
	revokedSeen prometheus.Counter
	peerExpiry  *prometheus.GaugeVec
	peers       sync.Map // GUID → time.Time, what peerExpiry holds, for the console
}

// PeerSeen records the expiry of a peer's transport certificate, seen in
// a signed message or a TLS handshake, so admins see peers' certificates
// run out before their exchanges fail. Safe on a nil *Metrics.
func (m *Metrics) PeerSeen(guid string, notAfter time.Time) {
	if m == nil || guid == "" {
		return
	}
	m.peerExpiry.WithLabelValues(guid).Set(float64(notAfter.Unix()))
	m.peers.Store(guid, notAfter)
}

// PeerExpiries returns each peer's certificate expiry as last seen since
// the start, by GUID as it was seen. Safe on a nil *Metrics.
func (m *Metrics) PeerExpiries() map[string]time.Time {
	out := map[string]time.Time{}
	if m == nil {
		return out
	}
	m.peers.Range(func(k, v any) bool {
		out[k.(string)] = v.(time.Time)
		return true
	})
	return out
}

// NewMetrics registers the trust metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		nextUpdate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_crl_next_update_timestamp_seconds",
			Help: "NextUpdate of each configured CRL file."}, []string{"file"}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_crl_stale",
			Help: "1 while revocation status is unknown (CRL unreadable, unsigned or past its next update)."}),
		loads: prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_crl_loads_total",
			Help: "CRL (re)loads."}),
		loadErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_crl_load_errors_total",
			Help: "CRL loads that left revocation status unknown."}),
		revokedSeen: prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_crl_revoked_certificates_seen_total",
			Help: "Peer certificates refused because a CRL lists them."}),
	}
	m.peerExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_peer_certificate_expiry_timestamp_seconds",
		Help: "NotAfter of each peer's transport certificate, as last seen (label: participant GUID)."}, []string{"peer"})
	reg.MustRegister(m.nextUpdate, m.stale, m.loads, m.loadErrors, m.revokedSeen, m.peerExpiry)
	return m
}
