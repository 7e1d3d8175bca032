// Package retention applies the retention period (database.message_log_retention)
// once an hour: the message log's raw bytes, delivered requests in the
// outbox, the attachments of received documents whose work is over, and
// the bodies of mail sent or failed.
// Rows stay; their bulk goes.
package retention

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
)

// Every is how often the loop prunes.
const Every = time.Hour

// Pruner prunes what is older than Keep.
type Pruner struct {
	DB    *sql.DB
	Keep  time.Duration
	Clock clock.Clock
	Log   *slog.Logger
}

// Prune runs each pruning once and returns how much each pruned; a failed
// one is logged and the others still run.
func (p *Pruner) Prune(ctx context.Context) map[string]int64 {
	before := p.Clock.Now().Add(-p.Keep)
	l := &msglog.Log{DB: p.DB}
	pruned := map[string]int64{}
	for _, s := range []struct {
		what  string
		prune func() (int64, error)
	}{
		{"message log raw bytes", func() (int64, error) { return l.Prune(ctx, before) }},
		{"outbox requests", func() (int64, error) { return outbox.PruneRequests(ctx, p.DB, before) }},
		{"finished inbox attachments", func() (int64, error) { return inbox.PruneAttachments(ctx, p.DB, before) }},
		{"sent mail bodies", func() (int64, error) { return mailq.PruneBodies(ctx, p.DB, before) }},
	} {
		k, err := s.prune()
		switch {
		case err != nil && ctx.Err() == nil:
			p.Log.Warn("retention failed", "what", s.what, "error", err)
		case k > 0:
			p.Log.Info("retention", "what", s.what, "pruned", k, "before", before.UTC().Format(time.RFC3339))
		}
		pruned[s.what] = k
	}
	return pruned
}

// Run prunes at once and then every hour until ctx ends.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		p.Prune(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
