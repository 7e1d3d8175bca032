package ais

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

const testToken = "s3cret-token-0123456789abcdef"

// Participants of the test register.
var (
	self     = testkit.Participant(1, "000000001", "Община Тестово")
	peer     = testkit.Participant(2, "000000002", "Министерство на тестовете")
	other    = testkit.Participant(3, "000000003", "Агенция по примерите")
	inactive = func() register.Entity {
		e := testkit.Participant(4, "000000004", "Неактивна агенция")
		e.Status = register.Inactive
		return e
	}()
	twinA = testkit.Participant(5, "000000099", "Близнак А")
	twinB = testkit.Participant(6, "000000099", "Близнак Б")
)

// fixture is a Service on a real SQLite file, served over loopback.
type fixture struct {
	t      *testing.T
	db     *sql.DB
	clk    *clock.Manual
	svc    *Service
	srv    *httptest.Server
	logBuf *testkit.SyncBuffer
	queued atomic.Int32 // Service.Queued calls
	reg    *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testkit.DB(t)
	clk := clock.NewManual(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC))
	cache := testkit.Seed(t, db, clk, self, peer, other, inactive, twinA, twinB)
	f := &fixture{t: t, db: db, clk: clk, logBuf: &testkit.SyncBuffer{}, reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.svc = &Service{DB: db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID}, Self: self.Node(), Clock: clk, Log: log,
		Queued: func() { f.queued.Add(1) }, Transitions: outbox.NewObserver(f.reg, log)}
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

// receive stores a document from `from` as the inbound pipeline does and
// returns its inbox id.
func (f *fixture) receive(from register.Entity, doc seos.Document) int64 {
	f.t.Helper()
	return testkit.Receive(f.t, f.db, from.Node(), doc, f.clk.Now())
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
func (f *fixture) outboxItems(kind outbox.Kind) []*outbox.Item {
	return testkit.OutboxItems(f.t, f.db, kind)
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
