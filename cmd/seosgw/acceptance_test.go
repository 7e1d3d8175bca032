package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/seos"
)

// TestAcceptanceCheck runs `seosgw acceptance check` on a SEOS message and
// on loose files, with the shipped rules, a test CA and a real clamd.
func TestAcceptanceCheck(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	clamd := acceptancetest.StartClamd(t)
	office := acceptancetest.MakeOffice(t)
	signer := p.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089"})
	dir := t.TempDir()
	ex, err := os.ReadFile("../../configs/acceptance.maritime.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules := strings.Replace(string(ex), "trusted_ca_dir: /etc/seosgw/qualified-ca", "trusted_ca_dir: "+p.CADir(t), 1)
	rules = strings.Replace(rules, "clamd: unix:/run/clamav/clamd.ctl", "clamd: "+clamd.Addr, 1)
	rulesPath := filepath.Join(dir, "acceptance.yaml")
	os.WriteFile(rulesPath, []byte(rules), 0o644)

	signed := acceptancetest.SignPDF(t, p, signer, office.PDF)
	about := "Съгласен съм да получавам електронни изявления от ИАМА. Желая потвърждаване за получаването."
	m := &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()),
			Sender:      seos.Entity{Identifier: "000695089", AdministrativeBodyName: "Министерство А", GUID: "{11111111-1111-4111-8111-111111111111}"},
			Recipient:   seos.Entity{Identifier: "121857413", AdministrativeBodyName: "ИАМА", GUID: "{22222222-2222-4222-8222-222222222222}"},
			MessageGUID: seos.NewGUID()},
		Body: seos.Body{RegistrationRequest: &seos.RegistrationRequest{Comment: "за регистрация", Document: seos.Document{
			ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Честитка", About: &about,
			// XML 1.0 cannot carry control characters; a bidi override it can, and must not reach the terminal.
			Attachments: []seos.Attachment{{FileName: "писмо\u202egpj.pdf", MIMEType: "application/pdf", Body: seos.Base64Of(signed)}},
		}}},
	}
	msg, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msgPath := filepath.Join(dir, "message.xml")
	os.WriteFile(msgPath, msg, 0o644)

	run1 := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"acceptance", "check", "--rules", rulesPath}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errb})
		return code, out.String(), errb.String()
	}

	code, out, errOut := run1(msgPath)
	if code != exitReject {
		t.Fatalf("exit %d, want %d (reject)\n%s%s", code, exitReject, out, errOut)
	}
	for _, w := range []string{"RULE", "kind", "fail", "not registrable (greetings", "signature.integrity", "virus", `писмо\u202egpj.pdf`, "outcome: reject"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
	if strings.ContainsRune(out, '\u202e') {
		t.Error("a bidi override reached the terminal")
	}

	code, out, _ = run1("--lang", "latin", "--json", msgPath)
	var v acceptance.Verdict
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Outcome != acceptance.Reject || code != exitReject {
		t.Fatalf("--json: %v %d %s", err, code, out)
	}

	// Loose files: a signed PDF is accepted, an encrypted one refused.
	pdfPath := filepath.Join(dir, "писмо.pdf")
	os.WriteFile(pdfPath, signed, 0o644)
	code, out, errOut = run1("--lang", "bg", "--sender-eik", "000695089", "--about", about, pdfPath)
	if code != exitAccept || !strings.Contains(out, "подписан от Иван Петров") {
		t.Fatalf("signed PDF: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run1("--sender-eik", "000695089", "--about", about, office.EncPDF)
	if code != exitReject || !strings.Contains(out, "/Encrypt") {
		t.Fatalf("encrypted PDF: exit %d\n%s", code, out)
	}

	// The rules the node configuration names, as serve loads them.
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		os.WriteFile(filepath.Join(dir, f), []byte("placeholder: only its existence is checked"), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "ais-token"), []byte("token-0123456789\n"), 0o600)
	node := `participant: {guid: "{11111111-1111-4111-8111-111111111111}", eik: "121857413", name: "ИАМА"}
tls: {cert: cert.pem, key: key.pem, ca: ca.pem}
register: {url: "https://register.obmen.local/"}
ais: {token_file: ais-token}
`
	cfgPath := filepath.Join(dir, "seosgw.yaml")
	os.WriteFile(cfgPath, []byte(node+"acceptance: {rules: acceptance.yaml}\n"), 0o600)
	var stdout, stderr bytes.Buffer
	code = run(context.Background(), []string{"acceptance", "check", "--config", cfgPath, msgPath}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
	if code != exitReject || !strings.Contains(stdout.String(), "outcome: reject") {
		t.Errorf("--config: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	os.WriteFile(cfgPath, []byte(node), 0o600)
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"acceptance", "check", "--config", cfgPath, msgPath}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
	if code != 1 || !strings.Contains(stderr.String(), "sets no acceptance.rules; give the rules file with --rules FILE") {
		t.Errorf("a configuration without rules: exit %d %s", code, stderr.String())
	}

	if code, _, errOut = run1(); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("no file: exit %d %s", code, errOut)
	}
	if code, _, errOut = run1("--rules", filepath.Join(dir, "none.yaml"), pdfPath); code != 1 || !strings.Contains(errOut, "none.yaml") {
		t.Errorf("missing rules: exit %d %s", code, errOut)
	}
}
