package seos

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

func init() {
	names := []string{NS, NSURI, NSDSig, nsXSI}
	walkDecls(messageDecl, map[*element]bool{}, func(e *element) { names = append(names, e.name) })
	xmltok.Intern(names...)
}

// walkDecls visits every declaration reachable from e once.
func walkDecls(e *element, seen map[*element]bool, f func(*element)) {
	if e == nil || seen[e] {
		return
	}
	seen[e] = true
	f(e)
	var particles func(p *particle)
	particles = func(p *particle) {
		if p == nil {
			return
		}
		if p.elem != nil {
			walkDecls(p.elem, seen, f)
		}
		for _, it := range p.items {
			particles(it)
		}
	}
	particles(e.content)
}

// ReadOptions say how a message is read as a stream.
type ReadOptions struct {
	// Limits cap what the tokenizer reads (zero fields: the defaults).
	Limits xmltok.Limits
	// MaxTreeBytes and MaxTreeNodes cap what is kept of the message
	// besides attachment bodies: the bytes of names, attribute values and
	// text, and the elements, texts, comments and PIs. Zero takes the
	// defaults; negative keeps everything (a message already in memory).
	MaxTreeBytes, MaxTreeNodes int
	// Body, when set, takes each attachment body (index from 0) as it is
	// decoded, and the model keeps only its size (Attachment.Stored);
	// otherwise the base64 text stays in the model.
	Body func(index int) (io.Writer, error)
	// MaxBodyBytes caps one decoded attachment (with Body; 0: no cap).
	MaxBodyBytes int64
	// Observe sees every token as it passes (e.g. a signature Digester).
	Observe func(*xmltok.Token)
}

// Defaults for what a message may hold besides its attachment bodies: a
// real header, document metadata, DocAddData and signatures need tens of
// kilobytes; these leave room a hundred times over and keep a hostile
// message's tree small (BenchmarkHostileShapes in gateway/inbound).
const (
	DefaultMaxTreeBytes = 4 << 20
	DefaultMaxTreeNodes = 1 << 14
)

// ErrBodyTooLarge is an attachment over ReadOptions.MaxBodyBytes.
var ErrBodyTooLarge = errors.New("attachment larger than allowed")

// BodyTooLarge names the attachment over the limit.
type BodyTooLarge struct {
	Index int
	Limit int64
}

func (e *BodyTooLarge) Error() string {
	return fmt.Sprintf("attachment %d is larger than %d bytes", e.Index+1, e.Limit)
}

func (e *BodyTooLarge) Unwrap() error { return ErrBodyTooLarge }

// ReadMessage reads a message from tz in one pass: every token goes to
// opts.Observe, attachment bodies to opts.Body as they are decoded, and
// the rest into a small tree that is checked against the schema and
// turned into the model when the message has ended. Errors are as Parse's
// (*xmldoc.Error, *SchemaError, *RuleError), a *BodyTooLarge, or the
// reader's or a body writer's own. The tree is returned with a schema or
// rule error (to read the header of a refused message), not with others.
func ReadMessage(tz *xmltok.Tokenizer, opts ReadOptions) (*Message, *etree.Document, error) {
	r := &reader{opts: opts, doc: etree.NewDocument(), bodies: map[*etree.Element]*bodyStream{}}
	r.maxBytes, r.maxNodes = opts.MaxTreeBytes, opts.MaxTreeNodes
	if r.maxBytes == 0 {
		r.maxBytes = DefaultMaxTreeBytes
	}
	if r.maxNodes == 0 {
		r.maxNodes = DefaultMaxTreeNodes
	}
	r.tb.Reset(&r.doc.Element)
	if err := r.read(tz); err != nil {
		return nil, nil, err
	}
	m, err := fromDocument(r.doc, true, r.bodies)
	if err != nil {
		return nil, r.doc, err
	}
	if opts.Body != nil {
		for i := range m.Body.RegistrationRequest.attachments() {
			a := &m.Body.RegistrationRequest.Document.Attachments[i]
			a.Stored = &StoredBody{Size: r.sizes[i]}
		}
	}
	return m, r.doc, nil
}

// attachments lists a registration's attachments (nil for others).
func (r *RegistrationRequest) attachments() []Attachment {
	if r == nil {
		return nil
	}
	return r.Document.Attachments
}

type reader struct {
	opts     ReadOptions
	doc      *etree.Document
	tb       xmldoc.TreeBuilder
	stack    []xmltok.Name
	body     *bodyStream // the attachment body being read
	bodyAt   int         // its depth
	bodies   map[*etree.Element]*bodyStream
	sizes    []int64
	bytes    int
	nodes    int
	maxBytes int
	maxNodes int
}

// attachmentPath is where attachment bodies are (below the root Message).
var attachmentPath = []string{"Body", "DocumentRegistrationRequest", "Document", "DocAttachmentList", "Attachment", "AttBody"}

func (r *reader) read(tz *xmltok.Tokenizer) error {
	for {
		tok, err := tz.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if r.opts.Observe != nil {
			r.opts.Observe(tok)
		}
		switch tok.Kind {
		case xmltok.StartElement:
			r.stack = append(r.stack, tok.Name)
			r.nodes++
			r.bytes += len(tok.Name.Prefix) + len(tok.Name.Local)
			for i := range tok.Attr {
				a := &tok.Attr[i]
				r.bytes += len(a.Prefix) + len(a.Local) + len(a.Value)
			}
			r.tb.Add(tok)
			if r.opts.Body != nil && r.body == nil && r.atAttachmentBody() {
				w, err := r.opts.Body(len(r.sizes))
				if err != nil {
					return err
				}
				r.body = newBodyStream(w, r.opts.MaxBodyBytes, len(r.sizes))
				r.bodyAt = tok.Depth
				r.bodies[r.tb.Current()] = r.body
				r.sizes = append(r.sizes, 0)
			}
		case xmltok.EndElement:
			if r.body != nil && tok.Depth == r.bodyAt {
				if err := r.body.close(); err != nil {
					return err
				}
				r.sizes[len(r.sizes)-1] = r.body.size
				r.body = nil
			}
			r.stack = r.stack[:len(r.stack)-1]
			r.tb.Add(tok)
		case xmltok.Text:
			if r.body != nil && tok.Depth == r.bodyAt {
				if err := r.body.write(tok.Data); err != nil {
					return err
				}
				continue
			}
			if tok.Depth > 0 {
				r.nodes++
				r.bytes += len(tok.Data)
				if r.maxBytes >= 0 && r.bytes > r.maxBytes {
					break // refused below, before the text is kept
				}
			}
			r.tb.Add(tok)
		default:
			r.nodes++
			r.bytes += len(tok.Name.Local) + len(tok.Data)
			r.tb.Add(tok)
		}
		if r.maxBytes >= 0 && r.bytes > r.maxBytes {
			return &xmldoc.Error{Limit: true, Err: xmltok.ErrLimit,
				Msg: fmt.Sprintf("the message holds more than %d bytes besides its attachments", r.maxBytes)}
		}
		if r.maxNodes >= 0 && r.nodes > r.maxNodes {
			return &xmldoc.Error{Limit: true, Err: xmltok.ErrLimit,
				Msg: fmt.Sprintf("the message holds more than %d elements and texts besides its attachments", r.maxNodes)}
		}
	}
}

func (r *reader) atAttachmentBody() bool {
	if len(r.stack) != len(attachmentPath)+1 {
		return false
	}
	if root := r.stack[0]; root.Local != "Message" || root.Space != NS {
		return false
	}
	for i, name := range attachmentPath {
		if n := r.stack[i+1]; n.Local != name || n.Space != NS {
			return false
		}
	}
	return true
}

// bodyStream checks and decodes one attachment body as it arrives: the
// lexical rule is IsBase64's, applied across chunks.
type bodyStream struct {
	w       io.Writer
	index   int
	max     int64
	size    int64 // decoded bytes written
	n       int   // data and padding characters
	pad     int
	last    byte
	bad     bool
	head    []byte // the first bytes of the text, for the error message
	total   int
	carry   []byte
	clean   []byte
	out     []byte
	checked *SchemaError
}

func newBodyStream(w io.Writer, max int64, index int) *bodyStream {
	return &bodyStream{w: w, max: max, index: index}
}

// b64 classes: 0 invalid, 1 data, 2 padding, 3 white space.
var b64class [256]byte

func init() {
	for c := 'A'; c <= 'Z'; c++ {
		b64class[c] = 1
	}
	for c := 'a'; c <= 'z'; c++ {
		b64class[c] = 1
	}
	for c := '0'; c <= '9'; c++ {
		b64class[c] = 1
	}
	b64class['+'], b64class['/'], b64class['='] = 1, 1, 2
	b64class[' '], b64class['\t'], b64class['\n'], b64class['\r'] = 3, 3, 3, 3
}

const headLen = 60

// write takes the next text, a bounded piece at a time: one write of a
// whole attachment must not cost its size again in scratch space.
func (s *bodyStream) write(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), 64<<10)
		if err := s.writePiece(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (s *bodyStream) writePiece(p []byte) error {
	if len(s.head) < headLen {
		s.head = append(s.head, p[:min(len(p), headLen-len(s.head))]...)
	}
	s.total += len(p)
	if s.bad {
		return nil
	}
	// The common case: base64 without white space, padding or a carried
	// quantum decodes from where it is.
	if len(s.carry) == 0 && s.pad == 0 {
		k := 0
		for k < len(p) && b64class[p[k]] == 1 {
			k++
		}
		whole := k / 4 * 4
		if whole > 0 {
			s.last = p[whole-1]
			s.n += whole
			if err := s.emit(p[:whole]); err != nil {
				return err
			}
			p = p[whole:]
		}
		if len(p) == 0 {
			return nil
		}
	}
	clean := append(s.clean[:0], s.carry...)
	for _, c := range p {
		switch b64class[c] {
		case 1:
			if s.pad > 0 {
				s.bad = true // data after padding
				return nil
			}
			s.last = c
			s.n++
			clean = append(clean, c)
		case 2:
			s.pad++
			s.n++
			if s.pad > 2 {
				s.bad = true
				return nil
			}
		case 3:
		default:
			s.bad = true
			return nil
		}
	}
	k := len(clean) / 4 * 4
	if err := s.emit(clean[:k]); err != nil {
		return err
	}
	s.carry = append(s.carry[:0], clean[k:]...)
	s.clean = clean[:0]
	return nil
}

func (s *bodyStream) emit(quanta []byte) error {
	if len(quanta) == 0 {
		return nil
	}
	need := base64.StdEncoding.DecodedLen(len(quanta))
	if cap(s.out) < need {
		s.out = make([]byte, need)
	}
	n, err := base64.StdEncoding.Decode(s.out[:need], quanta)
	if err != nil {
		s.bad = true
		return nil
	}
	s.size += int64(n)
	if s.max > 0 && s.size > s.max {
		return &BodyTooLarge{Index: s.index, Limit: s.max}
	}
	_, err = s.w.Write(s.out[:n])
	return err
}

// close ends the body: the final quantum, and the verdict on the text,
// which the schema check reports in its place.
func (s *bodyStream) close() error {
	valid := !s.bad && s.n%4 == 0
	if valid {
		switch s.pad {
		case 1:
			valid = indexByte("AEIMQUYcgkosw048", s.last)
		case 2:
			valid = indexByte("AQgw", s.last)
		}
	}
	if valid && s.pad > 0 {
		final := append(s.carry, "=="[:s.pad]...)
		if err := s.emit(final); err != nil {
			return err
		}
		valid = !s.bad
	}
	if !valid {
		text := string(s.head)
		if s.total > headLen {
			text += "\x00" // longer than shown: shorten marks it
		}
		s.checked = &SchemaError{Msg: fmt.Sprintf("%q is not %s", shorten(text), "base64 data")}
	}
	return nil
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// Base64Decoder checks text against xsd:base64Binary as it streams past
// (IsBase64's rule: white space anywhere, padding only at the end, unused
// bits zero) and writes what it decodes to a writer, so that an
// attachment never has to be held whole, encoded or decoded.
type Base64Decoder struct{ s *bodyStream }

// NewBase64Decoder decodes into w.
func NewBase64Decoder(w io.Writer) *Base64Decoder {
	return &Base64Decoder{s: newBodyStream(w, 0, 0)}
}

// ErrNotBase64 is text that is not base64.
var ErrNotBase64 = errors.New("not base64")

// Write takes the next part of the text.
func (d *Base64Decoder) Write(p []byte) (int, error) {
	if err := d.s.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the text: ErrNotBase64 when it was not base64.
func (d *Base64Decoder) Close() error {
	if err := d.s.close(); err != nil {
		return err
	}
	if d.s.checked != nil {
		return ErrNotBase64
	}
	return nil
}

// Size is how many bytes were decoded.
func (d *Base64Decoder) Size() int64 { return d.s.size }
