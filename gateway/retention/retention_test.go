package retention_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/retention"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestPrune: what is older than the retention period loses its bulk, the
// rows stay, and what is younger is untouched.
func TestPrune(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	files, err := blob.Open(filepath.Join(t.TempDir(), "gw.files"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2025, 11, 1, 10, 0, 0, 0, time.UTC)
	now := old.Add(400 * 24 * time.Hour)
	sender := testkit.Participant(2, "000000002", "Министерство")
	// Attachments in files, as large ones are kept; written two hours ago.
	inFile := func(content string) *seos.StoredBody {
		ref, err := files.PutBytes([]byte(content))
		if err != nil {
			t.Fatal(err)
		}
		aged := time.Now().Add(-2 * time.Hour)
		os.Chtimes(files.Path(ref), aged, aged)
		return &seos.StoredBody{Size: int64(len(content)), Blob: ref}
	}
	oldFile, recentFile := inFile("%PDF old"), inFile("%PDF recent")
	doc := seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
		Attachments: []seos.Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Stored: oldFile}}}
	finished := testkit.Receive(t, db, sender.Node(), doc, old) // its message log entry is old too
	doc.Attachments[0].Stored = recentFile
	if err := inbox.Apply(ctx, db, finished, &inbox.Update{State: inbox.Rejected, Reason: "не е наш"}, old); err != nil {
		t.Fatal(err)
	}
	doc.ID.GUID = seos.NewGUID()
	recent := testkit.Receive(t, db, sender.Node(), doc, now)
	if err := inbox.Apply(ctx, db, recent, &inbox.Update{State: inbox.Rejected, Reason: "не е наш"}, now); err != nil {
		t.Fatal(err)
	}
	sent, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: sender.GUID, Document: doc.ID.GUID,
		Request: &outbox.Request{Document: &doc}}, old)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := outbox.Claim(ctx, db, old, 1)
	if err := outbox.Record(ctx, db, items[0], outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, old); err != nil {
		t.Fatal(err)
	}

	mails := map[int64]bool{} // id → old and sent, so pruned
	for _, m := range []struct {
		at     time.Time
		sent   bool
		pruned bool
	}{{old, true, true}, {old, false, false}, {now, true, false}} {
		id, _, err := mailq.Enqueue(ctx, db, &mailq.Message{Kind: "receipt", From: "ebma@marad.example", To: "ivan@example.bg", MessageID: "x", Body: []byte("mail")}, "", m.at)
		if err != nil {
			t.Fatal(err)
		}
		if m.sent {
			db.Exec(`UPDATE mail_outbox SET state = 'sent' WHERE id = ?`, id)
		}
		mails[id] = m.pruned
	}

	log := slog.New(slog.DiscardHandler)
	p := &retention.Pruner{DB: db, Keep: 365 * 24 * time.Hour, Clock: clock.NewManual(now), Log: log,
		Files: &retention.Files{DB: db, Store: files, Log: log}}
	want := map[string]int64{retention.MessageLog: 1, retention.OutboxRequests: 1, retention.ReceivedAttachments: 1, retention.SentMailBodies: 1,
		retention.FileStore: 1}
	for what, n := range p.Prune(ctx) {
		if n != want[what] {
			t.Errorf("%s: pruned %d, want %d", what, n, want[what])
		}
	}
	if _, body, err := inbox.AttachmentContent(ctx, db, files, finished, 1); err != nil || len(body) != 0 {
		t.Errorf("old attachment kept: %d bytes %v", len(body), err)
	}
	if _, body, err := inbox.AttachmentContent(ctx, db, files, recent, 1); err != nil || string(body) != "%PDF recent" {
		t.Errorf("recent attachment pruned: %q %v", body, err)
	}
	// Retention removed the old attachment's file, and only that one.
	if _, err := os.Stat(files.Path(oldFile.Blob)); err == nil {
		t.Error("the pruned attachment's file is still there")
	}
	if _, err := os.Stat(files.Path(recentFile.Blob)); err != nil {
		t.Errorf("the recent attachment's file went: %v", err)
	}
	if it, err := outbox.Get(ctx, db, sent); err != nil || it.Request.Document != nil || it.State != outbox.Delivered {
		t.Errorf("outbox item after pruning: %+v %v", it, err)
	}
	for id, pruned := range mails {
		if it, err := mailq.Get(ctx, db, id); err != nil || (len(it.Body) == 0) != pruned {
			t.Errorf("mail %d: %d bytes left (pruned: %v) %v", id, len(it.Body), pruned, err)
		}
	}
	entries, err := (&msglog.Log{DB: db}).List(ctx, msglog.Filter{})
	if err != nil || len(entries) != 2 {
		t.Fatalf("message log rows: %d %v", len(entries), err)
	}
	for what, n := range p.Prune(ctx) {
		if n != 0 {
			t.Errorf("a second pass pruned %d of %s", n, what)
		}
	}
}

// TestMessageLogBytesLeaveFiles: database.message_log_retention drops a
// logged message's exact bytes wherever they are — in its row or, for a
// large message, in its file of the file store, which the same pass
// removes from the disk — keeps the row with the bytes' SHA-256, and counts
// the bytes as reclaimed message_log.
func TestMessageLogBytesLeaveFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	db := testkit.OpenDB(t, path)
	files, err := blob.Open(store.FilesDir(path))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2025, 11, 1, 10, 0, 0, 0, time.UTC)
	now := old.Add(400 * 24 * time.Hour)
	big := []byte("<Envelope>" + strings.Repeat("x", 1<<20) + "</Envelope>")
	inFile := func(content []byte) string {
		ref, err := files.PutBytes(content)
		if err != nil {
			t.Fatal(err)
		}
		aged := time.Now().Add(-2 * time.Hour) // written long before, as old entries are
		os.Chtimes(files.Path(ref), aged, aged)
		return ref
	}
	oldRef, recentRef := inFile(big), inFile(append([]byte("<recent/>"), big...))
	entries := []*msglog.Entry{
		{Direction: msglog.In, At: old, Outcome: "accepted", Size: len(big), RawFile: oldRef},
		{Direction: msglog.Out, At: old, Outcome: "replied", Size: 5, Raw: []byte("<ok/>")},
		{Direction: msglog.In, At: now, Outcome: "accepted", Size: len(big) + 9, RawFile: recentRef},
	}
	for _, e := range entries {
		if _, err := msglog.Insert(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	p := &retention.Pruner{DB: db, Path: path, Keep: 365 * 24 * time.Hour, Clock: clock.NewManual(now), Log: log,
		Metrics: retention.NewMetrics(reg), Files: &retention.Files{DB: db, Store: files, Log: log}}
	if got := p.Prune(ctx); got[retention.MessageLog] != 2 || got[retention.FileStore] != 1 {
		t.Fatalf("pruned %v, want 2 message log entries and 1 file", got)
	}
	if _, err := os.Stat(files.Path(oldRef)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old message's file is still on disk: %v", err)
	}
	if _, err := os.Stat(files.Path(recentRef)); err != nil {
		t.Errorf("the recent message's file went: %v", err)
	}
	if got, want := metric(t, reg, "seosgw_retention_reclaimed_bytes_total", retention.MessageLog), float64(len(big)+5); got != want {
		t.Errorf("reclaimed message_log bytes = %v, want %v", got, want)
	}
	l := &msglog.Log{DB: db, Files: files}
	sum := sha256.Sum256(big)
	for i, want := range []string{hex.EncodeToString(sum[:]), "", ""} {
		e, err := l.Get(ctx, entries[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, rerr := l.RawBytes(e)
		switch {
		case i == 2 && (rerr != nil || len(raw) != len(big)+9):
			t.Errorf("recent entry lost its bytes: %d %v", len(raw), rerr)
		case i < 2 && (len(raw) != 0 || e.RawFile != "" || !e.Truncated || e.Size != entries[i].Size):
			t.Errorf("entry %d after retention: %d bytes, file %q, %+v", i, len(raw), e.RawFile, e)
		case i == 0 && e.RawSHA256 != want:
			t.Errorf("entry %d kept SHA-256 %q, want %q", i, e.RawSHA256, want)
		}
	}
	if e, _ := l.Get(ctx, entries[1].ID); e.RawSHA256 != hex.EncodeToString(sha256Of("<ok/>")) {
		t.Errorf("an entry kept in its row lost its SHA-256: %q", e.RawSHA256)
	}
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestPruneKeepsFilesStillNamed: a file the pass would free is kept while
// any row still needs it — a log entry younger than the retention sharing
// it (content-addressed), a mail not yet sent or still sending however old
// — or while it was just written and its row is not committed yet; the
// files of old mails in a final state go.
func TestPruneKeepsFilesStillNamed(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	files, err := blob.Open(filepath.Join(t.TempDir(), "gw.files"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2025, 11, 1, 10, 0, 0, 0, time.UTC)
	now := old.Add(400 * 24 * time.Hour)
	inFile := func(content string, age time.Duration) string {
		ref, err := files.PutBytes([]byte(content))
		if err != nil {
			t.Fatal(err)
		}
		aged := time.Now().Add(-age)
		os.Chtimes(files.Path(ref), aged, aged)
		return ref
	}
	const sharedBytes = "<Envelope>the same bytes twice</Envelope>"
	shared := inFile(sharedBytes, 2*time.Hour)
	for _, at := range []time.Time{old, now} {
		if _, err := msglog.Insert(ctx, db, &msglog.Entry{Direction: msglog.In, At: at, Outcome: "accepted", Size: len(sharedBytes), RawFile: shared}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		state string
		kept  bool
	}{{mailq.Queued, true}, {mailq.Sending, true}, {mailq.Sent, false}, {mailq.Failed, false}, {mailq.Cancelled, false}}
	mails := map[string]string{} // state → body file
	for _, c := range cases {
		ref := inFile("signed mail, "+c.state, 2*time.Hour)
		id, _, err := mailq.Enqueue(ctx, db, &mailq.Message{Kind: "document", From: "ebma@marad.example", To: "ivan@example.bg", MessageID: c.state, BodyFile: ref, Size: 20}, "", old)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE mail_outbox SET state = ? WHERE id = ?`, c.state, id); err != nil {
			t.Fatal(err)
		}
		mails[c.state] = ref
	}
	uncommitted := inFile("signed mail, its row about to commit", time.Minute)

	log := slog.New(slog.DiscardHandler)
	p := &retention.Pruner{DB: db, Keep: 365 * 24 * time.Hour, Clock: clock.NewManual(now), Log: log,
		Files: &retention.Files{DB: db, Store: files, Log: log}}
	p.Prune(ctx)
	there := func(ref string) bool { _, err := os.Stat(files.Path(ref)); return err == nil }
	if !there(shared) {
		t.Error("a file a young log entry names went with the old entry's bytes")
	}
	for _, c := range cases {
		if got := there(mails[c.state]); got != c.kept {
			t.Errorf("an old %s mail's file: on disk %v, want %v", c.state, got, c.kept)
		}
	}
	if !there(uncommitted) {
		t.Error("a file written a minute ago, its row not committed yet, was swept")
	}
	l := &msglog.Log{DB: db, Files: files}
	entries, err := l.List(ctx, msglog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		full, err := l.Get(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := l.RawBytes(full)
		young := full.At.Equal(now)
		if young && (err != nil || string(raw) != sharedBytes) || !young && full.RawFile != "" {
			t.Errorf("entry at %s: %d bytes, file %q, %v", full.At, len(raw), full.RawFile, err)
		}
	}
}
