package main

import (
	"context"
	"encoding/json"

	"github.com/seosgw/seosgw/gateway/buildinfo"
)

func runVersion(_ context.Context, args []string, io stdio) int {
	fs := io.flags()
	asJSON := fs.Bool("json", false, "JSON instead of text")
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return io.usageError(fs, "unexpected argument %q", pos[0])
	}
	info := buildinfo.Get()
	var err error
	if *asJSON {
		err = json.NewEncoder(io.out).Encode(info)
	} else {
		err = info.Write(io.out)
	}
	if err != nil {
		return fail(io, "version: %v", err)
	}
	return 0
}
