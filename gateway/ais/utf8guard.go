package ais

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// utf8Guard passes JSON text to the decoder and notes the first string, key
// or value, that is not UTF-8: invalid bytes, or a \u escape that leaves a
// UTF-16 surrogate unpaired. encoding/json would store either as U+FFFD and
// the AIS's text would change without a word; the guard lets the request
// be refused naming the field instead. It reads as it passes, so a large
// body is not held twice, and it keeps only the path it is at.
//
// It trusts the decoder with the syntax: on text that is not JSON its
// verdict means nothing, and the decoder's error is what is reported.
type utf8Guard struct {
	r io.Reader

	// Where the first bad string is: its path (attachments[0].fileName)
	// and the byte offset in the body. why is empty while none is.
	field, why string
	at         int64

	off   int64
	stack []jsonFrame
	lit   bool // inside a number or literal (true, false, null)

	str      bool   // inside a string
	strIsKey bool   // ... that is an object key
	key      []byte // the key being read, as written (capped)
	esc      int    // 0: none; 1: after '\'; 2..5: hex digits of \u read so far + 1
	hex      rune
	high     bool // a high surrogate escape waits for its low half
	pend     []byte
}

// jsonFrame is an object or array the guard is inside.
type jsonFrame struct {
	obj     bool
	key     string // object: the current member's name
	wantKey bool   // object: the next string is a key
	idx     int    // array: the current element
}

const maxKeyBytes = 256

func (g *utf8Guard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if g.why == "" {
		for i := 0; i < n && g.why == ""; i++ {
			g.byte(p[i])
			g.off++
		}
	}
	return n, err
}

// problem is the first bad string as an API error, or nil.
func (g *utf8Guard) problem() *Error {
	if g.why == "" {
		return nil
	}
	return invalid(g.field, "%s (byte %d of the body): JSON text must be UTF-8, and a \\u escape of a character outside the BMP must be a surrogate pair such as \\ud83d\\ude00",
		g.why, g.at)
}

func (g *utf8Guard) byte(c byte) {
	if g.str {
		g.stringByte(c)
		return
	}
	switch c {
	case '{', '[':
		g.lit = false
		g.valueStart()
		g.stack = append(g.stack, jsonFrame{obj: c == '{', wantKey: c == '{', idx: -1})
	case '}', ']':
		g.lit = false
		if len(g.stack) > 0 {
			g.stack = g.stack[:len(g.stack)-1]
		}
	case '"':
		g.lit = false
		g.str, g.strIsKey, g.esc, g.high, g.pend = true, false, 0, false, g.pend[:0]
		if top := g.top(); top != nil && top.obj && top.wantKey {
			g.strIsKey, g.key = true, g.key[:0]
		} else {
			g.valueStart()
		}
	case ',':
		g.lit = false
		if top := g.top(); top != nil && top.obj {
			top.wantKey = true
		}
	case ':', ' ', '\t', '\r', '\n':
		g.lit = false
	default: // a number or literal: one value however many bytes
		if !g.lit {
			g.lit = true
			g.valueStart()
		}
	}
}

func (g *utf8Guard) top() *jsonFrame {
	if len(g.stack) == 0 {
		return nil
	}
	return &g.stack[len(g.stack)-1]
}

// valueStart counts an array's elements.
func (g *utf8Guard) valueStart() {
	if top := g.top(); top != nil && !top.obj {
		top.idx++
	}
}

func (g *utf8Guard) stringByte(c byte) {
	if c == '"' && g.esc == 0 && len(g.pend) == 0 { // the string ends
		if g.high {
			g.bad("a \\u escape leaves a UTF-16 surrogate unpaired")
			return
		}
		g.str = false
		if g.strIsKey {
			top := g.top()
			top.key, top.wantKey = string(g.key), false
		}
		return
	}
	if g.strIsKey && len(g.key) < maxKeyBytes {
		g.key = append(g.key, c)
	}
	switch {
	case len(g.pend) > 0 || c >= utf8.RuneSelf:
		if g.high {
			g.bad("a \\u escape leaves a UTF-16 surrogate unpaired")
			return
		}
		g.pend = append(g.pend, c)
		if utf8.FullRune(g.pend) {
			if r, size := utf8.DecodeRune(g.pend); r == utf8.RuneError && size <= 1 {
				g.bad("not valid UTF-8")
				return
			}
			g.pend = g.pend[:0]
		}
	case g.esc == 1:
		g.esc = 0
		if c == 'u' {
			g.esc, g.hex = 2, 0
		} else if g.high {
			g.bad("a \\u escape leaves a UTF-16 surrogate unpaired")
		}
	case g.esc >= 2:
		g.hex = g.hex<<4 | hexValue(c)
		if g.esc++; g.esc == 6 {
			g.esc = 0
			g.surrogate(g.hex)
		}
	case c == '\\':
		g.esc = 1
	case g.high:
		g.bad("a \\u escape leaves a UTF-16 surrogate unpaired")
	}
}

// surrogate judges the code unit of a \u escape.
func (g *utf8Guard) surrogate(r rune) {
	switch {
	case g.high && r >= 0xdc00 && r <= 0xdfff:
		g.high = false
	case g.high, r >= 0xdc00 && r <= 0xdfff:
		g.bad("a \\u escape leaves a UTF-16 surrogate unpaired")
	case r >= 0xd800 && r <= 0xdbff:
		g.high = true
	}
}

func hexValue(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return 0
}

// bad records the string being read as the first bad one.
func (g *utf8Guard) bad(why string) {
	g.why, g.at = why, g.off
	var b strings.Builder
	for i, f := range g.stack {
		switch {
		case !f.obj:
			fmt.Fprintf(&b, "[%d]", f.idx)
		case i == len(g.stack)-1 && g.strIsKey:
			// the key itself is bad: the object holding it is named
		case f.key != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
	}
	g.field = b.String()
	if g.strIsKey {
		g.why = "a field name is " + why
		if g.field == "" {
			g.field = "(top level)"
		}
	}
}
