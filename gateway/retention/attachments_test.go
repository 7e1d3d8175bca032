package retention_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/retention"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	_ "modernc.org/sqlite"
)

// Received attachments go database.received_attachment_retention after the
// AIS registered or rejected their document (metadata stays), the bytes
// are counted, and the database file shrinks — in a database made now and
// in one made before this version, converted at start.
func TestReceivedAttachmentsShrinkTheFile(t *testing.T) {
	for _, made := range []string{"new", "before incremental vacuum"} {
		t.Run(made, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "gw.db")
			if made != "new" {
				old, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := old.Exec(`CREATE TABLE left_by_an_old_version (x INTEGER)`); err != nil {
					t.Fatal(err)
				}
				old.Close()
			}
			db := testkit.OpenDB(t, path)
			state, err := store.EnableIncrementalVacuum(ctx, db, path)
			if want := map[bool]store.VacuumState{true: store.VacuumReady, false: store.VacuumConverted}[made == "new"]; err != nil || state != want {
				t.Fatalf("EnableIncrementalVacuum: %s %v, want %s", state, err, want)
			}

			t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			sender := testkit.Participant(2, "000000002", "Министерство")
			const size = 1 << 20
			var taken, waiting []int64
			for i := range 6 {
				doc := seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
					Attachments: []seos.Attachment{{FileName: "скан.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte(strings.Repeat(string(rune('a'+i)), size)))}}}
				id := testkit.Receive(t, db, sender.Node(), doc, t0)
				if i%2 == 1 {
					waiting = append(waiting, id) // the AIS has not taken these yet
					continue
				}
				st := []inbox.State{inbox.Registered, inbox.Rejected, inbox.Registered}[i/2]
				if err := inbox.Apply(ctx, db, id, &inbox.Update{State: st, Reason: "не е наш"}, t0); err != nil {
					t.Fatal(err)
				}
				taken = append(taken, id)
			}
			if _, err := store.Reclaim(ctx, db, path); err != nil { // a checkpoint: the file holds everything
				t.Fatal(err)
			}
			before := store.FileSize(path)

			reg := prometheus.NewRegistry()
			p := &retention.Pruner{DB: db, Path: path, Keep: 365 * 24 * time.Hour, KeepAttachments: 90 * 24 * time.Hour,
				Clock: clock.NewManual(t0.Add(89 * 24 * time.Hour)), Log: slog.New(slog.DiscardHandler), Metrics: retention.NewMetrics(reg)}
			if n := p.Prune(ctx)[retention.ReceivedAttachments]; n != 0 {
				t.Fatalf("pruned %d attachments before 90 days", n)
			}
			p.Clock = clock.NewManual(t0.Add(91 * 24 * time.Hour))
			if n := p.Prune(ctx)[retention.ReceivedAttachments]; n != 3 {
				t.Fatalf("pruned %d attachments, want those of the 3 documents the AIS acted on", n)
			}
			if got := metric(t, reg, "seosgw_retention_reclaimed_bytes_total", retention.ReceivedAttachments); got != 3*size {
				t.Errorf("seosgw_retention_reclaimed_bytes_total = %v, want %d", got, 3*size)
			}
			after := store.FileSize(path)
			if after > before-5*size/2 {
				t.Errorf("the database file went from %d to %d bytes: it did not give back the 3 MiB", before, after)
			}
			if got := metric(t, reg, "seosgw_database_size_bytes", ""); got != float64(after) {
				t.Errorf("seosgw_database_size_bytes = %v, want %d", got, after)
			}
			for _, id := range taken {
				it, err := inbox.Get(ctx, db, id)
				if err != nil || len(it.Attachments) != 1 || it.Attachments[0].Size != size || it.Attachments[0].FileName != "скан.pdf" {
					t.Errorf("document %d after pruning: %+v %v", id, it, err)
				}
			}
			for _, id := range waiting {
				if _, body, err := inbox.AttachmentContent(ctx, db, nil, id, 1); err != nil || len(body) != size {
					t.Errorf("document %d waiting for the AIS lost its attachment: %d bytes %v", id, len(body), err)
				}
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", problems, err)
			}
		})
	}
}

// metric is the value of the series of name in reg whose "what" label is
// what ("": the one series).
func metric(t *testing.T, reg *prometheus.Registry, name, what string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			label := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "what" {
					label = l.GetValue()
				}
			}
			if label != what {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no single series %s", name)
	return 0
}
