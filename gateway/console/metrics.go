package console

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	logins   *prometheus.CounterVec
	actions  *prometheus.CounterVec
	refusals *prometheus.CounterVec
}

// Login outcomes and refusal reasons, every one at 0 from the start.
var (
	loginOutcomes  = []string{"ok", "bad_credentials", "rate_limited", "bad_certificate", "revoked_certificate", "revocation_unknown"}
	actionNames    = []string{"outbox.retry", "outbox.cancel"}
	actionOutcomes = []string{"ok", "refused", "failed"}
	refusalReasons = []string{"no_session", "csrf", "role", "cross_origin", "host"}
)

func newMetrics(reg prometheus.Registerer, s *sessions) (*metrics, error) {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_console_logins_total",
			Help: "Console login attempts by outcome (ok, bad_credentials, rate_limited, bad_certificate, revoked_certificate, revocation_unknown)."}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_console_actions_total",
			Help: "Operator actions through the console by action and outcome (ok, refused, failed); each is in the audit table."}, []string{"action", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_console_refusals_total",
			Help: "Console requests refused before any page: no session, a wrong CSRF token, a viewer's action, a cross-origin POST, a Host that is not loopback (DNS rebinding)."}, []string{"reason"}),
	}
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "seosgw_console_sessions",
		Help: "Console sessions alive now."}, func() float64 { return float64(s.count()) })
	for _, c := range []prometheus.Collector{m.logins, m.actions, m.refusals, sessions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range loginOutcomes {
		m.logins.WithLabelValues(o)
	}
	for _, a := range actionNames {
		for _, o := range actionOutcomes {
			m.actions.WithLabelValues(a, o)
		}
	}
	for _, r := range refusalReasons {
		m.refusals.WithLabelValues(r)
	}
	return m, nil
}

func (m *metrics) refusal(reason string) { m.refusals.WithLabelValues(reason).Inc() }
