package acceptance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
)

const senderEIK = "000695089"

// env is what the policy tests run against: a qualified-provider-like PKI
// with a CRL server and an OCSP responder, a real clamd, LibreOffice files.
type env struct {
	pki    *acceptancetest.PKI
	clamd  *acceptancetest.Clamd
	office *acceptancetest.Office
	signer *acceptancetest.Cert // signs for the sender (NTRBG-<EIK>)
	reg    *prometheus.Registry
	policy *acceptance.Policy
	letter []byte // a LibreOffice letter without requisites, signed by signer
}

// exampleRules is the shipped example with its two machine-specific paths
// pointed at the test's CA folder and clamd.
func exampleRules(t testing.TB, caDir, clamd string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile("../../configs/acceptance.maritime.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "trusted_ca_dir: /etc/seosgw/qualified-ca", "trusted_ca_dir: "+caDir, 1)
	s = strings.Replace(s, "clamd: unix:/run/clamav/clamd.ctl", "clamd: "+clamd, 1)
	if edit != nil {
		s = edit(s)
	}
	path := filepath.Join(t.TempDir(), "acceptance.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{pki: acceptancetest.NewPKI(t), clamd: acceptancetest.StartClamd(t), office: acceptancetest.MakeOffice(t), reg: prometheus.NewRegistry()}
	e.pki.StartOCSP(t)
	e.signer = e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", Org: "Министерство", OrgID: "NTRBG-" + senderEIK})
	e.policy = e.load(t, nil)
	e.letter = acceptancetest.SignPDF(t, e.pki, e.signer, e.office.PlainPDF)
	return e
}

func (e *env) load(t *testing.T, edit func(string) string) *acceptance.Policy {
	t.Helper()
	p, err := acceptance.Load(exampleRules(t, e.pki.CADir(t), e.clamd.Addr, edit), acceptance.WithRegistry(e.reg))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func att(name, mime string, b []byte) acceptance.Attachment {
	return acceptance.Attachment{Name: name, DeclaredMIME: mime, Size: int64(len(b)), Content: bytes.NewReader(b)}
}

const requisitesText = "Съгласен съм да получавам електронни изявления от ИАМА. Желая потвърждаване за получаването на изпратеното до ИАМА електронно изявление."

func (e *env) input(atts ...acceptance.Attachment) acceptance.Input {
	return acceptance.Input{DocKind: "Писмо", DocAbout: "Регистрация на кораб", DocComment: requisitesText, Comment: "моля за регистрация",
		Sender: acceptance.Sender{EIK: senderEIK, Name: "Министерство", GUID: "{11111111-2222-3333-4444-555555555555}"}, Attachments: atts}
}

// find returns the check of a rule for a subject ("" for the document).
func find(t *testing.T, v acceptance.Verdict, rule, subject string) acceptance.Check {
	t.Helper()
	for _, c := range v.Checks {
		if c.Rule == rule && c.Subject == subject {
			return c
		}
	}
	var b strings.Builder
	v.WriteTable(&b, "en")
	t.Fatalf("no %s check for %q in\n%s", rule, subject, b.String())
	return acceptance.Check{}
}

func table(v acceptance.Verdict) string {
	var b strings.Builder
	v.WriteTable(&b, "en")
	return b.String()
}

// expect is one case's promise: the outcome, and checks with a status and
// words their English (or Bulgarian) reason must contain.
type expect struct {
	outcome acceptance.Outcome
	checks  []want
}

type want struct {
	rule, subject string
	status        acceptance.Status
	words         string
}

func (e *env) run(t *testing.T, p *acceptance.Policy, in acceptance.Input, x expect) acceptance.Verdict {
	t.Helper()
	v := p.Evaluate(context.Background(), in)
	if v.Outcome != x.outcome {
		t.Errorf("outcome %s, want %s\n%s", v.Outcome, x.outcome, table(v))
	}
	for _, w := range x.checks {
		c := find(t, v, w.rule, w.subject)
		if c.Status != w.status || !strings.Contains(c.Reason.EN+" | "+c.Reason.BG, w.words) {
			t.Errorf("%s %q: %s %q / %q, want %s containing %q", w.rule, w.subject, c.Status, c.Reason.EN, c.Reason.BG, w.status, w.words)
		}
	}
	return v
}

func TestPolicy(t *testing.T) {
	e := newEnv(t)
	o := e.office
	pdfAtt := func(b []byte) acceptance.Attachment { return att("писмо.pdf", "application/pdf", b) }
	other := acceptancetest.NewPKI(t)
	untrusted := other.Issue(t, acceptancetest.SignerSpec{Name: "Чужд", OrgID: "NTRBG-" + senderEIK})
	stranger := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Петър Стоянов", OrgID: "NTRBG-121212121"})
	revoked := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Отменен", OrgID: "NTRBG-" + senderEIK})
	e.pki.Revoke(t, revoked)
	revokedOCSP := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Отменен OCSP", OrgID: "NTRBG-" + senderEIK, OCSP: true, CRLURL: "-"})
	e.pki.Revoke(t, revokedOCSP)
	unreachable := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Без CRL", OrgID: "NTRBG-" + senderEIK, CRLURL: acceptancetest.UnreachableURL(t, "/ca.crl")})
	e.pki.Revoke(t, unreachable) // revoked, but nobody can know it: never "revoked"
	expired := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Изтекъл", OrgID: "NTRBG-" + senderEIK,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})

	docBytes := acceptancetest.Read(t, o.DOC)
	docxBytes := acceptancetest.Read(t, o.DOCX)
	tampered := bytes.Clone(e.letter)
	tampered[200] ^= 1
	eicarPDF := append(acceptancetest.Read(t, o.PDF), []byte("\n"+acceptancetest.EICAR+"\n")...)
	exe := acceptancetest.WindowsExe(t)

	for _, tc := range []struct {
		name string
		in   acceptance.Input
		x    expect
	}{
		{"accepted: registrable kind, signed PDF, requisites", e.input(pdfAtt(e.letter)), expect{acceptance.Accept, []want{
			{"kind", "", acceptance.Pass, "official correspondence"},
			{"format", "писмо.pdf", acceptance.Pass, "pdf"},
			{"encryption", "писмо.pdf", acceptance.Pass, "not encrypted"},
			{"signature.presence", "писмо.pdf", acceptance.Pass, "Иван Петров"},
			{"signature.integrity", "писмо.pdf", acceptance.Pass, "integrity verified"},
			{"signature.validity", "писмо.pdf", acceptance.Pass, "valid"},
			{"signature.revocation", "писмо.pdf", acceptance.Pass, "not revoked (CRL)"},
			{"signature.trust", "писмо.pdf", acceptance.Pass, "trusted provider"},
			{"signature.author", "писмо.pdf", acceptance.Pass, "NTRBG-" + senderEIK},
			{"virus", "писмо.pdf", acceptance.Pass, "no virus"},
			{"requisite.electronic_statements", "", acceptance.Pass, "stated"},
			{"requisite.receipt_confirmation", "", acceptance.Pass, "stated"},
			{"requisite.personal_data", "", acceptance.NotApplicable, "not required"},
		}}},
		{"kind in capitals with a Latin look-alike letter", withKind(e.input(pdfAtt(e.letter)), "  ПИСМO "), expect{acceptance.Accept, []want{{"kind", "", acceptance.Pass, "registrable"}}}},
		{"kind in Latin transliteration", withKind(e.input(pdfAtt(e.letter)), "Zapoved za komandirovka v chuzhbina"), expect{acceptance.Accept, []want{{"kind", "", acceptance.Pass, "management"}}}},
		{"non-registrable kind", withKind(e.input(pdfAtt(e.letter)), "Честитка"), expect{acceptance.Reject, []want{{"kind", "", acceptance.Fail, "greetings"}}}},
		{"job application beats petition", withKind(e.input(pdfAtt(e.letter)), "Молба за назначаване на работа"), expect{acceptance.Reject, []want{{"kind", "", acceptance.Fail, "job applications"}}}},
		{"unknown kind is held", withKind(e.input(pdfAtt(e.letter)), "Нещо друго"), expect{acceptance.Hold, []want{{"kind", "", acceptance.Unknown, "neither"}}}},

		{"executable named .pdf", e.input(att("писмо.pdf", "application/pdf", exe)), expect{acceptance.Reject, []want{
			{"format", "писмо.pdf", acceptance.Fail, "executable (Windows executable (PE))"}, {"format", "писмо.pdf", acceptance.Fail, "named .pdf"}}}},
		{"format not on the list", e.input(att("снимка.png", "image/png", []byte("\x89PNG\r\n\x1a\nrest"))), expect{acceptance.Reject, []want{
			{"format", "снимка.png", acceptance.Fail, "format png"}}}},

		{"encrypted PDF", e.input(pdfAtt(acceptancetest.Read(t, o.EncPDF))), expect{acceptance.Reject, []want{
			{"encryption", "писмо.pdf", acceptance.Fail, "/Encrypt"}}}},
		{"password-protected Word 97", e.input(att("писмо.doc", "application/msword", acceptancetest.Read(t, o.EncDOC))), expect{acceptance.Reject, []want{
			{"encryption", "писмо.doc", acceptance.Fail, "fEncrypted"}}}},
		{"password-protected Excel 97", e.input(att("таблица.xls", "application/vnd.ms-excel", acceptancetest.Read(t, o.EncXLS))), expect{acceptance.Reject, []want{
			{"encryption", "таблица.xls", acceptance.Fail, "FILEPASS"}}}},
		{"CMS EnvelopedData", e.input(att("писмо.p7m", "application/pkcs7-mime", acceptancetest.EncryptCMS(t, e.signer, e.letter))), expect{acceptance.Reject, []want{
			{"encryption", "писмо.p7m", acceptance.Fail, "enveloped-data"}}}},
		{"encrypted ZIP entry", e.input(att("писмо.docx", "application/zip", acceptancetest.EncryptedZip(t, "a.pdf", e.letter))), expect{acceptance.Reject, []want{
			{"encryption", "писмо.docx", acceptance.Fail, "ZIP entry"}}}},

		{"CAdES detached beside a Word 97 file", e.input(att("писмо.doc", "application/msword", docBytes),
			att("писмо.doc.p7s", "application/pkcs7-signature", acceptancetest.SignCMS(t, e.pki, e.signer, docBytes, acceptancetest.CMSOptions{Extra: []string{"-cades"}}))),
			expect{acceptance.Accept, []want{{"signature.presence", "писмо.doc", acceptance.Pass, "CAdES detached (писмо.doc.p7s)"}, {"signature.integrity", "писмо.doc", acceptance.Pass, "integrity"}}}},
		{"CAdES attached .p7m holding a DOCX", e.input(att("писмо.docx.p7m", "application/pkcs7-mime", acceptancetest.SignCMS(t, e.pki, e.signer, docxBytes, acceptancetest.CMSOptions{Attached: true, Stream: true}))),
			expect{acceptance.Accept, []want{{"signature.presence", "писмо.docx.p7m", acceptance.Pass, "CAdES attached"}, {"format", "писмо.docx.p7m", acceptance.Pass, "docx"}}}},
		{".p7m holding an executable", e.input(att("писмо.pdf.p7m", "application/pkcs7-mime", acceptancetest.SignCMS(t, e.pki, e.signer, exe, acceptancetest.CMSOptions{Attached: true}))),
			expect{acceptance.Reject, []want{{"format", "писмо.pdf.p7m", acceptance.Fail, "executable"}}}},
		{"detached signature over another file", e.input(att("писмо.doc", "application/msword", docBytes),
			att("писмо.doc.p7s", "application/pkcs7-signature", acceptancetest.SignCMS(t, e.pki, e.signer, []byte("other"), acceptancetest.CMSOptions{}))),
			expect{acceptance.Reject, []want{{"signature.integrity", "писмо.doc", acceptance.Fail, "changed after signing"}}}},
		{"nothing attached", e.input(), expect{acceptance.Hold, []want{
			{"signature.presence", "", acceptance.Unknown, "no attached document"}}}},
		{"unsigned PDF", e.input(pdfAtt(acceptancetest.Read(t, o.PDF))), expect{acceptance.Reject, []want{
			{"signature.presence", "писмо.pdf", acceptance.Fail, "no electronic signature"}}}},
		{"tampered signed PDF", e.input(pdfAtt(tampered)), expect{acceptance.Reject, []want{
			{"signature.integrity", "писмо.pdf", acceptance.Fail, "does not verify"}}}},
		{"PDF changed after signing", e.input(pdfAtt(append(bytes.Clone(e.letter), "\n%%EOF\n"...))), expect{acceptance.Reject, []want{
			{"signature.integrity", "писмо.pdf", acceptance.Fail, "changed after signing"}}}},
		{"revoked signer (CRL)", e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, revoked, o.PDF))), expect{acceptance.Reject, []want{
			{"signature.revocation", "писмо.pdf", acceptance.Fail, "revoked"}}}},
		{"revoked signer (OCSP)", e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, revokedOCSP, o.PDF))), expect{acceptance.Reject, []want{
			{"signature.revocation", "писмо.pdf", acceptance.Fail, "revoked since"}}}},
		{"CRL server unreachable: unknown, never revoked", e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, unreachable, o.PDF))), expect{acceptance.Hold, []want{
			{"signature.revocation", "писмо.pdf", acceptance.Unknown, "revocation status unknown"}}}},
		{"untrusted provider", e.input(pdfAtt(acceptancetest.SignPDF(t, other, untrusted, o.PDF))), expect{acceptance.Reject, []want{
			{"signature.trust", "писмо.pdf", acceptance.Fail, "does not chain"}}}},
		{"expired certificate", e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, expired, o.PDF))), expect{acceptance.Reject, []want{
			{"signature.validity", "писмо.pdf", acceptance.Fail, "not valid when the document was signed"}}}},
		{"signer is not the author", e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, stranger, o.PDF))), expect{acceptance.Hold, []want{
			{"signature.author", "писмо.pdf", acceptance.Fail, "neither the sender (EIK " + senderEIK + ")"}}}},

		{"unsigned PDF in an S/MIME-signed mail", withEnvelope(e.input(pdfAtt(acceptancetest.Read(t, o.PDF))), envelope(t, e, e.signer, mailBody, mailBody)),
			expect{acceptance.Accept, []want{{"signature.presence", "писмо.pdf", acceptance.Pass, "S/MIME"}, {"signature.integrity", "писмо.pdf", acceptance.Pass, "integrity verified"},
				{"signature.author", "писмо.pdf", acceptance.Pass, "NTRBG-" + senderEIK}}}},
		{"signed mail, nothing attached: the mail is the document", withEnvelope(e.input(), envelope(t, e, e.signer, mailBody, mailBody)),
			expect{acceptance.Accept, []want{{"signature.presence", "", acceptance.Pass, "Иван Петров (S/MIME"}, {"signature.trust", "", acceptance.Pass, "trusted provider"}}}},
		{"S/MIME mail changed after signing", withEnvelope(e.input(pdfAtt(acceptancetest.Read(t, o.PDF))), envelope(t, e, e.signer, mailBody, append(bytes.Clone(mailBody), '!'))),
			expect{acceptance.Reject, []want{{"signature.integrity", "писмо.pdf", acceptance.Fail, "changed after signing"}}}},
		{"S/MIME signature whose content cannot be read", withEnvelope(e.input(), acceptance.EnvelopeSignature{Form: "S/MIME", Err: errors.New("truncated")}),
			expect{acceptance.Reject, []want{{"signature.integrity", "", acceptance.Fail, "truncated"}}}},

		{"EICAR in a PDF", e.input(pdfAtt(eicarPDF)), expect{acceptance.Reject, []want{
			{"virus", "писмо.pdf", acceptance.Fail, acceptancetest.EICARSignature}}}},

		{"EICAR inside a .p7m", e.input(att("писмо.pdf.p7m", "application/pkcs7-mime", acceptancetest.SignCMS(t, e.pki, e.signer, eicarPDF, acceptancetest.CMSOptions{Attached: true, Stream: true}))),
			expect{acceptance.Reject, []want{{"virus", "писмо.pdf.p7m", acceptance.Fail, acceptancetest.EICARSignature}}}},

		{"requisites missing", withText(e.input(pdfAtt(e.letter)), ""), expect{acceptance.Hold, []want{
			{"requisite.electronic_statements", "", acceptance.Fail, "missing"}, {"requisite.receipt_confirmation", "", acceptance.Fail, "missing"}}}},
		{"requisites in the attached PDF; receipt declined", withText(e.input(pdfAtt(acceptancetest.SignPDF(t, e.pki, e.signer, o.ObjStmPDF))), ""), expect{acceptance.Accept, []want{
			{"requisite.electronic_statements", "", acceptance.Pass, "stated"}, {"requisite.receipt_confirmation", "", acceptance.Pass, "declined"}}}},
		{"requisites in the signed DOCX inside a .p7m", withText(e.input(att("писмо.docx.p7m", "application/pkcs7-mime", acceptancetest.SignCMS(t, e.pki, e.signer, docxBytes, acceptancetest.CMSOptions{Attached: true}))), ""),
			expect{acceptance.Accept, []want{{"requisite.receipt_confirmation", "", acceptance.Pass, "declined"}}}},
		{"template left unfilled", withText(e.input(pdfAtt(e.letter)), "Съгласен съм да получавам електронни изявления. Желая/не желая потвърждаване"), expect{acceptance.Hold, []want{
			{"requisite.receipt_confirmation", "", acceptance.Unknown, "unfilled"}}}},
		{"natural person without personal-data consent", withPerson(e.input(pdfAtt(e.letter))), expect{acceptance.Reject, []want{
			{"requisite.personal_data", "", acceptance.Fail, "missing"}}}},
		{"natural person with personal-data consent", withPerson(withText(e.input(pdfAtt(e.letter)), requisitesText+" Съгласен съм ИАМА да обработва личните ми данни.")), expect{acceptance.Accept, []want{
			{"requisite.personal_data", "", acceptance.Pass, "stated"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.run(t, e.policy, tc.in, tc.x)
		})
	}

	t.Run("receipt declined in the text", func(t *testing.T) {
		v := e.policy.Evaluate(context.Background(), withText(e.input(pdfAtt(e.letter)), "Съгласен съм да получавам електронни изявления. Не желая потвърждаване за получаването."))
		if !v.DeclinedReceipt || v.Requisites["receipt_confirmation"] != "denied" {
			t.Fatalf("%+v", v)
		}
		if _, ok := v.Receipt(acceptance.Registration{Number: "1", Date: time.Now(), ReceivedAt: time.Now()}); ok {
			t.Error("a receipt for a sender who declined it")
		}
	})
}

// mailBody stands for the signed MIME entity of a mail.
var mailBody = []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nМоля, регистрирайте приложеното писмо.\r\n")

// envelope signs signed with openssl and verifies the signature over got,
// as the mail channel does before it hands the signature to the policy.
func envelope(t *testing.T, e *env, signer *acceptancetest.Cert, signed, got []byte) acceptance.EnvelopeSignature {
	t.Helper()
	der := acceptancetest.SignCMS(t, e.pki, signer, signed, acceptancetest.CMSOptions{})
	sd, err := cms.Parse(bytes.NewReader(der), int64(len(der)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sd.Verify(bytes.NewReader(got))
	return acceptance.EnvelopeSignature{Form: "S/MIME (multipart/signed)", Signed: sd, Results: res, Err: err}
}

func withEnvelope(in acceptance.Input, s acceptance.EnvelopeSignature) acceptance.Input {
	in.EnvelopeSignatures = append(in.EnvelopeSignatures, s)
	return in
}

func withKind(in acceptance.Input, k string) acceptance.Input { in.DocKind = k; return in }

func withText(in acceptance.Input, s string) acceptance.Input {
	in.DocAbout, in.DocComment, in.Comment = "", s, ""
	return in
}

func withPerson(in acceptance.Input) acceptance.Input {
	in.Correspondents = []acceptance.Correspondent{{Name: "Мария Иванова", EGN: "7501010010", Applicant: true}}
	return in
}

// TestAdviseAndUnavailable: rules in advise mode annotate without
// deciding; a scanner that cannot be reached holds, and readiness says so.
func TestAdviseAndUnavailable(t *testing.T) {
	e := newEnv(t)
	in := e.input(att("писмо.pdf", "application/pdf", acceptancetest.Read(t, e.office.PDF))) // unsigned
	advise := e.load(t, func(s string) string {
		return strings.Replace(s, "presence:   {mode: enforce", "presence:   {mode: advise", 1)
	})
	v := e.run(t, advise, in, expect{acceptance.Accept, []want{{"signature.presence", "писмо.pdf", acceptance.Fail, "no electronic signature"}}})
	if c := find(t, v, "signature.presence", "писмо.pdf"); c.Mode != acceptance.Advise || c.Effect != acceptance.Reject {
		t.Errorf("advise check %+v", c)
	}

	e.clamd.Stop()
	signed := e.input(att("писмо.pdf", "application/pdf", e.letter))
	e.run(t, e.policy, signed, expect{acceptance.Hold, []want{{"virus", "писмо.pdf", acceptance.Unknown, "not scanned"}}})
	if err := e.policy.ScannerReady(context.Background()); err == nil {
		t.Error("ready without a scanner")
	}
	if got := testutil.ToFloat64(gauge(t, e.reg, "seosgw_acceptance_scanner_up")); got != 0 {
		t.Errorf("scanner_up %v", got)
	}
	reject := e.load(t, func(s string) string { return strings.Replace(s, "on_unavailable: hold", "on_unavailable: reject", 1) })
	e.run(t, reject, signed, expect{acceptance.Reject, nil})
}

// TestRevocationUnknownFailOpen: with revocation.on_unknown: accept an
// unreachable CRL lets the document through, still reported unknown.
func TestRevocationUnknownFailOpen(t *testing.T) {
	e := newEnv(t)
	c := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "Без CRL", OrgID: "NTRBG-" + senderEIK, CRLURL: acceptancetest.UnreachableURL(t, "/x.crl")})
	p := e.load(t, func(s string) string {
		return strings.Replace(s, "revocation: {mode: enforce, on_fail: reject, on_unknown: hold}", "revocation: {mode: enforce, on_fail: reject, on_unknown: accept}", 1)
	})
	e.run(t, p, e.input(att("писмо.pdf", "application/pdf", acceptancetest.SignPDF(t, e.pki, c, e.office.PDF))),
		expect{acceptance.Accept, []want{{"signature.revocation", "писмо.pdf", acceptance.Unknown, "unknown"}}})
}

func TestVerdictTexts(t *testing.T) {
	e := newEnv(t)
	v := e.policy.Evaluate(context.Background(), withKind(e.input(att("писмо.pdf", "application/pdf", acceptancetest.Read(t, e.office.PlainPDF))), "Честитка"))
	if v.Outcome != acceptance.Reject {
		t.Fatal(table(v))
	}
	reason := v.RejectionReason()
	lines := strings.Split(reason, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Отказ от регистрация: ") || !strings.HasPrefix(lines[1], "Otkaz ot registratsia: ") {
		t.Fatalf("rejection reason %q", reason)
	}
	for _, w := range []string{"не подлежат на регистрация", "не е подписан", "писмо.pdf"} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("Cyrillic line lacks %q: %s", w, lines[0])
		}
	}
	if !strings.Contains(lines[1], "ne podlezhat na registratsia") || strings.ContainsFunc(lines[1], func(r rune) bool { return r >= 'а' && r <= 'я' }) {
		t.Errorf("Latin line: %s", lines[1])
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back acceptance.Verdict
	if err := json.Unmarshal(b, &back); err != nil || back.Outcome != v.Outcome || len(back.Checks) != len(v.Checks) || back.Checks[0].Reason.Latin == "" {
		t.Fatalf("JSON round trip: %v %s", err, b)
	}
	for _, key := range []string{`"outcome":"reject"`, `"rule":"kind"`, `"latin":`, `"declinedReceipt":false`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	ok := e.policy.Evaluate(context.Background(), e.input(att("писмо.pdf", "application/pdf", e.letter)))
	// Given in UTC: 11:05Z on 1 July is 14:05 in Sofia's summer time (EEST).
	receipt, sent := ok.Receipt(acceptance.Registration{Number: "05-12-345", Date: time.Date(2026, 7, 2, 6, 0, 0, 0, time.UTC), ReceivedAt: time.Date(2026, 7, 1, 11, 5, 0, 0, time.UTC)})
	if !sent {
		t.Fatal("no receipt")
	}
	rl := strings.Split(receipt, "\n")
	if len(rl) != 2 || !strings.Contains(rl[0], "рег. № 05-12-345 от 02.07.2026") || !strings.Contains(rl[0], "01.07.2026 14:05") ||
		!strings.Contains(rl[1], "Potvarzhdavame poluchavaneto") || !strings.Contains(rl[1], "05-12-345") {
		t.Errorf("receipt %q", receipt)
	}
	if ok.RejectionReason() != "" {
		t.Error("a rejection reason for an accepted document")
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.Metric) == 1 {
			v := f.Metric[0].GetGauge().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return v })
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}

// TestTrustedList: the qualified CAs can come from an EU trusted list
// signed with xmlsec1; a list that does not verify stops the load.
func TestTrustedList(t *testing.T) {
	e := newEnv(t)
	operator := e.pki.Issue(t, acceptancetest.SignerSpec{Name: "TL operator"})
	tsl := acceptancetest.TrustedList(t, e.pki.Issuing, operator, time.Now().Add(24*time.Hour))
	edit := func(s string) string {
		s = strings.Replace(s, "trusted_ca_dir: "+e.pki.CADir(t), `trusted_ca_dir: ""`, 1)
		return strings.Replace(s, "# trusted_list: {file: /etc/seosgw/tsl-bg.xml, signer_certs: /etc/seosgw/tsl-bg-signers.pem}",
			"trusted_list: {file: "+tsl+", signer_certs: "+operator.CertPath+"}", 1)
	}
	p := e.load(t, edit)
	e.run(t, p, e.input(att("писмо.pdf", "application/pdf", e.letter)), expect{acceptance.Accept, []want{
		{"signature.trust", "писмо.pdf", acceptance.Pass, "seosgw test Qualified Issuing CA"}}})

	os.WriteFile(tsl, bytes.Replace(acceptancetest.Read(t, tsl), []byte("granted"), []byte("GRANTED"), 1), 0o644)
	_, err := acceptance.Load(exampleRules(t, e.pki.CADir(t), e.clamd.Addr, edit), acceptance.WithRegistry(e.reg))
	if err == nil || !strings.Contains(err.Error(), "signatures.trusted_list") || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("tampered list: %v", err)
	}
}

// TestMetrics: verdicts and checks are counted by outcome and rule, and
// the metrics pass Prometheus's lint.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.policy.Evaluate(context.Background(), withKind(e.input(att("писмо.pdf", "application/pdf", e.letter)), "Честитка"))
	if err := e.policy.ScannerReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(gauge(t, e.reg, "seosgw_acceptance_scanner_up")); got != 1 {
		t.Errorf("scanner_up %v", got)
	}
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case f.GetName() == "seosgw_acceptance_verdicts_total" && labels["outcome"] == "reject" && m.GetCounter().GetValue() == 1:
				seen["verdict"] = true
			case f.GetName() == "seosgw_acceptance_checks_total" && labels["rule"] == "kind" && labels["result"] == "fail" && labels["effect"] == "reject":
				seen["kind"] = true
			case f.GetName() == "seosgw_acceptance_revocation_fetch_seconds" && labels["method"] == "crl" && m.GetHistogram().GetSampleCount() > 0:
				seen["crl"] = true
			}
		}
	}
	for _, k := range []string{"verdict", "kind", "crl"} {
		if !seen[k] {
			t.Errorf("metric for %s not recorded", k)
		}
	}
	problems, err := testutil.GatherAndLint(e.reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}
