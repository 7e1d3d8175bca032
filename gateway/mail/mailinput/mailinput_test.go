package mailinput_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/testkit"
)

var pdf = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0xd0, 0xb0, '\r', '\n', 0}, 300)...)

func entity() []byte {
	return testkit.CRLF("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\nЖелая потвърждаване.\n--b\n" +
		"Content-Type: application/pdf; name=\"zayavlenie.pdf\"\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString(pdf) + "\n--b--\n")
}

func build(t *testing.T, b *mailinput.Builder, raw []byte) *mailinput.Result {
	t.Helper()
	r, err := b.Build(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestBuild(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	signer := p.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров"})
	rules, err := mailinput.CompileRules([]mailinput.RuleSpec{{Kind: "Заявление за достъп до обществена информация", Subject: "(?i)ЗДОИ"}, {Kind: "Жалба", Body: "(?i)обжалвам"}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	b := mailinput.New(mailinput.Options{Rules: rules, FromSubject: true, SpoolDir: t.TempDir(), Registry: reg})
	hdr := func(subject string) string {
		return "From: Иван Петров <ivan@example.bg>\nTo: ebma@marad.example\nSubject: " + subject
	}

	r := build(t, b, testkit.SignMail(t, p, signer, hdr("Искане по ЗДОИ"), entity(), testkit.SMIME{}))
	in := r.Input
	if r.Refusal != nil || r.Kind.Kind != "Заявление за достъп до обществена информация" || r.Kind.By != "rule 1" || in.DocKind != r.Kind.Kind {
		t.Fatalf("kind %+v refusal %q", r.Kind, r.Refusal)
	}
	if in.DocAbout != "Искане по ЗДОИ" || !strings.Contains(in.DocComment, "Желая потвърждаване") || in.Sender.Name != "Иван Петров" {
		t.Errorf("texts: %q %q %+v", in.DocAbout, in.DocComment, in.Sender)
	}
	if len(in.Attachments) != 1 || in.Attachments[0].Name != "zayavlenie.pdf" || in.Attachments[0].DeclaredMIME != "application/pdf" {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	got, _ := io.ReadAll(io.NewSectionReader(in.Attachments[0].Content, 0, in.Attachments[0].Size))
	if !bytes.Equal(got, pdf) {
		t.Error("the attachment is not the file sent")
	}
	if len(in.EnvelopeSignatures) != 1 || in.EnvelopeSignatures[0].Err != nil || in.EnvelopeSignatures[0].Results[0].Err != nil || in.EnvelopeSignatures[0].Signed == nil {
		t.Fatalf("envelope signature %+v", in.EnvelopeSignatures)
	}

	for _, tc := range []struct {
		name, subject, body string
		fromSubject         bool
		want                mailinput.Kind
	}{
		{"body rule", "Писмо", "Обжалвам решението.", true, mailinput.Kind{Kind: "Жалба", By: "rule 2"}},
		{"subject as the kind, reply prefixes dropped", "Re: Отг: Молба", "текст", true, mailinput.Kind{Kind: "Молба", By: "subject"}},
		{"held without rules or subject", "", "текст", true, mailinput.Kind{Hold: true}},
		{"held when the subject is not used", "Молба", "текст", false, mailinput.Kind{Hold: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mailinput.New(mailinput.Options{Rules: rules, FromSubject: tc.fromSubject})
			r := build(t, b, testkit.CRLF(hdr(tc.subject)+"\nContent-Type: text/plain; charset=utf-8\n\n"+tc.body+"\n"))
			if r.Kind != tc.want {
				t.Fatalf("kind %+v, want %+v", r.Kind, tc.want)
			}
		})
	}

	t.Run("encrypted mail is refused in Cyrillic and Latin", func(t *testing.T) {
		r := build(t, b, testkit.EncryptMail(t, signer, hdr("Тайно"), entity()))
		if r.Refusal == nil || r.Refusal.Rule != "mail.encrypted" || r.Refusal.Effect != acceptance.Reject || !strings.Contains(r.Refusal.Reason.BG, "криптирано") ||
			!strings.Contains(r.Refusal.Reason.Latin, "kriptirano") || !r.Mail.Encrypted || len(r.Input.ChannelChecks) != 1 {
			t.Fatalf("refusal %+v", r.Refusal)
		}
	})
	t.Run("unreadable mail is refused", func(t *testing.T) {
		r := build(t, b, testkit.CRLF("Content-Type: multipart/mixed\n\nno boundary\n"))
		if r.Mail != nil || r.Refusal == nil || !strings.Contains(r.Refusal.Reason.BG, "не може да бъде прочетено") ||
			!strings.Contains(r.Refusal.Reason.Latin, "ne mozhe da bade procheteno") || len(r.Input.ChannelChecks) != 1 {
			t.Fatalf("refusal %+v", r.Refusal)
		}
	})
	if v := testutil.ToFloat64(counterVec(t, reg, "seosgw_mail_smime_signatures_total", "valid")); v != 1 {
		t.Errorf("valid signatures counted %v", v)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
	if _, err := mailinput.CompileRules([]mailinput.RuleSpec{{Kind: "x", Subject: "("}}); err == nil {
		t.Error("a bad pattern compiled")
	}
}

func counterVec(t *testing.T, reg *prometheus.Registry, name, result string) prometheus.Collector {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				v := m.GetCounter().GetValue()
				return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "v", Help: "v"}, func() float64 { return v })
			}
		}
	}
	t.Fatalf("no %s{result=%s}", name, result)
	return nil
}
