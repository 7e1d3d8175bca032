package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/loadtest"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

func benchVerbs() map[string]command {
	return map[string]command{
		"submit": {args: "[--config FILE] --to GUID [-n N] [-c C] [--rate R] [--size BYTES] [--metrics URL]",
			summary: "load a participant's endpoint with signed registrations and report throughput, latency and its CPU per Submit",
			run:     benchSubmit, help: benchHelp},
	}
}

const benchHelp = `Signs N distinct document registrations as this node (the configuration's certificate
and participant) to the participant --to, as its entry in this node's register copy
names it, then sends them C at a time over kept-alive mutual TLS connections (--rate:
at most R per second). It reports throughput, latency (p50, p99, max), replies other
than DS_WAIT_REGISTRATION, and, with --metrics (the recipient's /metrics URL), the
recipient's CPU time per Submit from process_cpu_seconds_total. The recipient stores
every document: point it at a test node.`

func benchSubmit(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	to := fs.String("to", "", "the recipient's participant GUID")
	n := fs.Int("n", 1000, "registrations to send")
	c := fs.Int("c", 16, "at once")
	rate := fs.Int("rate", 0, "at most this many per second (0: as fast as replies come)")
	size := fs.Int("size", 1024, "attachment bytes per document")
	metrics := fs.String("metrics", "", "the recipient's /metrics URL, for its CPU time per Submit")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	if *to == "" {
		return io.usageError(fs, "--to is required: the GUID of the participant to load")
	}
	if *n < 1 || *c < 1 || *size < 0 || *rate < 0 {
		return io.usageError(fs, "-n and -c must be at least 1, --size and --rate not negative")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "bench: %v", err)
	}
	id, ts, err := node.LoadTransport(cfg, clock.System, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return fail(io, "bench: %v", err)
	}
	db, err := store.OpenReadOnly(ctx, cfg.Path(cfg.Database.Path))
	if err != nil {
		return fail(io, "bench: %v", err)
	}
	defer db.Close()
	peer, err := register.NewCache(db, clock.System).ByGUID(ctx, *to)
	if err != nil {
		return fail(io, "bench: %v", err)
	}
	if peer == nil {
		return fail(io, "bench: %s is not in this node's register copy", *to)
	}
	endpoint := peer.ExchangeService().URI
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return fail(io, "bench: the register lists endpoint %q for %s, which is not an https URL", endpoint, *to)
	}
	rep, err := loadtest.Run(ctx, loadtest.Options{From: node.Self(cfg), To: peer.Node(), Identity: id, TLS: ts.PeerTLS(id, u.Hostname(), peer.CertificateSN),
		URL: endpoint, N: *n, C: *c, Rate: *rate, Size: *size, Metrics: *metrics, Progress: io.err})
	if rep != nil {
		fmt.Fprint(io.out, rep)
	}
	if err != nil {
		return fail(io, "bench: %v", err)
	}
	return 0
}
