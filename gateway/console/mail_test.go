package console

import (
	"context"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestEmailDocumentRetryAndCancel: a document sent by e-mail that a real
// SMTP server refused shows its mail's state, an operator retries it from
// the console and it goes; another is cancelled; a sent one offers nothing.
func TestEmailDocumentRetryAndCancel(t *testing.T) {
	f := newFixture(t)
	id := testkit.NewPKI(t, "mail signing CA", nil).Host(t, "marad.example")
	signer, err := smime.NewSigner(id, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	box, err := mailbox.New(mailbox.Options{DB: f.db, Input: mailinput.New(mailinput.Options{FromSubject: true, SpoolDir: t.TempDir()}),
		Composer:  &notice.Composer{Signer: signer, From: &mail.Address{Address: "ebma@marad.example"}, Now: f.clk.Now},
		Addresses: []string{"ebma@marad.example"}, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Mail = box
	sub := testkit.StartSubmission(t, false)
	refuse := true
	sub.OnRcpt = func(int) error {
		if refuse {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	sender, err := mailq.NewSender(f.db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gw.test", Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	send := func(to string) int64 {
		t.Helper()
		id, _, _, err := f.svc.Send(context.Background(), &ais.Outgoing{Email: to, Kind: "Писмо", About: "по имейл"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ivan, maria := send("ivan@example.bg"), send("maria@example.bg")
	if _, err := sender.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	operator := f.client()
	_, csrf := operator.login("ivan", operatorPassword)
	page := func(id int64) string {
		_, _, p := operator.do("GET", "/outbox/"+strconv.FormatInt(id, 10), nil)
		return p
	}
	if p := page(ivan); !strings.Contains(p, "ivan@example.bg") || !strings.Contains(p, `id="retry"`) || !strings.Contains(p, `id="cancel"`) {
		t.Fatalf("a failed e-mail document offers no retry and cancel:\n%s", p)
	}
	refuse = false
	f.clk.Advance(time.Hour)
	_, csrf = operator.login("ivan", operatorPassword) // the session has idled out meanwhile
	if status, _, body := operator.do("POST", "/outbox/"+strconv.FormatInt(ivan, 10)+"/retry", url.Values{"csrf": {csrf}}); status != 303 {
		t.Fatalf("retry: %d\n%s", status, body)
	}
	if st, _ := f.svc.Document(context.Background(), ivan); st.State != "queued" {
		t.Fatalf("after the retry: %s", st.State)
	}
	if status, _, body := operator.do("POST", "/outbox/"+strconv.FormatInt(maria, 10)+"/cancel", url.Values{"csrf": {csrf}}); status != 303 {
		t.Fatalf("cancel: %d\n%s", status, body)
	}
	if _, err := sender.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.Document(context.Background(), ivan); st.State != "sent" {
		t.Fatalf("the retried mail: %s", st.State)
	}
	if st, _ := f.svc.Document(context.Background(), maria); st.State != "cancelled" {
		t.Fatalf("the cancelled mail: %s", st.State)
	}
	if p := page(ivan); strings.Contains(p, `id="retry"`) || strings.Contains(p, `id="cancel"`) {
		t.Errorf("a sent mail offers buttons:\n%s", p)
	}
	if rows := auditRows(t, f); strings.Join(rows, "\n") != "ivan operator outbox.retry outbox/"+strconv.FormatInt(ivan, 10)+" ok\nivan operator outbox.cancel outbox/"+strconv.FormatInt(maria, 10)+" ok" {
		t.Errorf("audit: %q", rows)
	}
}
