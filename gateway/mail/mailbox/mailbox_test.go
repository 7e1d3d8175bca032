package mailbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/judge"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/retention"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

const (
	official = "ebma@marad.example"
	sender   = "ivan@example.bg"
)

// world is the mail channel around a gateway database: the SMTP intake on
// loopback, the mailbox, the judge with the test rules and a real clamd,
// the mail queue's sender to a test submission server, and the AIS
// bridge the clerk registers and rejects through.
type world struct {
	t      *testing.T
	db     *sql.DB
	pki    *acceptancetest.PKI
	reg    *prometheus.Registry
	svc    *ais.Service
	sub    *testkit.Submission
	smtp   string
	author *acceptancetest.Cert
	files  *blob.Store // the file store beside the database
	// busy makes the submission server answer 451 at DATA, so a mail
	// waits in the queue; wake sends what is due.
	busy atomic.Bool
	wake func()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, db: testkit.DB(t), pki: acceptancetest.NewPKI(t), reg: prometheus.NewRegistry(), sub: testkit.StartSubmission(t, false)}
	w.sub.OnData = func(int) error {
		if w.busy.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
	quiet := slog.New(slog.DiscardHandler)
	w.author = w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров"})
	rules := acceptancetest.WriteRules(t, t.TempDir(), w.pki, acceptancetest.StartClamd(t), "10s", "Иван Петров")
	policy, err := acceptance.Load(rules, acceptance.WithRegistry(w.reg), acceptance.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	agency := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "ИАМА", OrgID: "NTRBG-000695089"})
	signer, err := smime.NewSigner(&pki.Identity{Cert: agency.Cert, Key: agency.Key, Chain: []*x509.Certificate{w.pki.Issuing.Cert}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if w.files, err = blob.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	box, err := mailbox.New(mailbox.Options{DB: w.db, Files: w.files, Input: mailinput.New(mailinput.Options{FromSubject: true, SpoolDir: t.TempDir(), Registry: w.reg}),
		Composer: &notice.Composer{Signer: signer, From: &mail.Address{Name: "ИАМА", Address: official}, Now: time.Now, Files: w.files}, Log: quiet, Registry: w.reg})
	if err != nil {
		t.Fatal(err)
	}
	sendq, err := mailq.NewSender(w.db, mailq.Options{Server: w.sub.Addr, TLS: mailq.TLSNone, HeloName: "gw.test", Poll: time.Hour, Logger: quiet, Registry: w.reg, Files: w.files})
	if err != nil {
		t.Fatal(err)
	}
	self := testkit.Participant(1, "000695089", "ИАМА")
	j := &judge.Judge{DB: w.db, Files: w.files, Policy: policy, Self: self.Node(), Clock: clock.System, Log: quiet, Workers: 2, Timeout: time.Minute, Poll: time.Hour, Mail: box}
	box.Queued, box.Arrived = sendq.Wake, j.Arrived
	w.wake = sendq.Wake
	w.svc = &ais.Service{DB: w.db, Files: w.files, Dir: testkit.Seed(t, w.db, nil, self), Policy: register.Policy{SelfGUID: self.GUID}, Self: self.Node(),
		Clock: clock.System, Log: quiet, Mail: box}
	in, err := intake.NewSMTPServer(intake.SMTPOptions{Listen: "127.0.0.1:0", Recipients: []string{official}, Logger: quiet, Registry: w.reg}, box)
	if err != nil {
		t.Fatal(err)
	}
	l, err := in.Listen()
	if err != nil {
		t.Fatal(err)
	}
	w.smtp = l.Addr().String()
	for _, run := range []func(context.Context) error{j.Run, sendq.Run, func(ctx context.Context) error { return in.RunOn(ctx, l) }} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("loop: %v", err)
			}
		})
	}
	return w
}

// letter is a mail entity: a text body and files, as a mail client writes it.
func letter(body string, files map[string][]byte) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n")
	b.WriteString(wrap(base64.StdEncoding.EncodeToString([]byte(body))))
	for name, content := range files {
		fmt.Fprintf(&b, "--b1\nContent-Type: application/octet-stream; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s", name, name,
			wrap(base64.StdEncoding.EncodeToString(content)))
	}
	b.WriteString("--b1--\n")
	return testkit.CRLF(b.String())
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return b.String() + s + "\n"
}

func header(subject string, extra ...string) string {
	h := []string{"From: " + mime.BEncoding.Encode("utf-8", "Иван Петров") + " <" + sender + ">", "To: " + official,
		"Subject: " + mime.BEncoding.Encode("utf-8", subject), fmt.Sprintf("Message-Id: <%d@example.bg>", time.Now().UnixNano())}
	return strings.Join(append(h, extra...), "\n")
}

// deliver sends a mail through the intake and waits for its verdict.
func (w *world) deliver(t *testing.T, raw []byte) *inbox.Item {
	t.Helper()
	if r := testkit.SendMail(t, w.smtp, sender, official, raw); !r.OK() || !strings.Contains(r.Stdout, "250") {
		t.Fatalf("swaks: %s %s", r.Stdout, r.Stderr)
	}
	var id int64
	if err := w.db.QueryRow(`SELECT id FROM inbox WHERE channel = 'email' ORDER BY id DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var it *inbox.Item
	testkit.Eventually(t, time.Minute, "a verdict", func() bool {
		var err error
		it, err = inbox.Get(context.Background(), w.db, id)
		return err == nil && it.State != inbox.Checking
	})
	return it
}

// answer is the signed mail about match the submission server got, with
// its first file.
func (w *world) answer(t *testing.T, match string) (*mailmsg.Mail, []byte) {
	t.Helper()
	m, _ := w.sub.Await(t, w.pki, match)
	if len(m.Attachments) == 0 {
		return m, nil
	}
	return m, testkit.AttachmentBytes(t, m, 0)
}

func (w *world) counter(name string, labels ...string) float64 {
	mfs, _ := w.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func (w *world) notices(id int64, kind string) int {
	return testkit.Count(w.t, w.db, `SELECT count(*) FROM mail_outbox WHERE kind = ? AND ref = ?`, kind, fmt.Sprintf("inbox:%d", id))
}

func check(v *acceptance.Verdict, rule string) *acceptance.Check {
	for i := range v.Checks {
		if v.Checks[i].Rule == rule {
			return &v.Checks[i]
		}
	}
	return nil
}

// TestMailThroughTheInbox: mail sent by swaks to the intake becomes a
// document of the inbox's e-mail channel, is judged by the acceptance
// policy from the mail itself (its S/MIME signature included), and its
// registration or refusal answers the sender by signed mail that openssl
// verifies.
func TestMailThroughTheInbox(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	letterPDF := pdf.Simple("Letter to the agency")

	t.Run("a signed PDF is registered and answered with the receipt", func(t *testing.T) {
		raw := testkit.SignMail(t, w.pki, w.author, header("Писмо"), letter("Желая потвърждаване за получаването.", map[string][]byte{"pismo.pdf": letterPDF}), testkit.SMIME{})
		it := w.deliver(t, raw)
		if it.State != inbox.Received || it.Verdict.Outcome != acceptance.Accept || it.Channel != inbox.ChannelEmail || it.SenderEmail != sender ||
			it.Sender.AdministrativeBodyName != "Иван Петров" || it.Document.Kind != "Писмо" || len(it.Attachments) != 1 || it.Attachments[0].FileName != "pismo.pdf" {
			t.Fatalf("stored and judged as %+v, verdict %s", it, it.Verdict.Summary())
		}
		if c := check(it.Verdict, "signature.integrity"); c == nil || c.Status != acceptance.Pass {
			t.Errorf("the S/MIME signature as the document's: %+v", c)
		}
		if _, body, _ := inbox.AttachmentContent(ctx, w.db, nil, it.ID, 1); !bytes.Equal(body, letterPDF) {
			t.Error("the PDF is not the one sent")
		}
		if e, err := (&msglog.Log{DB: w.db}).Get(ctx, it.LogID); err != nil || !bytes.Equal(e.Raw, raw) || e.MessageType != "email" || e.PeerGUID != sender {
			t.Fatalf("the message log does not keep the .eml byte for byte: %v (%d bytes, sent %d)", err, len(e.Raw), len(raw))
		}
		if err := w.svc.Register(ctx, it.ID, &ais.Registration{Number: &ais.Number{Number: "04-00-17", Date: "2026-11-24"}}); err != nil {
			t.Fatal(err)
		}
		m, att := w.answer(t, "04-00-17")
		for _, want := range []string{"Потвърждаваме получаването", "рег. № 04-00-17 от 24.11.2026", "Potvarzhdavame poluchavaneto", "reg. № 04-00-17 ot 24.11.2026"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the receipt lacks %q:\n%s", want, m.Text)
			}
		}
		if !bytes.Equal(att, raw) || m.To[0].Address != sender || m.From.Address != official {
			t.Errorf("the receipt goes to %v from %v with %d bytes attached (the mail had %d)", m.To, m.From, len(att), len(raw))
		}

		// The MTA lost our 250 and sends the same bytes again.
		if r := testkit.SendMail(t, w.smtp, sender, official, raw); !r.OK() {
			t.Fatalf("swaks: %s", r.Stdout)
		}
		if n := testkit.Count(t, w.db, `SELECT count(*) FROM inbox WHERE channel = 'email'`); n != 1 || w.counter("seosgw_mail_inbox_total", "duplicate") != 1 {
			t.Errorf("a re-delivery stored again: %d documents", n)
		}
	})

	t.Run("a large mail: its files and its .eml in the file store, not in rows", func(t *testing.T) {
		big := pdf.Simple(strings.Repeat("Приложение към писмото. ", 12000)) // ≈300 KB: over both inline limits
		raw := testkit.SignMail(t, w.pki, w.author, header("Писмо с голямо приложение"), letter("Желая потвърждаване.", map[string][]byte{"golyamo.pdf": big}), testkit.SMIME{})
		it := w.deliver(t, raw)
		if it.State != inbox.Received || it.Verdict.Outcome != acceptance.Accept {
			t.Fatalf("judged as %s: %s", it.State, it.Verdict.Summary())
		}
		var file string
		var inRow int
		if err := w.db.QueryRow(`SELECT file, length(content) FROM inbox_attachments WHERE inbox_id = ?`, it.ID).Scan(&file, &inRow); err != nil || file == "" || inRow != 0 {
			t.Fatalf("the attachment row holds %d bytes, file %q (%v); want none, in a file", inRow, file, err)
		}
		if _, body, err := inbox.AttachmentContent(ctx, w.db, w.files, it.ID, 1); err != nil || !bytes.Equal(body, big) {
			t.Errorf("the PDF read from the file store: %d bytes (%v), sent %d", len(body), err, len(big))
		}
		l := &msglog.Log{DB: w.db, Files: w.files}
		e, err := l.Get(ctx, it.LogID)
		if err != nil || e.RawFile == "" || len(e.Raw) != 0 {
			t.Fatalf("the .eml: file %q, %d bytes in the row (%v)", e.RawFile, len(e.Raw), err)
		}
		rc, err := l.OpenRaw(e)
		if err != nil {
			t.Fatal(err)
		}
		kept, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(kept, raw) {
			t.Errorf("the .eml in the file store is not the mail byte for byte (%d bytes, sent %d)", len(kept), len(raw))
		}
		if err := w.svc.Register(ctx, it.ID, &ais.Registration{Number: &ais.Number{Number: "04-00-99", Date: "2026-11-24"}}); err != nil {
			t.Fatal(err)
		}
		if _, att := w.answer(t, "04-00-99"); !bytes.Equal(att, raw) {
			t.Errorf("the receipt attaches %d bytes; the mail had %d", len(att), len(raw))
		}
	})

	refused := []struct {
		name, subject string
		raw           func(t *testing.T) []byte
		rule, bg, lat string
	}{
		{"an unsigned PDF", "Писмо без подпис", func(t *testing.T) []byte {
			return testkit.CRLF(header("Писмо без подпис") + "\n" + string(letter("Писмо.", map[string][]byte{"pismo.pdf": letterPDF})))
		}, "signature.presence", "Отказ от регистрация: pismo.pdf:", "Otkaz ot registratsia: pismo.pdf:"},
		{"an infected file", "Писмо с вирус", func(t *testing.T) []byte {
			return testkit.SignMail(t, w.pki, w.author, header("Писмо с вирус"), letter("Писмо.", map[string][]byte{"pismo.txt": []byte(acceptancetest.EICAR)}), testkit.SMIME{})
		}, "virus", "файлът съдържа вирус", "faylat sadarzha virus"},
		{"an encrypted mail", "Криптирано писмо", func(t *testing.T) []byte {
			return testkit.EncryptMail(t, w.author, header("Криптирано писмо"), letter("Писмо.", map[string][]byte{"pismo.pdf": letterPDF}))
		}, "mail.encrypted", "Съобщението е криптирано", "Saobshtenieto e kriptirano"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is refused in Cyrillic and Latin", func(t *testing.T) {
			raw := tc.raw(t)
			it := w.deliver(t, raw)
			if c := check(it.Verdict, tc.rule); it.State != inbox.Rejected || c == nil || c.Status != acceptance.Fail {
				t.Fatalf("judged %s: %s", it.State, it.Verdict.Summary())
			}
			got, att := w.answer(t, tc.subject)
			if !bytes.Equal(att, raw) {
				t.Errorf("the refused mail is not attached byte for byte")
			}
			if !strings.Contains(got.Text, tc.bg) || !strings.Contains(got.Text, tc.lat) || !strings.Contains(got.Subject, "Отказ от регистрация / Otkaz ot registratsia") {
				t.Errorf("the refusal says %q:\n%s", got.Subject, got.Text)
			}
		})
	}

	t.Run("a held mail rejected by the clerk is refused with the clerk's reason", func(t *testing.T) {
		raw := testkit.SignMail(t, w.pki, w.author, header(""), letter("Здравейте.", map[string][]byte{"pismo.pdf": letterPDF}), testkit.SMIME{})
		it := w.deliver(t, raw)
		if it.State != inbox.Received || !it.NeedsReview || check(it.Verdict, "kind").Status != acceptance.Unknown {
			t.Fatalf("a mail without a subject: %s %s", it.State, it.Verdict.Summary())
		}
		if err := w.svc.Reject(ctx, it.ID, "Писмото не е по компетентност на агенцията."); err != nil {
			t.Fatal(err)
		}
		m, _ := w.answer(t, "Писмото не е по компетентност на агенцията.")
		if !strings.Contains(m.Text, "Писмото не е по компетентност на агенцията.") {
			t.Errorf("refusal:\n%s", m.Text)
		}
	})

	t.Run("no receipt when declined, no refusal to a program", func(t *testing.T) {
		raw := testkit.SignMail(t, w.pki, w.author, header("Писмо"), letter("Не желая потвърждаване за получаването.", map[string][]byte{"pismo.pdf": letterPDF}), testkit.SMIME{})
		it := w.deliver(t, raw)
		if err := w.svc.Register(ctx, it.ID, &ais.Registration{Number: &ais.Number{Number: "04-00-18", Date: "2026-11-24"}}); err != nil {
			t.Fatal(err)
		}
		if w.notices(it.ID, notice.KindReceipt) != 0 || w.counter("seosgw_mail_notices_total", "receipt", "declined") != 1 {
			t.Error("a receipt the sender declined was queued")
		}
		bounce := testkit.CRLF(header("Автоматичен отговор", "Auto-Submitted: auto-replied") + "\n" + string(letter("Отсъствам до понеделник.", map[string][]byte{"pismo.pdf": letterPDF})))
		it = w.deliver(t, bounce)
		if it.State != inbox.Rejected || w.notices(it.ID, notice.KindRefusal) != 0 || w.counter("seosgw_mail_notices_total", "refusal", "auto_submitted") != 1 {
			t.Errorf("an automatic mail: %s, %d refusals queued", it.State, w.notices(it.ID, notice.KindRefusal))
		}
	})

	t.Run("the AIS sends a document by e-mail", func(t *testing.T) {
		q := &ais.Outgoing{Email: "Maria@Example.BG", Kind: "Писмо", Number: &ais.Number{Number: "ИЗХ-5", Date: "2026-11-25"}, About: "Отговор на запитване",
			Attachments: []ais.Attachment{{FileName: "отговор.pdf", MIMEType: "application/pdf", Content: base64.StdEncoding.EncodeToString(letterPDF)}}}
		id, guid, created, err := w.svc.Send(ctx, q, "api:k1")
		if err != nil || !created {
			t.Fatal(err)
		}
		m, att := w.answer(t, "ИЗХ-5")
		if !bytes.Equal(att, letterPDF) || m.AttachmentName(0) != "отговор.pdf" || !strings.Contains(m.Subject, "Писмо № ИЗХ-5 / 2026-11-25: Отговор на запитване") {
			t.Errorf("the document arrived as %q with %s (%d bytes)", m.Subject, m.AttachmentName(0), len(att))
		}
		testkit.Eventually(t, time.Minute, "sent", func() bool {
			st, err := w.svc.Document(ctx, id)
			return err == nil && st.State == "sent" && st.Email == "Maria@Example.BG" && st.DocumentGUID == guid && st.Recipient == "" && st.MessageID != ""
		})
		if again, _, created, err := w.svc.Send(ctx, q, "api:k1"); err != nil || created || again != id {
			t.Errorf("a repeat was sent again: %d %v %v", again, created, err)
		}
		// A large file: into the file store, streamed from there into the
		// signed mail, itself kept in the file store (the queue and the
		// document's outbox row name it, so a sweep leaves it) and
		// streamed to the submission server.
		big := bytes.Repeat([]byte("%PDF голям файл за изпращане "), 20000) // ≈ 640 KB
		q = &ais.Outgoing{Email: "petar@example.bg", Kind: "Писмо", Number: &ais.Number{Number: "ИЗХ-6", Date: "2026-11-25"},
			Attachments: []ais.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf", Content: base64.StdEncoding.EncodeToString(big)}}}
		id, _, _, err = w.svc.Send(ctx, q, "")
		if err != nil {
			t.Fatal(err)
		}
		var bodyFile, outboxFiles string
		var inRow int
		if err := w.db.QueryRow(`SELECT m.body_file, length(m.body), o.files FROM outbox o JOIN mail_outbox m ON m.id = o.mail_id WHERE o.id = ?`, id).Scan(&bodyFile, &inRow, &outboxFiles); err != nil {
			t.Fatal(err)
		}
		if bodyFile == "" || inRow != 0 || !strings.Contains(outboxFiles, bodyFile) {
			t.Fatalf("the large mail: file %q, %d bytes in its row, outbox files %q", bodyFile, inRow, outboxFiles)
		}
		if _, _, err := (&retention.Files{DB: w.db, Store: w.files, Log: slog.New(slog.DiscardHandler)}).Sweep(ctx, 0); err != nil {
			t.Fatal(err)
		}
		m, att = w.answer(t, "ИЗХ-6")
		if !bytes.Equal(att, big) || m.AttachmentName(0) != "голям.pdf" {
			t.Errorf("the large document arrived with %s (%d bytes, sent %d)", m.AttachmentName(0), len(att), len(big))
		}

		for _, bad := range []*ais.Outgoing{{Email: "not an address", Kind: "Писмо"}, {Email: sender, Recipient: "000000002", Kind: "Писмо"}, {Email: "A <a@b.bg>", Kind: "Писмо"}} {
			if _, _, _, err := w.svc.Send(ctx, bad, ""); err == nil || !strings.Contains(err.Error(), "email") {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})

	if v := w.counter("seosgw_mail_verdicts_total", "reject"); v != 4 {
		t.Errorf("%v rejects counted", v)
	}
	if problems, err := testutil.GatherAndLint(w.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
}

// TestLargeReceiptInFileStore: a 2 MiB received mail is answered with its
// receipt, the mail attached, composed straight into the file store: the
// queue's row holds no body bytes and names the file, a sweep leaves the
// file while the mail waits to be sent, and message_log_retention's pass
// after it was sent removes it.
func TestLargeReceiptInFileStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	big := pdf.Simple(strings.Repeat("Голямо приложение към писмото. ", 50000)) // ≈2 MiB
	raw := testkit.SignMail(t, w.pki, w.author, header("Писмо с голямо приложение"), letter("Желая потвърждаване.", map[string][]byte{"golyamo.pdf": big}), testkit.SMIME{})
	if len(raw) < 2<<20 {
		t.Fatalf("the mail is %d bytes, want at least 2 MiB", len(raw))
	}
	it := w.deliver(t, raw)
	if it.State != inbox.Received || it.Verdict.Outcome != acceptance.Accept {
		t.Fatalf("judged as %s: %s", it.State, it.Verdict.Summary())
	}
	w.busy.Store(true)
	if err := w.svc.Register(ctx, it.ID, &ais.Registration{Number: &ais.Number{Number: "04-02-01", Date: "2026-12-01"}}); err != nil {
		t.Fatal(err)
	}
	var id int64
	var bodyFile string
	var inRow int
	if err := w.db.QueryRow(`SELECT id, body_file, length(body) FROM mail_outbox WHERE kind = ? AND ref = ?`, notice.KindReceipt, fmt.Sprintf("inbox:%d", it.ID)).Scan(&id, &bodyFile, &inRow); err != nil {
		t.Fatal(err)
	}
	if bodyFile == "" || inRow != 0 {
		t.Fatalf("the receipt: file %q, %d bytes in its row; want none, in a file", bodyFile, inRow)
	}
	testkit.Eventually(t, time.Minute, "the server's 451", func() bool {
		m, err := mailq.Get(ctx, w.db, id)
		return err == nil && m.State == mailq.Queued && m.Attempts == 1
	})
	files := &retention.Files{DB: w.db, Store: w.files, Log: quiet}
	if _, _, err := files.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.files.Path(bodyFile)); err != nil {
		t.Fatalf("a sweep removed the waiting receipt's file: %v", err)
	}
	w.busy.Store(false)
	if _, err := mailq.Retry(ctx, w.db, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.wake()
	m, att := w.answer(t, "04-02-01")
	if !bytes.Equal(att, raw) || m.To[0].Address != sender {
		t.Fatalf("the receipt to %v attaches %d bytes; the mail had %d", m.To, len(att), len(raw))
	}
	testkit.Eventually(t, time.Minute, "sent", func() bool {
		m, err := mailq.Get(ctx, w.db, id)
		return err == nil && m.State == mailq.Sent
	})

	aged := time.Now().Add(-2 * retention.FileGrace) // written long before retention comes
	os.Chtimes(w.files.Path(bodyFile), aged, aged)
	keep := 24 * time.Hour
	p := &retention.Pruner{DB: w.db, Keep: keep, Clock: clock.NewManual(time.Now().Add(keep + time.Hour)), Log: quiet, Files: files}
	if got := p.Prune(ctx); got[retention.SentMailBodies] < 1 || got[retention.FileStore] < 1 {
		t.Fatalf("pruned %v, want the receipt's body and its file", got)
	}
	if _, err := os.Stat(w.files.Path(bodyFile)); !os.IsNotExist(err) {
		t.Errorf("the sent receipt's file is still on disk after retention: %v", err)
	}
	if m, err := mailq.Get(ctx, w.db, id); err != nil || m.BodyFile != "" || len(m.Body) != 0 || m.State != mailq.Sent {
		t.Errorf("the receipt's row after retention: %+v %v", m, err)
	}
}

// FuzzDeliver: whatever bytes arrive are stored — one document per
// distinct mail, the bytes kept as they came — never refused for the
// sender's malformation and never a failure of ours.
func FuzzDeliver(f *testing.F) {
	f.Add(testkit.CRLF("From: a@example.bg\nSubject: x\n\nbody\n"))
	f.Add(testkit.CRLF("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n!!!not base64\n--b--\n"))
	f.Add(testkit.CRLF("Content-Type: multipart/mixed\n\nno boundary\n"))
	f.Add(testkit.CRLF("Content-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n"))
	f.Add([]byte{})
	db := testkit.DB(f)
	id := testkit.NewPKI(f, "fuzz CA", nil).Host(f, "marad.example")
	signer, err := smime.NewSigner(id, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	box, err := mailbox.New(mailbox.Options{DB: db, Input: mailinput.New(mailinput.Options{FromSubject: true, SpoolDir: f.TempDir()}),
		Composer: &notice.Composer{Signer: signer, From: &mail.Address{Address: official}, Now: time.Now}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	f.Fuzz(func(t *testing.T, raw []byte) {
		n++
		sum := sha256.Sum256(raw)
		before := testkit.Count(t, db, `SELECT count(*) FROM inbox`)
		seen := testkit.Count(t, db, `SELECT count(*) FROM inbound_mail WHERE sha256 = ?`, fmt.Sprintf("%x", sum))
		err := box.Deliver(context.Background(), &intake.Received{Channel: intake.ChannelSMTP, ID: fmt.Sprintf("smtp:%d", n), From: sender,
			ReceivedAt: time.Now(), Size: int64(len(raw)), SHA256: sum, Content: bytes.NewReader(raw)})
		if err != nil {
			t.Fatalf("not stored: %v", err)
		}
		after := testkit.Count(t, db, `SELECT count(*) FROM inbox`)
		if after != before+1-min(seen, 1) {
			t.Fatalf("%d documents before, %d after (seen before: %d)", before, after, seen)
		}
		var kept []byte
		if err := db.QueryRow(`SELECT l.raw FROM inbound_mail m JOIN inbox i ON i.id = m.inbox_id JOIN message_log l ON l.id = i.log_id WHERE m.sha256 = ?`,
			fmt.Sprintf("%x", sum)).Scan(&kept); err != nil || !bytes.Equal(kept, raw) {
			t.Fatalf("the mail is not kept as it came: %v", err)
		}
	})
}
