package ais

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// APIMetrics are the AIS API's request metrics, by route (the operation's
// pattern, e.g. "POST /documents"; "other" for unknown paths and methods).
// A nil *APIMetrics records nothing.
type APIMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// otherRoute labels requests that match no operation.
const otherRoute = "other"

// NewAPIMetrics registers the API metrics on reg, every route's series
// present from the start (0), so dashboards and rate() see them before
// the first request.
func NewAPIMetrics(reg prometheus.Registerer) *APIMetrics {
	m := &APIMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_ais_api_requests_total",
			Help: "AIS API requests by route and HTTP status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "seosgw_ais_api_request_duration_seconds",
			Help:    "AIS API request duration by route, from the request to the last byte of the answer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	for _, rt := range routes() {
		name := rt.method + " " + rt.path
		m.duration.WithLabelValues(name)
		if !rt.public {
			m.requests.WithLabelValues(name, "401")
		}
		m.requests.WithLabelValues(name, "500")
	}
	m.duration.WithLabelValues(otherRoute)
	return m
}

func (m *APIMetrics) observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
