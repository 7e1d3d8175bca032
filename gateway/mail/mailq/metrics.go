package mailq

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
)

var osHostname = os.Hostname

type metrics struct {
	depth    *prometheus.GaugeVec
	attempts prometheus.Counter
	sent     prometheus.Counter
	failures *prometheus.CounterVec
	upGauge  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		depth: revocation.RegisterOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_mail_outbox_messages",
			Help: "Outgoing mails by state (queued, sending, sent, failed)."}, []string{"state"})),
		attempts: revocation.RegisterOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_mail_send_attempts_total",
			Help: "Attempts to hand an outgoing mail to the submission server."})),
		sent: revocation.RegisterOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "seosgw_mail_sent_total",
			Help: "Outgoing mails the submission server took."})),
		failures: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_send_failures_total",
			Help: "Failed attempts to send mail: temporary (retried) or permanent (5xx; the mail fails)."}, []string{"type"})),
		upGauge: revocation.RegisterOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_mail_submission_up",
			Help: "1 when the submission server answered the last readiness check, else 0."})),
	}
	for _, t := range []string{"temporary", "permanent"} {
		m.failures.WithLabelValues(t)
	}
	for _, st := range []string{Queued, Sending, Sent, Failed} {
		m.depth.WithLabelValues(st)
	}
	return m
}

func (m *metrics) up(ok bool) {
	if ok {
		m.upGauge.Set(1)
	} else {
		m.upGauge.Set(0)
	}
}
