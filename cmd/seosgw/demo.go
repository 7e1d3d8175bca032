package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/seosgw/seosgw/gateway/demo"
)

func runDemo(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	dir := fs.String("dir", "", "work folder, new or empty (default: a temporary one); removed afterwards unless --keep")
	keep := fs.Bool("keep", false, "keep the work folder: configs, PKI (with private keys), databases, logs")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	self, err := os.Executable()
	if err != nil {
		return fail(io, "demo: %v", err)
	}
	err = demo.Run(ctx, demo.Options{Binary: self, Dir: *dir, Keep: *keep, Out: io.out})
	switch {
	case errors.Is(err, demo.ErrCancelled):
		fmt.Fprintln(io.err, "demo cancelled")
		return 130 // as a shell reports a command ended by SIGINT
	case err != nil:
		fmt.Fprintf(io.err, "demo failed: %v\n", err)
		return 1
	}
	return 0
}
