package acceptance_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance"
)

const minimalRules = `
name: test
kinds:
  registrable:
    - group: {bg: "кореспонденция"}
      names: [писмо]
formats:
  allowed: [pdf]
signatures:
  required: true
  trusted_ca_dir: ca
virus:
  clamd: unix:/run/clamav/clamd.ctl
requisites:
  rules:
    - id: receipt
      label: {bg: "потвърждаване"}
      affirm: ["желая потвърждаване"]
      deny: ["не желая потвърждаване"]
      on_deny: no_receipt
`

// TestRulesValidation: every wrong field is named, with its fix, all at once.
func TestRulesValidation(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "ca"), 0o755)
	if _, err := acceptance.ParseRules([]byte(minimalRules), dir); err != nil {
		t.Fatalf("minimal rules: %v", err)
	}
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"bad mode", "  allowed: [pdf]", "  mode: strict\n  allowed: [pdf]", []string{"formats.mode: \"strict\"; use enforce"}},
		{"unknown format", "allowed: [pdf]", "allowed: [pdf, wordperfect]", []string{"formats.allowed[1]: \"wordperfect\" is not a format", "docx"}},
		{"executables allowed", "allowed: [pdf]", "allowed: [pdf, exe]", []string{"formats.allowed[1]: \"exe\" would let programs"}},
		{"bad pattern", "names: [писмо]", "names: [писмо]\n      patterns: ['(писмо']", []string{"kinds.registrable[0].patterns[0]:", "RE2"}},
		{"kind twice", "names: [писмо]", "names: [писмо, ПИСМО]", []string{"kinds.registrable[0].names[1]: \"ПИСМО\" is also listed at kinds.registrable[0].names[0]"}},
		{"group without names", "      names: [писмо]\n", "", []string{"kinds.registrable[0]: group \"кореспонденция\" has neither names nor patterns"}},
		{"accept unscanned", "  clamd: unix:/run/clamav/clamd.ctl", "  clamd: unix:/run/clamav/clamd.ctl\n  on_unavailable: accept", []string{"virus.on_unavailable: \"accept\"; use hold or reject"}},
		{"bad clamd", "clamd: unix:/run/clamav/clamd.ctl", "clamd: clamd-host", []string{"virus.clamd:", "tcp:host:port"}},
		{"missing CA folder", "trusted_ca_dir: ca", "trusted_ca_dir: nowhere", []string{"signatures.trusted_ca_dir: \"nowhere\" is not a folder"}},
		{"no trust at all", "  trusted_ca_dir: ca\n", "", []string{"signatures.trusted_ca_dir: empty while signatures.required is true"}},
		{"trusted list unsigned", "  trusted_ca_dir: ca\n", "  trusted_ca_dir: ca\n  trusted_list: {file: ca}\n", []string{"signatures.trusted_list.signer_certs: empty"}},
		{"bad on_fail", "  required: true", "  required: true\n  trust: {mode: enforce, on_fail: ignore, on_unknown: maybe}", []string{"signatures.trust.on_fail: \"ignore\"; use reject or hold", "signatures.trust.on_unknown: \"maybe\""}},
		{"bad requisite", "    - id: receipt", "    - id: Receipt!", []string{"requisites.rules[0].id: \"Receipt!\""}},
		{"bad on_deny", "on_deny: no_receipt", "on_deny: ignore", []string{"requisites.rules[0].on_deny: \"ignore\"; use no_receipt"}},
		{"bad source", "requisites:\n", "requisites:\n  sources: [doc_about, body]\n", []string{"requisites.sources[1]: \"body\""}},
		{"misspelt field", "formats:", "formatz:", []string{"field formatz not found", "acceptance.maritime.example.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(minimalRules, tc.from, tc.to, 1)
			if y == minimalRules {
				t.Fatalf("replacement %q did not apply", tc.from)
			}
			_, err := acceptance.ParseRules([]byte(y), dir)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestExampleRulesAreValid: the shipped example loads once its two
// machine-specific paths exist.
func TestExampleRulesAreValid(t *testing.T) {
	b, err := os.ReadFile("../../configs/acceptance.maritime.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "ca"), 0o755)
	y := strings.Replace(string(b), "trusted_ca_dir: /etc/seosgw/qualified-ca", "trusted_ca_dir: ca", 1)
	r, err := acceptance.ParseRules([]byte(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	documented(reflect.TypeOf(acceptance.Rules{}), string(b), &missing)
	if len(missing) > 0 {
		t.Errorf("the example does not set or mention %v", missing)
	}
	if len(r.Kinds.Registrable) != 4 || len(r.Kinds.NonRegistrable) != 9 || len(r.Requisites.Rules) != 3 {
		t.Errorf("example lists: %d registrable groups, %d non-registrable, %d requisites", len(r.Kinds.Registrable), len(r.Kinds.NonRegistrable), len(r.Requisites.Rules))
	}
}

// documented walks the rules' YAML names (into nested structs and lists of
// structs) and collects those the example never writes as "name:".
func documented(t reflect.Type, example string, missing *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if opts != "inline" && !strings.Contains(example, tag+":") {
			*missing = append(*missing, t.Name()+"."+tag)
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			documented(ft, example, missing)
		}
	}
}
