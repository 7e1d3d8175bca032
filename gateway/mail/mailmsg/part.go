package mailmsg

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Part is one MIME entity, located by offsets in its source: nothing of
// its body is copied until it is read.
type Part struct {
	Header      message.Header
	MediaType   string // lower case; text/plain when the header names none
	Params      map[string]string
	Disposition string // inline, attachment or ""
	Filename    string // decoded; "" when the sender gave none
	Children    []*Part

	src              io.ReaderAt
	start, body, end int64
}

// Raw is the entity exactly as received: header, blank line and body.
func (p *Part) Raw() *io.SectionReader { return io.NewSectionReader(p.src, p.start, p.end-p.start) }

// Body is the body exactly as transferred (still encoded).
func (p *Part) Body() *io.SectionReader { return io.NewSectionReader(p.src, p.body, p.end-p.body) }

// EncodedSize is the size of the body as transferred.
func (p *Part) EncodedSize() int64 { return p.end - p.body }

// Open streams the body with its Content-Transfer-Encoding undone (base64,
// quoted-printable, or none); a text's charset is left as it is.
func (p *Part) Open() (io.Reader, error) {
	body := io.NewSectionReader(p.src, p.body, p.end-p.body)
	switch enc := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))); enc {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Text{r: bufio.NewReader(body)}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(body), nil
	default:
		return nil, fmt.Errorf("%w: unknown Content-Transfer-Encoding %q", ErrMalformed, enc)
	}
}

// WriteTo streams the decoded body to w.
func (p *Part) WriteTo(w io.Writer) (int64, error) {
	r, err := p.Open()
	if err != nil {
		return 0, err
	}
	return io.Copy(w, r)
}

// isAttachment: a file rather than the body text.
func (p *Part) isAttachment() bool {
	if p.Disposition == "attachment" || p.Filename != "" {
		return true
	}
	return p.MediaType != "text/plain" && p.MediaType != "text/html"
}

// base64Text drops what base64 text may hold besides the alphabet: line
// breaks, and the spaces some mailers add.
type base64Text struct{ r *bufio.Reader }

func (b *base64Text) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := b.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
			continue
		}
		p[n] = c
		n++
	}
	return n, nil
}

// entity reads the entity in src[start:end] and, for a multipart, its
// parts, recursively.
func (ps *parser) entity(src io.ReaderAt, start, end int64, depth int) (*Part, error) {
	ps.parts++
	if depth > ps.o.MaxDepth || ps.parts > ps.o.MaxParts {
		return nil, ErrTooComplex
	}
	hdr, body, err := ps.header(src, start, end)
	if err != nil {
		return nil, err
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)))
	if err != nil {
		return nil, fmt.Errorf("%w: header at offset %d: %v", ErrMalformed, start, err)
	}
	p := &Part{Header: message.Header{Header: h}, src: src, start: start, body: body, end: end}
	p.MediaType, p.Params, err = p.Header.ContentType()
	if err != nil || p.MediaType == "" {
		p.MediaType, p.Params = "text/plain", map[string]string{"charset": "us-ascii"}
		if strings.TrimSpace(p.Header.Get("Content-Type")) != "" {
			// An unreadable Content-Type is kept as a file, not shown as text.
			p.MediaType = "application/octet-stream"
		}
	}
	p.MediaType = strings.ToLower(p.MediaType)
	if d, _, err := p.Header.ContentDisposition(); err == nil {
		p.Disposition = strings.ToLower(d)
	}
	ah := mail.AttachmentHeader{Header: p.Header}
	if name, err := ah.Filename(); err == nil {
		p.Filename = name
	} else {
		p.Filename = p.Params["name"]
	}
	if !strings.HasPrefix(p.MediaType, "multipart/") {
		return p, nil
	}
	boundary := p.Params["boundary"]
	if boundary == "" {
		return nil, fmt.Errorf("%w: %s at offset %d without a boundary", ErrMalformed, p.MediaType, start)
	}
	ranges, err := split(src, body, end, boundary, ps.o.MaxParts)
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		c, err := ps.entity(src, r[0], r[1], depth+1)
		if err != nil {
			return nil, err
		}
		p.Children = append(p.Children, c)
	}
	return p, nil
}

// header finds the entity's header block, ending at the first empty line,
// and where the body starts. An entity without an empty line is all header.
func (ps *parser) header(src io.ReaderAt, start, end int64) ([]byte, int64, error) {
	var hdr []byte
	off := start
	br := bufio.NewReaderSize(io.NewSectionReader(src, start, end-start), 4096)
	atLineStart := true
	for {
		line, err := br.ReadSlice('\n')
		if len(hdr)+len(line) > ps.o.MaxHeaderBytes {
			return nil, 0, fmt.Errorf("%w: header at offset %d is over %d bytes", ErrMalformed, start, ps.o.MaxHeaderBytes)
		}
		off += int64(len(line))
		if atLineStart && err == nil && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return append(hdr, "\r\n"...), off, nil
		}
		atLineStart = err == nil
		hdr = append(hdr, line...)
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			if len(hdr) > 0 && hdr[len(hdr)-1] != '\n' {
				hdr = append(hdr, "\r\n"...)
			}
			return append(hdr, "\r\n"...), end, nil
		default:
			return nil, 0, fmt.Errorf("mailmsg: read: %w", err)
		}
	}
}

// split finds the parts of a multipart body between its delimiter lines
// (RFC 2046 5.1.1): the line break before a delimiter belongs to it, a
// delimiter may be followed by white space, and a body cut short of its
// close delimiter ends its last part at the end.
func split(src io.ReaderAt, start, end int64, boundary string, limit int) ([][2]int64, error) {
	delim := []byte("--" + boundary)
	var out [][2]int64
	partStart := int64(-1)
	off := start
	br := bufio.NewReaderSize(io.NewSectionReader(src, start, end-start), 8192)
	atLineStart := true
	for {
		line, err := br.ReadSlice('\n')
		lineOff := off
		off += int64(len(line))
		if atLineStart && bytes.HasPrefix(line, delim) {
			rest := bytes.TrimRight(line[len(delim):], " \t\r\n")
			closing := bytes.Equal(rest, []byte("--"))
			if (len(rest) == 0 || closing) && (err == nil || err == io.EOF) {
				if partStart >= 0 {
					out = append(out, [2]int64{partStart, max(partStart, lineBreakBefore(src, start, lineOff))})
				}
				if closing {
					return out, nil
				}
				if len(out) > limit {
					return nil, ErrTooComplex
				}
				partStart = off
			}
		}
		atLineStart = err == nil
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			if partStart < 0 {
				return nil, fmt.Errorf("%w: no part delimited by %q", ErrMalformed, boundary)
			}
			return append(out, [2]int64{partStart, end}), nil
		default:
			return nil, fmt.Errorf("mailmsg: read: %w", err)
		}
	}
}

// lineBreakBefore is where the CRLF (or LF) ending the line before off
// starts: the end of the part before a delimiter.
func lineBreakBefore(src io.ReaderAt, start, off int64) int64 {
	if off-start >= 2 {
		var b [2]byte
		if _, err := src.ReadAt(b[:], off-2); err == nil && b == [2]byte{'\r', '\n'} {
			return off - 2
		}
	}
	if off > start {
		return off - 1
	}
	return off
}
