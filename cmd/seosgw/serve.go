package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/store"
)

func runServe(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	path := configFlag(fs)
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	// SIGHUP reloads the transport certificate (systemctl reload); caught
	// from the start, since its default would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	log := node.NewLogger(cfg.Log.Level, cfg.Log.Format, io.err)
	// Held while serving, so that restore and migrate up refuse to touch
	// the database underneath; the kernel drops it however we end.
	lock, err := store.Acquire(cfg.Path(cfg.Database.Path))
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer lock.Release()
	n, err := node.New(ctx, cfg, log, clock.System)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				n.Reload() // the outcome is logged and counted
			}
		}
	}()
	if err := n.Run(ctx); err != nil {
		log.Error("seosgw stopped", "error", err)
		return 1
	}
	return 0
}
