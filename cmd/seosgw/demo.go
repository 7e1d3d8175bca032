package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/seosgw/seosgw/gateway/demo"
)

func runDemo(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("seosgw demo", flag.ContinueOnError)
	fs.SetOutput(io.err)
	dir := fs.String("dir", "", "work folder (default: a temporary one, removed afterwards)")
	keep := fs.Bool("keep", false, "keep the work folder: configs, PKI, databases, logs")
	if fs.Parse(args) != nil {
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		return fail(io, "demo: %v", err)
	}
	if err := demo.Run(ctx, demo.Options{Binary: self, Dir: *dir, Keep: *keep, Out: io.out}); err != nil {
		fmt.Fprintf(io.err, "demo failed: %v\n", err)
		return 1
	}
	return 0
}
