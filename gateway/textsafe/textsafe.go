// Package textsafe is the one sanitiser of everything seosgw shows an
// operator that came from outside: peers' messages, the register, the AIS.
// Control characters (C0, DEL, C1), bidirectional overrides and isolates,
// line and paragraph separators and invalid UTF-8 become visible escapes,
// so a value can neither forge lines, move the cursor nor reorder what a
// terminal shows; very long values are cut with a marker.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of what a value may take on the screen, in bytes of the input.
const (
	MaxField = 512     // one value in a table or a "label: value" line
	MaxText  = 1 << 16 // a multi-line text: an error, a log detail
)

// Field is s made safe as one value on one line: newlines and tabs are
// escaped too, and more than MaxField bytes are cut with a marker.
func Field(s string) string { return clean(s, MaxField, false) }

// Text is s made safe as text that may span lines: newlines and tabs stay,
// everything else is escaped as in Field, and more than MaxText bytes are
// cut with a marker.
func Text(s string) string { return clean(s, MaxText, true) }

// Block is Text for a value printed after a label: every line after the
// first starts with indent, so that no line of the value can pass for a
// label of its own (a carriage return, which would move back over the
// indent, is escaped as in Text).
func Block(s, indent string) string {
	return strings.ReplaceAll(clean(s, MaxText, true), "\n", "\n"+indent)
}

// Cut is Field with another limit (at least 16 bytes).
func Cut(s string, limit int) string { return clean(s, max(limit, 16), false) }

// Unsafe reports whether r is escaped by Field: what a terminal would act
// on or reorder rather than show.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1 (U+009B is an 8-bit CSI)
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // LRM, RLM, ALM
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

func clean(s string, limit int, multiline bool) string {
	if safe(s, limit, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), limit) + 16)
	i := 0
	for i < len(s) {
		if i >= limit {
			fmt.Fprintf(&b, " [cut: %d more bytes]", len(s)-i)
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case Unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// safe reports whether s needs no change, without allocating.
func safe(s string, limit int, multiline bool) bool {
	if len(s) > limit {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t')) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || Unsafe(r) {
			return false
		}
		i += n
	}
	return true
}
