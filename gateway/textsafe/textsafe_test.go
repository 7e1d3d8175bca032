package textsafe_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

func TestField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"писмо.pdf", "писмо.pdf"},
		{"Министерство на примерите", "Министерство на примерите"},
		{"a\x1b[31mred", `a\u001b[31mred`},
		{"tab\there", `tab\there`},
		{"forged\r\nstate: registered", `forged\r\nstate: registered`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"del\x7f", `del\u007f`},
		{"evil\u202eexe.pdf", `evil\u202eexe.pdf`},
		{"isolate\u2066x\u2069", `isolate\u2066x\u2069`},
		{"mark\u200f\u200e\u061c", `mark\u200f\u200e\u061c`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"truncated \xd0", `truncated \xd0`},
		{"replacement \ufffd is a character", "replacement \ufffd is a character"},
	} {
		if got := textsafe.Field(c.in); got != c.want {
			t.Errorf("Field(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	in := "first line\n\tsecond\r\n\x1b]0;title\x07"
	want := "first line\n\tsecond\\r\n\\u001b]0;title\\u0007"
	if got := textsafe.Text(in); got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
}

func TestLongValuesAreCutWithAMarker(t *testing.T) {
	long := strings.Repeat("я", textsafe.MaxField) // 2 bytes each
	got := textsafe.Field(long)
	if !strings.HasSuffix(got, " [cut: 512 more bytes]") || !utf8.ValidString(got) {
		t.Fatalf("Field of %d bytes = …%q", len(long), got[max(0, len(got)-40):])
	}
	if got := textsafe.Cut(strings.Repeat("x", 100), 20); got != strings.Repeat("x", 20)+" [cut: 80 more bytes]" {
		t.Errorf("Cut = %q", got)
	}
	if got := textsafe.Field(strings.Repeat("x", textsafe.MaxField)); len(got) != textsafe.MaxField {
		t.Errorf("a value of exactly MaxField bytes was changed: %d bytes", len(got))
	}
}

func FuzzField(f *testing.F) {
	for _, s := range []string{"", "писмо", "a\r\nb", "\x9b\u202e", "\xff\xfe", strings.Repeat("ж", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, multiline := range []bool{false, true} {
			out := textsafe.Field(s)
			if multiline {
				out = textsafe.Text(s)
			}
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
			}
			for _, r := range out {
				if textsafe.Unsafe(r) && !(multiline && (r == '\n' || r == '\t')) {
					t.Fatalf("%q left %U in %q", s, r, out)
				}
			}
			if out2 := textsafe.Text(out); len(out) <= textsafe.MaxField && out2 != out {
				t.Fatalf("not stable: %q then %q", out, out2)
			}
		}
	})
}

func TestBlock(t *testing.T) {
	in := "Отказ: не е наш.\nOtkaz: ne e nash.\r\nState: registered\u009b"
	want := "Отказ: не е наш.\n    Otkaz: ne e nash.\\r\n    State: registered\\u009b"
	if got := textsafe.Block(in, "    "); got != want {
		t.Errorf("Block = %q, want %q", got, want)
	}
}
