package netcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// flakyRegister is a loopback register whose TLS can be switched off.
type flakyRegister struct {
	url  string
	down atomic.Bool
}

func newFlakyRegister(t *testing.T, p *testPKI) *flakyRegister {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flakyRegister{url: "https://127.0.0.1:" + port(ln) + "/service/"}
	cfg := p.store.ServerTLS(p.issue(t, "127.0.0.1"))
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if f.down.Load() {
			return nil, errors.New("register down")
		}
		return nil, nil
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return f
}

func proberConfig() Options {
	c := defaults()
	c.Timeout = 2 * time.Second
	return c
}

func TestProberMetricsAndReadiness(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	reg := newFlakyRegister(t, daeu)
	id := daeu.issue(t, "node.seos.test")
	clk := clock.NewManual(time.Now())
	var logs bytes.Buffer
	registry := prometheus.NewRegistry()
	p, err := NewProber(proberConfig(), Deps{RegisterURL: reg.url, Identity: id, Trust: daeu.store, Clock: clk,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}, registry)
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(registry); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	if err := p.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "not run yet") {
		t.Errorf("Ready before the first run = %v", err)
	}
	if got := testutil.ToFloat64(p.expiry.WithLabelValues("transport")); got != float64(id.Cert.NotAfter.Unix()) {
		t.Errorf("expiry metric %v, want %v", got, id.Cert.NotAfter.Unix())
	}

	ctx := context.Background()
	if rep := p.Check(ctx); !rep.OK() {
		t.Fatalf("first run failed:\n%s", dump(rep))
	}
	if err := p.Ready(ctx); err != nil {
		t.Errorf("Ready after a good run: %v", err)
	}
	for _, c := range []string{CheckDNS, CheckTCP, CheckTLS, CheckCertificate} {
		if v := testutil.ToFloat64(p.ok.WithLabelValues(c)); v != 1 {
			t.Errorf("seosgw_network_check_ok{check=%q} = %v, want 1", c, v)
		}
	}
	if v := testutil.ToFloat64(p.ts); v < float64(clk.Now().Unix()) {
		t.Errorf("timestamp %v, want the clock's %v", v, clk.Now().Unix())
	}

	reg.down.Store(true)
	p.Check(ctx)
	p.Check(ctx) // a failure that lasts is logged once
	// Only the register host fails, the path to it is fine: the network
	// is ready, and the register is reported unreachable.
	if err := p.Ready(ctx); err != nil {
		t.Errorf("Ready while only the register is down = %v", err)
	}
	if err := p.RegisterProblem(); err == nil || !strings.Contains(err.Error(), "register unreachable over TLS (the network path to it is up") {
		t.Errorf("RegisterProblem while the register is down = %v", err)
	}
	if v := testutil.ToFloat64(p.ok.WithLabelValues(CheckTLS)); v != 0 {
		t.Errorf("tls gauge %v while down", v)
	}
	if n := strings.Count(logs.String(), "network check failed"); n != 1 {
		t.Errorf("failure logged %d times:\n%s", n, logs.String())
	}

	reg.down.Store(false)
	p.Check(ctx)
	if err := p.Ready(ctx); err != nil {
		t.Errorf("Ready after recovery: %v", err)
	}
	if err := p.RegisterProblem(); err != nil {
		t.Errorf("RegisterProblem after recovery: %v", err)
	}
	if !strings.Contains(logs.String(), "network check passes again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}

	clk.Advance(time.Hour) // the prober stopped running
	if err := p.Ready(ctx); err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Errorf("Ready with an hour-old report = %v", err)
	}
	if problems, err := testutil.GatherAndLint(registry); err != nil || len(problems) > 0 {
		t.Fatalf("lint after runs: %v %v", problems, err)
	}
	if _, err := NewProber(proberConfig(), Deps{}, registry); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func TestProberStartup(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	reg := newFlakyRegister(t, daeu)
	reg.down.Store(true)
	id := daeu.issue(t, "node.seos.test")
	for _, refuse := range []bool{true, false} {
		cfg := proberConfig()
		cfg.RefuseOnFailure = refuse
		p, err := NewProber(cfg, Deps{RegisterURL: reg.url, Identity: id, Trust: daeu.store}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		err = p.Startup(context.Background())
		if (err != nil) != refuse {
			t.Errorf("refuse on failure %v: Startup = %v", refuse, err)
		}
		if err != nil && !strings.Contains(err.Error(), "tls") {
			t.Errorf("refusal does not name the check: %v", err)
		}
		// Only the register host failed: not ready, as the register's.
		if p.Ready(context.Background()) != nil || p.RegisterProblem() == nil {
			t.Errorf("refuse on failure %v: after a failed start, network %v, register %v", refuse, p.Ready(context.Background()), p.RegisterProblem())
		}
	}
}

// TestProberCertificateWarning: a certificate that expires within
// cert_min_days fails preflight and its gauge, but does not stop serving.
func TestProberCertificateWarning(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	reg := newFlakyRegister(t, daeu)
	cfg := proberConfig()
	cfg.RefuseOnFailure = true
	p, err := NewProber(cfg, Deps{RegisterURL: reg.url, Identity: daeu.ExpiringIn(t, "node.seos.test", 10*24*time.Hour), Trust: daeu.store},
		prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Startup(context.Background()); err != nil {
		t.Errorf("refused to start over a certificate with 10 days left: %v", err)
	}
	if err := p.Ready(context.Background()); err != nil {
		t.Errorf("not ready over a certificate with 10 days left: %v", err)
	}
	rep, _ := p.Last()
	if rep.OK() || rep.Err() == nil {
		t.Errorf("preflight passes with 10 days left:\n%s", dump(rep))
	}
	if it := mustItem(t, rep, CheckCertificate); !it.Warning {
		t.Errorf("certificate item is not a warning: %+v", it)
	}
	if v := testutil.ToFloat64(p.ok.WithLabelValues(CheckCertificate)); v != 0 {
		t.Errorf("certificate gauge %v, want 0", v)
	}
}

// countingResolver counts runs (each run resolves the register once).
type countingResolver struct{ n atomic.Int32 }

func (c *countingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	c.n.Add(1)
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func TestProberRunRepeatsAndStops(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	res := &countingResolver{}
	cfg := proberConfig()
	cfg.Probe = 10 * time.Millisecond // Validate would refuse this; the prober does not care
	p, err := NewProber(cfg, Deps{RegisterURL: "https://register.seos.test:1/", Identity: daeu.issue(t, "n.seos.test"), Trust: daeu.store, Resolver: res},
		prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); res.n.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d runs in 10s", res.n.Load())
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// A register outage with the path up is the register's, named so; when the
// register answers again (the sync succeeds and calls Reprobe), readiness
// follows at once rather than at the next network.probe.
func TestRegisterOutageAndReprobe(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the register's host answers, nothing listens: connection refused
	opt := proberConfig()
	opt.Probe = time.Hour // only Reprobe can bring the next run in time
	p, err := NewProber(opt, Deps{RegisterURL: "https://" + addr + "/service/", Identity: daeu.issue(t, "node.seos.test"), Trust: daeu.store},
		prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	testkit.Eventually(t, 30*time.Second, "the first run", func() bool { _, ok := p.Last(); return ok })
	if err := p.Ready(ctx); err != nil {
		t.Errorf("network ready while only the register is down: %v", err)
	}
	if err := p.RegisterProblem(); err == nil || !strings.HasPrefix(err.Error(), "register unreachable (the network path to it is up") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Errorf("RegisterProblem = %v", err)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	serveRegister(t, ln, daeu.issue(t, "127.0.0.1", pki.WithIPAddresses(net.IPv4(127, 0, 0, 1))), daeu)
	p.Reprobe()
	testkit.Eventually(t, 30*time.Second, "the register reachable after Reprobe", func() bool { return p.RegisterProblem() == nil })
	if rep, _ := p.Last(); !rep.OK() {
		t.Errorf("after Reprobe:\n%s", dump(rep))
	}
}
