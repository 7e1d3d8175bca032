package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/node"
)

func runServe(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("seosgw serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	path := fs.String("config", "/etc/seosgw/seosgw.yaml", "configuration file")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	log := node.NewLogger(cfg.Log.Level, cfg.Log.Format, io.err)
	n, err := node.New(ctx, cfg, log, clock.System)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	if err := n.Run(ctx); err != nil {
		log.Error("seosgw stopped", "error", err)
		return 1
	}
	return 0
}
