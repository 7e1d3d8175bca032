package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/testkit"
)

const (
	officialAddr = "ebma@marad.example"
	citizenAddr  = "ivan@example.bg"
)

// mailNode is B of a policy exchange with the e-mail channel on: an SMTP
// intake on loopback for the official address, the organisation's
// submission server (go-smtp in the test: STARTTLS, AUTH PLAIN, checked
// against its CA file), and the agency's signing certificate from the test
// qualified provider. Ivan Petrov, a person, writes by mail; the rules let
// him sign.
type mailNode struct {
	*policyExchange
	smtp   string
	sub    *testkit.Submission
	author *acceptancetest.Cert
}

func newMailNode(t *testing.T) *mailNode {
	t.Helper()
	return newMailNodeWith(t, "")
}

// newMailNodeWith is newMailNode with more of the mail section (YAML
// lines under mail:, indented two spaces).
func newMailNodeWith(t *testing.T, more string) *mailNode {
	t.Helper()
	m := &mailNode{smtp: testkit.FreeAddr(t), sub: testkit.StartSubmission(t, true)}
	m.policyExchange = newPolicyExchangeWith(t, func(p *policyExchange) map[string]string {
		dir := t.TempDir()
		agency := p.pki.Issue(t, acceptancetest.SignerSpec{Name: "Изпълнителна агенция „Морска администрация“", OrgID: "NTRBG-000695089"})
		chain := filepath.Join(dir, "mail-signing.pem") // the certificate with its intermediate, as issued
		writeFile(t, chain, string(acceptancetest.Read(t, agency.CertPath))+string(acceptancetest.Read(t, p.pki.Issuing.CertPath)))
		password := filepath.Join(dir, "submission-password")
		if err := os.WriteFile(password, []byte(m.sub.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"MAIL": fmt.Sprintf(`mail:
  enabled: true
  addresses: [%s]
  name: "ИАМА"
  smtp: {listen: %q}
  submission: {server: %q, tls: starttls, ca: %q, username: %s, password_file: %q, retry_first: 1s, retry_max: 2s}
  signing: {cert: %q, key: %q}
%s`, officialAddr, m.smtp, m.sub.Addr, m.sub.CAFile, m.sub.User, password, chain, agency.KeyPath, more)}
	}, "Иван Петров")
	m.author = m.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров"})
	return m
}

func (m *mailNode) start() {
	m.b.start()
	m.b.node.WaitTCP(m.t, m.smtp)
}

// citizenMail is a mail from Ivan: a text body and files, its header
// above ("" subject: none).
func citizenMail(subject, body string, files map[string][]byte) (header string, entity []byte) {
	h := []string{"From: " + mime.BEncoding.Encode("utf-8", "Иван Петров") + " <" + citizenAddr + ">", "To: " + officialAddr,
		fmt.Sprintf("Message-Id: <%d.e2e@example.bg>", time.Now().UnixNano()), "Date: " + time.Now().Format(time.RFC1123Z)}
	if subject != "" {
		h = append(h, "Subject: "+mime.BEncoding.Encode("utf-8", subject))
	}
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=part\n\n--part\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n")
	b.WriteString(base64Lines([]byte(body)))
	for name, content := range files {
		fmt.Fprintf(&b, "--part\nContent-Type: application/pdf; name=%q\nContent-Disposition: attachment; filename=%q\nContent-Transfer-Encoding: base64\n\n%s",
			name, name, base64Lines(content))
	}
	b.WriteString("--part--\n")
	return strings.Join(h, "\n"), testkit.CRLF(b.String())
}

func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return out.String() + s + "\n"
}

// send hands a mail to B's intake with swaks, as the organisation's MTA
// does, and returns the inbox id it became, once judged (through B's AIS
// API: nil when the API does not show it, i.e. refused).
func (m *mailNode) send(raw []byte) int64 {
	m.t.Helper()
	if r := testkit.SendMail(m.t, m.smtp, citizenAddr, officialAddr, raw); !r.OK() || !strings.Contains(r.Stdout, "250") {
		m.t.Fatalf("swaks: %s %s", r.Stdout, r.Stderr)
	}
	bdb := testkit.OpenDB(m.t, m.b.db)
	var id int64
	testkit.Eventually(m.t, time.Minute, "the mail judged", func() bool {
		return bdb.QueryRow(`SELECT id FROM inbox WHERE channel = 'email' AND state <> 'checking' ORDER BY id DESC LIMIT 1`).Scan(&id) == nil &&
			testkit.Count(m.t, bdb, `SELECT count(*) FROM inbox WHERE state = 'checking'`) == 0
	})
	return id
}

// TestMailChannel: mail sent by swaks to a running `seosgw serve` goes
// through the acceptance policy (a real clamd, the provider's CRLs) into
// the inbox the AIS API shows; the clerk's registration brings the sender
// a signed receipt that openssl verifies; unsigned, infected and
// encrypted mail is refused by signed mail in Cyrillic and Latin; the AIS
// sends a document by e-mail and it arrives signed.
func TestMailChannel(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	m := newMailNode(t)
	m.start()
	letterPDF := pdf.Simple("Zayavlenie do agentsiyata")

	t.Run("a signed PDF by mail: inbox, registration, signed receipt", func(t *testing.T) {
		h, entity := citizenMail("Писмо", "Желая потвърждаване за получаването на изпратеното електронно изявление.", map[string][]byte{"заявление.pdf": letterPDF})
		raw := testkit.SignMail(t, m.pki, m.author, h, entity, testkit.SMIME{})
		id := m.send(raw)
		doc, code := m.received(id)
		if code != 200 || doc.Channel != "email" || doc.SenderEmail != citizenAddr || doc.Sender.Name != "Иван Петров" || doc.Kind != "Писмо" ||
			doc.Acceptance == nil || doc.Acceptance.Outcome != acceptance.Accept || len(doc.Attachments) != 1 || doc.Attachments[0].FileName != "заявление.pdf" {
			t.Fatalf("B's AIS sees %d %+v", code, doc)
		}
		if c := findCheck(doc.Acceptance, "signature.revocation"); c == nil || c.Status != acceptance.Pass {
			t.Errorf("the S/MIME signer's revocation, checked by CRL: %+v", c)
		}
		if code, body := aisGet(t, m.b.api, fmt.Sprintf("/api/v1/inbox/%d/attachments/1", id)); code != 200 || body != string(letterPDF) {
			t.Errorf("the PDF through the API: %d", code)
		}
		// The .eml byte for byte in the message log, as log show tells it.
		bdb := testkit.OpenDB(t, m.b.db)
		var logID int64
		var kept []byte
		if err := bdb.QueryRow(`SELECT l.id, l.raw FROM inbox i JOIN message_log l ON l.id = i.log_id WHERE i.id = ?`, id).Scan(&logID, &kept); err != nil || !bytes.Equal(kept, raw) {
			t.Fatalf("the message log does not hold the mail as received: %v", err)
		}
		if out, code := testkit.Run(t, "log", "show", "--config", m.b.cfg, strconv.FormatInt(logID, 10)); code != 0 || !strings.Contains(out, "type:            email") ||
			!strings.Contains(out, citizenAddr) || !strings.Contains(out, "acceptance:      accept") {
			t.Errorf("log show %d: exit %d\n%s", logID, code, out)
		}
		if out, code := testkit.Run(t, "log", "show", "--raw", "--config", m.b.cfg, strconv.FormatInt(logID, 10)); code != 0 || out != string(raw) {
			t.Errorf("log show --raw is not the .eml: exit %d", code)
		}

		if code, body := m.b.post(fmt.Sprintf("/api/v1/inbox/%d/register", id), `{"number":{"number":"04-00-17","date":"2026-11-24"}}`); code != 202 {
			t.Fatalf("register: HTTP %d %s", code, body)
		}
		receipt, _ := m.sub.Await(t, m.pki, "04-00-17")
		for _, want := range []string{"Потвърждаваме получаването на Вашия електронен документ на ", "рег. № 04-00-17 от 24.11.2026",
			"Potvarzhdavame poluchavaneto na Vashia elektronen dokument na ", "reg. № 04-00-17 ot 24.11.2026"} {
			if !strings.Contains(receipt.Text, want) {
				t.Errorf("the receipt lacks %q:\n%s", want, receipt.Text)
			}
		}
		if receipt.To[0].Address != citizenAddr || receipt.From.Address != officialAddr || !bytes.Equal(testkit.AttachmentBytes(t, receipt, 0), raw) {
			t.Errorf("the receipt goes from %v to %v, the received mail attached: %v", receipt.From, receipt.To, bytes.Equal(testkit.AttachmentBytes(t, receipt, 0), raw))
		}
		if doc, _ := m.received(id); doc.State != "registered" || !strings.Contains(doc.Receipt, "04-00-17") {
			t.Errorf("B's AIS sees %s, receipt %q", doc.State, doc.Receipt)
		}
	})

	for _, tc := range []struct {
		name, subject string
		raw           func(h string, entity []byte) []byte
		files         map[string][]byte
		rule, bg, lat string
	}{
		{"unsigned", "Писмо без подпис", func(h string, e []byte) []byte { return append(testkit.CRLF(h+"\n"), e...) },
			map[string][]byte{"pismo.pdf": letterPDF}, "signature.presence", "Отказ от регистрация: pismo.pdf:", "Otkaz ot registratsia: pismo.pdf:"},
		{"infected", "Писмо с вирус", func(h string, e []byte) []byte { return testkit.SignMail(t, m.pki, m.author, h, e, testkit.SMIME{}) },
			map[string][]byte{"pismo.pdf": letterPDF, "eicar.com": []byte(acceptancetest.EICAR)}, "virus", "файлът съдържа вирус", "faylat sadarzha virus"},
		{"encrypted", "Криптирано писмо", func(h string, e []byte) []byte { return testkit.EncryptMail(t, m.author, h, e) },
			map[string][]byte{"pismo.pdf": letterPDF}, "mail.encrypted", "Съобщението е криптирано", "Saobshtenieto e kriptirano"},
	} {
		t.Run(tc.name+" mail is refused in Cyrillic and Latin", func(t *testing.T) {
			h, entity := citizenMail(tc.subject, "Писмо до агенцията.", tc.files)
			raw := tc.raw(h, entity)
			id := m.send(raw)
			doc, _ := m.received(id)
			if doc.State != "rejected" || !refusedFor(doc.Acceptance, tc.rule) || !bilingual(doc.RejectionReason, tc.bg, tc.lat) {
				t.Fatalf("B judged %s: %q", doc.State, doc.RejectionReason)
			}
			refusal, _ := m.sub.Await(t, m.pki, tc.subject)
			if !strings.Contains(refusal.Subject, "Отказ от регистрация / Otkaz ot registratsia") || !strings.Contains(refusal.Text, tc.bg) ||
				!strings.Contains(refusal.Text, tc.lat) || !bytes.Equal(testkit.AttachmentBytes(t, refusal, 0), raw) {
				t.Errorf("the refusal %q says:\n%s", refusal.Subject, refusal.Text)
			}
		})
	}

	t.Run("the AIS sends a document by e-mail; it arrives signed", func(t *testing.T) {
		q, created, err := m.b.api.Send(context.Background(), &ais.Outgoing{Email: "maria@example.bg", Kind: "Писмо", About: "Отговор на заявление",
			Number: &ais.Number{Number: "ИЗХ-5", Date: "2026-11-25"}, Comment: "С уважение, деловодство",
			Attachments: []ais.Attachment{{FileName: "отговор.pdf", MIMEType: "application/pdf", Content: base64.StdEncoding.EncodeToString(letterPDF)}}}, "")
		if err != nil || !created {
			t.Fatal(err)
		}
		doc, _ := m.sub.Await(t, m.pki, "ИЗХ-5")
		if doc.To[0].Address != "maria@example.bg" || doc.AttachmentName(0) != "отговор.pdf" || !bytes.Equal(testkit.AttachmentBytes(t, doc, 0), letterPDF) ||
			!strings.Contains(doc.Text, "Отговор на заявление") {
			t.Errorf("the document arrived as %q to %v:\n%s", doc.Subject, doc.To, doc.Text)
		}
		st := m.b.waitFor(q.ID, time.Minute, state("sent"))
		if st.Email != "maria@example.bg" || st.MessageID == "" {
			t.Errorf("status %+v", st)
		}
		if out, code := testkit.Run(t, "status", "--config", m.b.cfg, strconv.FormatInt(q.ID, 10)); code != 0 || !strings.Contains(out, "maria@example.bg") || !strings.Contains(out, "sent") {
			t.Errorf("seosgw status: exit %d\n%s", code, out)
		}
	})

	t.Run("seosgw send and the spool folder take an address too", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "otgovor.pdf"), string(letterPDF))
		writeFile(t, filepath.Join(dir, "doc.json"), `{"email": "petar@example.bg", "kind": "Писмо", "about": "Изпратено със seosgw send",
			"attachments": [{"mimeType": "application/pdf", "file": "otgovor.pdf"}]}`)
		if out, code := testkit.Run(t, "send", "--config", m.b.cfg, filepath.Join(dir, "doc.json")); code != 0 {
			t.Fatalf("seosgw send: exit %d\n%s", code, out)
		}
		byCLI, _ := m.sub.Await(t, m.pki, "Изпратено със seosgw send")
		writeFile(t, filepath.Join(m.b.spool, "outbox", "reply.pdf"), string(letterPDF))
		writeFile(t, filepath.Join(m.b.spool, "outbox", "d1.json.tmp"), `{"email": "georgi@example.bg", "kind": "Писмо", "about": "Изпратено през папката",
			"attachments": [{"mimeType": "application/pdf", "file": "reply.pdf"}]}`)
		if err := os.Rename(filepath.Join(m.b.spool, "outbox", "d1.json.tmp"), filepath.Join(m.b.spool, "outbox", "d1.json")); err != nil {
			t.Fatal(err)
		}
		bySpool, _ := m.sub.Await(t, m.pki, "Изпратено през папката")
		for who, d := range map[string]*mailmsg.Mail{"petar@example.bg": byCLI, "georgi@example.bg": bySpool} {
			if d.To[0].Address != who || !bytes.Equal(testkit.AttachmentBytes(t, d, 0), letterPDF) {
				t.Errorf("to %s: %v, %s", who, d.To, d.AttachmentName(0))
			}
		}
	})

	metrics := getText(t, "http://"+m.b.ops+"/metrics")
	for _, want := range []string{`seosgw_mail_inbox_total{result="stored"} 4`, `seosgw_mail_verdicts_total{outcome="reject"} 3`,
		`seosgw_mail_notices_total{kind="receipt",result="queued"} 1`, `seosgw_mail_notices_total{kind="refusal",result="queued"} 3`,
		`seosgw_mail_received_total{channel="smtp",result="delivered"} 4`, `seosgw_mail_submission_up 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("B's metrics lack %s:\n%s", want, grepLines(metrics, "seosgw_mail_"))
		}
	}
	testkit.Eventually(t, time.Minute, "the queue empty", func() bool {
		return strings.Contains(getText(t, "http://"+m.b.ops+"/metrics"), `seosgw_mail_outbox_messages{state="queued"} 0`)
	})
	if r := getText(t, "http://"+m.b.ops+"/readyz"); !strings.Contains(r, "ok   mail_intake") || !strings.Contains(r, "ok   mail_submission") {
		t.Errorf("readiness: %s", r)
	}
}

// TestMailByIMAP: the official mailbox in a real IMAP server (dovecot) is
// polled by the running node: a mail the delivery agent put there becomes
// a judged document and is flagged taken; a second copy of the same mail
// is the same document.
func TestMailByIMAP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	d := testkit.StartDovecot(t)
	password := filepath.Join(t.TempDir(), "imap-password")
	if err := os.WriteFile(password, []byte(d.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMailNodeWith(t, fmt.Sprintf("  imap: {server: %q, tls: implicit, ca: %q, username: %s, password_file: %q, interval: 200ms}",
		d.Addr, d.CAFile, d.User, password))
	h, entity := citizenMail("Писмо", "Желая потвърждаване.", map[string][]byte{"pismo.pdf": pdf.Simple("By IMAP")})
	raw := testkit.SignMail(t, m.pki, m.author, h, entity, testkit.SMIME{})
	d.Deliver(t, "INBOX", raw)
	m.start()
	bdb := testkit.OpenDB(t, m.b.db)
	var id int64
	testkit.Eventually(t, time.Minute, "the mail taken from the mailbox and judged", func() bool {
		return bdb.QueryRow(`SELECT id FROM inbox WHERE channel = 'email' AND state = 'received'`).Scan(&id) == nil
	})
	if doc, _ := m.received(id); doc.SenderEmail != citizenAddr || doc.Acceptance.Outcome != acceptance.Accept {
		t.Errorf("B's AIS sees %+v", doc)
	}
	testkit.Eventually(t, time.Minute, "the mail flagged as taken", func() bool {
		f := d.Flags(t, "INBOX")
		return len(f) == 1 && strings.Contains(f[0], "$SeosgwReceived")
	})
	d.Deliver(t, "INBOX", raw) // a second copy: another UID, the same bytes
	testkit.Eventually(t, time.Minute, "the copy flagged as taken", func() bool {
		f := d.Flags(t, "INBOX")
		return len(f) == 2 && strings.Contains(f[1], "$SeosgwReceived")
	})
	if n := testkit.Count(t, bdb, `SELECT count(*) FROM inbox WHERE channel = 'email'`); n != 1 {
		t.Errorf("%d documents from one mail", n)
	}
	if r := getText(t, "http://"+m.b.ops+"/readyz"); !strings.Contains(r, "ok   mail_imap") {
		t.Errorf("readiness: %s", r)
	}
}

// TestMailQueueSurvivesSIGKILL: B is killed (SIGKILL) while its mail
// queue holds documents for addresses and one is in the middle of being
// handed to the submission server; after the restart every one arrives,
// signed, and the AIS sees each sent.
func TestMailQueueSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	m := newMailNode(t)
	var mu sync.Mutex
	holding, entered, release := true, make(chan struct{}, 16), make(chan struct{})
	m.sub.OnData = func(int) error {
		mu.Lock()
		hold := holding
		mu.Unlock()
		if !hold {
			return nil
		}
		entered <- struct{}{}
		<-release
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "the test let go"}
	}
	m.start()
	const n = 3
	ids := make([]int64, n)
	for i := range n {
		q, _, err := m.b.api.Send(context.Background(), &ais.Outgoing{Email: fmt.Sprintf("person-%d@example.bg", i), Kind: "Писмо",
			About: fmt.Sprintf("Писмо %d", i), Number: &ais.Number{Number: fmt.Sprintf("ИЗХ-%d", i), Date: "2026-11-25"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = q.ID
	}
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("B never got to DATA")
	}
	m.b.node.Stop(syscall.SIGKILL)
	mu.Lock()
	holding = false
	mu.Unlock()
	close(release)
	bdb := testkit.OpenDB(t, m.b.db)
	if c := testkit.Count(t, bdb, `SELECT count(*) FROM mail_outbox WHERE state IN ('queued', 'sending')`); c != n {
		t.Fatalf("%d mails waiting after the kill, want %d", c, n)
	}

	m.start()
	for i, id := range ids {
		st := m.b.waitFor(id, time.Minute, state("sent"))
		doc, _ := m.sub.Await(t, m.pki, fmt.Sprintf("ИЗХ-%d", i))
		if doc.To[0].Address != fmt.Sprintf("person-%d@example.bg", i) || doc.MessageID != st.MessageID {
			t.Errorf("document %d: %v %s / %s", i, doc.To, doc.MessageID, st.MessageID)
		}
	}
	if got := len(m.sub.Got()); got != n {
		t.Errorf("the submission server took %d mails, want %d", got, n)
	}
}

// refusedFor reports a verdict that rejected by rule.
func refusedFor(a *ais.Acceptance, rule string) bool {
	for _, c := range a.Reasons {
		if c.Rule == rule && c.Status == acceptance.Fail && c.Effect == acceptance.Reject {
			return true
		}
	}
	return false
}
