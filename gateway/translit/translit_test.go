package translit

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Place and person names.
		{"Благоевград", "Blagoevgrad"},
		{"Шумен", "Shumen"},
		{"Цанко Церковски", "Tsanko Tserkovski"},
		{"Юрий Гагарин", "Yuriy Gagarin"},
		{"Христо Ботев", "Hristo Botev"},
		{"Стара Загора", "Stara Zagora"},
		{"Търговище", "Targovishte"},
		{"Пещера", "Peshtera"},
		{"Кюстендил", "Kyustendil"},
		{"Ямбол", "Yambol"},
		{"Жельо Щерев", "Zhelyo Shterev"},
		{"Чепеларе", "Chepelare"},
		// Institutions; „“ pass through.
		{"Министерство на електронното управление", "Ministerstvo na elektronnoto upravlenie"},
		{"Държавна агенция „Електронно управление“", "Darzhavna agentsia „Elektronno upravlenie“"},
		// "ия" at the end of a word only.
		{"София", "Sofia"},
		{"София-град", "Sofia-grad"},
		{"Мария, Марияна", "Maria, Mariyana"},
		{"Ия", "Ia"},
		{"СОФИЯ", "SOFIA"},
		// България, whatever its case; other forms follow the table.
		{"Република България", "Republika Bulgaria"},
		{"БЪЛГАРИЯ", "BULGARIA"},
		{"българия", "bulgaria"},
		{"бЪЛГАРИЯ", "bULGARIA"},
		{"Българският", "Balgarskiyat"},
		// Capitals: first letter only, unless the word is all caps.
		{"Ж", "Zh"},
		{"Щ", "Sht"},
		{"Ж. Иванов", "Zh. Ivanov"},
		{"Щит", "Shtit"},
		{"ЖЕЛЕЗНИЦА", "ZHELEZNITSA"},
		{"ЖП", "ZHP"},
		{"ЩИТ и Щит", "SHTIT i Shtit"},
		{"ЕвроЩит", "EvroShtit"},
		{"ЪГЪЛ", "AGAL"},
		{"ул. „Цар Освободител“ № 6", "ul. „Tsar Osvoboditel“ № 6"},
		// Non-Bulgarian text passes through.
		{"", ""},
		{"Sofia 1000, EIK 123", "Sofia 1000, EIK 123"},
		{"Ёлка ы", "Ёlka ы"},
		{"ДАЕУ-SEOS", "DAEU-SEOS"},
		// ѝ, and й/ѝ decomposed as macOS writes file names (NFD).
		{"ѝ", "i"},
		{"Юрии\u0306", "Yuriy"},
		{"И\u0306ОРДАН", "YORDAN"},
		{"и\u0300", "i"},
		{"а\u0301з", "a\u0301z"},
		// Invalid UTF-8 becomes U+FFFD.
		{"Шу\xffмен", "Shu\uFFFDmen"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

func TestFileName(t *testing.T) {
	long := strings.Repeat("ж", 150) // 300 bytes once transliterated
	for _, tc := range []struct{ in, want string }{
		{"Заявление.pdf", "Zayavlenie.pdf"},
		{"Държавна агенция „Електронно управление“.docx", "Darzhavna_agentsia_Elektronno_upravlenie.docx"},
		{"Писмо до ДАЕУ (копие) 2025.xml", "Pismo_do_DAEU_kopie_2025.xml"},
		{"отчет  за   2025 г..PDF", "otchet_za_2025_g.PDF"},
		{"archive.tar.gz", "archive.tar.gz"},
		{"a/../../etc/passwd", "a_.._.._etc_passwd"},
		{`C:\Users\Иван\doc.txt`, "C_Users_Ivan_doc.txt"},
		{".bashrc", "_.bashrc"},
		{"-rf", "rf"},
		{"..", "_"},
		{".", "_"},
		{"", "_"},
		{"   ", "_"},
		{"„“", "_"},
		{".pdf", "_.pdf"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"com1.tar.gz", "_com1.tar.gz"},
		{"Console.txt", "Console.txt"},
		{"name.", "name"},
		{"name_.txt", "name.txt"},
		{"И\u0306ордан.pdf", "Yordan.pdf"},
		{long + ".pdf", strings.Repeat("zh", 98) + ".pdf"},
		{long, strings.Repeat("zh", 100)},
		{"x." + long, "x." + strings.Repeat("zh", 99)},
	} {
		got := FileName(tc.in)
		if got != tc.want {
			t.Errorf("FileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !safeName.MatchString(got) || got == "." || got == ".." {
			t.Errorf("FileName(%q) = %q, not a safe name", tc.in, got)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"София", "БЪЛГАРИЯ", "Ж", "Юри\u0306", "Шу\xffмен", "„Електронно управление“", "ия"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q, not valid UTF-8", s, out)
		}
		for _, r := range out {
			if _, bulgarian := latin(unicode.ToLower(r)); bulgarian {
				t.Fatalf("String(%q) = %q, still has %q", s, out, r)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, isBulgarian) && out != s {
			t.Fatalf("String(%q) = %q, want it unchanged", s, out)
		}
	})
}

func isBulgarian(r rune) bool {
	if r == '\u0306' || r == '\u0300' { // may compose with и
		return true
	}
	_, ok := latin(unicode.ToLower(r))
	return ok
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"Заявление.pdf", "..", ".", "", "CON", "a_.b_", ".bashrc", strings.Repeat("Щ", 80) + ".tar.gz", "a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := FileName(s)
		if !safeName.MatchString(out) || out == "." || out == ".." {
			t.Fatalf("FileName(%q) = %q, not a safe name", s, out)
		}
		if strings.HasPrefix(out, ".") || strings.HasPrefix(out, "-") || strings.HasSuffix(out, ".") || strings.Contains(out, "__") {
			t.Fatalf("FileName(%q) = %q breaks a shaping rule", s, out)
		}
		if again := FileName(out); again != out {
			t.Fatalf("FileName not idempotent: %q → %q → %q", s, out, again)
		}
	})
}

// Every short name over the characters the rules treat specially, alone and
// at the 200-byte boundary, is safe and stable; fuzzing rarely reaches the
// long ones.
func TestFileNameExhaustive(t *testing.T) {
	alphabet := []string{"a", ".", "_", "-", " ", "Ж", "1"}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		for _, pad := range []string{"", strings.Repeat("b", 194), strings.Repeat("b", 197)} {
			in := pad + prefix
			out := FileName(in)
			if !safeName.MatchString(out) || out == "." || out == ".." || strings.HasSuffix(out, ".") {
				t.Fatalf("FileName(%q) = %q, not a safe name", in, out)
			}
			if again := FileName(out); again != out {
				t.Fatalf("FileName not idempotent: %q → %q → %q", in, out, again)
			}
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(prefix+c, depth-1)
		}
	}
	walk("", 4)
}
