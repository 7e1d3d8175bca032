package retention

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
)

// FileGrace is how old a file no row refers to must be before a sweep
// while serving removes it: a request may have written it and not
// committed yet (no request takes that long).
const FileGrace = time.Hour

// Files sweeps the file store beside the database: files no row of the
// message log, inbox, outbox or mail queue refers to (pruned rows, or a crash between
// writing a file and committing) are removed.
type Files struct {
	DB    *sql.DB
	Store *blob.Store
	Log   *slog.Logger
}

// Sweep removes unreferenced files older than grace (0 at start, when no
// request is in flight).
func (f *Files) Sweep(ctx context.Context, grace time.Duration) (int, int64, error) {
	refs := map[string]bool{}
	if err := msglog.FileRefs(ctx, f.DB, refs); err != nil {
		return 0, 0, err
	}
	if err := inbox.FileRefs(ctx, f.DB, refs); err != nil {
		return 0, 0, err
	}
	if err := outbox.FileRefs(ctx, f.DB, refs); err != nil {
		return 0, 0, err
	}
	if err := mailq.FileRefs(ctx, f.DB, refs); err != nil {
		return 0, 0, err
	}
	// Files age by the file system's clock, not the gateway's.
	files, bytes, err := f.Store.Sweep(time.Now().Add(-grace), func(ref string) bool { return refs[ref] })
	if files > 0 {
		f.Log.Info("file store swept", "files", files, "bytes", bytes, "referenced", len(refs))
	}
	return files, bytes, err
}
