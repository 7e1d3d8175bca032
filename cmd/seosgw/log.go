package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	goio "io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

func logVerbs() map[string]command {
	return map[string]command{
		"list": {args: "[--config FILE] [--direction in|out] [--peer GUID] [--type T] [--message GUID] [--document GUID] [--outcome O] [--since RFC3339] [--limit N] [--json]",
			summary: "list logged messages, newest first", run: logList},
		"show": {args: "[--config FILE] [--raw|--message] [--lang en|bg|latin] ID", summary: "show one entry: what it was (a received document's acceptance verdict too), or its exact bytes", run: logShow},
	}
}

func openLog(ctx context.Context, path string) (*msglog.Log, func(), error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.OpenReadOnly(ctx, cfg.Path(cfg.Database.Path))
	if err != nil {
		return nil, nil, err
	}
	// Large messages' bytes are files beside the database.
	files := blob.ReadOnly(store.FilesDir(cfg.Path(cfg.Database.Path)))
	return &msglog.Log{DB: db, Files: files}, func() { db.Close() }, nil
}

func logList(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	path := configFlag(fs)
	var f msglog.Filter
	direction := enumFlag(fs, "direction", "", "only messages in or out", msglog.In, msglog.Out)
	fs.StringVar(&f.Peer, "peer", "", "peer participant GUID")
	msgType := enumFlag(fs, "type", "", "only this message type", string(seos.TypeRegistrationRequest), string(seos.TypeStatusRequest),
		string(seos.TypeStatusResponse), string(seos.TypeError))
	fs.StringVar(&f.MessageGUID, "message", "", "MessageGUID")
	fs.StringVar(&f.DocumentGUID, "document", "", "DocumentGUID")
	fs.StringVar(&f.Outcome, "outcome", "", "accepted, refused, replied, sent, failed ...")
	since := fs.String("since", "", "only entries at or after this time (RFC 3339)")
	fs.IntVar(&f.Limit, "limit", 50, "at most this many entries, newest first")
	asJSON := fs.Bool("json", false, "JSON lines instead of a table")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	f.Direction, f.MessageType = *direction, *msgType
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return io.usageError(fs, "--since: %q is not an RFC 3339 time like 2026-11-23T10:00:00+02:00", *since)
		}
		f.Since = t
	}
	if f.Limit < 1 {
		return io.usageError(fs, "--limit %d: give at least 1", f.Limit)
	}
	l, closeDB, err := openLog(ctx, *path)
	if err != nil {
		return fail(io, "%v", err)
	}
	defer closeDB()
	entries, err := l.List(ctx, f)
	if err != nil {
		return fail(io, "%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(io.out)
		for _, e := range entries {
			enc.Encode(e)
		}
		return 0
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tDIR\tPEER\tTYPE\tMESSAGE\tOUTCOME\tREASON\tSIZE")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.ID, e.At.Local().Format("2006-01-02 15:04:05"), e.Direction,
			textsafe.Field(e.PeerGUID), textsafe.Field(e.MessageType), textsafe.Field(e.MessageGUID), textsafe.Field(e.Outcome), textsafe.Field(e.Reason), e.Size)
	}
	tw.Flush()
	return 0
}

func logShow(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	path := configFlag(fs)
	raw := fs.Bool("raw", false, "print the exact bytes that crossed the wire (the SOAP envelope; a mail's .eml)")
	message := fs.Bool("message", false, "print the signed SEOS message carried in the envelope")
	lang := enumFlag(fs, "lang", "en", "language of the acceptance verdict's reasons", "en", "bg", "latin")
	arg, code, ok := io.parseOne(fs, args, "one entry ID")
	if !ok {
		return code
	}
	if *raw && *message {
		return io.usageError(fs, "--raw or --message, not both")
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return io.usageError(fs, "%q is not an entry ID (the first column of log list)", arg)
	}
	l, closeDB, err := openLog(ctx, *path)
	if err != nil {
		return fail(io, "%v", err)
	}
	defer closeDB()
	e, err := l.Get(ctx, id)
	if err != nil {
		return fail(io, "log show %d: %v", id, err)
	}
	inner := func() ([]byte, error) {
		b, err := l.RawBytes(e)
		if err != nil {
			return nil, err
		}
		return soap.Payload(b)
	}
	switch {
	case *raw:
		r, err := l.OpenRaw(e)
		if err != nil {
			return fail(io, "entry %d: %v", id, err)
		}
		defer r.Close()
		if _, err := goio.Copy(io.out, r); err != nil {
			return fail(io, "entry %d: %v", id, err)
		}
		return 0
	case *message:
		b, err := inner()
		if err != nil {
			return fail(io, "entry %d carries no message: %v", id, err)
		}
		io.out.Write(b)
		return 0
	}
	fmt.Fprintf(io.out, "%-16s %d\n%-16s %s\n%-16s %s\n%-16s %s\n%-16s %s (%s)\n", "entry:", e.ID, "time:", e.At.Local().Format(time.RFC3339),
		"direction:", e.Direction, "peer:", textsafe.Field(e.PeerGUID+" "+e.PeerSerial), "outcome:", textsafe.Field(e.Outcome), textsafe.Field(e.Reason))
	if e.MessageType != "" {
		fmt.Fprintf(io.out, "%-16s %s\n", "type:", e.MessageType)
	}
	if e.Detail != "" {
		fmt.Fprintf(io.out, "%-16s %s\n", "detail:", textsafe.Field(e.Detail))
	}
	if e.ReplyTo != 0 {
		fmt.Fprintf(io.out, "%-16s %d\n", "reply to:", e.ReplyTo)
	}
	fmt.Fprintf(io.out, "%-16s %d bytes%s\n", "size:", e.Size, map[bool]string{true: " (raw bytes truncated or pruned)", false: ""}[e.Truncated])
	if e.RawSHA256 != "" {
		fmt.Fprintf(io.out, "%-16s %s (of the bytes retention dropped)\n", "sha256:", e.RawSHA256)
	}
	if b, err := inner(); err == nil && len(b) > 0 {
		if m, _, err := seos.Parse(b); err == nil {
			m.WriteSummary(io.out)
		} else {
			fmt.Fprintf(io.out, "%-16s %s\n", "message:", textsafe.Field(err.Error()))
		}
	}
	// A registration request, or a mail to the official address (its raw
	// bytes are the .eml: --raw prints it).
	if e.Direction == msglog.In && (e.MessageType == string(seos.TypeRegistrationRequest) || e.MessageType == mailbox.MessageType) {
		if err := writeReceived(ctx, io.out, l.DB, e.ID, *lang); err != nil {
			return fail(io, "entry %d: %v", id, err)
		}
	}
	return 0
}

// writeReceived shows what became of the document a registration request
// brought: its inbox state and the acceptance policy's verdict, check by
// check.
func writeReceived(ctx context.Context, w goio.Writer, db *sql.DB, logID int64, lang string) error {
	it, err := inbox.ByLog(ctx, db, logID)
	if errors.Is(err, inbox.ErrNotFound) {
		return nil // a resend answered DS_ALREADY_RECEIVED, or a refusal: no document
	}
	if err != nil {
		return err
	}
	state := string(it.State)
	if it.NeedsReview {
		state += ", needs review"
	}
	fmt.Fprintf(w, "%-16s %d (%s)\n", "inbox:", it.ID, state)
	if it.Verdict == nil {
		if it.State == inbox.Checking {
			fmt.Fprintf(w, "%-16s waiting for the verdict\n", "acceptance:")
		}
		return nil
	}
	fmt.Fprintf(w, "%-16s %s (%s)\n\n", "acceptance:", it.Verdict.Outcome, it.Verdict.EvaluatedAt.Local().Format(time.RFC3339))
	return it.Verdict.WriteTable(w, lang)
}
