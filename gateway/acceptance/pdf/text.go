package pdf

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of text extraction.
const (
	maxPages     = 5000
	maxOperators = 10 << 20
	maxXObjDepth = 8
)

// Text extracts the readable text of the pages, up to max bytes: enough to
// find phrases in a letter, not a layout-faithful rendering. Fonts are
// decoded through their ToUnicode maps, or the simple encodings and glyph
// names for fonts without one.
func (f *File) Text(max int) (string, error) {
	if f.Encrypted {
		return "", errors.New("pdf: encrypted; its text cannot be read")
	}
	x := &extractor{f: f, max: max, fonts: map[any]*font{}}
	pages, _ := f.Get(f.Root(), "Pages").(Dict)
	if pages == nil {
		return "", errors.New("pdf: no page tree")
	}
	x.pageTree(pages, nil, 0, map[uintptr]bool{})
	return strings.TrimSpace(x.out.String()), nil
}

type extractor struct {
	f     *File
	max   int
	out   strings.Builder
	fonts map[any]*font
	pages int
	ops   int
	full  bool
}

func (x *extractor) pageTree(node Dict, inherited Dict, depth int, seen map[uintptr]bool) {
	id := reflect.ValueOf(node).Pointer()
	if depth > 64 || x.full || x.pages > maxPages || seen[id] {
		return
	}
	seen[id] = true
	res, _ := x.f.Get(node, "Resources").(Dict)
	if res == nil {
		res = inherited
	}
	if node["Type"] == Name("Pages") || node["Kids"] != nil {
		kids, _ := x.f.Get(node, "Kids").(Array)
		for _, k := range kids {
			d, _ := x.f.Resolve(k)
			if kd, ok := d.(Dict); ok {
				x.pageTree(kd, res, depth+1, seen)
			}
		}
		return
	}
	x.pages++
	var content []byte
	switch c := x.f.Get(node, "Contents").(type) {
	case *Stream:
		content, _ = x.f.decode(c)
	case Array:
		for _, part := range c {
			if s, ok := x.f.mustResolve(part).(*Stream); ok {
				b, _ := x.f.decode(s)
				content = append(append(content, b...), '\n')
			}
		}
	}
	x.run(content, res, 0)
	x.write("\n")
}

func (f *File) mustResolve(v any) any {
	o, _ := f.Resolve(v)
	return o
}

func (x *extractor) write(s string) {
	if x.full {
		return
	}
	if x.out.Len()+len(s) > x.max {
		s = s[:max(0, x.max-x.out.Len())]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		x.full = true
	}
	x.out.WriteString(s)
}

// run interprets the text operators of a content stream.
func (x *extractor) run(content []byte, res Dict, depth int) {
	if depth > maxXObjDepth || len(content) == 0 {
		return
	}
	l := newLexer(bytes.NewReader(content), int64(len(content)), 0)
	var stack []any
	var cur *font
	var lastY float64
	fontsDict, _ := x.f.Get(res, "Font").(Dict)
	for !x.full {
		tok, err := l.token()
		if err != nil {
			if l.pos >= l.size {
				return
			}
			l.pos++ // skip a byte the lexer cannot read, as viewers do
			continue
		}
		if x.ops++; x.ops > maxOperators {
			x.full = true
			return
		}
		kw, isKW := tok.(keyword)
		if !isKW || kw == "[" || kw == "<<" {
			obj, err := l.objectFrom(tok, 0)
			if err != nil {
				stack = stack[:0]
				continue
			}
			if len(stack) < 64 {
				stack = append(stack, obj)
			}
			continue
		}
		switch kw {
		case "BI": // inline image: skip its data up to EI
			x.skipInlineImage(l)
		case "Tf":
			if len(stack) >= 2 {
				if n, ok := stack[len(stack)-2].(Name); ok {
					cur = x.font(fontsDict, n)
				}
			}
		case "Tj", "'", "\"":
			if kw != "Tj" {
				x.write("\n")
			}
			if len(stack) > 0 {
				if s, ok := stack[len(stack)-1].(String); ok {
					x.write(cur.decode(s))
				}
			}
		case "TJ":
			if len(stack) > 0 {
				if a, ok := stack[len(stack)-1].(Array); ok {
					for _, e := range a {
						switch v := e.(type) {
						case String:
							x.write(cur.decode(v))
						case int64:
							if v < -200 {
								x.write(" ")
							}
						case float64:
							if v < -200 {
								x.write(" ")
							}
						}
					}
				}
			}
		case "Td", "TD":
			if len(stack) >= 2 && num(stack[len(stack)-1]) != 0 {
				x.write("\n")
			} else {
				x.write(" ")
			}
		case "Tm":
			if len(stack) >= 6 {
				y := num(stack[len(stack)-1])
				if y != lastY {
					x.write("\n")
				} else {
					x.write(" ")
				}
				lastY = y
			}
		case "T*":
			x.write("\n")
		case "ET":
			x.write(" ")
		case "Do":
			if len(stack) > 0 {
				if n, ok := stack[len(stack)-1].(Name); ok {
					x.xobject(res, n, depth)
				}
			}
		}
		stack = stack[:0]
	}
}

func (x *extractor) xobject(res Dict, n Name, depth int) {
	xo, _ := x.f.Get(res, "XObject").(Dict)
	s, ok := x.f.Get(xo, n).(*Stream)
	if !ok || s.Dict["Subtype"] != Name("Form") {
		return
	}
	data, err := x.f.decode(s)
	if err != nil {
		return
	}
	inner, _ := x.f.Get(s.Dict, "Resources").(Dict)
	if inner == nil {
		inner = res
	}
	x.run(data, inner, depth+1)
}

func (x *extractor) skipInlineImage(l *lexer) {
	for {
		tok, err := l.token()
		if err != nil {
			return
		}
		if tok == keyword("ID") {
			break
		}
	}
	l.pos++ // the single white-space after ID
	for l.pos < l.size {
		c := l.next()
		if c == 'E' && l.peek() == 'I' {
			l.pos++
			if n := l.peek(); n < 0 || isSpace(n) {
				return
			}
		}
	}
}

func num(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// font returns the decoder of the named font of the resources.
func (x *extractor) font(fonts Dict, n Name) *font {
	key := fonts[n]
	if key == nil {
		return nil
	}
	if r, ok := key.(Ref); ok {
		if ft, ok := x.fonts[r]; ok {
			return ft
		}
	}
	d, _ := x.f.Resolve(key)
	fd, ok := d.(Dict)
	if !ok {
		return nil
	}
	ft := x.f.loadFont(fd)
	if r, ok := key.(Ref); ok && len(x.fonts) < 4096 {
		x.fonts[r] = ft
	}
	return ft
}

// parseHexCode reads a CMap hex code.
func parseHexCode(s String) (uint32, int) {
	var v uint32
	for _, c := range []byte(s) {
		v = v<<8 | uint32(c)
	}
	return v, len(s)
}

// utf16 decodes a ToUnicode destination (UTF-16BE).
func utf16(s String) string {
	return decodeText(String(append([]byte{0xfe, 0xff}, s...)))
}

func atoiDefault(s string, d int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return d
}
