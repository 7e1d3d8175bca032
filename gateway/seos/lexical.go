package seos

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lexical checks for the XML Schema built-in types SEOS uses. They follow
// XSD 1.0 as libxml2 implements it, since xmllint and the .NET validator are
// what peers check us with; the differential tests hold them to xmllint.

// collapse applies the whiteSpace="collapse" facet.
func collapse(s string) string {
	if !strings.ContainsAny(s, " \t\n\r") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, isXMLSpace), " ")
}

func isXMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// IsGUID reports whether s matches the SEOS GUID pattern, braces included.
func IsGUID(s string) bool {
	if len(s) != 38 || s[0] != '{' || s[37] != '}' {
		return false
	}
	for i := 1; i < 37; i++ {
		switch i {
		case 9, 14, 19, 24:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// parseYearMonthDay reads [-]CCYY-MM-DD and returns the rest.
func parseYearMonthDay(s string) (rest string, ok bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n < 4 || (n > 4 && s[0] == '0') || n > 18 {
		return "", false
	}
	year := 0
	for _, c := range s[:n] {
		year = year*10 + int(c-'0')
	}
	if year == 0 {
		return "", false // no year zero in XSD 1.0
	}
	if neg {
		year = -year
	}
	s = s[n:]
	if len(s) < 6 || s[0] != '-' || s[3] != '-' {
		return "", false
	}
	month, ok1 := digits(s[1:], 2)
	day, ok2 := digits(s[4:], 2)
	if !ok1 || !ok2 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return "", false
	}
	return s[6:], true
}

func daysIn(year, month int) int {
	switch month {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// timezone accepts "", "Z" or ±hh:mm within ±14:00.
func timezone(s string) bool {
	switch {
	case s == "" || s == "Z":
		return true
	case len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':':
		return false
	}
	h, ok1 := digits(s[1:], 2)
	m, ok2 := digits(s[4:], 2)
	return ok1 && ok2 && h <= 23 && m <= 59 && h*60+m <= 14*60
}

// IsDate checks xsd:date. Like libxml2 (and unlike the XSD collapse facet)
// it takes no surrounding whitespace; no real peer pads dates.
func IsDate(s string) bool {
	rest, ok := parseYearMonthDay(s)
	return ok && timezone(rest)
}

// IsDateTime checks xsd:dateTime, without surrounding whitespace as IsDate.
// 24:00:00 is the end of the day, as XSD 1.0 allows.
func IsDateTime(s string) bool {
	rest, ok := parseYearMonthDay(s)
	if !ok || len(rest) < 9 || rest[0] != 'T' || rest[3] != ':' || rest[6] != ':' {
		return false
	}
	h, ok1 := digits(rest[1:], 2)
	m, ok2 := digits(rest[4:], 2)
	sec, ok3 := digits(rest[7:], 2)
	if !ok1 || !ok2 || !ok3 || h > 24 || m > 59 || sec > 59 {
		return false
	}
	rest = rest[9:]
	fractionZero := true
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			fractionZero = fractionZero && rest[n] == '0'
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if h == 24 && (m != 0 || sec != 0 || !fractionZero) {
		return false
	}
	return timezone(rest)
}

// maxIntegerDigits is libxml2's limit on significant digits of xsd:integer.
const maxIntegerDigits = 24

// isInteger checks xsd:integer; positive adds minInclusive 1.
func isInteger(s string, positive bool) bool {
	s = collapse(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return false
	}
	nonzero, significant := false, 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if s[i] != '0' {
			nonzero = true
		}
		if nonzero {
			significant++
		}
	}
	if significant > maxIntegerDigits {
		return false
	}
	if positive {
		return nonzero && !neg
	}
	return true
}

// isBigInteger checks xsd:integer of any length.
func isBigInteger(s string) bool {
	s = collapse(s)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsBase64 checks xsd:base64Binary without decoding: whitespace may appear
// anywhere, the alphabet is standard, padding is correct. libxml2 also skips
// characters outside the alphabet; we refuse them, since such an attachment
// could not be decoded (the differential tests list this deviation).
func IsBase64(s string) bool {
	n, pad := 0, 0
	var last byte // last data character before padding
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '=':
			pad++
			if pad > 2 {
				return false
			}
		case pad > 0:
			return false // data after padding
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/':
			last = c
		default:
			return false
		}
		n++
	}
	if n%4 != 0 {
		return false
	}
	// The bits that padding leaves over must be zero (XSD's B04/B16 classes).
	switch pad {
	case 1:
		return strings.IndexByte("AEIMQUYcgkosw048", last) >= 0
	case 2:
		return strings.IndexByte("AQgw", last) >= 0
	}
	return true
}

// isNCName checks the lexical space of xsd:ID / NCName.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if r == '_' || unicode.IsLetter(r) {
			continue
		}
		if i == 0 {
			return false
		}
		if r == '.' || r == '-' || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nl) || r == 0xB7 {
			continue
		}
		return false
	}
	return true
}

// isAnyURI checks xsd:anyURI the way libxml2 does: characters a URI cannot
// hold literally (spaces, non-ASCII, <>"{}|\^`') are taken as if escaped,
// then the value must parse as an RFC 3986 URI reference.
func isAnyURI(s string) bool {
	b := []byte(collapse(s))
	for i, c := range b {
		if c < 32 || c >= 127 || strings.IndexByte(" <>\"{}|\\^`'", c) >= 0 {
			b[i] = '_'
		}
	}
	u := string(b)
	if i := strings.IndexByte(u, '#'); i >= 0 {
		frag := u[i+1:]
		if strings.IndexByte(frag, '#') >= 0 || !uriChars(frag, "/?:@[]") {
			return false
		}
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		if !uriChars(u[i+1:], "/?:@") {
			return false
		}
		u = u[:i]
	}
	if i := strings.IndexByte(u, ':'); i >= 0 && !strings.ContainsRune(u[:i], '/') {
		if !isScheme(u[:i]) {
			return false // a relative reference's first segment may not hold ':'
		}
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "//") {
		auth := u[2:]
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, u = auth[:i], auth[i:]
		} else {
			u = ""
		}
		if !isAuthority(auth) {
			return false
		}
	}
	return uriChars(u, "/:@")
}

func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isAuthority(a string) bool {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		if !uriChars(a[:i], ":") {
			return false // userinfo; a second '@' lands here and fails
		}
		a = a[i+1:]
	}
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return false
		}
		a = a[end+1:] // libxml2 does not look inside IP literals
		if a != "" && a[0] != ':' {
			return false
		}
	} else if i := strings.IndexByte(a, ':'); i >= 0 {
		if !uriChars(a[:i], "") {
			return false
		}
		a = a[i:]
	} else {
		return uriChars(a, "")
	}
	if a == "" {
		return true
	}
	for _, c := range a[1:] { // port
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// uriChars accepts unreserved and sub-delim characters, valid %XX escapes
// and the extra characters given.
func uriChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}
