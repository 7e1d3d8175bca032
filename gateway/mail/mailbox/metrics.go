package mailbox

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
)

// Results of a mail offered to the inbox, verdicts on it, and what became
// of each notice: every label at 0 from the start.
var (
	storeResults  = []string{"stored", "duplicate", "failed"}
	noticeKinds   = []string{"receipt", "refusal"}
	noticeResults = []string{"queued", "declined", "auto_submitted", "no_address", "failed"}
)

type metrics struct {
	stored   *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	notices  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		stored: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_inbox_total",
			Help: "Mail the intake handed to the inbox by result: stored (a new document), duplicate (a re-delivery of one stored before), failed (not stored; the intake asks again)."},
			[]string{"result"})),
		verdicts: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_verdicts_total",
			Help: "Documents received by e-mail judged by the acceptance policy, by outcome (accept, hold, reject)."}, []string{"outcome"})),
		notices: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_notices_total",
			Help: "Receipts and refusals owed to senders by e-mail, by kind and result: queued, declined (the sender declined a receipt), auto_submitted (never answered, RFC 3834), no_address, failed."},
			[]string{"kind", "result"})),
	}
	for _, r := range storeResults {
		m.stored.WithLabelValues(r)
	}
	for _, o := range []acceptance.Outcome{acceptance.Accept, acceptance.Hold, acceptance.Reject} {
		m.verdicts.WithLabelValues(string(o))
	}
	for _, k := range noticeKinds {
		for _, r := range noticeResults {
			m.notices.WithLabelValues(k, r)
		}
	}
	return m
}
