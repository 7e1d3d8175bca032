package notice_test

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
)

type kit struct {
	pki      *acceptancetest.PKI
	composer *notice.Composer
}

func newKit(t *testing.T, ec bool) *kit {
	t.Helper()
	p := acceptancetest.NewPKI(t)
	c := p.Issue(t, acceptancetest.SignerSpec{Name: "Изпълнителна агенция „Морска администрация“", OrgID: "NTRBG-000695089", EC: ec})
	s, err := smime.NewSigner(&pki.Identity{Cert: c.Cert, Key: c.Key, Chain: []*x509.Certificate{p.Issuing.Cert}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &kit{pki: p, composer: &notice.Composer{Signer: s, From: &mail.Address{Name: "ИАМА", Address: "ebma@marad.example"}, Now: time.Now}}
}

// received is a mail as it came in: 8-bit, so it must travel as a file.
var received = testkit.CRLF("From: Иван <ivan@example.bg>\nSubject: Заявление\nMessage-Id: <abc@example.bg>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nЖелая потвърждаване.\n")

func original(raw []byte) notice.Original {
	return notice.Original{To: "ivan@example.bg", Subject: "Заявление", MessageID: "abc@example.bg", ReceivedAt: time.Now(),
		Raw: bytes.NewReader(raw), RawSize: int64(len(raw))}
}

// check verifies the mail with openssl, parses it back, and returns the
// parsed mail and its attachment (the received message).
func (k *kit) check(t *testing.T, body []byte) (*mailmsg.Mail, []byte) {
	t.Helper()
	testkit.VerifyMail(t, k.pki, body)
	m, err := mailmsg.Parse(bytes.NewReader(body), int64(len(body)), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Signatures) != 1 || !m.Signatures[0].Valid() || m.Signatures[0].Canonicalized {
		t.Fatalf("our own parser does not verify our signature: %+v", m.Signatures)
	}
	if m.Header.Get("Auto-Submitted") != "" && len(m.Attachments) != 1 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	var att []byte
	if len(m.Attachments) > 0 {
		var b bytes.Buffer
		m.Attachments[0].WriteTo(&b)
		att = b.Bytes()
	}
	return m, att
}

func TestReceiptAndRefusal(t *testing.T) {
	for _, ec := range []bool{false, true} {
		k := newKit(t, ec)
		name := map[bool]string{false: "RSA", true: "ECDSA"}[ec]
		t.Run(name+" receipt", func(t *testing.T) {
			reg := acceptance.Registration{Number: "04-00-123", Date: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), ReceivedAt: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
			msg, ok, err := k.composer.Receipt(original(received), &acceptance.Verdict{Outcome: acceptance.Accept}, reg)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			m, att := k.check(t, msg.Body)
			for _, want := range []string{"рег. № 04-00-123 от 02.03.2026", "02.03.2026 11:30", "reg. № 04-00-123 ot 02.03.2026", "Poluchenoto saobshtenie e prilozheno"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("receipt text lacks %q:\n%s", want, m.Text)
				}
			}
			if !strings.Contains(m.Subject, "Потвърждение за получаване") || !strings.Contains(m.Subject, "Potvarzhdenie za poluchavane") {
				t.Errorf("subject %q", m.Subject)
			}
			if !bytes.Equal(att, received) || m.AttachmentName(0) != "received-message.eml" {
				t.Errorf("the received message is not attached byte for byte (%d bytes, %s)", len(att), m.AttachmentName(0))
			}
			if m.Header.Get("In-Reply-To") != "<abc@example.bg>" || m.Header.Get("Auto-Submitted") != "auto-replied" || msg.To != "ivan@example.bg" || msg.Kind != notice.KindReceipt {
				t.Errorf("header %v, message %+v", m.Header.Map(), msg.Kind)
			}
		})
		t.Run(name+" receipt declined", func(t *testing.T) {
			msg, ok, err := k.composer.Receipt(original(received), &acceptance.Verdict{DeclinedReceipt: true}, acceptance.Registration{Number: "1"})
			if err != nil || ok || msg != nil {
				t.Fatalf("a receipt the sender declined: %v %v %v", msg, ok, err)
			}
		})
		t.Run(name+" refusal of a 7-bit mail, attached as message/rfc822", func(t *testing.T) {
			v := acceptance.Verdict{Outcome: acceptance.Reject, Checks: []acceptance.Check{{Rule: "virus", Subject: "писмо.pdf", Mode: acceptance.Enforce, Effect: acceptance.Reject,
				Reason: acceptance.Text{BG: "файлът съдържа вирус"}}}}
			ascii := testkit.CRLF("From: a@example.bg\nSubject: x\n\nplain ASCII\n")
			msg, err := k.composer.Refusal(original(ascii), v.RejectionReason())
			if err != nil {
				t.Fatal(err)
			}
			m, att := k.check(t, msg.Body)
			for _, want := range []string{"Отказ от регистрация: писмо.pdf: файлът съдържа вирус", "Otkaz ot registratsia: pismo.pdf: faylat sadarzha virus"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("refusal text lacks %q:\n%s", want, m.Text)
				}
			}
			if m.Attachments[0].MediaType != "message/rfc822" || !bytes.Equal(att, ascii) {
				t.Errorf("attachment %s %q", m.Attachments[0].MediaType, att)
			}
		})
	}
}

func TestDocument(t *testing.T) {
	k := newKit(t, false)
	pdf := bytes.Repeat([]byte("%PDF-1.7\x00\xff\r\n"), 1000)
	msg, err := k.composer.Document("someone@example.bg", "Писмо изх. № 12", "Уважаеми господине,\nприлагаме писмото.", []notice.Attachment{
		{Name: "писмо.pdf", MediaType: "application/pdf", Content: bytes.NewReader(pdf)}})
	if err != nil {
		t.Fatal(err)
	}
	m, att := k.check(t, msg.Body)
	if !bytes.Equal(att, pdf) || m.AttachmentName(0) != "писмо.pdf" || m.Subject != "Писмо изх. № 12" || m.Header.Get("Auto-Submitted") != "" {
		t.Fatalf("document: %q %q %d bytes", m.AttachmentName(0), m.Subject, len(att))
	}
	if _, err := k.composer.Document("not an address", "x", "y", nil); err == nil {
		t.Error("a bad recipient address was taken")
	}
}

func TestWrapRefusesWhatARelayWouldChange(t *testing.T) {
	k := newKit(t, false)
	for _, bad := range []string{"Content-Type: text/plain\r\n\r\n\xd0\xb0\r\n", "Content-Type: text/plain\n\nLF\n", "Content-Type: text/plain\r\n\r\n" + strings.Repeat("a", 1000) + "\r\n"} {
		if _, err := k.composer.Signer.Wrap(textproto.Header{}, []byte(bad)); err == nil {
			t.Errorf("signed %q", bad[:30])
		}
	}
}
