package spool

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

const exampleMapping = "../../configs/legacy-mapping.example.yaml"

var (
	self = testkit.Participant(1, "000000001", "Община Тестово")
	peer = testkit.Participant(2, "000000002", "Министерство на тестовете")
)

// env is a spool directory over a real SQLite file.
type env struct {
	t       testing.TB
	dir     string
	db      *sql.DB
	clk     *clock.Manual
	svc     *ais.Service
	opt     Options
	sp      *Spool
	log     *slog.Logger
	queued  int
	mapping string
}

func newEnv(t testing.TB, mapping string) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "spool"), clk: clock.NewManual(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)), mapping: mapping}
	e.db = testkit.DB(t)
	cache := testkit.Seed(t, e.db, e.clk, self, peer)
	e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		e.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.svc = &ais.Service{DB: e.db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID},
		Self:  self.Node(),
		Clock: e.clk, Log: e.log, Queued: func() { e.queued++ }}
	e.opt = Options{Dir: e.dir, Mapping: mapping, ScanEvery: 10 * time.Millisecond}
	e.sp = e.newSpool()
	return e
}

// newSpool starts a Spool over the same directory, as a restart would.
func (e *env) newSpool() *Spool {
	e.t.Helper()
	sp, err := New(e.opt, e.svc, e.log, e.clk)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

func (e *env) path(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

// put writes a file under the spool directory the way the contract asks:
// NAME.tmp, then a rename.
func (e *env) put(rel string, b []byte) {
	e.t.Helper()
	p := e.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		e.t.Fatal(err)
	}
}

// scan runs n scans, failing on an error.
func (e *env) scan(n int) {
	e.t.Helper()
	for i := 0; i < n; i++ {
		if err := e.sp.Scan(context.Background()); err != nil {
			e.t.Fatalf("scan: %v", err)
		}
	}
}

func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(e.path(rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// files lists the regular files under rel, relative to it, sorted.
func (e *env) files(rel string) []string {
	var out []string
	root := e.path(rel)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			r, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(r))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func (e *env) items(kind outbox.Kind) []*outbox.Item { return testkit.OutboxItems(e.t, e.db, kind) }

// receive stores a document from peer as the inbound pipeline does.
func (e *env) receive(doc seos.Document) int64 {
	e.t.Helper()
	return testkit.Receive(e.t, e.db, peer.Node(), doc, e.clk.Now())
}

func receivedLetter() seos.Document {
	return seos.Document{
		ID:   seos.DocumentID{GUID: seos.NewGUID(), Number: &seos.DocumentNumber{Number: "МТ-17", Date: "2026-11-20"}},
		Kind: "Писмо", About: seos.Str("Искане за становище"),
		Attachments: []seos.Attachment{
			{FileName: "Писмо до община.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF писмо"))},
			{FileName: "Pismo do obshtina.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF второ"))},
			{FileName: "document.json", MIMEType: "application/json", Body: seos.Base64Of([]byte(`{"a":1}`))},
			{FileName: "../../etc/passwd", MIMEType: "text/plain", Body: seos.Base64Of([]byte("не излиза"))},
		},
	}
}
