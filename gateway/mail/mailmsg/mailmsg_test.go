package mailmsg_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/testkit"
	"golang.org/x/text/encoding/charmap"
)

func parse(t *testing.T, b []byte) *mailmsg.Mail {
	t.Helper()
	m, err := mailmsg.Parse(bytes.NewReader(b), int64(len(b)), mailmsg.Options{})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	return m
}

func enc(t *testing.T, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func readAll(t *testing.T, p *mailmsg.Part) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := p.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdf stands for a document: bytes that base64 and line ends must not change.
var pdf = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 0xff, '\r', '\n', 0xd0, 0xb0}, 200)...)

// letter is a multipart/mixed entity: a Cyrillic text and a PDF with a
// Cyrillic RFC 2231 file name.
func letter() []byte {
	return testkit.CRLF("Content-Type: multipart/mixed; boundary=\"b1\"\n\npreamble\n--b1\n" +
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
		"=D0=A1=D1=8A=D0=B3=D0=BB=D0=B0=D1=81=D0=B5=D0=BD =D1=81=D1=8A=D0=BC.\n--b1\n" +
		"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n" +
		"Content-Disposition: attachment; filename*=utf-8''%D0%BF%D0%B8%D1%81%D0%BC%D0%BE.pdf\n\n" +
		wrap(base64.StdEncoding.EncodeToString(pdf)) + "\n--b1--\nepilogue\n")
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func TestHeadersAndCharsets(t *testing.T) {
	for _, tc := range []struct {
		name, raw, subject, from, text string
	}{
		{"windows-1251 words, koi8-r body",
			"From: =?windows-1251?B?" + b64(enc(t, charmap.Windows1251, "Иван Петров")) + "?= <ivan@example.bg>\n" +
				"Subject: =?windows-1251?Q?" + qWord(enc(t, charmap.Windows1251, "Заявление")) + "?= =?windows-1251?B?" + b64(enc(t, charmap.Windows1251, " за достъп")) + "?=\n" +
				"Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n" + enc(t, charmap.KOI8R, "Желая потвърждаване.") + "\n",
			"Заявление за достъп", "Иван Петров", "Желая потвърждаване.\n"},
		{"koi8-r words, windows-1251 quoted-printable body",
			"From: =?koi8-r?B?" + b64(enc(t, charmap.KOI8R, "Мария")) + "?= <m@example.bg>\nSubject: =?KOI8-R?B?" + b64(enc(t, charmap.KOI8R, "Жалба")) + "?=\n" +
				"Content-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: quoted-printable\n\n" + qBody(enc(t, charmap.Windows1251, "Съгласен съм")) + "\n",
			"Жалба", "Мария", "Съгласен съм\n"},
		{"UTF-8 header without encoded words, no Content-Type", "From: Петър <p@example.bg>\nSubject: Писмо\n\nтекст\n", "Писмо", "Петър", "текст\n"},
		{"HTML only", "From: a@example.bg\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head><body><p>Желая&nbsp;потвърждаване</p><br>край</body></html>\n",
			"x", "", "Желая\u00a0потвърждаване\n\nкрай"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := parse(t, testkit.CRLF(tc.raw))
			if m.Subject != tc.subject || m.From == nil || m.From.Name != tc.from || m.Text != tc.text {
				t.Fatalf("subject %q from %+v text %q; problems %v", m.Subject, m.From, m.Text, m.Problems)
			}
		})
	}
}

func qWord(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("=" + strings.ToUpper(hex2(s[i])))
	}
	return b.String()
}

func qBody(s string) string { return qWord(s) }

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

func TestStructure(t *testing.T) {
	m := parse(t, append(testkit.CRLF("From: a@example.bg\nSubject: s\nMIME-Version: 1.0\n"), letter()...))
	// The line break before a delimiter belongs to the delimiter.
	if m.Text != "Съгласен съм." {
		t.Errorf("text %q", m.Text)
	}
	if len(m.Attachments) != 1 || m.AttachmentName(0) != "писмо.pdf" || m.Attachments[0].MediaType != "application/pdf" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if got := readAll(t, m.Attachments[0]); !bytes.Equal(got, pdf) {
		t.Errorf("the attachment decodes to %d bytes, not the %d sent", len(got), len(pdf))
	}
	if len(m.Signatures) != 0 || m.Encrypted {
		t.Errorf("signatures %v encrypted %v", m.Signatures, m.Encrypted)
	}

	alt := testkit.CRLF("Subject: a\nContent-Type: multipart/alternative; boundary=x\n\n--x\nContent-Type: text/plain\n\nplain\n--x\nContent-Type: text/html\n\n<b>html</b>\n--x--\n")
	if m := parse(t, alt); m.Text != "plain" || len(m.Attachments) != 0 {
		t.Errorf("alternative: text %q, %d attachments", m.Text, len(m.Attachments))
	}
	// A part cut short of its close delimiter ends at the end.
	cut := testkit.CRLF("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nunfinished\n")
	if m := parse(t, cut); m.Text != "unfinished\n" {
		t.Errorf("cut short: text %q", m.Text)
	}
}

func TestLimits(t *testing.T) {
	many := "Content-Type: multipart/mixed; boundary=x\n\n" + strings.Repeat("--x\n\nt\n", 300) + "--x--\n"
	var deep string
	for i := range 20 {
		deep += fmt.Sprintf("Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	for _, tc := range []struct {
		name string
		raw  string
		want error
	}{
		{"too many parts", many, mailmsg.ErrTooComplex},
		{"nesting too deep", deep, mailmsg.ErrTooComplex},
		{"header over the limit", "X-Big: " + strings.Repeat("a", 300<<10) + "\n\nbody\n", mailmsg.ErrMalformed},
		{"multipart without a boundary", "Content-Type: multipart/mixed\n\nbody\n", mailmsg.ErrMalformed},
		{"multipart without a delimiter", "Content-Type: multipart/mixed; boundary=x\n\nbody\n", mailmsg.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testkit.CRLF(tc.raw)
			_, err := mailmsg.Parse(bytes.NewReader(b), int64(len(b)), mailmsg.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSMIME parses S/MIME that openssl made: signed (detached, in CRLF and
// in the LF form a mail store keeps), opaque, tampered, and encrypted.
func TestSMIME(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	signer := p.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров"})
	hdr := "From: ivan@example.bg\nTo: official@example.bg\nSubject: signed"
	detached := testkit.SignMail(t, p, signer, hdr, letter(), testkit.SMIME{})
	tampered := bytes.Replace(detached, []byte("=D1=81=D1=8A=D0=BC."), []byte("=D1=81=D1=8A=D0=BC!"), 1)
	for _, tc := range []struct {
		name      string
		mail      []byte
		form      string
		valid     bool
		canonical bool
	}{
		{"multipart/signed", detached, mailmsg.FormDetached, true, false},
		{"multipart/signed kept with LF line ends", testkit.SignMail(t, p, signer, hdr, letter(), testkit.SMIME{LF: true}), mailmsg.FormDetached, true, true},
		{"opaque signed-data", testkit.SignMail(t, p, signer, hdr, letter(), testkit.SMIME{Opaque: true}), mailmsg.FormOpaque, true, false},
		{"changed after signing", tampered, mailmsg.FormDetached, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := parse(t, tc.mail)
			if len(m.Signatures) != 1 {
				t.Fatalf("%d signatures; problems %v", len(m.Signatures), m.Problems)
			}
			s := m.Signatures[0]
			if s.Form != tc.form || s.Valid() != tc.valid || s.Canonicalized != tc.canonical {
				t.Fatalf("form %q valid %v canonicalized %v err %v results %+v", s.Form, s.Valid(), s.Canonicalized, s.Err, s.Results)
			}
			if !tc.valid && (s.Err != nil || len(s.Results) != 1 || !strings.Contains(s.Results[0].Err.Error(), "changed after signing")) {
				t.Fatalf("tampering not named: %v %+v", s.Err, s.Results)
			}
			if s.Results[0].Cert == nil || s.Results[0].Cert.Subject.CommonName != "Иван Петров" {
				t.Errorf("signer %+v", s.Results[0].Cert)
			}
			if len(m.Attachments) != 1 || m.AttachmentName(0) != "писмо.pdf" || !bytes.Equal(readAll(t, m.Attachments[0]), pdf) {
				t.Fatalf("the signed content's attachment did not come through: %+v", m.Attachments)
			}
			if !strings.HasPrefix(m.Text, "Съгласен съм") || m.Subject != "signed" {
				t.Errorf("text %q subject %q", m.Text, m.Subject)
			}
		})
	}
	t.Run("encrypted", func(t *testing.T) {
		m := parse(t, testkit.EncryptMail(t, signer, hdr, letter()))
		if !m.Encrypted || len(m.Signatures) != 0 || len(m.Attachments) != 1 || m.AttachmentName(0) != "smime.p7m" {
			t.Fatalf("encrypted %v signatures %d attachments %d", m.Encrypted, len(m.Signatures), len(m.Attachments))
		}
	})
	t.Run("a .p7m among other attachments is a document, not a layer", func(t *testing.T) {
		der := acceptancetest.SignCMS(t, p, signer, pdf, acceptancetest.CMSOptions{Attached: true})
		raw := testkit.CRLF("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nsee attached\n--x\n" +
			"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=doc.pdf.p7m\nContent-Transfer-Encoding: base64\n\n" +
			wrap(base64.StdEncoding.EncodeToString(der)) + "\n--x--\n")
		m := parse(t, raw)
		if len(m.Signatures) != 0 || len(m.Attachments) != 1 || m.AttachmentName(0) != "doc.pdf.p7m" {
			t.Fatalf("signatures %d attachments %+v", len(m.Signatures), m.Attachments)
		}
	})
}

// FuzzParse: no input panics or hangs the parser, parts stay inside the
// mail, and what it reads back streams.
func FuzzParse(f *testing.F) {
	f.Add(testkit.CRLF("Subject: =?koi8-r?B?6sHMwsE=?=\n\nbody\n"))
	f.Add(letter())
	f.Add(testkit.CRLF("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\n\n--s\n\nx\n--s\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMIIB\n--s--\n"))
	f.Add(testkit.CRLF("Content-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := mailmsg.Parse(bytes.NewReader(b), int64(len(b)), mailmsg.Options{MaxParts: 64, MaxDepth: 6})
		if err != nil {
			return
		}
		for _, a := range m.Attachments {
			if a.EncodedSize() < 0 || a.EncodedSize() > int64(len(b)) {
				t.Fatalf("attachment of %d bytes in a mail of %d", a.EncodedSize(), len(b))
			}
			if r, err := a.Open(); err == nil {
				io.Copy(io.Discard, r)
			}
		}
	})
}
