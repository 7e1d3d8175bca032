package soap

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/seosgw/seosgw/wsdl/endpoint"
)

// WriteSubmit writes a Submit envelope whose message, written by message
// into the writer it is given, is escaped into the request as it comes:
// the same bytes Submit makes, without the message ever in memory whole.
func WriteSubmit(w io.Writer, message func(io.Writer) error) error {
	return submitParts.write(w, message)
}

var (
	splitMark   = "SEOSGW-MESSAGE-GOES-HERE"
	submitParts = &parts{body: func(s *string) any { return endpoint.Submit{Request: s} }}
	// A reply is signed and wrapped for every request: no encoder per reply.
	responseParts = &parts{body: func(s *string) any { return endpoint.SubmitResponse{SubmitResult: s} }}
)

// parts is an envelope cut where its part's text goes: encoded once (by
// envelope, so the bytes are what the generated types give), then only
// the part's text is escaped.
type parts struct {
	body           func(*string) any
	once           sync.Once
	prefix, suffix string
}

func (p *parts) cut() {
	p.once.Do(func() {
		b, err := envelope(p.body(&splitMark))
		if err != nil {
			panic("soap: the envelope cannot be written: " + err.Error()) // a build defect
		}
		before, after, ok := strings.Cut(string(b), splitMark)
		if !ok {
			panic("soap: the envelope lost its part")
		}
		p.prefix, p.suffix = before, after
	})
}

func (p *parts) write(w io.Writer, part func(io.Writer) error) error {
	p.cut()
	if _, err := io.WriteString(w, p.prefix); err != nil {
		return err
	}
	esc := &escaper{w: w}
	if err := part(esc); err != nil {
		return err
	}
	if err := esc.close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, p.suffix)
	return err
}

// wrap is write for a part in memory.
func (p *parts) wrap(text []byte) ([]byte, error) {
	p.cut()
	var b bytes.Buffer
	b.Grow(len(p.prefix) + len(text) + len(text)/8 + len(p.suffix))
	b.WriteString(p.prefix)
	if err := xml.EscapeText(&b, text); err != nil {
		return nil, err
	}
	b.WriteString(p.suffix)
	return b.Bytes(), nil
}

// escaper escapes text for element content as encoding/xml does
// (EscapeText), holding back a character cut between two writes.
type escaper struct {
	w     io.Writer
	carry []byte
	buf   bytes.Buffer
}

func (e *escaper) Write(p []byte) (int, error) {
	n := len(p)
	if len(e.carry) > 0 {
		p = append(e.carry, p...)
		e.carry = nil
	}
	// Keep an incomplete last character for the next write.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	e.carry = append(e.carry[:0], p[cut:]...)
	e.buf.Reset()
	if err := xml.EscapeText(&e.buf, p[:cut]); err != nil {
		return 0, err
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return 0, err
	}
	return n, nil
}

func (e *escaper) close() error {
	if len(e.carry) == 0 {
		return nil
	}
	e.buf.Reset()
	xml.EscapeText(&e.buf, e.carry)
	_, err := e.w.Write(e.buf.Bytes())
	return err
}
