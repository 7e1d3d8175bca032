package acceptancetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RulesYAML is a small rules file for tests of the gateway around the
// policy: "писмо" is registrable and "честитка" is not (anything else is
// unknown: hold); text, PDF and detached signatures are accepted; every
// document must carry its author's signature, trusted at %CA% and checked
// by CRL only, made for the sender or by a person %PERSONS% lists; clamd at
// %CLAMD% scans; the wish for confirmation of
// receipt is an advise-only requisite ("не желая" declines the receipt).
const RulesYAML = `name: "тестови правила"
kinds:
  registrable:
    - group: {bg: "служебна кореспонденция", en: "official correspondence"}
      names: [писмо]
  non_registrable:
    - group: {bg: "честитки и поздравления", en: "greetings"}
      names: [честитка]
formats:
  allowed: [text, pdf, p7s]
signatures:
  required: true
  trusted_ca_dir: "%CA%"
  revocation_sources: {ocsp: false, crl: true, timeout: %REVOCATION_TIMEOUT%}
  authors: {match_sender: true%PERSONS%}
virus: {clamd: "%CLAMD%", timeout: 30s}
requisites:
  sources: [doc_about, doc_comment, comment]
  rules:
    - id: receipt_confirmation
      label: {bg: "желание за потвърждаване на получаването", en: "wish for confirmation of receipt"}
      mode: advise
      affirm: ["желая потвърждаване"]
      deny: ["не желая потвърждаване"]
      on_deny: no_receipt
`

// WriteRules writes RulesYAML for this PKI and clamd into dir and returns
// its path; revocationTimeout bounds one CRL download (e.g. "10s"). persons
// are the names of people who may sign too (a person writes by mail: the
// sender has no EIK to match).
func WriteRules(t testing.TB, dir string, p *PKI, clamd *Clamd, revocationTimeout string, persons ...string) string {
	t.Helper()
	r := strings.NewReplacer("%CA%", p.CADir(t), "%CLAMD%", clamd.Addr, "%REVOCATION_TIMEOUT%", revocationTimeout, "%PERSONS%", Persons(persons...)).Replace(RulesYAML)
	path := filepath.Join(dir, "acceptance.yaml")
	if err := os.WriteFile(path, []byte(r), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Persons is RulesYAML's %PERSONS%: the persons list of authors.
func Persons(names ...string) string {
	if len(names) == 0 {
		return ""
	}
	var list []string
	for _, n := range names {
		list = append(list, fmt.Sprintf("{name: %q}", n))
	}
	return ", persons: [" + strings.Join(list, ", ") + "]"
}
