// Package ops is the operations listener network admins watch: /healthz
// (the process is alive), /readyz (each readiness check by name) and
// /metrics (Prometheus).
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition; nil means ready.
type Check func(ctx context.Context) error

// Ops serves the endpoints; checks can be added while it runs.
type Ops struct {
	mu     sync.RWMutex
	checks map[string]Check
	gather prometheus.Gatherer
	ready  *prometheus.GaugeVec
}

// New builds the listener's handler; reg receives seosgw_ready{check}.
func New(reg prometheus.Registerer, gather prometheus.Gatherer) *Ops {
	o := &Ops{checks: map[string]Check{}, gather: gather,
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_ready",
			Help: "1 when the named readiness check passed at the last /readyz."}, []string{"check"})}
	reg.MustRegister(o.ready)
	return o
}

// AddCheck registers a named readiness check.
func (o *Ops) AddCheck(name string, c Check) {
	o.mu.Lock()
	o.checks[name] = c
	o.mu.Unlock()
}

// Result is one check's outcome.
type Result struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Ready runs every check (each with a timeout) and reports them by name.
func (o *Ops) Ready(ctx context.Context) (bool, []Result) {
	o.mu.RLock()
	names := make([]string, 0, len(o.checks))
	checks := make(map[string]Check, len(o.checks))
	for n, c := range o.checks {
		names = append(names, n)
		checks[n] = c
	}
	o.mu.RUnlock()
	sort.Strings(names)
	all := true
	out := make([]Result, len(names))
	for i, n := range names {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := checks[n](cctx)
		cancel()
		out[i] = Result{Check: n, OK: err == nil}
		if err != nil {
			out[i].Error, all = err.Error(), false
			o.ready.WithLabelValues(n).Set(0)
		} else {
			o.ready.WithLabelValues(n).Set(1)
		}
	}
	return all, out
}

// Handler serves /healthz, /readyz and /metrics.
func (o *Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, results := o.Ready(r.Context())
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": results})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		for _, res := range results {
			if res.OK {
				fmt.Fprintf(w, "ok   %s\n", res.Check)
			} else {
				fmt.Fprintf(w, "FAIL %s: %s\n", res.Check, res.Error)
			}
		}
	})
	mux.Handle("/metrics", promhttp.HandlerFor(o.gather, promhttp.HandlerOpts{}))
	return mux
}
