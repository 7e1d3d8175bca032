package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// PDF objects as this package represents them.
type (
	// Name is a PDF name without the slash, #xx escapes decoded.
	Name string
	// Dict is a dictionary.
	Dict map[Name]any
	// Array is an array.
	Array []any
	// String is a literal or hexadecimal string's bytes.
	String string
	// Ref is an indirect reference.
	Ref struct{ Num, Gen int64 }
	// Stream is a stream object; its data stays in the file (or, inside an
	// object stream, in memory).
	Stream struct {
		Dict Dict
		src  io.ReaderAt
		off  int64
		len  int64
	}
	keyword string
)

var errSyntax = errors.New("PDF syntax error")

// lexer reads tokens from a ReaderAt from a position on, through a small
// window, so objects anywhere in a large file can be read without loading it.
type lexer struct {
	r      io.ReaderAt
	size   int64
	pos    int64
	buf    []byte
	bufOff int64
}

const window = 8 << 10

func newLexer(r io.ReaderAt, size, pos int64) *lexer {
	return &lexer{r: r, size: size, pos: pos}
}

// peek returns the byte at pos, or -1 at the end.
func (l *lexer) peek() int {
	if l.pos >= l.size || l.pos < 0 {
		return -1
	}
	if l.pos < l.bufOff || l.pos >= l.bufOff+int64(len(l.buf)) {
		n := min(int64(window), l.size-l.pos)
		if cap(l.buf) < int(n) {
			l.buf = make([]byte, n)
		}
		l.buf = l.buf[:n]
		m, err := l.r.ReadAt(l.buf, l.pos)
		if m == 0 && err != nil {
			l.buf = l.buf[:0]
			return -1
		}
		l.buf, l.bufOff = l.buf[:m], l.pos
	}
	return int(l.buf[l.pos-l.bufOff])
}

func (l *lexer) next() int {
	c := l.peek()
	if c >= 0 {
		l.pos++
	}
	return c
}

func isSpace(c int) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0
}

func isDelim(c int) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) skipSpace() {
	for {
		c := l.peek()
		switch {
		case isSpace(c):
			l.pos++
		case c == '%':
			for c != '\n' && c != '\r' && c >= 0 {
				c = l.next()
			}
		default:
			return
		}
	}
}

// token returns the next token: a delimiter ("<<", ">>", "[", "]", "{",
// "}"), a Name, a String, a number (int64 or float64) or a keyword.
func (l *lexer) token() (any, error) {
	l.skipSpace()
	c := l.peek()
	switch {
	case c < 0:
		return nil, io.EOF
	case c == '/':
		l.pos++
		return l.name(), nil
	case c == '(':
		l.pos++
		return l.literal()
	case c == '<':
		l.pos++
		if l.peek() == '<' {
			l.pos++
			return keyword("<<"), nil
		}
		return l.hex()
	case c == '>':
		l.pos++
		if l.next() != '>' {
			return nil, fmt.Errorf("%w: lone '>' at %d", errSyntax, l.pos-1)
		}
		return keyword(">>"), nil
	case c == '[' || c == ']' || c == '{' || c == '}':
		l.pos++
		return keyword(string(rune(c))), nil
	case c == ')':
		l.pos++
		return nil, fmt.Errorf("%w: lone ')' at %d", errSyntax, l.pos-1)
	}
	var b []byte
	for c := l.peek(); c >= 0 && !isSpace(c) && !isDelim(c); c = l.peek() {
		b = append(b, byte(c))
		l.pos++
		if len(b) > 256 {
			return nil, fmt.Errorf("%w: token too long at %d", errSyntax, l.pos)
		}
	}
	if len(b) > 0 && (b[0] >= '0' && b[0] <= '9' || b[0] == '-' || b[0] == '+' || b[0] == '.') {
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f, nil
		}
		return int64(0), nil // malformed numbers such as "--5" are read as 0, as readers do
	}
	return keyword(b), nil
}

func (l *lexer) name() Name {
	var b []byte
	for c := l.peek(); c >= 0 && !isSpace(c) && !isDelim(c); c = l.peek() {
		l.pos++
		if c == '#' {
			h1, h2 := unhex(l.peek()), -1
			if h1 >= 0 {
				l.pos++
				h2 = unhex(l.peek())
			}
			if h1 >= 0 && h2 >= 0 {
				l.pos++
				c = h1<<4 | h2
			}
		}
		b = append(b, byte(c))
		if len(b) > 1024 {
			break
		}
	}
	return Name(b)
}

func unhex(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

// maxString bounds one string; signature contents are the largest real ones.
const maxString = 4 << 20

func (l *lexer) literal() (String, error) {
	var b bytes.Buffer
	depth := 1
	for {
		c := l.next()
		switch c {
		case -1:
			return "", fmt.Errorf("%w: unterminated string", errSyntax)
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return String(b.Bytes()), nil
			}
		case '\\':
			c = l.next()
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.peek() == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			case -1:
				return "", fmt.Errorf("%w: unterminated string", errSyntax)
			default:
				if c >= '0' && c <= '7' {
					v := c - '0'
					for i := 0; i < 2 && l.peek() >= '0' && l.peek() <= '7'; i++ {
						v = v*8 + l.next() - '0'
					}
					c = v & 0xff
				}
			}
		}
		b.WriteByte(byte(c))
		if b.Len() > maxString {
			return "", fmt.Errorf("%w: string longer than %d bytes", errSyntax, maxString)
		}
	}
}

func (l *lexer) hex() (String, error) {
	var b []byte
	hi := -1
	for {
		c := l.next()
		switch {
		case c == '>':
			if hi >= 0 {
				b = append(b, byte(hi<<4))
			}
			return String(b), nil
		case c < 0:
			return "", fmt.Errorf("%w: unterminated hex string", errSyntax)
		case isSpace(c):
		default:
			v := unhex(c)
			if v < 0 {
				return "", fmt.Errorf("%w: %q in a hex string", errSyntax, rune(c))
			}
			if hi < 0 {
				hi = v
			} else {
				b = append(b, byte(hi<<4|v))
				hi = -1
				if len(b) > maxString {
					return "", fmt.Errorf("%w: hex string longer than %d bytes", errSyntax, maxString)
				}
			}
		}
	}
}

// maxNesting bounds arrays and dictionaries inside each other.
const maxNesting = 64

// object reads one object; "N G R" becomes a Ref. A dictionary followed
// by "stream" becomes a Stream whose data starts after the keyword's EOL.
func (l *lexer) object(depth int) (any, error) {
	tok, err := l.token()
	if err != nil {
		return nil, err
	}
	return l.objectFrom(tok, depth)
}

func (l *lexer) objectFrom(tok any, depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: nested deeper than %d", errSyntax, maxNesting)
	}
	switch t := tok.(type) {
	case keyword:
		switch t {
		case "<<":
			d := Dict{}
			for {
				k, err := l.token()
				if err != nil {
					return nil, err
				}
				if k == keyword(">>") {
					break
				}
				key, ok := k.(Name)
				if !ok {
					return nil, fmt.Errorf("%w: dictionary key %v is not a name", errSyntax, k)
				}
				v, err := l.object(depth + 1)
				if err != nil {
					return nil, err
				}
				d[key] = v
				if len(d) > 10000 {
					return nil, fmt.Errorf("%w: dictionary too large", errSyntax)
				}
			}
			save := l.pos
			if kw, err := l.token(); err == nil && kw == keyword("stream") {
				// The EOL after "stream" is CRLF or LF (a lone CR is tolerated).
				if l.peek() == '\r' {
					l.pos++
				}
				if l.peek() == '\n' {
					l.pos++
				}
				return &Stream{Dict: d, src: l.r, off: l.pos, len: -1}, nil
			}
			l.pos = save
			return d, nil
		case "[":
			var a Array
			for {
				tok, err := l.token()
				if err != nil {
					return nil, err
				}
				if tok == keyword("]") {
					return a, nil
				}
				v, err := l.objectFrom(tok, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
				if len(a) > 1<<20 {
					return nil, fmt.Errorf("%w: array too large", errSyntax)
				}
			}
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return t, nil
	case int64:
		// Maybe "N G R".
		save := l.pos
		if g, err := l.token(); err == nil {
			if gen, ok := g.(int64); ok {
				if r, err := l.token(); err == nil && r == keyword("R") {
					return Ref{t, gen}, nil
				}
			}
		}
		l.pos = save
		return t, nil
	}
	return tok, nil
}
