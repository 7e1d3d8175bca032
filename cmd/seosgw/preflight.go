package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/trust"
)

// runPreflight checks the path to the SEOS network as serve would at start
// and prints the checklist. Exit 0: every check passed; 1: a check failed;
// 2: bad arguments or configuration.
func runPreflight(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	path := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	deps := netcheck.Deps{RegisterURL: cfg.Register.URL, Clock: clock.System}
	deps.Identity, deps.Trust, deps.TrustErr = node.LoadTransport(cfg, clock.System, log, trust.NewMetrics(prometheus.NewRegistry()))
	if deps.Identity == nil {
		deps.IdentityErr, deps.TrustErr = deps.TrustErr, nil
	}

	opt, err := node.NetworkOptions(cfg)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 2
	}
	rep := netcheck.Run(ctx, opt, deps)
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.Write(io.out)
	}
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 2
	}
	if !rep.OK() {
		return 1
	}
	return 0
}
