package main

import (
	"context"
	"encoding/json"

	"github.com/seosgw/seosgw/gateway/buildinfo"
)

func runVersion(_ context.Context, args []string, io stdio) int {
	fs := io.flags()
	asJSON := fs.Bool("json", false, "JSON instead of text")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
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
