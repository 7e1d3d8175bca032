package xmltok

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenizer reads one document. It is not safe for concurrent use.
type Tokenizer struct {
	r     io.Reader
	buf   []byte
	pos   int  // next byte to read
	end   int  // buf[pos:end] is read and not consumed
	eof   bool // r has no more (or r is nil: buf is the whole input)
	rerr  error
	lines int // newlines in bytes dropped from buf
	lim   Limits

	tok     Token
	attrs   []Attr
	scratch []byte
	err     error

	stack   []frame
	ns      map[string][]string // prefix -> bindings in scope, innermost last ("" undeclares)
	nsUndo  []string            // prefixes pushed, in order; frames record where theirs start
	nsDecls int
	nAttrs  int
	tokens  int
	names   map[string]string

	started    bool
	declOK     bool // no token but whitespace yet: an XML declaration may come
	sawRoot    bool
	pendingEnd bool
	inText     int8 // 0 none, 1 text run, 2 CDATA section
	outside    bool // the text run outside the root is not white space
}

type frame struct {
	prefix, local string
	nsMark        int
}

const (
	minRead     = 4 << 10
	maxChunk    = 64 << 10 // text chunks that had to be copied are cut here
	defaultSize = 16 << 10
)

// New reads from r.
func New(r io.Reader, lim Limits) *Tokenizer {
	return NewSize(r, lim, defaultSize)
}

// NewSize reads from r with a first buffer of size bytes (it grows for long
// markup up to MaxMarkupBytes).
func NewSize(r io.Reader, lim Limits, size int) *Tokenizer {
	t := newTokenizer(lim)
	t.r = r
	t.buf = make([]byte, max(size, minRead))
	return t
}

// NewBytes reads a document held in memory, without copying it.
func NewBytes(b []byte, lim Limits) *Tokenizer {
	t := newTokenizer(lim)
	t.buf, t.end, t.eof = b, len(b), true
	return t
}

func newTokenizer(lim Limits) *Tokenizer {
	return &Tokenizer{lim: lim.withDefaults(), declOK: true}
}

// Depth is the number of elements open now.
func (t *Tokenizer) Depth() int { return len(t.stack) }

// Each calls f with every token to the end of the document: nil when it
// ended well, else Next's error. The token is Next's (valid until f
// returns).
func (t *Tokenizer) Each(f func(*Token)) error {
	for {
		tok, err := t.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		f(tok)
	}
}

// Next returns the next token, or io.EOF after the document ended well.
// An error is an *Error for input that is not acceptable XML, or the
// reader's own error.
func (t *Tokenizer) Next() (*Token, error) {
	if t.err != nil {
		return nil, t.err
	}
	tok, err := t.next()
	if err != nil {
		t.err = err
		return nil, err
	}
	return tok, nil
}

// LookupPrefix returns the namespace a prefix is bound to where the
// tokenizer stands ("" for the default namespace).
func (t *Tokenizer) LookupPrefix(prefix string) (string, bool) {
	return t.lookup(prefix)
}

// InScope calls f for every namespace binding in scope where the
// tokenizer stands (innermost wins; an undeclared default is skipped).
func (t *Tokenizer) InScope(f func(prefix, uri string)) {
	for p, b := range t.ns {
		if len(b) > 0 && b[len(b)-1] != "" {
			f(p, b[len(b)-1])
		}
	}
}

func (t *Tokenizer) next() (*Token, error) {
	if !t.started {
		t.started = true
		if t.need(3) && bytes.HasPrefix(t.buf[t.pos:t.end], bom) {
			t.pos += 3
		}
	}
	if t.pendingEnd {
		t.pendingEnd = false
		return t.popEnd(), nil
	}
	switch t.inText {
	case 1:
		return t.text(false)
	case 2:
		return t.text(true)
	}
	if !t.need(1) {
		return t.atEOF()
	}
	if t.buf[t.pos] != '<' {
		if err := t.count(); err != nil {
			return nil, err
		}
		t.inText = 1
		return t.text(false)
	}
	if !t.need(2) {
		return nil, t.syntax("unexpected EOF")
	}
	switch t.buf[t.pos+1] {
	case '/':
		return t.endTag()
	case '?':
		return t.procInst()
	case '!':
		return t.bang()
	}
	return t.startTag()
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func (t *Tokenizer) atEOF() (*Token, error) {
	if t.rerr != nil && t.rerr != io.EOF {
		return nil, t.rerr
	}
	switch {
	case len(t.stack) > 0:
		return nil, t.syntax("not well-formed (unbalanced or truncated element tags)")
	case !t.sawRoot:
		return nil, &Error{Msg: "no root element"}
	}
	return nil, io.EOF
}

// need makes at least n unread bytes available in buf[pos:end], reading
// (and growing buf) as needed; false when the input ends first.
func (t *Tokenizer) need(n int) bool {
	for t.end-t.pos < n {
		if t.eof {
			return false
		}
		if t.pos > 0 {
			t.lines += bytes.Count(t.buf[:t.pos], nl)
			copy(t.buf, t.buf[t.pos:t.end])
			t.end -= t.pos
			t.pos = 0
		}
		if len(t.buf)-t.end < minRead || len(t.buf) < n {
			// Double, but by at most 256 KiB at a time past what is needed,
			// so that long markup is refused soon after its limit.
			grown := make([]byte, max(n+minRead, min(2*len(t.buf), n+256<<10)))
			copy(grown, t.buf[:t.end])
			t.buf = grown
		}
		m, err := t.r.Read(t.buf[t.end:])
		t.end += m
		if err != nil {
			t.eof, t.rerr = true, err
			if err != io.EOF {
				return t.end-t.pos >= n
			}
		}
	}
	return true
}

var nl = []byte{'\n'}

func (t *Tokenizer) line(at int) int {
	if at > t.end {
		at = t.end
	}
	return t.lines + bytes.Count(t.buf[:at], nl) + 1
}

func (t *Tokenizer) syntax(msg string) error {
	if t.rerr != nil && t.rerr != io.EOF {
		return t.rerr // the reader failed; the truncation is not the document's
	}
	return &Error{Line: t.line(t.pos), Msg: msg}
}

func (t *Tokenizer) stricter(msg string) error {
	return &Error{Line: t.line(t.pos), Msg: msg, Stricter: true}
}

func (t *Tokenizer) limit(msg string) error {
	return &Error{Line: t.line(t.pos), Msg: msg, Limit: true, Err: ErrLimit}
}

func (t *Tokenizer) count() error {
	t.tokens++
	if t.tokens > t.lim.MaxTokens {
		return t.limit(fmt.Sprintf("more than %d elements, texts, comments and processing instructions", t.lim.MaxTokens))
	}
	return nil
}

// plain marks bytes that text passes through unchanged and unchecked.
var plain [256]bool

func init() {
	for c := 0x20; c < 0x80; c++ {
		plain[c] = true
	}
	plain['\t'], plain['\n'] = true, true
	plain['<'], plain['&'], plain[']'] = false, false, false
}

// text returns the next chunk of a text run (cdata: of a CDATA section).
// A chunk is a slice of the buffer when nothing in it had to be rewritten
// (the common case: no references, no CR), else a copy in scratch.
func (t *Tokenizer) text(cdata bool) (*Token, error) {
	tok := &t.tok
	*tok = Token{Kind: Text, CDATA: cdata, Depth: len(t.stack), More: true}
	var out []byte
	copied := false
	start, from, i := t.pos, t.pos, t.pos // chunk start; bytes before from are in out
	skip := 0                             // bytes after the chunk that end it ("]]>")
	for {
		for i < t.end && plain[t.buf[i]] {
			i++
		}
		if i == t.end {
			if t.eof {
				if t.rerr != nil && t.rerr != io.EOF {
					return nil, t.rerr
				}
				if cdata {
					t.pos = i
					return nil, t.syntax("unexpected EOF in CDATA section")
				}
				tok.More = false
				break
			}
			if i > start {
				break
			}
			t.need(1)
			start, from, i = t.pos, t.pos, t.pos
			continue
		}
		c := t.buf[i]
		la := 0 // lookahead the byte needs; -1: to the end of a reference
		switch {
		case c == '<' && !cdata:
			tok.More = false
		case c == '<' || c == '&' && cdata:
			i++
			continue
		case c == ']':
			la = 3
		case c == '\r':
			la = 2
		case c == '&':
			la = -1
		case c >= utf8.RuneSelf:
			la = utf8.UTFMax
		default:
			t.pos = i
			return nil, t.syntax(fmt.Sprintf("illegal character code %U", rune(c)))
		}
		if !tok.More {
			break
		}
		if la > 0 && t.end-i < la && !t.eof || la < 0 && !t.haveRef(i) {
			if i > start {
				break // what is buffered goes out; the next call reads on
			}
			t.pos = i
			if la > 0 {
				t.need(la)
			} else if err := t.needRef(); err != nil {
				return nil, err
			}
			start, from, i = t.pos, t.pos, t.pos
			continue
		}
		switch c {
		case ']':
			if i+2 < t.end && t.buf[i+1] == ']' && t.buf[i+2] == '>' {
				if !cdata {
					t.pos = i
					return nil, t.syntax("unescaped ]]> not in CDATA section")
				}
				tok.More, skip = false, 3
			} else {
				i++
			}
		case '\r':
			out = t.flush(out, &copied, from, i)
			out = append(out, '\n')
			i++
			if i < t.end && t.buf[i] == '\n' {
				i++
			}
			from = i
		case '&':
			r, n, err := t.ref(i)
			if err != nil {
				return nil, err
			}
			out = t.flush(out, &copied, from, i)
			out = utf8.AppendRune(out, r)
			i += n
			from = i
		default:
			r, size := utf8.DecodeRune(t.buf[i:t.end])
			if r == utf8.RuneError && size == 1 {
				t.pos = i
				return nil, t.syntax("invalid UTF-8")
			}
			if !isInCharacterRange(r) {
				t.pos = i
				return nil, t.syntax(fmt.Sprintf("illegal character code %U", r))
			}
			i += size
		}
		if !tok.More || copied && len(out) >= maxChunk {
			break
		}
	}
	if copied {
		out = append(out, t.buf[from:i]...)
		tok.Data = out
		t.scratch = out[:0]
	} else {
		tok.Data = t.buf[start:i]
	}
	t.pos = i + skip
	switch {
	case !tok.More:
		t.inText = 0
	case cdata:
		t.inText = 2
	default:
		t.inText = 1
	}
	if len(t.stack) == 0 {
		for _, b := range tok.Data {
			if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
				t.outside = true
			}
		}
		// Said at the end of the run, so that how the input was cut
		// into reads cannot change which error comes first.
		if t.outside && !tok.More {
			return nil, t.syntax("text outside the root element")
		}
	}
	return tok, nil
}

// flush starts or extends the copied output with buf[from:i].
func (t *Tokenizer) flush(out []byte, copied *bool, from, i int) []byte {
	if !*copied {
		out = t.scratch[:0]
		*copied = true
	}
	return append(out, t.buf[from:i]...)
}

// haveRef reports whether the reference starting at buf[i] ('&') ends
// within the buffer (or the input ends).
func (t *Tokenizer) haveRef(i int) bool {
	if t.eof {
		return true
	}
	for j := i + 1; j < t.end; j++ {
		if !refByte(t.buf[j]) {
			return true
		}
	}
	return false
}

// needRef reads until the reference at pos ends (or the input does).
func (t *Tokenizer) needRef() error {
	for !t.haveRef(t.pos) {
		if t.end-t.pos > t.lim.MaxMarkupBytes {
			return t.limit(fmt.Sprintf("a character reference longer than %d bytes", t.lim.MaxMarkupBytes))
		}
		t.need(t.end - t.pos + 1)
	}
	return nil
}

func refByte(c byte) bool { return c == '#' || c >= utf8.RuneSelf || isNameByte(c) }

// ref decodes the character or entity reference at buf[i] ('&').
func (t *Tokenizer) ref(i int) (rune, int, error) {
	j := i + 1
	for j < t.end && refByte(t.buf[j]) {
		j++
	}
	body := t.buf[i+1 : j]
	bad := func() (rune, int, error) {
		t.pos = i
		ent := string(t.buf[i:min(j+1, t.end)])
		if j >= t.end || t.buf[j] != ';' {
			ent = string(body)
			ent = "&" + ent + " (no semicolon)"
		}
		return 0, 0, t.syntax("invalid character entity " + ent)
	}
	if j-i > t.lim.MaxMarkupBytes {
		t.pos = i
		return 0, 0, t.limit(fmt.Sprintf("a character reference longer than %d bytes", t.lim.MaxMarkupBytes))
	}
	if j >= t.end || t.buf[j] != ';' {
		return bad()
	}
	if len(body) > 0 && body[0] == '#' {
		digits, base := body[1:], 10
		if len(digits) > 0 && digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		for _, d := range digits {
			if !('0' <= d && d <= '9' || base == 16 && ('a' <= d && d <= 'f' || 'A' <= d && d <= 'F')) {
				return bad()
			}
		}
		n, err := strconv.ParseUint(string(digits), base, 64)
		if err != nil || n > unicode.MaxRune {
			return bad()
		}
		r := rune(n)
		if 0xD800 <= r && r <= 0xDFFF {
			t.pos = i
			return 0, 0, t.stricter(fmt.Sprintf("character reference to a surrogate %U", r))
		}
		if !isInCharacterRange(r) {
			t.pos = i
			return 0, 0, t.syntax(fmt.Sprintf("illegal character code %U", r))
		}
		return r, j + 1 - i, nil
	}
	if !isName(body) {
		return bad()
	}
	switch string(body) {
	case "lt":
		return '<', j + 1 - i, nil
	case "gt":
		return '>', j + 1 - i, nil
	case "amp":
		return '&', j + 1 - i, nil
	case "apos":
		return '\'', j + 1 - i, nil
	case "quot":
		return '"', j + 1 - i, nil
	}
	return bad()
}

// markupEnd buffers a construct starting at pos until end (e.g. "-->")
// and returns the index of end in buf, honouring quotes when quoted.
func (t *Tokenizer) markupEnd(from int, end string, quoted bool) (int, error) {
	off := from - t.pos // buf may move; keep the scan position relative
	var quote byte
	for {
		i := t.pos + off
		for ; i < t.end; i++ {
			c := t.buf[i]
			if quoted {
				if quote != 0 {
					if c == quote {
						quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' {
					quote = c
					continue
				}
			}
			if c == end[0] && (len(end) == 1 || t.end-i >= len(end) && string(t.buf[i:i+len(end)]) == end) {
				if i-t.pos > t.lim.MaxMarkupBytes {
					return 0, t.limit(fmt.Sprintf("markup longer than %d bytes", t.lim.MaxMarkupBytes))
				}
				return i, nil
			}
			if len(end) > 1 && c == end[0] && t.end-i < len(end) && !t.eof {
				break // the end may straddle what is buffered
			}
		}
		off = i - t.pos
		if t.end-t.pos > t.lim.MaxMarkupBytes {
			return 0, t.limit(fmt.Sprintf("markup longer than %d bytes", t.lim.MaxMarkupBytes))
		}
		if !t.need(t.end - t.pos + 1) {
			if t.rerr != nil && t.rerr != io.EOF {
				return 0, t.rerr
			}
			return 0, t.syntax("unexpected EOF")
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

func (t *Tokenizer) skipSpace(i, end int) int {
	for i < end && isSpace(t.buf[i]) {
		i++
	}
	return i
}

// rawName reads the bytes of a name starting at i (up to end) and checks it.
func (t *Tokenizer) rawName(i, end int) ([]byte, int, bool) {
	j := i
	for j < end && (t.buf[j] >= utf8.RuneSelf || isNameByte(t.buf[j])) {
		j++
	}
	if j == i {
		return nil, i, false
	}
	return t.buf[i:j], j, true
}

// qname reads a qualified name at i; what names the construct for errors.
func (t *Tokenizer) qname(i, end int, what string) (prefix, local string, next int, err error) {
	b, j, ok := t.rawName(i, end)
	if !ok {
		return "", "", i, t.syntax("expected " + what)
	}
	if len(b) > t.lim.MaxNameBytes {
		return "", "", i, t.limit(fmt.Sprintf("a name longer than %d bytes", t.lim.MaxNameBytes))
	}
	if !isName(b) {
		return "", "", i, t.syntax("invalid XML name: " + string(b))
	}
	switch c := bytes.Count(b, colon); {
	case c > 1:
		return "", "", i, t.syntax("expected " + what)
	case c == 1:
		k := bytes.IndexByte(b, ':')
		if k == 0 || k == len(b)-1 {
			return "", "", i, t.stricter(fmt.Sprintf("%q is not a qualified name (Namespaces in XML)", b))
		}
		return t.intern(b[:k]), t.intern(b[k+1:]), j, nil
	}
	return "", t.intern(b), j, nil
}

var colon = []byte{':'}

func (t *Tokenizer) intern(b []byte) string {
	if s, ok := common[string(b)]; ok {
		return s
	}
	if s, ok := t.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if t.names == nil {
		t.names = make(map[string]string, 32)
	}
	if len(t.names) < 1024 {
		t.names[s] = s
	}
	return s
}

// common holds names and namespace URIs every tokenizer shares (Intern).
var common = map[string]string{}

// Intern adds names that documents repeat (element names, namespace URIs)
// to a table all tokenizers share, so they cost no allocation. Call it from
// init functions only.
func Intern(names ...string) {
	for _, n := range names {
		common[n] = n
	}
}

func (t *Tokenizer) startTag() (*Token, error) {
	if len(t.stack) == 0 && t.sawRoot {
		return nil, t.syntax("more than one root element")
	}
	if err := t.count(); err != nil {
		return nil, err
	}
	gt, err := t.markupEnd(t.pos+1, ">", true)
	if err != nil {
		return nil, err
	}
	tok := &t.tok
	*tok = Token{Kind: StartElement, Attr: t.attrs[:0]}
	prefix, local, i, err := t.qname(t.pos+1, gt, "element name after <")
	if err != nil {
		return nil, err
	}
	for {
		j := t.skipSpace(i, gt+1)
		c := t.buf[j]
		if c == '/' {
			if j+1 > gt || t.buf[j+1] != '>' {
				t.pos = j
				return nil, t.syntax("expected /> in element")
			}
			tok.SelfClosing = true
			break
		}
		if c == '>' {
			break
		}
		if j == i && (c >= utf8.RuneSelf || isNameByte(c)) {
			t.pos = j
			return nil, t.stricter("attributes must be separated by white space")
		}
		var a Attr
		if a.Prefix, a.Local, j, err = t.qname(j, gt, "attribute name in element"); err != nil {
			return nil, err
		}
		if len(tok.Attr) >= t.lim.MaxAttrsPerElement {
			return nil, t.limit(fmt.Sprintf("more than %d attributes on one element", t.lim.MaxAttrsPerElement))
		}
		if !a.IsNamespaceDecl() { // declarations have their own limit
			t.nAttrs++
			if t.nAttrs > t.lim.MaxAttrs {
				return nil, t.limit(fmt.Sprintf("more than %d attributes in the document", t.lim.MaxAttrs))
			}
		}
		j = t.skipSpace(j, gt)
		if t.buf[j] != '=' {
			t.pos = j
			return nil, t.syntax("attribute name without = in element")
		}
		j = t.skipSpace(j+1, gt)
		q := t.buf[j]
		if q != '"' && q != '\'' {
			t.pos = j
			return nil, t.syntax("unquoted or missing attribute value in element")
		}
		if a.Value, j, err = t.attrValue(j+1, gt, q, a.IsNamespaceDecl()); err != nil {
			return nil, err
		}
		tok.Attr = append(tok.Attr, a)
		i = j + 1
	}
	t.attrs = tok.Attr
	t.pos = gt + 1
	tok.Name = Name{Prefix: prefix, Local: local}
	if err := t.push(tok); err != nil {
		return nil, err
	}
	tok.Depth = len(t.stack)
	if tok.SelfClosing {
		t.pendingEnd = true
	}
	t.sawRoot = true
	t.declOK = false
	return tok, nil
}

// attrValue decodes a quoted value starting at i; it returns the index of
// the closing quote.
func (t *Tokenizer) attrValue(i, gt int, q byte, intern bool) (string, int, error) {
	j := i
	simple := true
	for ; j < gt && t.buf[j] != q; j++ {
		if c := t.buf[j]; !plain[c] || c == '\t' || c == '\n' {
			simple = false
		}
	}
	if j == gt {
		t.pos = i
		return "", 0, t.syntax("unterminated attribute value")
	}
	if simple {
		if intern {
			return t.intern(t.buf[i:j]), j, nil
		}
		return string(t.buf[i:j]), j, nil
	}
	out := t.scratch[:0]
	for k := i; k < j; {
		c := t.buf[k]
		switch {
		case c == '<':
			t.pos = k
			return "", 0, t.syntax("unescaped < inside quoted string")
		case c == '&':
			r, n, err := t.ref(k)
			if err != nil {
				return "", 0, err
			}
			out = utf8.AppendRune(out, r)
			k += n
		case c == '\t' || c == '\n':
			out = append(out, ' ')
			k++
		case c == '\r':
			out = append(out, ' ')
			k++
			if k < j && t.buf[k] == '\n' {
				k++
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(t.buf[k:j])
			if r == utf8.RuneError && size == 1 {
				t.pos = k
				return "", 0, t.syntax("invalid UTF-8")
			}
			if !isInCharacterRange(r) {
				t.pos = k
				return "", 0, t.syntax(fmt.Sprintf("illegal character code %U", r))
			}
			out = append(out, t.buf[k:k+size]...)
			k += size
		case c < 0x20:
			t.pos = k
			return "", 0, t.syntax(fmt.Sprintf("illegal character code %U", rune(c)))
		default:
			out = append(out, c)
			k++
		}
	}
	t.scratch = out[:0]
	if intern {
		return t.intern(out), j, nil
	}
	return string(out), j, nil
}

func (t *Tokenizer) endTag() (*Token, error) {
	gt, err := t.markupEnd(t.pos+2, ">", false)
	if err != nil {
		return nil, err
	}
	prefix, local, i, err := t.qname(t.pos+2, gt, "element name after </")
	if err != nil {
		return nil, err
	}
	if j := t.skipSpace(i, gt); j != gt {
		t.pos = j
		return nil, t.syntax("invalid characters between </" + local + " and >")
	}
	if len(t.stack) == 0 {
		return nil, t.syntax("not well-formed (unbalanced or truncated element tags)")
	}
	if top := t.stack[len(t.stack)-1]; top.prefix != prefix || top.local != local {
		return nil, t.syntax(fmt.Sprintf("element <%s> closed by </%s>", qn(top.prefix, top.local), qn(prefix, local)))
	}
	t.pos = gt + 1
	return t.popEnd(), nil
}

func qn(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func (t *Tokenizer) popEnd() *Token {
	f := t.stack[len(t.stack)-1]
	tok := &t.tok
	space, _ := t.lookup(f.prefix)
	*tok = Token{Kind: EndElement, Name: Name{Prefix: f.prefix, Local: f.local, Space: space}, Depth: len(t.stack)}
	for _, p := range t.nsUndo[f.nsMark:] {
		b := t.ns[p]
		t.ns[p] = b[:len(b)-1]
	}
	t.nsUndo = t.nsUndo[:f.nsMark]
	t.stack = t.stack[:len(t.stack)-1]
	return tok
}

func (t *Tokenizer) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return XMLNamespace, true
	}
	b := t.ns[prefix]
	if len(b) == 0 || b[len(b)-1] == "" {
		return "", false
	}
	return b[len(b)-1], true
}

// push applies the namespace rules to a start element and opens it.
func (t *Tokenizer) push(tok *Token) error {
	if len(t.stack) >= t.lim.MaxDepth {
		return t.limit(fmt.Sprintf("elements nested deeper than %d", t.lim.MaxDepth))
	}
	name := qn(tok.Name.Prefix, tok.Name.Local)
	elErr := func(msg string) error { return &Error{Line: t.line(t.pos), Msg: fmt.Sprintf("<%s>: %s", name, msg)} }
	mark := len(t.nsUndo)
	t.stack = append(t.stack, frame{prefix: tok.Name.Prefix, local: tok.Name.Local, nsMark: mark})
	perElement := 0
	for i := range tok.Attr {
		a := &tok.Attr[i]
		if !a.IsNamespaceDecl() {
			continue
		}
		p := a.DeclaredPrefix()
		switch {
		case a.Prefix == "" && a.Value == XMLNamespace:
			return elErr("the XML namespace may not be the default namespace")
		case a.Prefix == "xmlns" && a.Local == "xmlns":
			return elErr("the xmlns prefix may not be declared")
		case a.Prefix == "xmlns" && a.Value == "":
			return elErr(fmt.Sprintf("prefix %q undeclared with an empty name (not allowed in XML 1.0)", a.Local))
		case a.Prefix == "xmlns" && (a.Local == "xml") != (a.Value == XMLNamespace):
			return elErr("the xml prefix and the XML namespace belong only to each other")
		case a.Value == xmlnsNamespace:
			e := elErr("the xmlns namespace may not be declared").(*Error)
			e.Stricter = true
			return e
		}
		t.nsDecls++
		perElement++
		if perElement > t.lim.MaxNamespacesPerElement || t.nsDecls > t.lim.MaxNamespaces {
			e := elErr("too many namespace declarations").(*Error)
			e.Limit, e.Err = true, ErrLimit
			return e
		}
		if t.ns == nil {
			t.ns = make(map[string][]string, 8)
		}
		t.ns[p] = append(t.ns[p], a.Value)
		t.nsUndo = append(t.nsUndo, p)
	}
	if tok.Name.Prefix == "xmlns" {
		return elErr("element names may not use the xmlns prefix")
	}
	if tok.Name.Prefix != "" {
		uri, ok := t.lookup(tok.Name.Prefix)
		if !ok {
			return elErr(fmt.Sprintf("namespace prefix %q is not declared", tok.Name.Prefix))
		}
		tok.Name.Space = uri
	} else {
		tok.Name.Space, _ = t.lookup("")
	}
	for i := range tok.Attr {
		a := &tok.Attr[i]
		if a.Prefix == "" || a.Prefix == "xmlns" {
			continue
		}
		uri, ok := t.lookup(a.Prefix)
		if !ok {
			return elErr(fmt.Sprintf("attribute prefix %q is not declared", a.Prefix))
		}
		a.Space = uri
	}
	if n := len(tok.Attr); n > 1 {
		if err := t.duplicates(tok.Attr, elErr); err != nil {
			return err
		}
	}
	return nil
}

// duplicates refuses two attributes with one expanded name.
func (t *Tokenizer) duplicates(attrs []Attr, elErr func(string) error) error {
	key := func(a *Attr) (string, string) {
		if a.IsNamespaceDecl() {
			return "xmlns:", a.Local
		}
		return a.Space, a.Local
	}
	dup := func(a *Attr) error {
		return elErr(fmt.Sprintf("attribute %q appears twice", qn(a.Prefix, a.Local)))
	}
	if len(attrs) <= 16 {
		for i := 1; i < len(attrs); i++ {
			si, li := key(&attrs[i])
			for j := 0; j < i; j++ {
				if sj, lj := key(&attrs[j]); si == sj && li == lj {
					return dup(&attrs[i])
				}
			}
		}
		return nil
	}
	seen := make(map[[2]string]bool, len(attrs))
	for i := range attrs {
		s, l := key(&attrs[i])
		if seen[[2]string{s, l}] {
			return dup(&attrs[i])
		}
		seen[[2]string{s, l}] = true
	}
	return nil
}

func (t *Tokenizer) procInst() (*Token, error) {
	end, err := t.markupEnd(t.pos+2, "?>", false)
	if err != nil {
		return nil, err
	}
	b, i, ok := t.rawName(t.pos+2, end)
	if !ok || !isName(b) {
		return nil, t.syntax("expected target name after <?")
	}
	if len(b) > t.lim.MaxNameBytes {
		return nil, t.limit(fmt.Sprintf("a name longer than %d bytes", t.lim.MaxNameBytes))
	}
	target := t.intern(b)
	j := t.skipSpace(i, end)
	if j == i && j < end {
		t.pos = j
		return nil, t.stricter("processing instruction target not followed by white space")
	}
	data := t.buf[j:end]
	if err := t.checkChars(data, j); err != nil {
		return nil, err
	}
	if target == "xml" {
		if !t.declOK {
			return nil, t.stricter("the XML declaration is allowed only at the start of the document")
		}
		content := string(data)
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return nil, &Error{Msg: fmt.Sprintf("xml: unsupported version %q; only version 1.0 is supported", ver)}
		}
		if enc := procInstParam("encoding", content); enc != "" {
			switch strings.ToLower(enc) {
			case "utf-8", "utf8", "us-ascii", "ascii":
			default:
				return nil, &Error{Msg: fmt.Sprintf("encoding %q is not supported: SEOS messages are UTF-8", enc)}
			}
		}
	}
	if err := t.count(); err != nil {
		return nil, err
	}
	t.pos = end + 2
	t.declOK = false
	tok := &t.tok
	*tok = Token{Kind: ProcInst, Name: Name{Local: target}, Data: data, Depth: len(t.stack)}
	return tok, nil
}

// checkChars checks comment and PI content: UTF-8, XML characters.
func (t *Tokenizer) checkChars(b []byte, at int) error {
	for k := 0; k < len(b); {
		c := b[k]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				t.pos = at + k
				return t.stricter(fmt.Sprintf("illegal character code %U", rune(c)))
			}
			k++
			continue
		}
		r, size := utf8.DecodeRune(b[k:])
		if r == utf8.RuneError && size == 1 || !isInCharacterRange(r) {
			t.pos = at + k
			return t.stricter("invalid UTF-8 or character in a comment or processing instruction")
		}
		k += size
	}
	return nil
}

func (t *Tokenizer) bang() (*Token, error) {
	if !t.need(3) {
		return nil, t.syntax("unexpected EOF")
	}
	switch t.buf[t.pos+2] {
	case '-':
		if !t.need(4) {
			return nil, t.syntax("unexpected EOF")
		}
		if t.buf[t.pos+3] != '-' {
			return nil, t.syntax("invalid sequence <!- not part of <!--")
		}
		end, err := t.markupEnd(t.pos+4, "--", false)
		if err != nil {
			return nil, err
		}
		rel := end - t.pos // need may move the buffer
		if !t.need(rel + 3) {
			return nil, t.syntax("unexpected EOF")
		}
		return t.comment(t.pos + rel)
	case '[':
		if !t.need(9) {
			return nil, t.syntax("unexpected EOF")
		}
		if string(t.buf[t.pos+2:t.pos+9]) != "[CDATA[" {
			return nil, t.syntax("invalid <![ sequence")
		}
		if len(t.stack) == 0 && !t.sawRoot {
			return nil, &Error{Line: t.line(t.pos), Msg: ErrDoctype.Error(), Err: ErrDoctype}
		}
		if err := t.count(); err != nil {
			return nil, err
		}
		t.pos += 9
		t.inText = 2
		return t.text(true)
	}
	if len(t.stack) > 0 {
		top := t.stack[len(t.stack)-1]
		return nil, &Error{Line: t.line(t.pos), Msg: fmt.Sprintf("<%s>: a declaration (<!...>) inside an element", qn(top.prefix, top.local))}
	}
	return nil, &Error{Line: t.line(t.pos), Msg: ErrDoctype.Error(), Err: ErrDoctype}
}

// comment reads the comment whose "--" is at end (buffered through end+2).
func (t *Tokenizer) comment(end int) (*Token, error) {
	if t.buf[end+2] != '>' {
		t.pos = end
		return nil, t.syntax(`invalid sequence "--" not allowed in comments`)
	}
	data := t.buf[t.pos+4 : end]
	if err := t.checkChars(data, t.pos+4); err != nil {
		return nil, err
	}
	if err := t.count(); err != nil {
		return nil, err
	}
	t.pos = end + 3
	t.declOK = false
	tok := &t.tok
	*tok = Token{Kind: Comment, Data: data, Depth: len(t.stack)}
	return tok, nil
}

// procInstParam reads param="value" from an XML declaration, as
// encoding/xml's procInst does.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
}

// isName is encoding/xml's name check: first(first|second)*.
func isName(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	c, n := utf8.DecodeRune(s)
	if c == utf8.RuneError && n == 1 || !isFirst(c) {
		return false
	}
	for n < len(s) {
		s = s[n:]
		c, n = utf8.DecodeRune(s)
		if c == utf8.RuneError && n == 1 || !isFirst(c) && !isSecond(c) {
			return false
		}
	}
	return true
}

func isFirst(c rune) bool {
	if c < utf8.RuneSelf {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
	}
	return unicode.Is(first, c)
}

func isSecond(c rune) bool {
	if c < utf8.RuneSelf {
		return '0' <= c && c <= '9' || c == '.' || c == '-'
	}
	return unicode.Is(second, c)
}

// IsLimit reports whether err is a refusal for an exceeded limit.
func IsLimit(err error) bool { return errors.Is(err, ErrLimit) }
