// Package translit writes Bulgarian Cyrillic in Latin letters as the
// Transliteration Act (2009) prescribes, and turns Bulgarian text into safe
// ASCII file names for the spool folder.
package translit

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// table is the letter-by-letter rule of the Act, indexed by lower-case
// letter from а (U+0430) to ѝ (U+045D). ѝ, the pronoun "her", is и with an
// accent, so it is i. An array rather than a map: it is read for every
// character of every name.
var table = func() (t ['ѝ' - 'а' + 1]string) {
	for r, lat := range map[rune]string{
		'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ж': "zh",
		'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n",
		'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f",
		'х': "h", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "sht", 'ъ': "a", 'ь': "y",
		'ю': "yu", 'я': "ya", 'ѝ': "i",
	} {
		t[r-'а'] = lat
	}
	return t
}()

// latin returns the Latin spelling of a lower-case Bulgarian letter.
func latin(lower rune) (string, bool) {
	i := lower - 'а'
	if i < 0 || int(i) >= len(table) || table[i] == "" {
		return "", false
	}
	return table[i], true
}

// bulgaria is the one word the Act spells by exception. Its Latin form has one
// letter per Cyrillic letter, so the case of each letter carries over.
var bulgaria = []rune("българия")

const bulgariaLatin = "bulgaria"

// String transliterates the Bulgarian letters in s and leaves every other
// character as it is (Latin, digits, punctuation, and Cyrillic letters that
// are not Bulgarian, such as ы or ё). Invalid UTF-8 becomes U+FFFD.
//
// A word is a maximal run of letters (unicode.IsLetter, any script). Rules
// that look at words:
//   - "ия" ending a word is "ia" (София → Sofia);
//   - the word България is Bulgaria, in the case it is written in
//     (БЪЛГАРИЯ → BULGARIA, българия → bulgaria);
//   - a capital whose Latin form has several letters is written with only
//     its first letter capital (Жечо → Zhecho) unless the word is all caps,
//     meaning it has at least two cased letters and no lower-case one
//     (ЖЕЛЕЗНИЦА → ZHELEZNITSA). A one-letter word cannot show whether it
//     is all caps and takes the capital first letter form (Ж → Zh), which
//     is what initials need (Ж. Иванов → Zh. Ivanov).
func String(s string) string {
	rs := compose([]rune(s))
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(rs); {
		if !unicode.IsLetter(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && unicode.IsLetter(rs[j]) {
			j++
		}
		word(&b, rs[i:j])
		i = j
	}
	return b.String()
}

func word(b *strings.Builder, w []rune) {
	if isBulgaria(w) {
		for i, r := range w {
			b.WriteRune(withCaseOf(rune(bulgariaLatin[i]), r))
		}
		return
	}
	caps := allCaps(w)
	for i, r := range w {
		lower := unicode.ToLower(r)
		if lower == 'я' && i == len(w)-1 && i > 0 && unicode.ToLower(w[i-1]) == 'и' {
			b.WriteRune(withCaseOf('a', r))
			continue
		}
		lat, ok := latin(lower)
		if !ok {
			b.WriteRune(r)
			continue
		}
		switch {
		case !unicode.IsUpper(r):
			b.WriteString(lat)
		case caps:
			b.WriteString(strings.ToUpper(lat))
		default:
			b.WriteString(strings.ToUpper(lat[:1]) + lat[1:])
		}
	}
}

func isBulgaria(w []rune) bool {
	if len(w) != len(bulgaria) {
		return false
	}
	for i, r := range w {
		if unicode.ToLower(r) != bulgaria[i] {
			return false
		}
	}
	return true
}

func allCaps(w []rune) bool {
	upper := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			upper++
		}
	}
	return upper >= 2
}

func withCaseOf(lat, r rune) rune {
	if unicode.IsUpper(r) {
		return unicode.ToUpper(lat)
	}
	return lat
}

// compose joins и/И with a combining breve or grave into й/Й or ѝ/Ѝ. File
// names from macOS arrive decomposed (NFD), and a lone combining mark would
// otherwise split the word and survive as a stray accent.
func compose(rs []rune) []rune {
	out := rs[:0]
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if i+1 < len(rs) && (r == 'и' || r == 'И') {
			upper := r == 'И'
			switch rs[i+1] {
			case '\u0306': // combining breve
				r = pick(upper, 'Й', 'й')
				i++
			case '\u0300': // combining grave
				r = pick(upper, 'Ѝ', 'ѝ')
				i++
			}
		}
		out = append(out, r)
	}
	return out
}

func pick(c bool, a, b rune) rune {
	if c {
		return a
	}
	return b
}

// MaxFileName is the longest name FileName returns, in bytes. It leaves room
// under the common 255-byte limit for a prefix or suffix the spool adds.
const MaxFileName = 200

// maxExt is the longest extension FileName keeps apart when it shortens a
// name; a longer "extension" is more likely part of the name.
const maxExt = 16

// FileName turns s (an attachment's name) into a file name that is safe on
// any file system the spool folder may be shared to: it transliterates s,
// replaces each character outside [A-Za-z0-9._-] with '_', collapses runs of
// '_', and trims '_', '.' and '-' from the start (no hidden files, nothing a
// shell reads as an option) and '_' and '.' from the end of the name before
// the extension (Windows drops trailing dots). The extension (the part after
// the last dot, up to 16 letters or digits) is kept, also when a name longer
// than MaxFileName bytes is shortened. A name that would be empty becomes
// "_", and a Windows device name (CON, NUL, COM1, ...) gets a '_' prefix.
// The result is never empty, "." or "..", and FileName(FileName(s)) ==
// FileName(s).
func FileName(s string) string {
	t := String(s)
	b := make([]byte, 0, len(t))
	for _, r := range t {
		c := byte('_')
		if r < utf8.RuneSelf && safe(byte(r)) {
			c = byte(r)
		}
		if c == '_' && len(b) > 0 && b[len(b)-1] == '_' {
			continue
		}
		b = append(b, c)
	}
	// Trimming or shortening can expose a new extension or a trailing dot
	// ("a_.b_" → "a_.b" → "a.b"), so shape until stable: that is what makes
	// FileName idempotent. Every round returns a safe name; the bound only
	// guards against a cycle.
	name := shape(string(b))
	for range 4 {
		next := shape(name)
		if next == name {
			break
		}
		name = next
	}
	return name
}

// shape applies the trimming, extension, device-name and length rules to a
// name already made of safe characters.
func shape(name string) string {
	name = strings.TrimRight(name, "._")
	stem, ext := name, ""
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 && isExt(name[dot+1:]) {
		stem, ext = name[:dot], name[dot:]
	}
	stem = strings.TrimRight(strings.TrimLeft(stem, "._-"), "._")
	if isDeviceName(stem) {
		stem = "_" + stem
	}
	if len(stem)+len(ext) > MaxFileName {
		stem = strings.TrimRight(stem[:MaxFileName-len(ext)], "._")
	}
	if stem == "" {
		stem = "_"
	}
	return stem + ext
}

func safe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

func isExt(s string) bool {
	if s == "" || len(s) > maxExt {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isDeviceName reports whether Windows would take the name as a device:
// the part before the first dot is CON, PRN, AUX, NUL, COM0-9 or LPT0-9.
func isDeviceName(stem string) bool {
	base, _, _ := strings.Cut(stem, ".")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && base[3] >= '0' && base[3] <= '9' {
		switch strings.ToUpper(base[:3]) {
		case "COM", "LPT":
			return true
		}
	}
	return false
}
