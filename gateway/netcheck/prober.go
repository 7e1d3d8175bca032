package netcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/pki"
)

// Prober reruns the checks every cfg.Probe while serve runs, keeps the last
// report for /readyz and exports it as metrics:
//
//	seosgw_network_check_ok{check}                           1 passed, 0 failed (warnings too) or not tried
//	seosgw_network_check_timestamp_seconds                   when the last run finished
//	seosgw_certificate_expiry_timestamp_seconds{cert="transport"}  our certificate's NotAfter
//
// Use: p.Startup(ctx) at start (it returns an error only when
// network.on_failure is refuse and a check failed), then go p.Run(ctx), and
// ops.AddCheck("network", p.Ready).
type Prober struct {
	cfg  Options
	deps Deps
	log  *slog.Logger

	ok     *prometheus.GaugeVec
	ts     prometheus.Gauge
	expiry *prometheus.GaugeVec

	mu   sync.Mutex
	last *Report
	kick chan struct{} // Reprobe
}

// NewProber registers the network metrics on reg.
func NewProber(opt Options, deps Deps, reg prometheus.Registerer) (*Prober, error) {
	cfg := opt.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Prober{
		cfg: cfg, deps: deps, log: log, kick: make(chan struct{}, 1),
		ok: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_network_check_ok",
			Help: "1 when the named SEOS network check (interface, dns, route, tcp, tls, certificate) passed at the last probe, 0 when it failed or was not tried."},
			[]string{"check"}),
		ts: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_network_check_timestamp_seconds",
			Help: "Unix time the last run of the SEOS network checks finished (0 = not yet)."}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seosgw_certificate_expiry_timestamp_seconds",
			Help: "NotAfter of a certificate as Unix time; cert=\"transport\" is our transport certificate."},
			[]string{"cert"}),
	}
	for _, c := range []prometheus.Collector{p.ok, p.ts, p.expiry} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("netcheck metrics: %w", err)
		}
	}
	p.setExpiry()
	return p, nil
}

func (p *Prober) setExpiry() {
	if id := p.currentDeps().Identity; id != nil && id.Cert != nil {
		p.expiry.WithLabelValues("transport").Set(float64(id.Cert.NotAfter.Unix()))
	}
}

// SetIdentity makes the next runs check id: our transport certificate
// after a renewal swapped it.
func (p *Prober) SetIdentity(id *pki.Identity) {
	p.mu.Lock()
	p.deps.Identity, p.deps.IdentityErr = id, nil
	p.mu.Unlock()
	p.setExpiry()
}

func (p *Prober) currentDeps() Deps {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deps
}

// Check runs the checks now, records the report and updates the metrics. A
// check that changes state is logged once, with its fix.
func (p *Prober) Check(ctx context.Context) Report {
	rep := Run(ctx, p.cfg, p.currentDeps())
	p.mu.Lock()
	prev := p.last
	p.last = &rep
	p.mu.Unlock()

	for _, it := range rep.Items {
		v := 0.0
		if it.OK {
			v = 1
		}
		p.ok.WithLabelValues(it.Name).Set(v)
		was, seen := Item{}, false
		if prev != nil {
			was, seen = prev.Item(it.Name)
		}
		switch {
		case !it.OK && !it.Skipped && (!seen || was.OK || was.Skipped):
			p.log.Warn("network check failed", "check", it.Name, "detail", it.Detail, "fix", it.Fix)
		case it.OK && seen && !was.OK:
			p.log.Info("network check passes again", "check", it.Name, "detail", it.Detail)
		}
	}
	p.ts.Set(float64(p.deps.clock().Now().UnixNano()) / 1e9)
	p.setExpiry()
	return rep
}

// Startup runs the checks once for `seosgw serve`. With network.on_failure
// refuse a failure is returned, naming the checks; with not-ready it is only
// logged and serve starts not ready. Warnings never stop the start.
func (p *Prober) Startup(ctx context.Context) error {
	rep := p.Check(ctx)
	if err := rep.Blocking(); err != nil {
		if p.cfg.RefuseOnFailure {
			return fmt.Errorf("%w (network.on_failure is refuse; `seosgw preflight` prints each check with its fix)", err)
		}
		p.log.Warn("starting not ready: the SEOS network checks failed; they are rerun every network.probe", "error", err, "probe", p.cfg.Probe.String())
	}
	return nil
}

// Run reruns the checks every cfg.Probe until ctx ends; the first run is at
// once unless Startup or Check already ran.
func (p *Prober) Run(ctx context.Context) {
	if _, ok := p.Last(); !ok {
		p.Check(ctx)
	}
	t := time.NewTicker(p.cfg.Probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Check(ctx)
		case <-p.kick:
			// Only a failing report is worth a new connection to the
			// register before the next probe is due.
			if rep, ok := p.Last(); !ok || !rep.OK() {
				p.Check(ctx)
			}
		}
	}
}

// Reprobe makes Run check again at once when the last report failed: the
// register sync calls it when it succeeds, so that readiness does not stay
// red for up to network.probe after the register is back. It never blocks.
func (p *Prober) Reprobe() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Last returns the latest report; false before the first run.
func (p *Prober) Last() (Report, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return Report{}, false
	}
	return *p.last, true
}

// Ready is the ops readiness check "network": it fails before the first run,
// while a check of the last run fails (except a warning: our certificate
// expiring within network.cert_min_days is for the metric and the alert,
// not a reason to stop serving), and when the last run is so old
// that the prober must be stuck. It does not probe itself, so /readyz stays
// fast and does not open a connection to the register per request.
//
// When the path checks pass and only the register host fails (tcp, tls),
// the path is fine: RegisterProblem reports it as the register's.
func (p *Prober) Ready(context.Context) error {
	rep, ok := p.Last()
	if !ok {
		return errors.New("the SEOS network checks have not run yet")
	}
	if _, only := rep.RegisterOnly(); only {
		return nil
	}
	if err := rep.Blocking(); err != nil {
		return err
	}
	if age := p.deps.clock().Now().Sub(rep.At); age > 3*p.cfg.Probe+3*p.cfg.Timeout+time.Minute {
		return fmt.Errorf("the SEOS network checks last ran %s ago (network.probe is %s): the prober is stuck", age.Round(time.Second), p.cfg.Probe)
	}
	return nil
}

// RegisterProblem says "register unreachable" when the last report found
// the network path up and only the register host failing: what the
// readiness check "register" adds to the freshness of the copy.
func (p *Prober) RegisterProblem() error {
	rep, ok := p.Last()
	if !ok {
		return nil
	}
	it, only := rep.RegisterOnly()
	switch {
	case !only:
		return nil
	case it.Name == CheckTCP:
		return fmt.Errorf("register unreachable (the network path to it is up; the register copy serves meanwhile): %s", it.Detail)
	}
	return fmt.Errorf("register unreachable over TLS (the network path to it is up; the register copy serves meanwhile): %s; %s", it.Detail, it.Fix)
}
