package ais

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A document sent to the API carries its attachments as base64 in JSON: a
// 64 MiB PDF is an 85 MiB request. Decoded the usual way it would be held
// three times over (the decoder's growing buffer, the string, the decoded
// bytes). Instead the request is read once into memory, each long
// "content" string is lifted out of it (left where it is, as a span of
// the request), the rest decoded strictly as usual, and the spans decoded
// straight into the file store as the document is queued.

// liftMin is the shortest content that is lifted out.
const liftMin = 64 << 10

// liftMark is what a lifted content reads as until its span is put back:
// a JSON string no base64 can be, with the span's number after it.
const liftMark = "\x00lifted:"

// liftContents returns body with every "content" string of at least min
// bytes replaced by liftMark and its number, and the raw (still escaped)
// bytes of those strings.
func liftContents(body []byte, min int) ([]byte, [][]byte, error) {
	var out bytes.Buffer
	var spans [][]byte
	last := 0 // body[:last] is in out
	key := "" // the object key the next value belongs to
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		end, err := stringEnd(body, i)
		if err != nil {
			return nil, nil, err
		}
		j := end + 1
		for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
			j++
		}
		if j < len(body) && body[j] == ':' {
			if end-i < 64 {
				json.Unmarshal(body[i:end+1], &key) // a key; malformed ones the decoder names
			} else {
				key = ""
			}
		} else {
			if key == "content" && end-i-1 >= min {
				if err := plainString(body[i+1 : end]); err != nil {
					return nil, nil, err
				}
				out.Write(body[last:i])
				fmt.Fprintf(&out, `"\u0000lifted:%d"`, len(spans))
				spans = append(spans, body[i+1:end])
				last = end + 1
			}
			key = ""
		}
		i = end
	}
	if spans == nil {
		return body, nil, nil
	}
	out.Write(body[last:])
	return out.Bytes(), spans, nil
}

// stringEnd returns the index of the quote that ends the JSON string
// starting at body[i].
func stringEnd(body []byte, i int) (int, error) {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// plainString refuses what encoding/json refuses in a string: control
// characters and escapes it does not know.
func plainString(s []byte) error {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20:
			return fmt.Errorf("invalid character %q in a string", c)
		case c == '\\':
			if i+1 == len(s) {
				return errors.New("invalid escape at the end of a string")
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+6 > len(s) {
					return errors.New("invalid \\u escape in a string")
				}
				if _, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16); err != nil {
					return fmt.Errorf("invalid \\u escape %q in a string", s[i:i+6])
				}
			default:
				return fmt.Errorf("invalid escape %q in a string", s[i:i+2])
			}
			i++
		}
	}
	return nil
}

// liftedIndex returns which span a lifted content names.
func liftedIndex(s string) (int, bool) {
	if len(s) <= len(liftMark) || s[:len(liftMark)] != liftMark {
		return 0, false
	}
	n, err := strconv.Atoi(s[len(liftMark):])
	return n, err == nil
}

// unescaper reads the text of a raw JSON string, its escapes undone as
// encoding/json undoes them.
type unescaper struct {
	s   []byte
	out []byte
}

func newUnescaper(raw []byte) io.Reader {
	if bytes.IndexByte(raw, '\\') < 0 {
		return bytes.NewReader(raw) // plain base64, the common case
	}
	return &unescaper{s: raw}
}

func (u *unescaper) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if len(u.s) == 0 {
			return 0, io.EOF
		}
		u.fill()
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// fill undoes the escapes of the next stretch of the string.
func (u *unescaper) fill() {
	out := u.out[:0]
	for len(u.s) > 0 && len(out) < 32<<10 {
		c := u.s[0]
		if c != '\\' || len(u.s) < 2 {
			k := bytes.IndexByte(u.s, '\\')
			if k < 0 {
				k = len(u.s)
			}
			if k == 0 {
				k = 1
			}
			out = append(out, u.s[:k]...)
			u.s = u.s[k:]
			continue
		}
		switch e := u.s[1]; e {
		case 'u':
			r, n := decodeU(u.s)
			out = utf8.AppendRune(out, r)
			u.s = u.s[n:]
			continue
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // \" \\ \/
			out = append(out, e)
		}
		u.s = u.s[2:]
	}
	u.out = out
}

// decodeU reads \uXXXX (and a surrogate pair's second half) as
// encoding/json does: a lone surrogate is U+FFFD.
func decodeU(s []byte) (rune, int) {
	hex := func(b []byte) rune {
		if len(b) < 6 {
			return -1
		}
		v, err := strconv.ParseUint(string(b[2:6]), 16, 16)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	r := hex(s)
	if r < 0 {
		return utf8.RuneError, min(len(s), 2)
	}
	if utf16.IsSurrogate(r) {
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2 := hex(s[6:]); r2 >= 0 {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}
