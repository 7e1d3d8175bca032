package spool

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

const exampleMapping = "../../configs/legacy-mapping.example.yaml"

var (
	self = entity(1, "000000001", "Община Тестово")
	peer = entity(2, "000000002", "Министерство на тестовете")
)

func entity(n int, eik, name string) register.Entity {
	guid := strings.ReplaceAll("{0000000N-0000-4000-8000-00000000000N}", "N", string(rune('0'+n)))
	return register.Entity{Identifier: eik, GUID: guid, AdministrativeBodyName: name, Status: register.Active,
		LastChange: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи",
			URI: "https://n" + eik + ".obmen.local/seos", Status: register.Active, Version: "1"}}}
}

// env is a spool directory over a real SQLite file.
type env struct {
	t       *testing.T
	dir     string
	db      *sql.DB
	clk     *clock.Manual
	svc     *ais.Service
	cfg     *config.Config
	sp      *Spool
	log     *slog.Logger
	queued  int
	mapping string
}

func newEnv(t *testing.T, mapping string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "spool"), clk: clock.NewManual(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)), mapping: mapping}
	var err error
	e.db, err = store.OpenGateway(ctx, filepath.Join(t.TempDir(), "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	cache := register.NewCache(e.db, e.clk)
	if err := cache.Apply(ctx, true, []register.Entity{self, peer}, "c1"); err != nil {
		t.Fatal(err)
	}
	e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		e.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.svc = &ais.Service{DB: e.db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID},
		Self:  seos.Entity{Identifier: self.Identifier, AdministrativeBodyName: self.AdministrativeBodyName, GUID: self.GUID},
		Clock: e.clk, Log: e.log, Queued: func() { e.queued++ }}
	e.cfg = &config.Config{AIS: config.AIS{Spool: config.Spool{Dir: e.dir, Mapping: mapping, ScanEvery: config.Duration(10 * time.Millisecond)}}}
	e.sp = e.newSpool()
	return e
}

// newSpool starts a Spool over the same directory, as a restart would.
func (e *env) newSpool() *Spool {
	e.t.Helper()
	sp, err := New(e.cfg, e.svc, e.log, e.clk)
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

func (e *env) items(kind string) []*outbox.Item {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT id FROM outbox WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []*outbox.Item
	for _, id := range ids {
		it, err := outbox.Get(context.Background(), e.db, id)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, it)
	}
	return out
}

// receive stores a document from peer as the inbound pipeline does.
func (e *env) receive(doc seos.Document) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	err := store.InTx(ctx, e.db, func(tx *sql.Tx) error {
		msgGUID := seos.NewGUID()
		logID, err := msglog.Insert(ctx, tx, &msglog.Entry{Direction: msglog.In, At: e.clk.Now(), PeerGUID: peer.GUID, MessageGUID: msgGUID,
			DocumentGUID: doc.ID.GUID, Outcome: "accepted", Raw: []byte("<x/>")})
		if err != nil {
			return err
		}
		sender := seos.Entity{Identifier: peer.Identifier, AdministrativeBodyName: peer.AdministrativeBodyName, GUID: peer.GUID}
		id, err = inbox.Add(ctx, tx, sender, msgGUID, &seos.RegistrationRequest{Document: doc, Comment: "за регистрация"}, logID, e.clk.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
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
