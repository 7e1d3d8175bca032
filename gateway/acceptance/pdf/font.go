package pdf

import (
	"bytes"
	"strconv"
	"strings"
)

// font turns the bytes of shown strings into text.
type font struct {
	toUni     map[uint64]string // (code length << 32 | code) -> text
	lengths   []int             // code lengths of the codespace, shortest first
	simple    *[256]rune        // single-byte fonts without a usable ToUnicode
	twoByte   bool              // a composite font without ToUnicode: nothing readable
	hasToUnic bool
}

func (f *File) loadFont(d Dict) *font {
	ft := &font{}
	subtype, _ := f.Get(d, "Subtype").(Name)
	if s, ok := f.Get(d, "ToUnicode").(*Stream); ok {
		if data, err := f.decode(s); err == nil {
			ft.parseCMap(data)
		}
	}
	if ft.hasToUnic {
		return ft
	}
	if subtype == "Type0" {
		ft.twoByte = true
		return ft
	}
	table := winAnsi
	switch e := f.Get(d, "Encoding").(type) {
	case Name:
		if e == "MacRomanEncoding" {
			table = macRoman()
		}
	case Dict:
		if b, ok := f.Get(e, "BaseEncoding").(Name); ok && b == "MacRomanEncoding" {
			table = macRoman()
		}
		if diffs, ok := f.Get(e, "Differences").(Array); ok {
			code := 0
			for _, v := range diffs {
				switch x := v.(type) {
				case int64:
					code = int(x)
				case Name:
					if code >= 0 && code < 256 {
						if r, ok := glyphRune(string(x)); ok {
							table[code] = r
						}
					}
					code++
				}
			}
		}
	}
	ft.simple = &table
	return ft
}

func (ft *font) parseCMap(data []byte) {
	ft.toUni = map[uint64]string{}
	l := newLexer(bytes.NewReader(data), int64(len(data)), 0)
	lengths := map[int]bool{}
	for n := 0; n < 1<<20; n++ {
		tok, err := l.token()
		if err != nil {
			break
		}
		switch tok {
		case keyword("begincodespacerange"):
			for {
				a, err := l.object(0)
				if err != nil || a == keyword("endcodespacerange") {
					break
				}
				b, _ := l.object(0)
				if s, ok := a.(String); ok && len(s) > 0 && len(s) <= 4 {
					lengths[len(s)] = true
				}
				_ = b
			}
		case keyword("beginbfchar"):
			for {
				a, err := l.object(0)
				if err != nil || a == keyword("endbfchar") {
					break
				}
				b, _ := l.object(0)
				src, ok := a.(String)
				if !ok || len(src) == 0 || len(src) > 4 {
					continue
				}
				code, n := parseHexCode(src)
				ft.set(n, code, dest(b))
			}
		case keyword("beginbfrange"):
			for {
				a, err := l.object(0)
				if err != nil || a == keyword("endbfrange") {
					break
				}
				b, _ := l.object(0)
				c, _ := l.object(0)
				lo, okLo := a.(String)
				hi, okHi := b.(String)
				if !okLo || !okHi || len(lo) == 0 || len(lo) > 4 || len(lo) != len(hi) {
					continue
				}
				from, n := parseHexCode(lo)
				to, _ := parseHexCode(hi)
				if to < from || to-from > 1<<16 {
					continue
				}
				switch d := c.(type) {
				case String:
					base := []rune(utf16(d))
					if len(base) == 0 {
						continue
					}
					for i := uint32(0); i <= to-from; i++ {
						rs := append([]rune(nil), base...)
						rs[len(rs)-1] += rune(i)
						ft.set(n, from+i, string(rs))
					}
				case Array:
					for i, v := range d {
						if uint32(i) > to-from {
							break
						}
						ft.set(n, from+uint32(i), dest(v))
					}
				}
			}
		}
	}
	for n := 1; n <= 4; n++ {
		if lengths[n] {
			ft.lengths = append(ft.lengths, n)
		}
	}
	if len(ft.lengths) == 0 {
		// No codespace: take the lengths the mappings use.
		seen := map[int]bool{}
		for k := range ft.toUni {
			seen[int(k>>32)] = true
		}
		for n := 1; n <= 4; n++ {
			if seen[n] {
				ft.lengths = append(ft.lengths, n)
			}
		}
	}
	ft.hasToUnic = len(ft.toUni) > 0
}

func (ft *font) set(n int, code uint32, s string) {
	if len(ft.toUni) < 1<<17 {
		ft.toUni[uint64(n)<<32|uint64(code)] = s
	}
}

func dest(v any) string {
	switch d := v.(type) {
	case String:
		return utf16(d)
	case Name:
		if r, ok := glyphRune(string(d)); ok {
			return string(r)
		}
	}
	return ""
}

// decode turns the bytes of a shown string into text. A nil font (no Tf
// yet, or a font that could not be read) is read as Latin-1.
func (ft *font) decode(s String) string {
	b := []byte(s)
	var out strings.Builder
	switch {
	case ft == nil:
		for _, c := range b {
			out.WriteRune(winAnsi[c])
		}
	case ft.hasToUnic:
		lengths := ft.lengths
		if len(lengths) == 0 {
			lengths = []int{1}
		}
		for i := 0; i < len(b); {
			matched := false
			for _, n := range lengths {
				if i+n > len(b) {
					break
				}
				code, _ := parseHexCode(String(b[i : i+n]))
				if t, ok := ft.toUni[uint64(n)<<32|uint64(code)]; ok {
					out.WriteString(t)
					i += n
					matched = true
					break
				}
			}
			if !matched {
				i += lengths[0]
			}
		}
	case ft.twoByte:
		// Composite font without ToUnicode: the codes are glyph ids.
	default:
		for _, c := range b {
			if r := ft.simple[c]; r != 0 {
				out.WriteRune(r)
			}
		}
	}
	return out.String()
}

// winAnsi is WinAnsiEncoding (Windows-1252), the usual default.
var winAnsi = func() (t [256]rune) {
	for i := 32; i < 256; i++ {
		t[i] = rune(i)
	}
	for i, r := range []rune{0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
		0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178} {
		t[0x80+i] = r
	}
	t['\t'], t['\n'], t['\r'] = ' ', '\n', '\n'
	return t
}()

// macRoman differs from WinAnsi above 0x7f; its letters there are rare in
// Bulgarian documents, so only ASCII is kept.
func macRoman() [256]rune {
	var t [256]rune
	for i := 32; i < 128; i++ {
		t[i] = rune(i)
	}
	return t
}

// glyphRune maps a glyph name to a character: uniXXXX, uXXXX[XX], the
// Adobe names of Cyrillic letters (afii10017…), and the common Latin names.
func glyphRune(name string) (rune, bool) {
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i] // "a.sc", "uni0430.alt"
	}
	if h, ok := strings.CutPrefix(name, "uni"); ok && len(h) >= 4 {
		if v, err := strconv.ParseUint(h[:4], 16, 32); err == nil {
			return rune(v), true
		}
	}
	if h, ok := strings.CutPrefix(name, "u"); ok && len(h) >= 4 && len(h) <= 6 {
		if v, err := strconv.ParseUint(h, 16, 32); err == nil {
			return rune(v), true
		}
	}
	if h, ok := strings.CutPrefix(name, "afii"); ok {
		if n, err := strconv.Atoi(h); err == nil {
			switch {
			case n >= 10017 && n <= 10022:
				return rune(0x0410 + n - 10017), true
			case n == 10023:
				return 'Ё', true
			case n >= 10024 && n <= 10049:
				return rune(0x0416 + n - 10024), true
			case n >= 10065 && n <= 10070:
				return rune(0x0430 + n - 10065), true
			case n == 10071:
				return 'ё', true
			case n >= 10072 && n <= 10097:
				return rune(0x0436 + n - 10072), true
			case n == 61352:
				return '№', true
			}
		}
	}
	if len(name) == 1 {
		return rune(name[0]), true
	}
	if r, ok := latinGlyphs[name]; ok {
		return r, true
	}
	return 0, false
}

var latinGlyphs = map[string]rune{
	"space": ' ', "exclam": '!', "quotedbl": '"', "numbersign": '#', "dollar": '$', "percent": '%',
	"ampersand": '&', "quotesingle": '\'', "parenleft": '(', "parenright": ')', "asterisk": '*', "plus": '+',
	"comma": ',', "hyphen": '-', "period": '.', "slash": '/', "zero": '0', "one": '1', "two": '2',
	"three": '3', "four": '4', "five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
	"colon": ':', "semicolon": ';', "less": '<', "equal": '=', "greater": '>', "question": '?', "at": '@',
	"bracketleft": '[', "backslash": '\\', "bracketright": ']', "underscore": '_', "quoteleft": '‘',
	"quoteright": '’', "quotedblleft": '“', "quotedblright": '”', "quotedblbase": '„', "endash": '–',
	"emdash": '—', "guillemotleft": '«', "guillemotright": '»', "nbspace": ' ',
}
