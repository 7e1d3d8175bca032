package ais

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

const testToken = "s3cret-token-0123456789abcdef"

// Participants of the test register.
var (
	self     = entity(1, "000000001", "Община Тестово", register.Active)
	peer     = entity(2, "000000002", "Министерство на тестовете", register.Active)
	other    = entity(3, "000000003", "Агенция по примерите", register.Active)
	inactive = entity(4, "000000004", "Неактивна агенция", register.Inactive)
	twinA    = entity(5, "000000099", "Близнак А", register.Active)
	twinB    = entity(6, "000000099", "Близнак Б", register.Active)
)

func entity(n int, eik, name string, st register.Status) register.Entity {
	guid := strings.ReplaceAll("{0000000N-0000-4000-8000-00000000000N}", "N", string(rune('0'+n)))
	return register.Entity{Identifier: eik, GUID: guid, AdministrativeBodyName: name, Status: st,
		LastChange: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи",
			URI: "https://n" + eik + ".obmen.local/seos", Status: register.Active, Version: "1"}}}
}

func seEntity(e register.Entity) seos.Entity {
	return seos.Entity{Identifier: e.Identifier, AdministrativeBodyName: e.AdministrativeBodyName, GUID: e.GUID}
}

// fixture is a Service on a real SQLite file, served over loopback.
type fixture struct {
	t      *testing.T
	db     *sql.DB
	clk    *clock.Manual
	svc    *Service
	srv    *httptest.Server
	logBuf *syncBuffer
	queued atomic.Int32 // Service.Queued calls
	reg    *prometheus.Registry
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenGateway(ctx, filepath.Join(t.TempDir(), "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewManual(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC))
	cache := register.NewCache(db, clk)
	if err := cache.Apply(ctx, true, []register.Entity{self, peer, other, inactive, twinA, twinB}, "2026-11-23T10:00:00+02:00"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, clk: clk, logBuf: &syncBuffer{}, reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.svc = &Service{DB: db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID}, Self: seEntity(self), Clock: clk, Log: log,
		Queued: func() { f.queued.Add(1) }}
	f.srv = httptest.NewServer(NewAPI(f.svc, StaticToken(testToken), log, NewAPIMetrics(f.reg)))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request with the token (unless header says otherwise) and
// returns the status, headers and body. body is raw bytes, a string, or
// a value to encode.
func (f *fixture) do(method, path string, body any, header ...string) (int, http.Header, []byte) {
	f.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		raw = j
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	// Every answer the API tests get must be one openapi.yaml describes.
	sent, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(raw))
	sent.Header = req.Header
	spec.check(f.t, sent, resp.StatusCode, resp.Header, answer)
	return resp.StatusCode, resp.Header, answer
}

// decodeInto fails the test unless raw is JSON for v.
func decodeInto(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
}

// receive stores a document as the inbound pipeline does and returns its
// inbox id.
func (f *fixture) receive(from register.Entity, doc seos.Document) int64 {
	f.t.Helper()
	ctx := context.Background()
	var id int64
	err := store.InTx(ctx, f.db, func(tx *sql.Tx) error {
		msgGUID := seos.NewGUID()
		logID, err := msglog.Insert(ctx, tx, &msglog.Entry{Direction: msglog.In, At: f.clk.Now(), PeerGUID: from.GUID,
			MessageType: string(seos.TypeRegistrationRequest), MessageGUID: msgGUID, DocumentGUID: doc.ID.GUID, Outcome: "accepted", Raw: []byte("<x/>")})
		if err != nil {
			return err
		}
		id, err = inbox.Add(ctx, tx, seEntity(from), msgGUID, &seos.RegistrationRequest{Document: doc, Comment: "за регистрация"}, logID, f.clk.Now())
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// receivedLetter is a document from peer with a Cyrillic-named PDF.
func receivedLetter() seos.Document {
	kind := seos.CorrApplicant
	return seos.Document{
		ID:             seos.DocumentID{GUID: seos.NewGUID(), Number: &seos.DocumentNumber{Number: "МТ-17", Date: "2026-11-20"}},
		Kind:           "Писмо",
		About:          seos.Str("Искане за становище"),
		Correspondents: []seos.Correspondent{{Name: "Иван Петров", City: "София", EGN: seos.Str("7501010010"), Kind: &kind}},
		Attachments: []seos.Attachment{
			{FileName: "Писмо до община.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF-1.4 писмо"))},
			{FileName: "приложение.txt", MIMEType: "text/plain; charset=utf-8", Comment: seos.Str("опис"), Body: seos.Base64Of([]byte("опис на документите"))},
		},
	}
}

// outboxItems returns the outbox items of a kind, oldest first.
func (f *fixture) outboxItems(kind string) []*outbox.Item {
	f.t.Helper()
	rows, err := f.db.Query(`SELECT id FROM outbox WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		f.t.Fatal(err)
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
		it, err := outbox.Get(context.Background(), f.db, id)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, it)
	}
	return out
}

// letter is a valid outgoing document to peer.
func letter() map[string]any {
	return map[string]any{
		"recipient": peer.GUID,
		"kind":      "Писмо",
		"number":    map[string]any{"number": "ОБ-123", "date": "2026-11-23"},
		"about":     "Покана за среща",
		"comment":   "Моля, регистрирайте",
		"attachments": []any{map[string]any{"fileName": "покана.pdf", "mimeType": "application/pdf",
			"content": "JVBERi0xLjQK"}},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}
