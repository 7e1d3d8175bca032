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
	submitParts.once.Do(func() { submitParts.prefix, submitParts.suffix = split(endpoint.Submit{Request: &splitMark}) })
	if _, err := io.WriteString(w, submitParts.prefix); err != nil {
		return err
	}
	esc := &escaper{w: w}
	if err := message(esc); err != nil {
		return err
	}
	if err := esc.close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, submitParts.suffix)
	return err
}

var (
	splitMark   = "SEOSGW-MESSAGE-GOES-HERE"
	submitParts struct {
		once           sync.Once
		prefix, suffix string
	}
)

// split encodes an envelope whose part is splitMark and cuts it there, so
// that the streamed envelope is exactly what envelope() writes.
func split(body any) (string, string) {
	b, err := envelope(body)
	if err != nil {
		panic("soap: the envelope cannot be written: " + err.Error()) // a build defect
	}
	before, after, ok := strings.Cut(string(b), splitMark)
	if !ok {
		panic("soap: the envelope lost its part")
	}
	return before, after
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
