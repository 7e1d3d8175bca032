package ais

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// withMail gives the fixture's service the e-mail channel: the real
// mailbox over the fixture's database, signing with a test certificate.
func (f *fixture) withMail() *mailbox.Mailbox {
	f.t.Helper()
	id := testkit.NewPKI(f.t, "mail signing CA", nil).Host(f.t, "marad.example")
	signer, err := smime.NewSigner(id, f.clk.Now)
	if err != nil {
		f.t.Fatal(err)
	}
	box, err := mailbox.New(mailbox.Options{DB: f.db, Input: mailinput.New(mailinput.Options{FromSubject: true, SpoolDir: f.t.TempDir()}),
		Composer:  &notice.Composer{Signer: signer, From: &mail.Address{Address: "ebma@marad.example"}, Now: f.clk.Now},
		Addresses: []string{"ebma@marad.example", "deloviodstvo@marad.example"}, Clock: f.clk})
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc.Mail = box
	return box
}

// TestAPIMail: a document that came by e-mail, and one sent to an
// address, as the API shows them (every answer checked against
// openapi.yaml); registering the mail queues its receipt.
func TestAPIMail(t *testing.T) {
	f := newFixture(t)
	if code, _, body := f.do("POST", "/api/v1/documents", `{"email":"ivan@example.bg","kind":"Писмо"}`); code != 400 || !strings.Contains(string(body), `"field":"email"`) ||
		!strings.Contains(string(body), "mail.enabled") {
		t.Errorf("by e-mail with the channel off: %d %s", code, body)
	}
	box := f.withMail()
	for _, c := range []struct{ body, want string }{
		{`{"email":"ivan@example.bg","recipient":"000000002","kind":"Писмо"}`, "not both"},
		{`{"email":"Иван <ivan@example.bg>","kind":"Писмо"}`, "bare e-mail address"},
		{`{"kind":"Писмо"}`, "or email"},
	} {
		if code, _, body := f.do("POST", "/api/v1/documents", c.body); code != 400 || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s", c.body, code, body)
		}
	}
	// Our own addresses would loop the document back into our inbox.
	for _, own := range []string{"ebma@marad.example", "Deloviodstvo@Marad.example"} {
		if code, _, body := f.do("POST", "/api/v1/documents", `{"email":"`+own+`","kind":"Писмо"}`); code != 422 ||
			!strings.Contains(string(body), `"code":"recipient_is_self"`) || !strings.Contains(string(body), "own official address") {
			t.Errorf("to our own %s: %d %s", own, code, body)
		}
	}
	if n := testkit.Count(t, f.db, `SELECT count(*) FROM mail_outbox`); n != 0 {
		t.Errorf("%d mails queued to our own address", n)
	}
	code, _, body := f.do("POST", "/api/v1/documents", `{"email":"ivan@example.bg","kind":"Писмо","about":"Отговор",
		"attachments":[{"fileName":"отговор.pdf","mimeType":"application/pdf","content":"JVBERi0xLjQK"}]}`)
	var q Queued
	decodeInto(t, body, &q)
	if code != 202 {
		t.Fatalf("send by e-mail: %d %s", code, body)
	}
	code, _, body = f.do("GET", q.Status, nil)
	var st Status
	decodeInto(t, body, &st)
	if code != 200 || st.State != "queued" || st.Email != "ivan@example.bg" || st.Recipient != "" || st.MessageID == "" || len(st.History) != 1 {
		t.Errorf("status: %d %s", code, body)
	}
	if f.queued.Load() != 0 {
		t.Error("the SEOS deliverer was woken for a mail")
	}

	raw := testkit.CRLF("From: Ivan <ivan@example.bg>\nTo: ebma@marad.example\nSubject: Zayavlenie\nMessage-Id: <7@example.bg>\n\nZhelaya potvarzhdavane.\n")
	err := box.Deliver(context.Background(), &intake.Received{Channel: intake.ChannelSMTP, ID: "smtp:1", From: "ivan@example.bg",
		ReceivedAt: f.clk.Now(), Size: int64(len(raw)), SHA256: sha256.Sum256(raw), Content: bytes.NewReader(raw)})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := f.db.QueryRow(`SELECT id FROM inbox WHERE channel = 'email'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := inbox.Apply(context.Background(), f.db, id, &inbox.Update{State: inbox.Received,
		Verdict: &acceptance.Verdict{Policy: "тест", Outcome: acceptance.Accept}}, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	code, _, body = f.do("GET", fmt.Sprintf("/api/v1/inbox/%d", id), nil)
	var doc ReceivedDocument
	decodeInto(t, body, &doc)
	if code != 200 || doc.Channel != "email" || doc.SenderEmail != "ivan@example.bg" || doc.Sender.Name != "Ivan" || doc.About != "Zayavlenie" ||
		!strings.Contains(doc.DocComment, "Zhelaya") || doc.MessageGUID != "" {
		t.Errorf("the mail in the inbox: %d %s", code, body)
	}
	if code, _, body := f.do("GET", "/api/v1/inbox", nil); code != 200 || !strings.Contains(string(body), `"channel":"email"`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _, body := f.do("POST", fmt.Sprintf("/api/v1/inbox/%d/register", id), `{"number":{"number":"04-1","date":"2026-11-23"}}`); code != 202 {
		t.Fatalf("register: %d %s", code, body)
	}
	if n := testkit.Count(t, f.db, `SELECT count(*) FROM mail_outbox WHERE kind = 'receipt' AND ref = ?`, fmt.Sprintf("inbox:%d", id)); n != 1 {
		t.Errorf("%d receipts queued", n)
	}
	if n := testkit.Count(t, f.db, `SELECT count(*) FROM outbox WHERE kind = 'status'`); n != 0 || f.queued.Load() != 0 {
		t.Errorf("a SEOS status queued for a mail: %d", n)
	}
}

// A document sent to an address carries its files whole, however large:
// the API lifts large contents out of the JSON, and the mail still gets
// every byte.
func TestAPIMailLargeAttachment(t *testing.T) {
	f := newFixture(t)
	f.withMail()
	pdf := bytes.Repeat([]byte("%PDF голям файл "), 20000) // 420 KB: lifted out of the JSON
	code, _, body := f.do("POST", "/api/v1/documents", fmt.Sprintf(`{"email":"ivan@example.bg","kind":"Писмо",
		"attachments":[{"fileName":"голям.pdf","mimeType":"application/pdf","content":"%s"}]}`, base64.StdEncoding.EncodeToString(pdf)))
	var q Queued
	decodeInto(t, body, &q)
	if code != 202 {
		t.Fatalf("send by e-mail: %d %s", code, body)
	}
	var mailID int64
	if err := f.db.QueryRow(`SELECT mail_id FROM outbox WHERE id = ?`, q.ID).Scan(&mailID); err != nil {
		t.Fatal(err)
	}
	it, err := mailq.Get(context.Background(), f.db, mailID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mailmsg.Parse(bytes.NewReader(it.Body), int64(len(it.Body)), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "голям.pdf" {
		t.Fatalf("attachments of the mail: %+v", m.Attachments)
	}
	var got bytes.Buffer
	if _, err := m.Attachments[0].WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), pdf) {
		t.Errorf("the mail's file: %d bytes, want %d (%v)", got.Len(), len(pdf), err)
	}
}

// TestAPIMailRetryCancel: documents sent by e-mail are listed in their
// mail's state, and retried or cancelled like SEOS documents: the mail
// queue's sender against a real submission server refusing, then taking.
func TestAPIMailRetryCancel(t *testing.T) {
	f := newFixture(t)
	f.withMail()
	sub := testkit.StartSubmission(t, false)
	var refuse atomic.Bool
	refuse.Store(true)
	sub.OnRcpt = func(int) error {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	sender, err := mailq.NewSender(f.db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gw.test", Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	post := func(to string) int64 {
		t.Helper()
		code, _, body := f.do("POST", "/api/v1/documents", `{"email":"`+to+`","kind":"Писмо"}`)
		var q Queued
		decodeInto(t, body, &q)
		if code != 202 {
			t.Fatalf("send to %s: %d %s", to, code, body)
		}
		return q.ID
	}
	list := func(state string) map[int64]DocumentSummary {
		t.Helper()
		code, _, body := f.do("GET", "/api/v1/documents?state="+state, nil)
		var l DocumentList
		decodeInto(t, body, &l)
		if code != 200 {
			t.Fatalf("list %s: %d %s", state, code, body)
		}
		out := map[int64]DocumentSummary{}
		for _, d := range l.Items {
			out[d.ID] = d
		}
		return out
	}
	ivan, maria := post("ivan@example.bg"), post("maria@example.bg")
	if q := list("queued"); len(q) != 2 || q[ivan].Email != "ivan@example.bg" || q[ivan].Recipient != "" {
		t.Errorf("queued: %+v", q)
	}
	if _, err := sender.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := list("failed")
	if len(failed) != 2 || failed[maria].State != "failed" || !strings.Contains(failed[maria].Error, "550") {
		t.Fatalf("failed after a 550: %+v", failed)
	}
	if w := list("waiting_registration"); len(w) != 0 {
		t.Errorf("documents by e-mail listed as waiting for registration: %+v", w)
	}

	f.clk.Advance(time.Hour)
	code, _, body := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/retry", ivan), `{"note":"адресът е поправен"}`)
	var st Status
	decodeInto(t, body, &st)
	if code != 202 || st.State != "queued" || st.Attempts != 0 || !hasEvent(st.History, "manual_retry", "адресът е поправен") {
		t.Errorf("retry: %d %s", code, body)
	}
	if code, _, body := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", maria), ""); code != 200 || !strings.Contains(string(body), `"state":"cancelled"`) {
		t.Errorf("cancel: %d %s", code, body)
	}
	if code, _, body := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/retry", maria), ""); code != 409 || !strings.Contains(string(body), "cancelled") {
		t.Errorf("retry of a cancelled one: %d %s", code, body)
	}

	refuse.Store(false)
	if n, err := sender.SendDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the retry %d sent (%v), want the retried one", n, err)
	}
	if got := sub.Got(); len(got) != 1 || got[0].To[0] != "ivan@example.bg" {
		t.Errorf("the submission server took %+v, want ivan's mail only (maria's was cancelled)", got)
	}
	if s := list("sent"); len(s) != 1 || s[ivan].State != "sent" {
		t.Errorf("sent: %+v", s)
	}
	if c := list("cancelled"); len(c) != 1 || c[maria].Email != "maria@example.bg" {
		t.Errorf("cancelled: %+v", c)
	}
	if code, _, body := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", ivan), ""); code != 409 || !strings.Contains(string(body), "took it already") {
		t.Errorf("cancel of a sent one: %d %s", code, body)
	}
}

func hasEvent(h []outbox.Event, event, detail string) bool {
	for _, e := range h {
		if e.Event == event && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}
