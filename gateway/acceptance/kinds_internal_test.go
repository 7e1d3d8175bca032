package acceptance

import (
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  ПИСМО ": "писмо",
		"Писмo":    "писмо", // Latin o
		"Заповед\u00a0за\tкомандировка": "заповед за командировка",
		"„Становище“.":                  "становище",
		"Приемо–предавателен протокол":  "приемо-предавателен протокол",
		"Letter": "letter", // Latin words keep their letters
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("Заповед за командировка в чужбина")
	f.Add(" „Писмo“. ")
	f.Fuzz(func(t *testing.T, s string) {
		n := normalize(s)
		if normalize(n) != n {
			t.Fatalf("normalize is not idempotent: %q -> %q -> %q", s, n, normalize(n))
		}
		k := phraseKey(s)
		if phraseKey(k) != k {
			t.Fatalf("phraseKey is not idempotent: %q", s)
		}
	})
}

func FuzzKindMatch(f *testing.F) {
	f.Add("молба за назначаване на работа")
	m := newKindMatcher(Kinds{Transliterated: true,
		Registrable:    []KindGroup{{Group: Label{BG: "a"}, Names: []string{"молба", "писмо"}, Patterns: []string{"^заповед"}}},
		NonRegistrable: []KindGroup{{Group: Label{BG: "b"}, Names: []string{"молба за назначаване на работа"}}}})
	f.Fuzz(func(t *testing.T, s string) {
		n, _, ok := m.match(s)
		if ok && normalize(s) == "молба за назначаване на работа" && n.registrable {
			t.Fatal("the longer non-registrable name must win")
		}
	})
}
