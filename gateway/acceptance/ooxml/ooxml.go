// Package ooxml reads the text of a Word document (Office Open XML,
// .docx): the runs of the main document part, streamed through
// encoding/xml within fixed limits (a ZIP bomb stops at the limit).
package ooxml

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPartBytes bounds the decompressed document part read.
const maxPartBytes = 64 << 20

// Text returns the text of word/document.xml, up to max bytes, with a line
// break per paragraph.
func Text(r io.ReaderAt, size int64, max int) (string, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return "", fmt.Errorf("ooxml: %w", err)
	}
	var part *zip.File
	for _, f := range z.File {
		if f.Name == "word/document.xml" {
			part = f
			break
		}
	}
	if part == nil {
		return "", errors.New("ooxml: no word/document.xml (not a Word document)")
	}
	rc, err := part.Open()
	if err != nil {
		return "", fmt.Errorf("ooxml: %w", err)
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, maxPartBytes))
	var b strings.Builder
	inText := false
	for b.Len() < max {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if b.Len() > 0 {
				break // a truncated or damaged part still yields what was read
			}
			return "", fmt.Errorf("ooxml: word/document.xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inText = true
			case "tab":
				b.WriteByte(' ')
			case "br", "cr":
				b.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				b.WriteByte('\n')
			}
		case xml.CharData:
			if inText {
				b.Write(t)
			}
		}
	}
	s := b.String()
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "")
	}
	return strings.TrimSpace(s), nil
}
