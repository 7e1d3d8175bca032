package daeu

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

var (
	xmlDecl     = regexp.MustCompile(`^<\?xml\s[^?]*\?>`)
	declVersion = regexp.MustCompile(`version\s*=\s*["']([^"']*)["']`)
	declEnc     = regexp.MustCompile(`encoding\s*=\s*["']([^"']*)["']`)
	declAlone   = regexp.MustCompile(`standalone\s*=\s*["']([^"']*)["']`)
)

// ToUTF8 turns a register message into UTF-8 with a declaration that says
// so, because gateway/xmldoc reads only UTF-8. NuSOAP declares ISO-8859-1 by
// default, and an unconfigured NuSOAP sends PHP's UTF-8 bytes under that
// label; valid UTF-8 with multi-byte sequences is therefore read as UTF-8,
// anything else as Latin-1. windows-1251 (Cyrillic; a proxy or a non-.NET
// stack may re-encode to it) is decoded as such. The XML declaration wins
// over the HTTP charset.
func ToUTF8(b []byte, contentType string) ([]byte, error) {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	if bytes.HasPrefix(b, []byte{0xFE, 0xFF}) || bytes.HasPrefix(b, []byte{0xFF, 0xFE}) {
		return nil, fmt.Errorf("UTF-16 is not supported; the register sends UTF-8 or ISO-8859-1")
	}
	charset := ""
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		charset = params["charset"]
	}
	decl := xmlDecl.Find(b)
	if decl != nil {
		if m := declEnc.FindSubmatch(decl); m != nil {
			charset = string(m[1])
		}
	}
	body := b[len(decl):]
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return b, nil // a wrong ASCII label on UTF-8 bytes changes nothing we read
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819", "iso-ir-100":
		if !(utf8.Valid(body) && hasMultiByte(body)) {
			body = latin1ToUTF8(body)
		}
	case "windows-1251", "cp1251", "x-cp1251", "cp-1251", "win-1251":
		var err error
		// Every byte maps to a character, so this cannot fail on content.
		if body, err = charmap.Windows1251.NewDecoder().Bytes(body); err != nil {
			return nil, fmt.Errorf("windows-1251: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported character encoding %q; the register sends UTF-8, ISO-8859-1 or windows-1251", charset)
	}
	if decl == nil {
		return body, nil
	}
	return append(utf8Decl(decl), body...), nil
}

func hasMultiByte(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// latin1ToUTF8: each ISO-8859-1 byte is the Unicode code point of that value.
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// utf8Decl rewrites an XML declaration with encoding UTF-8, keeping version
// and standalone.
func utf8Decl(decl []byte) []byte {
	version := "1.0"
	if m := declVersion.FindSubmatch(decl); m != nil {
		version = string(m[1])
	}
	s := `<?xml version="` + version + `" encoding="UTF-8"`
	if m := declAlone.FindSubmatch(decl); m != nil {
		s += ` standalone="` + string(m[1]) + `"`
	}
	return []byte(s + "?>")
}
