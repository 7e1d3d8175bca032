package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/config"
)

const sendHelp = `DOCUMENT.json is the API's Outgoing document, to a participant ("recipient") or, as signed
mail, to an address ("email"); an attachment may give "file": "name"
(relative to DOCUMENT.json) instead of base64 "content". Prints the document's id.
The API's address and token come from ais.listen and ais.token_file of the configuration.`

// runSend posts a document to the local node's AIS API, the path an AIS
// takes, so what works here works for the AIS.
func runSend(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	key := fs.String("idempotency-key", "", "names the request: sending again with the same key does not send twice")
	arg, code, ok := io.parseOne(fs, args, "one DOCUMENT.json")
	if !ok {
		return code
	}
	client, err := apiClient(*cfgPath)
	if err != nil {
		return fail(io, "seosgw send: %v", err)
	}
	doc, err := ais.ReadEnvelopeFile(arg)
	if err != nil {
		return fail(io, "seosgw send: %s: %v", arg, err)
	}
	q, created, err := client.Send(ctx, doc, *key)
	if err != nil {
		return fail(io, "seosgw send: %v", apiProblem(err))
	}
	fmt.Fprintln(io.out, q.ID)
	what := "queued"
	if !created {
		what = "already queued before (same idempotency key or DocumentGUID); not sent again"
	}
	fmt.Fprintf(io.err, "document %d %s, DocumentGUID %s; follow it: seosgw status --config %s %d\n", q.ID, what, q.DocumentGUID, *cfgPath, q.ID)
	return 0
}

// runStatus shows where a sent document stands, with its history.
func runStatus(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON as it is")
	arg, code, ok := io.parseOne(fs, args, "one document ID")
	if !ok {
		return code
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return fail(io, "seosgw status: %q is not a document id (the number seosgw send printed)", arg)
	}
	client, err := apiClient(*cfgPath)
	if err != nil {
		return fail(io, "seosgw status: %v", err)
	}
	st, raw, err := client.Status(ctx, id)
	if err != nil {
		return fail(io, "seosgw status: %v", apiProblem(err))
	}
	if *asJSON {
		io.out.Write(raw)
		return 0
	}
	if err := ais.WriteStatus(io.out, safeStatus(st)); err != nil {
		return fail(io, "seosgw status: %v", err)
	}
	return 0
}

// apiClient is a client for the API the configuration describes.
func apiClient(path string) (*ais.Client, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	token, err := ais.ReadToken(cfg.Path(cfg.AIS.TokenFile))
	if err != nil {
		return nil, fmt.Errorf("ais.token_file: %w", err)
	}
	return ais.NewClient(cfg.AIS.Listen, token)
}

// apiProblem phrases an API error for the command line.
func apiProblem(err error) error {
	var e *ais.APIError
	if errors.As(err, &e) && e.Field != "" {
		return fmt.Errorf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	if errors.As(err, &e) {
		return fmt.Errorf("%s (%s)", e.Message, e.Code)
	}
	return err
}
