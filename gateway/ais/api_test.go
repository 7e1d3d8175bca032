package ais

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/register"
)

func TestAPIAuth(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, method, path, auth string
		status                   int
		challenge                string
	}{
		{"no token", "GET", "/api/v1/inbox", "", 401, `Bearer realm="seosgw"`},
		{"wrong token", "GET", "/api/v1/inbox", "Bearer nope", 401, `Bearer realm="seosgw", error="invalid_token"`},
		{"token prefix", "GET", "/api/v1/inbox", "Bearer " + testToken[:10], 401, `Bearer realm="seosgw", error="invalid_token"`},
		{"basic scheme", "GET", "/api/v1/inbox", "Basic " + testToken, 401, `Bearer realm="seosgw"`},
		{"right token", "GET", "/api/v1/inbox", "Bearer " + testToken, 200, ""},
		{"scheme any case", "GET", "/api/v1/inbox", "bearer " + testToken, 200, ""},
		{"no token, POST", "POST", "/api/v1/documents", "", 401, `Bearer realm="seosgw"`},
		{"no token, unknown path", "GET", "/api/v1/nothing", "", 401, `Bearer realm="seosgw"`},
		{"description is public", "GET", "/api/v1/openapi.yaml", "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, raw := f.do(c.method, c.path, nil, "Authorization", c.auth)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			if got := hdr.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, c.challenge)
			}
			if status == 401 {
				var e ErrorBody
				decodeInto(t, raw, &e)
				if e.Code != "unauthorized" || e.Message == "" {
					t.Errorf("error body %+v", e)
				}
			}
		})
	}
	if strings.Contains(f.logBuf.String(), testToken[:10]) {
		t.Error("the token (or part of it) is in the log")
	}

	t.Run("no token configured refuses all", func(t *testing.T) {
		srv := httptest.NewServer(NewAPI(f.svc, StaticToken(""), slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
		defer srv.Close()
		for _, auth := range []string{"", "Bearer ", "Bearer x"} {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/inbox", nil)
			req.Header.Set("Authorization", auth)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
			}
		}
	})
}

func TestAPISendValidation(t *testing.T) {
	f := newFixture(t)
	type tc struct {
		name   string
		body   any
		header []string
		status int
		code   string
		field  string
	}
	att := func(kv ...any) []any {
		a := map[string]any{"fileName": "a.pdf", "mimeType": "application/pdf", "content": "JVBERi0xLjQK"}
		return []any{with(a, kv...)}
	}
	cases := []tc{
		{"empty body", "", nil, 400, "invalid_request", ""},
		{"not JSON", "{", nil, 400, "invalid_request", ""},
		{"not an object", "[]", nil, 400, "invalid_request", ""},
		{"trailing data", `{"recipient":"x","kind":"y"} {}`, nil, 400, "invalid_request", ""},
		{"unknown field", with(letter(), "subject", "x"), nil, 400, "invalid_request", "subject"},
		{"unknown nested field", with(letter(), "attachments", att("size", 3)), nil, 400, "invalid_request", "size"},
		{"wrong type", with(letter(), "recipient", 5), nil, 400, "invalid_request", "recipient"},
		{"wrong nested type", with(letter(), "number", map[string]any{"number": 7, "date": "2026-11-23"}), nil, 400, "invalid_request", "number.number"},
		{"no recipient", with(letter(), "recipient", nil), nil, 400, "invalid_request", "recipient"},
		{"no kind", with(letter(), "kind", nil), nil, 400, "invalid_request", "kind"},
		{"blank kind", with(letter(), "kind", "  "), nil, 400, "invalid_request", "kind"},
		{"bad documentGuid", with(letter(), "documentGuid", "123"), nil, 400, "invalid_request", "documentGuid"},
		{"number without date", with(letter(), "number", map[string]any{"number": "1"}), nil, 400, "invalid_request", "number.date"},
		{"number without number", with(letter(), "number", map[string]any{"date": "2026-11-23"}), nil, 400, "invalid_request", "number.number"},
		{"bad date", with(letter(), "number", map[string]any{"number": "1", "date": "23.11.2026"}), nil, 400, "invalid_request", "number.date"},
		{"number and uri", with(letter(), "uri", map[string]any{"registerIndex": "1"}), nil, 400, "invalid_request", "number"},
		{"bad uri date", with(letter(), "number", nil, "uri", map[string]any{"receiptOrSigningDate": "x"}), nil, 400, "invalid_request", "uri.receiptOrSigningDate"},
		{"uri registerIndex not a number", with(letter(), "number", nil, "uri", map[string]any{"registerIndex": "abc"}), nil, 400, "invalid_request", "uri.registerIndex"},
		{"uri sequenceNumber zero", with(letter(), "number", nil, "uri", map[string]any{"registerIndex": "3", "sequenceNumber": "00"}), nil, 400, "invalid_request", "uri.sequenceNumber"},
		{"uri sequenceNumber negative", with(letter(), "number", nil, "uri", map[string]any{"sequenceNumber": "-4"}), nil, 400, "invalid_request", "uri.sequenceNumber"},
		{"uri registerIndex of 25 digits", with(letter(), "number", nil, "uri", map[string]any{"registerIndex": "1" + strings.Repeat("0", 24)}), nil, 400, "invalid_request", "uri.registerIndex"},
		{"parent uri not a number", with(letter(), "parent", map[string]any{"guid": seos.NewGUID(), "uri": map[string]any{"sequenceNumber": "17a"}}), nil, 400, "invalid_request", "parent.uri.sequenceNumber"},
		{"bad parent", with(letter(), "parent", map[string]any{"guid": "x"}), nil, 400, "invalid_request", "parent.guid"},
		{"bad parent number", with(letter(), "parent", map[string]any{"guid": seos.NewGUID(), "number": map[string]any{"number": "1", "date": "x"}}), nil, 400, "invalid_request", "parent.number.date"},
		{"correspondent without city", with(letter(), "correspondents", []any{map[string]any{"name": "Иван"}}), nil, 400, "invalid_request", "correspondents[0]"},
		{"correspondent bad kind", with(letter(), "correspondents", []any{map[string]any{"name": "Иван", "city": "София", "kind": "x"}}), nil, 400, "invalid_request", "correspondents[0].kind"},
		{"bad reqDateClose", with(letter(), "reqDateClose", "утре"), nil, 400, "invalid_request", "reqDateClose"},
		{"addData not XML", with(letter(), "addData", "<a>"), nil, 400, "invalid_request", "addData"},
		{"attachment without name", with(letter(), "attachments", att("fileName", "")), nil, 400, "invalid_request", "attachments[0].fileName"},
		{"attachment without MIME type", with(letter(), "attachments", att("mimeType", "")), nil, 400, "invalid_request", "attachments[0].mimeType"},
		{"attachment not base64", with(letter(), "attachments", att("content", "не е base64")), nil, 400, "invalid_request", "attachments[0].content"},
		{"bad idempotency key", letter(), []string{"Idempotency-Key", "две думи"}, 400, "invalid_request", "Idempotency-Key"},
		{"long idempotency key", letter(), []string{"Idempotency-Key", strings.Repeat("k", 201)}, 400, "invalid_request", "Idempotency-Key"},
		{"unknown recipient GUID", with(letter(), "recipient", "{99999999-0000-4000-8000-000000000009}"), nil, 422, "recipient_unknown", "recipient"},
		{"unknown recipient EIK", with(letter(), "recipient", "123123123"), nil, 422, "recipient_unknown", "recipient"},
		{"ambiguous EIK", with(letter(), "recipient", twinA.Identifier), nil, 422, "recipient_ambiguous", "recipient"},
		{"inactive recipient", with(letter(), "recipient", inactive.GUID), nil, 422, "recipient_not_exchanging", "recipient"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, raw := f.do("POST", "/api/v1/documents", c.body, c.header...)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var e ErrorBody
			decodeInto(t, raw, &e)
			if e.Code != c.code || e.Field != c.field || e.Message == "" {
				t.Errorf("got %+v, want code %s field %q", e, c.code, c.field)
			}
		})
	}
	if n := len(f.outboxItems(outbox.KindRegistration)); n != 0 {
		t.Errorf("%d documents queued by invalid requests", n)
	}
}

func TestAPITooLarge(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(newAPI(f.svc, StaticToken(testToken), log, nil, 4096))
	defer srv.Close()
	big := with(letter(), "about", strings.Repeat("я", 4096))
	cases := []struct {
		name    string
		chunked bool
	}{{"declared length", false}, {"streamed", true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, _ := json.Marshal(big)
			body := bytes.NewReader(j)
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/documents", nil)
			if c.chunked {
				req.Body = io.NopCloser(body) // length unknown: the limit must stop the read
			} else {
				req.Body, req.ContentLength = io.NopCloser(body), int64(body.Len())
			}
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e ErrorBody
			decodeInto(t, raw, &e)
			if resp.StatusCode != 413 || e.Code != "too_large" {
				t.Errorf("status %d %+v, want 413 too_large", resp.StatusCode, e)
			}
		})
	}

	// The real limit: a declared length over 96 MiB is refused before any
	// of the body is read.
	t.Run("96 MiB", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
			testToken, MaxRequestBytes+1)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
}

func TestAPISendAndStatus(t *testing.T) {
	f := newFixture(t)
	status, hdr, raw := f.do("POST", "/api/v1/documents", letter())
	if status != 202 {
		t.Fatalf("status %d: %s", status, raw)
	}
	var q Queued
	decodeInto(t, raw, &q)
	if q.ID == 0 || !seos.IsGUID(q.DocumentGUID) || q.Status != fmt.Sprintf("/api/v1/documents/%d", q.ID) || hdr.Get("Location") != q.Status {
		t.Fatalf("answer %+v, Location %q", q, hdr.Get("Location"))
	}
	if f.queued.Load() != 1 {
		t.Errorf("deliverer woken %d times, want 1", f.queued.Load())
	}

	status, _, raw = f.do("GET", q.Status, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	var st Status
	decodeInto(t, raw, &st)
	if st.ID != q.ID || st.State != "queued" || st.Attempts != 0 || st.Recipient != peer.GUID || st.DocumentGUID != q.DocumentGUID {
		t.Errorf("status %+v", st)
	}
	if len(st.History) != 1 || st.History[0].Event != "queued" || !st.History[0].At.Equal(f.clk.Now()) {
		t.Errorf("history %+v", st.History)
	}

	it, err := outbox.Get(context.Background(), f.db, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := it.Request.Document
	if it.Kind != outbox.KindRegistration || d.Kind != "Писмо" || d.ID.Number.Number != "ОБ-123" || len(d.Attachments) != 1 ||
		d.Attachments[0].FileName != "покана.pdf" || it.Request.Comment != "Моля, регистрирайте" {
		t.Errorf("queued request %+v %+v", it, d)
	}

	// The peer's later answers show in the status.
	ctx := context.Background()
	if _, err := outbox.ApplyStatus(ctx, f.db, peer.GUID, &seos.StatusResponse{Status: seos.StatusRegistered,
		DocID: seos.DocumentID{GUID: q.DocumentGUID, Number: &seos.DocumentNumber{Number: "МТ-9", Date: "2026-11-24"}}}, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	f.db.Exec(`UPDATE outbox SET state = 'delivered' WHERE id = ?`, q.ID)
	_, _, raw = f.do("GET", q.Status, nil)
	st = Status{}
	decodeInto(t, raw, &st)
	if st.State != "registered" || st.PeerNumber == nil || st.PeerNumber.Number != "МТ-9" || st.PeerNumber.Date != "2026-11-24" {
		t.Errorf("after DS_REGISTERED: %s", raw)
	}

	for _, c := range []struct {
		path, code, field string
		status            int
	}{
		{"/api/v1/documents/0", "invalid_request", "id", 400},
		{"/api/v1/documents/x", "invalid_request", "id", 400},
		{"/api/v1/documents/999", "not_found", "", 404},
	} {
		status, _, raw := f.do("GET", c.path, nil)
		var e ErrorBody
		decodeInto(t, raw, &e)
		if status != c.status || e.Code != c.code || e.Field != c.field {
			t.Errorf("GET %s: %d %+v", c.path, status, e)
		}
	}
}

func TestAPIIdempotency(t *testing.T) {
	guid := seos.NewGUID()
	type send struct {
		body   map[string]any
		key    string
		status int
		same   int // index of the earlier send whose id this one must have; -1: a new id
	}
	cases := []struct {
		name  string
		sends []send
	}{
		{"same key", []send{{letter(), "k1", 202, -1}, {letter(), "k1", 200, 0}, {letter(), "k1", 200, 0}}},
		{"different keys", []send{{letter(), "k1", 202, -1}, {letter(), "k2", 202, -1}}},
		{"no key, no GUID", []send{{letter(), "", 202, -1}, {letter(), "", 202, -1}}},
		{"same documentGuid", []send{{with(letter(), "documentGuid", guid), "", 202, -1}, {with(letter(), "documentGuid", guid), "", 200, 0}}},
		{"documentGuid in another case", []send{{with(letter(), "documentGuid", guid), "", 202, -1},
			{with(letter(), "documentGuid", strings.ToUpper(guid)), "", 200, 0}}},
		{"same documentGuid under another key", []send{{with(letter(), "documentGuid", guid), "a", 202, -1},
			{with(letter(), "documentGuid", guid), "b", 200, 0}, {with(letter(), "documentGuid", guid), "", 200, 0}}},
		{"same documentGuid to another recipient", []send{{with(letter(), "documentGuid", guid), "", 202, -1},
			{with(letter(), "documentGuid", guid, "recipient", other.GUID), "", 202, -1},
			{with(letter(), "documentGuid", guid, "recipient", other.Identifier), "", 200, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			var ids []int64
			fresh := 0
			for i, s := range c.sends {
				status, _, raw := f.do("POST", "/api/v1/documents", s.body, "Idempotency-Key", s.key)
				if status != s.status {
					t.Fatalf("send %d: status %d, want %d: %s", i, status, s.status, raw)
				}
				var q Queued
				decodeInto(t, raw, &q)
				ids = append(ids, q.ID)
				if s.same >= 0 && q.ID != ids[s.same] {
					t.Errorf("send %d: id %d, want %d", i, q.ID, ids[s.same])
				}
				if s.same < 0 {
					fresh++
					for j := 0; j < i; j++ {
						if ids[j] == q.ID {
							t.Errorf("send %d: id %d is send %d's", i, q.ID, j)
						}
					}
				}
			}
			if n := len(f.outboxItems(outbox.KindRegistration)); n != fresh {
				t.Errorf("%d documents queued, want %d", n, fresh)
			}
		})
	}
}

// TestAPIIdempotencyKeyReused: a key names one request. Reused for another
// document it is refused (the second document would otherwise never be
// sent), and the first request's id stays where it was.
func TestAPIIdempotencyKeyReused(t *testing.T) {
	f := newFixture(t)
	status, _, raw := f.do("POST", "/api/v1/documents", letter(), "Idempotency-Key", "k1")
	if status != 202 {
		t.Fatalf("first: %d %s", status, raw)
	}
	var first Queued
	decodeInto(t, raw, &first)
	for _, body := range []map[string]any{
		with(letter(), "about", "Друга покана"),
		with(letter(), "recipient", other.GUID),
		with(letter(), "attachments", []any{map[string]any{"fileName": "покана.pdf", "mimeType": "application/pdf", "content": "JVBERi0xLjUK"}}),
	} {
		status, _, raw := f.do("POST", "/api/v1/documents", body, "Idempotency-Key", "k1")
		var e ErrorBody
		decodeInto(t, raw, &e)
		if status != 409 || e.Code != "idempotency_conflict" || e.Field != "Idempotency-Key" || !strings.Contains(e.Message, fmt.Sprint(first.ID)) {
			t.Errorf("another document under the same key: %d %+v, want 409 idempotency_conflict", status, e)
		}
	}
	// The same request again, with its fields in another order, is a repeat.
	status, _, raw = f.do("POST", "/api/v1/documents", []byte(`{"attachments":[{"content":"JVBERi0xLjQK","mimeType":"application/pdf","fileName":"покана.pdf"}],
		"comment":"Моля, регистрирайте","about":"Покана за среща","number":{"date":"2026-11-23","number":"ОБ-123"},"kind":"Писмо","recipient":"`+peer.GUID+`"}`),
		"Idempotency-Key", "k1")
	var again Queued
	decodeInto(t, raw, &again)
	if status != 200 || again.ID != first.ID || again.DocumentGUID != first.DocumentGUID {
		t.Errorf("repeat: %d %s, want 200 with id %d", status, raw, first.ID)
	}
	if n := len(f.outboxItems(outbox.KindRegistration)); n != 1 {
		t.Errorf("%d documents queued, want 1", n)
	}
	// A new key sends the other document.
	if status, _, raw := f.do("POST", "/api/v1/documents", with(letter(), "about", "Друга покана"), "Idempotency-Key", "k2"); status != 202 {
		t.Errorf("new key: %d %s", status, raw)
	}
}

// TestAPIIdempotencyKeyFirst: a retry of a queued request gets its id even
// when the request would no longer pass — here the recipient became
// temporarily inactive after the first was queued.
func TestAPIIdempotencyKeyFirst(t *testing.T) {
	f := newFixture(t)
	status, _, raw := f.do("POST", "/api/v1/documents", letter(), "Idempotency-Key", "retry-1")
	if status != 202 {
		t.Fatalf("first: %d %s", status, raw)
	}
	var first Queued
	decodeInto(t, raw, &first)
	away := peer
	away.Status = register.TemporarilyInactive
	away.LastChange = away.LastChange.Add(time.Hour)
	if err := f.svc.Dir.(*register.Cache).Apply(context.Background(), true, []register.Entity{self, away, other, inactive, twinA, twinB}, "c2"); err != nil {
		t.Fatal(err)
	}
	status, _, raw = f.do("POST", "/api/v1/documents", letter(), "Idempotency-Key", "retry-1")
	var again Queued
	decodeInto(t, raw, &again)
	if status != 200 || again.ID != first.ID || again.DocumentGUID != first.DocumentGUID {
		t.Errorf("retry: %d %s, want 200 with id %d", status, raw, first.ID)
	}
	// A new request to the recipient is refused, as before.
	status, _, raw = f.do("POST", "/api/v1/documents", letter(), "Idempotency-Key", "retry-2")
	var e ErrorBody
	decodeInto(t, raw, &e)
	if status != 422 || e.Code != "recipient_not_exchanging" {
		t.Errorf("new request: %d %+v", status, e)
	}
}

func TestAPIInbox(t *testing.T) {
	f := newFixture(t)
	id1 := f.receive(peer, receivedLetter())
	id2 := f.receive(other, seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Заявление"})
	if err := f.svc.Register(context.Background(), id2, &Registration{Number: &Number{Number: "94-1", Date: "2026-11-23"}}); err != nil {
		t.Fatal(err)
	}

	list := func(query string) (int, []int64, ErrorBody) {
		status, _, raw := f.do("GET", "/api/v1/inbox"+query, nil)
		var l InboxList
		var e ErrorBody
		if status == 200 {
			decodeInto(t, raw, &l)
		} else {
			decodeInto(t, raw, &e)
		}
		var ids []int64
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		return status, ids, e
	}
	for _, c := range []struct {
		query  string
		status int
		ids    []int64
		field  string
	}{
		{"", 200, []int64{id1, id2}, ""},
		{"?state=received", 200, []int64{id1}, ""},
		{"?state=registered", 200, []int64{id2}, ""},
		{"?state=closed", 200, nil, ""},
		{"?limit=1", 200, []int64{id1}, ""},
		{"?state=new", 400, nil, "state"},
		{"?limit=0", 400, nil, "limit"},
		{"?limit=1001", 400, nil, "limit"},
		{"?limit=x", 400, nil, "limit"},
	} {
		status, ids, e := list(c.query)
		if status != c.status || fmt.Sprint(ids) != fmt.Sprint(c.ids) || e.Field != c.field {
			t.Errorf("GET /inbox%s: %d %v %+v, want %d %v field %q", c.query, status, ids, e, c.status, c.ids, c.field)
		}
	}

	status, _, raw := f.do("GET", fmt.Sprintf("/api/v1/inbox/%d", id1), nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	var doc ReceivedDocument
	decodeInto(t, raw, &doc)
	if doc.Kind != "Писмо" || doc.About != "Искане за становище" || doc.Sender.GUID != peer.GUID || doc.Sender.EIK != peer.Identifier ||
		doc.Number == nil || doc.Number.Number != "МТ-17" || doc.State != "received" || doc.Comment != "за регистрация" ||
		len(doc.Correspondents) != 1 || doc.Correspondents[0].EGN != "7501010010" || doc.Correspondents[0].Kind != "Corr_Applicant" {
		t.Errorf("document %s", raw)
	}
	if len(doc.Attachments) != 2 || doc.Attachments[0].Href != fmt.Sprintf("/api/v1/inbox/%d/attachments/1", id1) ||
		doc.Attachments[0].FileName != "Писмо до община.pdf" || doc.Attachments[1].Comment != "опис" {
		t.Fatalf("attachments %+v", doc.Attachments)
	}

	for _, c := range []struct {
		n                        int
		body, ctype, ascii, name string
	}{
		{1, "%PDF-1.4 писмо", "application/pdf", "Pismo_do_obshtina.pdf", "Писмо до община.pdf"},
		{2, "опис на документите", "text/plain; charset=utf-8", "prilozhenie.txt", "приложение.txt"},
	} {
		status, hdr, raw := f.do("GET", doc.Attachments[c.n-1].Href, nil)
		if status != 200 || string(raw) != c.body || hdr.Get("Content-Type") != c.ctype {
			t.Errorf("attachment %d: %d %q %q", c.n, status, hdr.Get("Content-Type"), raw)
		}
		cd := hdr.Get("Content-Disposition")
		if !strings.Contains(cd, `filename="`+c.ascii+`"`) {
			t.Errorf("attachment %d: Content-Disposition %q lacks the ASCII name %q", c.n, cd, c.ascii)
		}
		if _, params, err := mime.ParseMediaType(cd); err != nil || params["filename"] != c.name {
			t.Errorf("attachment %d: Content-Disposition %q reads as %q (%v), want %q", c.n, cd, params["filename"], err, c.name)
		}
	}

	for _, c := range []struct {
		path, code, field string
		status            int
	}{
		{fmt.Sprintf("/api/v1/inbox/%d/attachments/3", id1), "not_found", "", 404},
		{fmt.Sprintf("/api/v1/inbox/%d/attachments/0", id1), "invalid_request", "n", 400},
		{"/api/v1/inbox/999", "not_found", "", 404},
		{"/api/v1/inbox/-1", "invalid_request", "id", 400},
		{"/api/v1/inbox/999/attachments/1", "not_found", "", 404},
	} {
		status, _, raw := f.do("GET", c.path, nil)
		var e ErrorBody
		decodeInto(t, raw, &e)
		if status != c.status || e.Code != c.code || e.Field != c.field {
			t.Errorf("GET %s: %d %+v", c.path, status, e)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, name := range []string{"Писмо.pdf", `a "quoted" name.txt`, "100%.doc", "път/до\\файл.xml", "ЖЕЛЕЗНИЦА; х=1.pdf", "plain.pdf", ""} {
		cd := ContentDisposition(name)
		_, params, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Errorf("%q: %q does not parse: %v", name, cd, err)
			continue
		}
		if name != "" && params["filename"] != name {
			t.Errorf("%q: %q reads as %q", name, cd, params["filename"])
		}
		for _, r := range cd {
			if r > 0x7e {
				t.Errorf("%q: %q is not ASCII", name, cd)
				break
			}
		}
	}
}

func TestAPITransitions(t *testing.T) {
	type step struct {
		action string // register, reject, close, stop
		body   any
		status int
		code   string
		field  string
		doc    seos.DocStatus // the status queued to the sender when accepted
	}
	number := map[string]any{"number": map[string]any{"number": "94-00-12", "date": "2026-11-23"}, "expectCloseDate": "2026-12-23"}
	uri := map[string]any{"uri": map[string]any{"registerIndex": "3", "sequenceNumber": "17", "receiptOrSigningDate": "2026-11-23"}}
	cases := []struct {
		name  string
		steps []step
	}{
		{"register with number, close", []step{{"register", number, 202, "", "", seos.StatusRegistered}, {"close", nil, 202, "", "", seos.StatusClosed}}},
		{"register with URI, stop", []step{{"register", uri, 202, "", "", seos.StatusRegistered}, {"stop", "{}", 202, "", "", seos.StatusStopped}}},
		{"reject", []step{{"reject", map[string]any{"reason": "Не е от нашата компетентност"}, 202, "", "", seos.StatusRejected}}},
		{"register twice", []step{{"register", number, 202, "", "", seos.StatusRegistered}, {"register", number, 409, "conflict", "", ""}}},
		{"reject after register", []step{{"register", number, 202, "", "", seos.StatusRegistered}, {"reject", map[string]any{"reason": "x"}, 409, "conflict", "", ""}}},
		{"register after reject", []step{{"reject", map[string]any{"reason": "x"}, 202, "", "", seos.StatusRejected}, {"register", number, 409, "conflict", "", ""}}},
		{"close before register", []step{{"close", nil, 409, "conflict", "", ""}}},
		{"stop before register", []step{{"stop", nil, 409, "conflict", "", ""}}},
		{"close twice", []step{{"register", number, 202, "", "", seos.StatusRegistered}, {"close", nil, 202, "", "", seos.StatusClosed}, {"close", nil, 409, "conflict", "", ""}}},
		{"register without number", []step{{"register", "{}", 400, "invalid_request", "number", ""}}},
		{"register with empty body", []step{{"register", nil, 400, "invalid_request", "", ""}}},
		{"register bad date", []step{{"register", map[string]any{"number": map[string]any{"number": "1", "date": "1.1.2026"}}, 400, "invalid_request", "number.date", ""}}},
		{"register bad expectCloseDate", []step{{"register", with(number, "expectCloseDate", "скоро"), 400, "invalid_request", "expectCloseDate", ""}}},
		{"register number and URI", []step{{"register", with(number, "uri", uri["uri"]), 400, "invalid_request", "number", ""}}},
		{"register unknown field", []step{{"register", with(number, "when", "now"), 400, "invalid_request", "when", ""}}},
		// A registration the DS_REGISTERED could not carry is refused, not
		// recorded: the sender would never learn of it.
		{"register URI registerIndex not a number", []step{{"register", map[string]any{"uri": map[string]any{"registerIndex": "abc"}}, 400, "invalid_request", "uri.registerIndex", ""},
			{"register", uri, 202, "", "", seos.StatusRegistered}}},
		{"register URI sequenceNumber zero", []step{{"register", map[string]any{"uri": map[string]any{"registerIndex": "3", "sequenceNumber": "0"}}, 400, "invalid_request", "uri.sequenceNumber", ""}}},
		{"register URI with sign and spaces", []step{{"register", map[string]any{"uri": map[string]any{"registerIndex": " +03 ", "sequenceNumber": "17"}}, 202, "", "", seos.StatusRegistered}}},
		{"register number XML cannot carry", []step{{"register", map[string]any{"number": map[string]any{"number": "94\u0001", "date": "2026-11-23"}}, 400, "invalid_request", "", ""},
			{"register", number, 202, "", "", seos.StatusRegistered}}},
		{"reject with a reason XML cannot carry", []step{{"reject", map[string]any{"reason": "не\u0001"}, 400, "invalid_request", "", ""},
			{"reject", map[string]any{"reason": "Не е от нашата компетентност"}, 202, "", "", seos.StatusRejected}}},
		{"reject without reason", []step{{"reject", map[string]any{"reason": " "}, 400, "invalid_request", "reason", ""}}},
		{"close with a body", []step{{"register", number, 202, "", "", seos.StatusRegistered}, {"close", map[string]any{"reason": "x"}, 400, "invalid_request", "reason", ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			doc := receivedLetter()
			id := f.receive(peer, doc)
			want := 0
			for i, s := range c.steps {
				status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/inbox/%d/%s", id, s.action), s.body)
				if status != s.status {
					t.Fatalf("step %d (%s): status %d, want %d: %s", i, s.action, status, s.status, raw)
				}
				items := f.outboxItems(outbox.KindStatus)
				if s.code != "" {
					var e ErrorBody
					decodeInto(t, raw, &e)
					if e.Code != s.code || e.Field != s.field {
						t.Errorf("step %d (%s): %+v, want %s field %q", i, s.action, e, s.code, s.field)
					}
					if len(items) != want {
						t.Errorf("step %d (%s): a refused action queued a status", i, s.action)
					}
					if i == 0 {
						if it, err := inbox.Get(context.Background(), f.db, id); err != nil || it.State != inbox.Received || it.RegURI != nil || it.RegNumber != "" {
							t.Errorf("step %d (%s): a refused action changed the document: %+v %v", i, s.action, it, err)
						}
					}
					continue
				}
				want++
				var got ReceivedDocument
				decodeInto(t, raw, &got)
				if got.ID != id || inbox.State(got.State).DocStatus() != s.doc {
					t.Errorf("step %d: document %+v", i, got)
				}
				if len(items) != want {
					t.Fatalf("step %d: %d status items queued, want %d", i, len(items), want)
				}
				it := items[len(items)-1]
				r := it.Request.Status
				if it.RecipientGUID != peer.GUID || it.InboxID != id || it.DocumentGUID != doc.ID.GUID || r == nil || r.Status != s.doc ||
					r.DocID.GUID != doc.ID.GUID || it.State != outbox.Queued {
					t.Fatalf("step %d: queued %+v %+v", i, it, r)
				}
				if s.doc == seos.StatusRejected && (r.RejectionReason == nil || *r.RejectionReason == "" || got.RejectionReason == "") {
					t.Errorf("step %d: rejection without its reason", i)
				}
				if s.doc != seos.StatusRejected && s.doc != seos.StatusRegistered && r.RejectionReason != nil {
					t.Errorf("step %d: %s carries a rejection reason", i, s.doc)
				}
				// Our number travels with every status after registration.
				if c.steps[0].body != nil && c.steps[0].action == "register" {
					switch {
					case r.DocID.Number != nil:
						if r.DocID.Number.Number != "94-00-12" || r.DocID.Number.Date != "2026-11-23" || got.Registration == nil || got.Registration.Number == nil {
							t.Errorf("step %d: our number %+v, view %+v", i, r.DocID.Number, got.Registration)
						}
						if r.ExpectCloseDate == nil || *r.ExpectCloseDate != "2026-12-23" {
							t.Errorf("step %d: expect close date %v", i, r.ExpectCloseDate)
						}
					case r.DocID.URI != nil:
						if r.DocID.URI.SequenceNumber == nil || *r.DocID.URI.SequenceNumber != "17" || got.Registration == nil || got.Registration.URI == nil {
							t.Errorf("step %d: our URI %+v", i, r.DocID.URI)
						}
					default:
						t.Errorf("step %d: %s without our registration", i, s.doc)
					}
				}
			}
		})
	}

	t.Run("unknown document", func(t *testing.T) {
		f := newFixture(t)
		for _, action := range []string{"register", "reject", "close", "stop"} {
			status, _, raw := f.do("POST", "/api/v1/inbox/77/"+action, map[string]any{})
			var e ErrorBody
			decodeInto(t, raw, &e)
			want := 404
			if action == "register" || action == "reject" {
				want = 400 // the body is checked first: {} lacks the number / reason
			}
			if status != want {
				t.Errorf("%s: %d %+v, want %d", action, status, e, want)
			}
		}
		status, _, _ := f.do("POST", "/api/v1/inbox/77/register", map[string]any{"number": map[string]any{"number": "1", "date": "2026-11-23"}})
		if status != 404 {
			t.Errorf("register unknown: %d", status)
		}
	})
}

func TestAPIParticipants(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"", []string{twinA.GUID, twinB.GUID, other.GUID, peer.GUID, self.GUID}},
		{"министерство", []string{peer.GUID}},
		{"000000099", []string{twinA.GUID, twinB.GUID}},
		{"00000003-0000-4000-8000-000000000003", []string{other.GUID}},
		{"неактивна", []string{inactive.GUID}},
		{"няма такъв", nil},
	} {
		status, _, raw := f.do("GET", "/api/v1/participants?q="+url.QueryEscape(c.q), nil)
		var l ParticipantList
		decodeInto(t, raw, &l)
		var got []string
		for _, p := range l.Participants {
			got = append(got, p.GUID)
		}
		if status != 200 || l.Participants == nil || strings.Join(sorted(got), ",") != strings.Join(sorted(c.want), ",") {
			t.Errorf("q=%q: %d %v, want %v", c.q, status, got, c.want)
		}
	}
	status, _, raw := f.do("GET", "/api/v1/participants?q="+strings.Repeat("a", 201), nil)
	var e ErrorBody
	decodeInto(t, raw, &e)
	if status != 400 || e.Field != "q" {
		t.Errorf("long q: %d %+v", status, e)
	}
}

func TestAPIRouting(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		method, path, code, allow string
		status                    int
	}{
		{"GET", "/api/v1/nothing", "not_found", "", 404},
		{"GET", "/", "not_found", "", 404},
		{"DELETE", "/api/v1/documents/1", "method_not_allowed", "GET", 405},
		{"PUT", "/api/v1/documents", "method_not_allowed", "GET, POST", 405},
		{"GET", "/api/v1/documents/1/retry", "method_not_allowed", "POST", 405},
		{"PUT", "/api/v1/inbox/1/register", "method_not_allowed", "POST", 405},
	} {
		status, hdr, raw := f.do(c.method, c.path, nil)
		var e ErrorBody
		decodeInto(t, raw, &e)
		if status != c.status || e.Code != c.code || hdr.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %+v Allow %q", c.method, c.path, status, e, hdr.Get("Allow"))
		}
	}
	status, hdr, raw := f.do("GET", "/api/v1/openapi.yaml", nil)
	if status != 200 || string(raw) != string(OpenAPI) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/yaml") {
		t.Errorf("openapi.yaml: %d %q", status, hdr.Get("Content-Type"))
	}
}

func TestAPIInternalErrorsSayNothing(t *testing.T) {
	f := newFixture(t)
	f.db.Close()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/documents/1", nil},
		{"POST", "/api/v1/documents", letter()},
		{"GET", "/api/v1/inbox", nil},
		{"GET", "/api/v1/participants", nil},
	} {
		status, _, raw := f.do(c.method, c.path, c.body)
		var e ErrorBody
		decodeInto(t, raw, &e)
		if status != 500 || e.Code != "internal" || strings.Contains(strings.ToLower(e.Message), "sql") || !strings.Contains(e.Message, "ref ") {
			t.Errorf("%s %s: %d %+v", c.method, c.path, status, e)
		}
		ref := e.Message[strings.LastIndex(e.Message, " ")+1:]
		if !strings.Contains(f.logBuf.String(), ref) {
			t.Errorf("ref %s not in the log", ref)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// endpoint.max_attachment_bytes holds for what the AIS sends too, and the
// API takes a request that carries such a file when it is larger than the
// API's own limit.
func TestAPIMaxAttachmentBytes(t *testing.T) {
	f := newFixture(t)
	f.svc.MaxAttachmentBytes = 1000
	send := func(n int) (int, []byte) {
		code, _, body := f.do("POST", "/api/v1/documents", fmt.Sprintf(`{"recipient":"%s","kind":"Писмо",
			"attachments":[{"fileName":"a.pdf","mimeType":"application/pdf","content":"%s"}]}`, peer.GUID, base64.StdEncoding.EncodeToString(make([]byte, n))))
		return code, body
	}
	if code, body := send(1001); code != 400 || !strings.Contains(string(body), `"field":"attachments[0].content"`) ||
		!strings.Contains(string(body), "endpoint.max_attachment_bytes") {
		t.Errorf("a file over the limit: %d %s", code, body)
	}
	if code, body := send(1000); code != 202 {
		t.Errorf("a file at the limit: %d %s", code, body)
	}

	// 100 MiB files: the API takes their base64 (133.3 MiB) and 8 MiB more.
	srv := httptest.NewServer(NewAPI(&Service{MaxAttachmentBytes: 100 << 20}, StaticToken(testToken), slog.New(slog.DiscardHandler), nil))
	defer srv.Close()
	post := func(length int64) (int, string) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
			testToken, length)
		conn.(*net.TCPConn).CloseWrite() // the body ends early: read, it is not valid JSON
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	limit := int64((100<<20+2)/3*4 + 8<<20)
	if code, body := post(limit + 1); code != 413 || !strings.Contains(body, "larger than 141 MiB") {
		t.Errorf("over the derived limit: %d %s", code, body)
	}
	if code, body := post(MaxRequestBytes + 1); code != 400 {
		t.Errorf("over 96 MiB, within the derived limit: %d %s (want the body read, and found short)", code, body)
	}
}
