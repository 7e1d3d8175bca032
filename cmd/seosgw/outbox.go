package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

// The outbox verbs go through the running node's AIS API, as send and
// status do: the deliverer is woken at once, and the API's rules (the
// outbox's transition table) decide what is allowed.
func outboxVerbs() map[string]command {
	return map[string]command{
		"list": {args: "[--config FILE] [--state S] [--peer GUID] [--limit N] [--json]", summary: "list the documents we send, newest first", run: outboxList},
		"retry": {args: "[--config FILE] [--note TEXT] (ID | --peer GUID)", summary: "send a failed or queued document again now, or everything waiting for a participant",
			run: outboxRetry, help: outboxRetryHelp},
		"cancel": {args: "[--config FILE] [--note TEXT] ID", summary: "do not send a queued or failed document (a delivered one cannot be taken back)",
			run: outboxCancel},
	}
}

const outboxRetryHelp = `ID: a failed document (an Error reply, or its attempts used up) is queued again under the same
DocumentGUID with a new round of attempts; a queued one is made due now. --peer GUID: every delivery
waiting for that participant (documents, status notifications, questions) is made due now, for a
participant that is back before the protocol's schedule (up to 128 h) would try again. The history
keeps everything: seosgw status ID.`

func outboxList(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	state := enumFlag(fs, "state", "", "only documents in this state", ais.PublicStates...)
	peer := fs.String("peer", "", "only documents to this participant (register GUID)")
	limit := fs.Int("limit", 100, "at most this many, newest first (1 to 1000)")
	asJSON := fs.Bool("json", false, "print the API's JSON as it is")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	if *peer != "" && !seos.IsGUID(*peer) {
		return io.usageError(fs, "--peer: %q is not a participant GUID in braces", *peer)
	}
	if *limit < 1 || *limit > 1000 {
		return io.usageError(fs, "--limit %d: give 1 to 1000", *limit)
	}
	client, err := apiClient(*cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	list, raw, err := client.Documents(ctx, *state, *peer, *limit)
	if err != nil {
		return fail(io, "%s: %v", io.name, apiProblem(err))
	}
	if *asJSON {
		io.out.Write(raw)
		return 0
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(io.err, "no documents")
		return 0
	}
	tw := tabwriter.NewWriter(io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tATTEMPTS\tNEXT ATTEMPT\tRECIPIENT\tDOCUMENT\tERROR")
	for _, d := range list.Items {
		to := d.Recipient
		switch {
		case d.Email != "":
			to = "mailto:" + d.Email // sent by e-mail: retry and cancel act on its mail
		case d.RecipientName != "":
			to = d.RecipientName + " " + d.Recipient
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.State, d.Attempts, dash(d.NextAttempt), safe(to), d.DocumentGUID, safe(clip(d.Error, 100)))
	}
	if err := tw.Flush(); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	return 0
}

func outboxRetry(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	peer := fs.String("peer", "", "retry now every delivery waiting for this participant (register GUID)")
	note := fs.String("note", "", "why, for the document's history")
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	switch {
	case *peer != "" && len(pos) > 0:
		return io.usageError(fs, "give a document ID or --peer GUID, not both")
	case *peer != "":
		if !seos.IsGUID(*peer) {
			return io.usageError(fs, "--peer: %q is not a participant GUID in braces", *peer)
		}
		client, err := apiClient(*cfgPath)
		if err != nil {
			return fail(io, "%s: %v", io.name, err)
		}
		r, err := client.RetryPeer(ctx, *peer, *note)
		if err != nil {
			return fail(io, "%s: %v", io.name, apiProblem(err))
		}
		ids := make([]string, len(r.IDs))
		for i, id := range r.IDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		word := "deliveries"
		if r.Rescheduled == 1 {
			word = "delivery"
		}
		fmt.Fprintf(io.out, "%d %s to %s made due now", r.Rescheduled, word, r.Peer)
		if len(ids) > 0 {
			fmt.Fprintf(io.out, ": %s", strings.Join(ids, " "))
		}
		fmt.Fprintln(io.out)
		return 0
	}
	return outboxAct(ctx, fs, pos, io, *cfgPath, *note, (*ais.Client).Retry, "queued")
}

func outboxCancel(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	note := fs.String("note", "", "why, for the document's history")
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	return outboxAct(ctx, fs, pos, io, *cfgPath, *note, (*ais.Client).Cancel, "cancelled")
}

// outboxAct is retry or cancel of one document, by the ID seosgw send
// printed: the document as it now stands is printed.
func outboxAct(ctx context.Context, fs *flag.FlagSet, pos []string, io stdio, cfgPath, note string,
	act func(*ais.Client, context.Context, int64, string) (*ais.Status, error), what string) int {
	if len(pos) != 1 {
		return io.usageError(fs, "give one document ID (the number seosgw send printed)")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 1 {
		return io.usageError(fs, "%q is not a document ID (the number seosgw send printed)", pos[0])
	}
	client, err := apiClient(cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	st, err := act(client, ctx, id, note)
	if err != nil {
		return fail(io, "%s: %v", io.name, apiProblem(err))
	}
	fmt.Fprintf(io.err, "document %d %s\n", id, what)
	if err := ais.WriteStatus(io.out, safeStatus(st)); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	return 0
}

// safeStatus is st with the text peers and the register supplied made
// safe for a terminal (textsafe.Field): an ErrorDescription may hold
// escape sequences.
func safeStatus(st *ais.Status) *ais.Status {
	out := *st
	out.Error, out.Rejection = safe(st.Error), safe(st.Rejection)
	if st.PeerNumber != nil {
		n := *st.PeerNumber
		n.Number, n.Date = safe(n.Number), safe(n.Date)
		out.PeerNumber = &n
	}
	if u := st.PeerURI; u != nil {
		out.PeerURI = &ais.URI{RegisterIndex: safe(u.RegisterIndex), SequenceNumber: safe(u.SequenceNumber), ReceiptOrSigningDate: safe(u.ReceiptOrSigningDate)}
	}
	out.History = append(out.History[:0:0], st.History...)
	for i := range out.History {
		out.History[i].Detail = safe(out.History[i].Detail)
	}
	return &out
}

func safe(s string) string { return textsafe.Field(s) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes for a table column.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
