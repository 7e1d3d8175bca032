// Package mailmsg reads a received mail (RFC 5322, MIME RFC 2045–2049) in
// place: decoded headers (RFC 2047, any charset incl. windows-1251 and
// koi8-r), the body text, the attachments as streams over the original
// bytes, and the S/MIME layer — multipart/signed verified over the exact
// bytes of the signed part, opaque signed-data opened, encrypted
// enveloped-data recognised so that the caller can refuse it.
package mailmsg

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every IANA charset for RFC 2047 words and text bodies
	"github.com/emersion/go-message/mail"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
)

// Options bound what one mail may make the parser do: every number here
// is something a sender controls.
type Options struct {
	MaxParts          int   // MIME entities in one mail (default 256)
	MaxDepth          int   // nesting of multiparts and S/MIME layers (default 10)
	MaxHeaderBytes    int   // one entity's header block (default 256 KiB)
	MaxTextBytes      int   // body text kept (default 1 MiB; the rest is cut)
	MaxSignatureBytes int64 // a detached signature, decoded (default 1 MiB)
	MaxOpaqueBytes    int64 // opaque signed-data, decoded and held in memory (default 64 MiB)
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxParts, 256)
	def(&o.MaxDepth, 10)
	def(&o.MaxHeaderBytes, 256<<10)
	def(&o.MaxTextBytes, 1<<20)
	if o.MaxSignatureBytes <= 0 {
		o.MaxSignatureBytes = 1 << 20
	}
	if o.MaxOpaqueBytes <= 0 {
		o.MaxOpaqueBytes = 64 << 20
	}
	return o
}

// Mail is a parsed mail. Attachments and Root read the source handed to
// Parse, which must stay readable while they are used.
type Mail struct {
	Header        message.Header // the top-level header as received
	From          *mail.Address  // the first From address; nil when there is none
	ReplyTo       []*mail.Address
	To, Cc        []*mail.Address
	Subject       string // decoded
	Date          time.Time
	MessageID     string // without angle brackets
	Text          string // the body text in UTF-8 (text/plain, else the text of text/html)
	TextTruncated bool
	Attachments   []*Part
	Signatures    []Signature // the S/MIME signature layers, outermost first
	Encrypted     bool        // an S/MIME enveloped-data layer: only its recipient can read what is inside
	Root          *Part
	Problems      []string // what could not be read but did not stop the parse (an unknown charset, a missing boundary)
}

// Signature is one S/MIME signature layer, verified over the exact bytes
// it signs. Trust, validity and revocation are the acceptance policy's.
type Signature struct {
	Form    string // "S/MIME (multipart/signed)" or "S/MIME (signed-data)"
	Signed  *cms.SignedData
	Results []cms.Result
	Err     error // the layer could not be read or verified at all
	// Canonicalized: the signed part arrived with bare LF line ends (a
	// store rewrote them) and verified only in canonical CRLF form.
	Canonicalized bool
}

// Valid reports a layer whose every signer verified.
func (s *Signature) Valid() bool {
	if s.Err != nil || len(s.Results) == 0 {
		return false
	}
	for _, r := range s.Results {
		if r.Err != nil {
			return false
		}
	}
	return true
}

// Errors a mail is refused for.
var (
	ErrTooComplex = errors.New("mailmsg: too many MIME parts or nesting too deep")
	ErrMalformed  = errors.New("mailmsg: malformed message")
)

// Parse reads the mail in src (size bytes). Only structure errors stop it;
// an undecodable header or body is noted in Problems.
func Parse(src io.ReaderAt, size int64, o Options) (*Mail, error) {
	ps := &parser{o: o.withDefaults()}
	root, err := ps.entity(src, 0, size, 0)
	if err != nil {
		return nil, err
	}
	m := &Mail{Root: root, Header: root.Header}
	ps.headers(m)
	if err := ps.interpret(m, root, 0, true); err != nil {
		return nil, err
	}
	if m.Text == "" && ps.html != nil {
		m.Text, m.TextTruncated = ps.text(m, ps.html, true)
	}
	return m, nil
}

type parser struct {
	o     Options
	parts int
	html  *Part // the first text/html body, used when there is no text/plain
	seen  bool  // a text/plain body was taken
}

func (ps *parser) headers(m *Mail) {
	h := mail.Header{Header: m.Header}
	note := func(field string, err error) {
		if err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("%s: %v", field, err))
		}
	}
	var err error
	if m.Subject, err = h.Subject(); err != nil {
		note("Subject", err)
		m.Subject = h.Get("Subject")
	}
	from, err := h.AddressList("From")
	note("From", err)
	if len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo, err = h.AddressList("Reply-To")
	note("Reply-To", err)
	m.To, err = h.AddressList("To")
	note("To", err)
	m.Cc, err = h.AddressList("Cc")
	note("Cc", err)
	if h.Has("Date") {
		m.Date, err = h.Date()
		note("Date", err)
	}
	m.MessageID, err = h.MessageID()
	note("Message-Id", err)
}

// ReplyAddress is where notices about the mail go: Reply-To when given,
// else From; "" when the mail names neither.
func (m *Mail) ReplyAddress() string {
	if len(m.ReplyTo) > 0 {
		return m.ReplyTo[0].Address
	}
	if m.From != nil {
		return m.From.Address
	}
	return ""
}

// interpret walks the parsed tree: S/MIME layers, the body text and the
// attachments. body says the entity stands where a mail's body does (the
// root, or the content of a signed layer): only there is a pkcs7-mime
// entity an S/MIME layer rather than an attached .p7m document.
func (ps *parser) interpret(m *Mail, p *Part, depth int, body bool) error {
	if depth > ps.o.MaxDepth {
		return ErrTooComplex
	}
	switch {
	case p.MediaType == "multipart/signed":
		proto := strings.ToLower(p.Params["protocol"])
		if len(p.Children) != 2 {
			m.Problems = append(m.Problems, fmt.Sprintf("multipart/signed with %d parts instead of 2", len(p.Children)))
			for _, c := range p.Children {
				if err := ps.interpret(m, c, depth+1, false); err != nil {
					return err
				}
			}
			return nil
		}
		if proto == "application/pkcs7-signature" || proto == "application/x-pkcs7-signature" {
			m.Signatures = append(m.Signatures, ps.verifyDetached(p.Children[0], p.Children[1]))
		} else {
			m.Problems = append(m.Problems, fmt.Sprintf("signature protocol %q is not S/MIME; not verified", proto))
		}
		return ps.interpret(m, p.Children[0], depth+1, true)
	case body && isPKCS7Mime(p.MediaType):
		return ps.opaque(m, p, depth)
	case p.MediaType == "multipart/alternative":
		// One body in several forms: the plain text if there is one.
		var pick *Part
		for _, c := range p.Children {
			if c.MediaType == "text/plain" && !c.isAttachment() {
				pick = c
				break
			}
		}
		if pick == nil && len(p.Children) > 0 {
			pick = p.Children[len(p.Children)-1] // the richest form, by RFC 2046 order
		}
		if pick != nil {
			return ps.interpret(m, pick, depth+1, false)
		}
		return nil
	case strings.HasPrefix(p.MediaType, "multipart/"):
		for _, c := range p.Children {
			if err := ps.interpret(m, c, depth+1, false); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case p.isAttachment():
		m.Attachments = append(m.Attachments, p)
	case p.MediaType == "text/plain" && !ps.seen:
		ps.seen = true
		m.Text, m.TextTruncated = ps.text(m, p, false)
	case p.MediaType == "text/html" && ps.html == nil:
		ps.html = p
	default:
		m.Attachments = append(m.Attachments, p) // a second text, an inline image: kept, not dropped
	}
	return nil
}

func isPKCS7Mime(mt string) bool {
	return mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime"
}

// text decodes a text part to UTF-8, bounded by MaxTextBytes.
func (ps *parser) text(m *Mail, p *Part, html bool) (string, bool) {
	r, err := p.Open()
	if err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("body text: %v", err))
		return "", false
	}
	if cs := p.Params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if cr, err := message.CharsetReader(cs, r); err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("body text: charset %q: %v", cs, err))
		} else {
			r = cr
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(ps.o.MaxTextBytes)+1))
	if err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("body text: %v", err))
	}
	cut := len(b) > ps.o.MaxTextBytes
	if cut {
		b = b[:ps.o.MaxTextBytes]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if html {
		s = htmlText(s)
	}
	return strings.ReplaceAll(s, "\r\n", "\n"), cut
}

// Filename returns the part's file name: as the sender gave it (RFC 2231
// and RFC 2047 decoded), else made from its position and media type.
func (p *Part) name(i int) string {
	if p.Filename != "" {
		return p.Filename
	}
	ext := ".bin"
	switch p.MediaType {
	case "message/rfc822":
		ext = ".eml"
	case "text/plain":
		ext = ".txt"
	case "text/html":
		ext = ".html"
	default:
		if exts, _ := mime.ExtensionsByType(p.MediaType); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return fmt.Sprintf("part-%d%s", i+1, ext)
}

// AttachmentName is the name of Attachments[i] (see Part.Filename).
func (m *Mail) AttachmentName(i int) string { return m.Attachments[i].name(i) }

// crlf turns bare LF line ends into CRLF as it streams, the canonical
// form S/MIME signs (or, with keep, only notes them); bare records whether
// it met any.
type crlf struct {
	r      io.Reader
	keep   bool
	prevCR bool
	bare   bool
	in     [2048]byte
	ob     [4096]byte
	out    []byte
}

func (c *crlf) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		n, err := c.r.Read(c.in[:])
		o := c.ob[:0]
		for _, b := range c.in[:n] {
			if b == '\n' && !c.prevCR {
				c.bare = true
				if !c.keep {
					o = append(o, '\r')
				}
			}
			o = append(o, b)
			c.prevCR = b == '\r'
		}
		c.out = o
		if err != nil && len(c.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
