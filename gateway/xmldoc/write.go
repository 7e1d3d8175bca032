package xmldoc

import (
	"bufio"
	"io"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/xmltok"
)

// Writer serialises tokens compactly, byte for byte as etree writes a tree
// with canonical escaping and explicit end tags (seos.WriteSettings): what
// Walk yields of a tree, this writes as the tree's WriteTo would. It lets
// a message whose attachments stream from files be written without ever
// being a tree of bytes in memory.
type Writer struct {
	w *bufio.Writer
}

// NewWriter writes to w; Flush sends what is buffered.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 32<<10)}
}

// Flush writes out what is buffered.
func (x *Writer) Flush() error { return x.w.Flush() }

// Plain writes text that needs no escaping, as it is: the caller knows
// (base64 it encoded). Scanning megabytes for what cannot be there costs.
func (x *Writer) Plain(b []byte) { x.w.Write(b) }

// Token writes one token.
func (x *Writer) Token(tok *xmltok.Token) {
	w := x.w
	switch tok.Kind {
	case xmltok.StartElement:
		w.WriteByte('<')
		writeName(w, tok.Name.Prefix, tok.Name.Local)
		for i := range tok.Attr {
			a := &tok.Attr[i]
			w.WriteByte(' ')
			writeName(w, a.Prefix, a.Local)
			w.WriteString(`="`)
			escape(w, a.Value, true)
			w.WriteByte('"')
		}
		w.WriteByte('>')
	case xmltok.EndElement:
		w.WriteString("</")
		writeName(w, tok.Name.Prefix, tok.Name.Local)
		w.WriteByte('>')
	case xmltok.Text:
		if tok.CDATA {
			w.WriteString("<![CDATA[")
			w.Write(tok.Data)
			w.WriteString("]]>")
			return
		}
		escapeBytes(w, tok.Data)
	case xmltok.Comment:
		w.WriteString("<!--")
		w.Write(tok.Data)
		w.WriteString("-->")
	case xmltok.ProcInst:
		w.WriteString("<?")
		w.WriteString(tok.Name.Local)
		if len(tok.Data) > 0 {
			w.WriteByte(' ')
			w.Write(tok.Data)
		}
		w.WriteString("?>")
	}
}

func writeName(w *bufio.Writer, prefix, local string) {
	if prefix != "" {
		w.WriteString(prefix)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

// escape is etree's canonical escaping of attribute values (attr) or text.
func escape(w *bufio.Writer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			if attr {
				continue
			}
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !xmlChar(r) || r == utf8.RuneError && width == 1 {
				esc = "\uFFFD"
				break
			}
			continue
		}
		w.WriteString(s[last : i-width])
		w.WriteString(esc)
		last = i
	}
	w.WriteString(s[last:])
}

// textPlain marks the bytes text passes through as they are.
var textPlain [256]bool

func init() {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		textPlain[c] = c != '&' && c != '<' && c != '>'
	}
	textPlain['\t'], textPlain['\n'] = true, true
}

// escapeBytes is escape for text, on bytes; plain ASCII passes in runs.
func escapeBytes(w *bufio.Writer, b []byte) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && textPlain[b[i]] {
			i++
		}
		w.Write(b[:i])
		b = b[i:]
		if len(b) == 0 {
			return
		}
		j := 1
		for j < len(b) && !textPlain[b[j]] {
			j++
		}
		escape(w, string(b[:j]), false)
		b = b[j:]
	}
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
