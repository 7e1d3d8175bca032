package intake

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
)

type metrics struct {
	received    *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	connections prometheus.Gauge
	polls       *prometheus.CounterVec
	imapUp      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		received: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_received_total",
			Help: "Mail offered to the intake by channel (smtp, lmtp, imap) and result: delivered (committed by the sink), refused, too_large, unknown_recipient, client_refused, too_many_connections, tls_required, aborted, sink_failed, spool_failed."},
			[]string{"channel", "result"})),
		bytes: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_received_bytes_total",
			Help: "Bytes of mail committed by the sink, by channel."}, []string{"channel"})),
		connections: revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_mail_intake_connections",
			Help: "SMTP/LMTP connections open now."})),
		polls: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_imap_polls_total",
			Help: "Polls of the official mailbox by result (ok, error)."}, []string{"result"})),
		imapUp: revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_mail_imap_up",
			Help: "1 when the last poll or readiness check logged in to the mailbox, else 0."})),
	}
	m.polls.WithLabelValues("ok")
	m.polls.WithLabelValues("error")
	return m
}

func (m *metrics) up(ok bool) {
	if ok {
		m.imapUp.Set(1)
	} else {
		m.imapUp.Set(0)
	}
}
