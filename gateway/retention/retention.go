// Package retention bounds what the database keeps, once an hour: the
// message log's raw bytes and delivered outbox requests after
// database.message_log_retention, and the attachments of received
// documents the AIS has acted on after
// database.received_attachment_retention, and the bodies of mail sent or
// failed after database.message_log_retention. Rows stay; their bulk goes, and
// the file gives the space back; files of the file store that no row names
// any more are swept.
package retention

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/store"
)

// Every is how often the loop prunes.
const Every = time.Hour

// What each pruning is called in Prune's answer, logs and metrics.
const (
	MessageLog          = "message_log"          // raw bytes of logged messages
	OutboxRequests      = "outbox_requests"      // delivered or failed requests (documents with attachments)
	ReceivedAttachments = "received_attachments" // attachments of received documents the AIS acted on
	SentMailBodies      = "sent_mail_bodies"     // bodies of mail sent or failed
	FileStore           = "files"                // files of the file store no row names any more
)

// Pruner prunes what is older than its retention periods.
type Pruner struct {
	DB *sql.DB
	// Path is the database file, whose size Reclaim brings down after a
	// pruning ("" skips it).
	Path string
	Keep time.Duration // the message log and outbox requests
	// KeepAttachments is how long received attachments stay after the
	// AIS registered, rejected, closed or stopped their document.
	KeepAttachments time.Duration
	Clock           clock.Clock
	Log             *slog.Logger
	Metrics         *Metrics // nil: none
	// Files, when set, is swept after each pass: the files of pruned rows
	// go, and those a crash left behind.
	Files *Files
}

// Metrics of retention.
type Metrics struct {
	reclaimed *prometheus.CounterVec
	fileSize  prometheus.Gauge
}

// NewMetrics registers the retention metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_retention_reclaimed_bytes_total",
			Help: "Bytes of stored content retention dropped, in rows or files, by what (message_log, received_attachments)."}, []string{"what"}),
		fileSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_database_size_bytes",
			Help: "Size of the database file with its WAL, after the last retention pass."}),
	}
	reg.MustRegister(m.reclaimed, m.fileSize)
	m.reclaimed.WithLabelValues(MessageLog)
	m.reclaimed.WithLabelValues(ReceivedAttachments)
	return m
}

// Prune runs each pruning once and returns how many rows each pruned; a
// failed one is logged and the others still run. Then the database file
// gives the freed pages back.
func (p *Pruner) Prune(ctx context.Context) map[string]int64 {
	now := p.Clock.Now()
	before := now.Add(-p.Keep)
	keepAtt := p.KeepAttachments
	if keepAtt <= 0 {
		keepAtt = p.Keep
	}
	l := &msglog.Log{DB: p.DB}
	rows := func(n int64, err error) (int64, int64, error) { return n, 0, err }
	pruned := map[string]int64{}
	for _, s := range []struct {
		what   string
		before time.Time
		// prune returns the rows it emptied and, where it knows, the bytes.
		prune func(before time.Time) (int64, int64, error)
	}{
		{MessageLog, before, func(b time.Time) (int64, int64, error) {
			d, err := l.DropRaw(ctx, b)
			return d.Entries, d.Bytes, err
		}},
		{OutboxRequests, before, func(b time.Time) (int64, int64, error) { return rows(outbox.PruneRequests(ctx, p.DB, b)) }},
		{ReceivedAttachments, now.Add(-keepAtt), func(b time.Time) (int64, int64, error) {
			r, err := inbox.PruneAttachments(ctx, p.DB, b)
			return r.Attachments, r.Bytes, err
		}},
		{SentMailBodies, before, func(b time.Time) (int64, int64, error) { return rows(mailq.PruneBodies(ctx, p.DB, b)) }},
	} {
		k, bytes, err := s.prune(s.before)
		switch {
		case err != nil && ctx.Err() == nil:
			p.Log.Warn("retention failed", "what", s.what, "error", err)
		case k > 0:
			p.Log.Info("retention", "what", s.what, "pruned", k, "bytes", bytes, "before", s.before.UTC().Format(time.RFC3339))
		}
		if p.Metrics != nil && bytes > 0 {
			p.Metrics.reclaimed.WithLabelValues(s.what).Add(float64(bytes))
		}
		pruned[s.what] = k
	}
	if p.Files != nil {
		// Its bytes are logged, not counted again: the prunings above
		// counted what the rows held, files included.
		files, _, err := p.Files.Sweep(ctx, FileGrace)
		if err != nil && ctx.Err() == nil {
			p.Log.Warn("retention failed", "what", FileStore, "error", err)
		}
		pruned[FileStore] = int64(files)
	}
	if p.Path != "" {
		if shrunk, err := store.Reclaim(ctx, p.DB, p.Path); err != nil && ctx.Err() == nil {
			p.Log.Warn("retention: the database file did not shrink", "error", err)
		} else if shrunk > 0 {
			p.Log.Info("retention: the database file shrank", "bytes", shrunk)
		}
		if p.Metrics != nil {
			p.Metrics.fileSize.Set(float64(store.FileSize(p.Path)))
		}
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
