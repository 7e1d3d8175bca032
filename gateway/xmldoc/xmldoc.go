// Package xmldoc reads XML from the network strictly and safely into an etree
// DOM: UTF-8 only, no DOCTYPE (so no DTD, entities or external fetches),
// namespace-well-formed, one root element, every count capped (see
// gateway/xmltok, which does the reading).
package xmldoc

import (
	"bytes"
	"io"
	"strings"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// MaxDepth bounds element nesting; SEOS messages are shallow, DocAddData aside.
const MaxDepth = 256

// XMLNamespace is the namespace bound to the reserved "xml" prefix.
const XMLNamespace = xmltok.XMLNamespace

// Limits on namespace declarations: real messages declare a handful per
// element (some serialisers repeat xmlns on every element, hence the
// generous document limit); a flood only serves to slow every later step.
const (
	MaxNamespacesPerElement  = 64
	MaxNamespacesPerDocument = 65536
)

// Error is a document that is not acceptable XML.
type Error = xmltok.Error

// ErrDoctype is returned for any document type declaration.
var ErrDoctype = xmltok.ErrDoctype

// Limits are the default caps for documents read into a DOM.
var Limits = xmltok.Limits{
	MaxDepth:                MaxDepth,
	MaxNamespacesPerElement: MaxNamespacesPerElement,
	MaxNamespaces:           MaxNamespacesPerDocument,
}

// Parse reads one document. The input slice is not retained.
func Parse(b []byte) (*etree.Document, error) {
	return Build(xmltok.NewBytes(b, Limits))
}

// Read reads one document from r within lim.
func Read(r io.Reader, lim xmltok.Limits) (*etree.Document, error) {
	return Build(xmltok.New(r, lim))
}

// Build reads what is left of tz's document into a DOM, the way etree
// reads one: CDATA becomes plain text, comments and processing
// instructions are kept.
func Build(tz *xmltok.Tokenizer) (*etree.Document, error) {
	doc := etree.NewDocument()
	var b TreeBuilder
	b.Reset(&doc.Element)
	for {
		tok, err := tz.Next()
		if err == io.EOF {
			return doc, nil
		}
		if err != nil {
			return nil, err
		}
		b.Add(tok)
	}
}

// TreeBuilder adds tokens to a tree below a parent element.
type TreeBuilder struct {
	cur *etree.Element
	// text holds the chunks of a text run until it ends: copied once each,
	// joined once, never regrown (a long run must not cost its size again
	// in discarded buffers).
	text [][]byte
	run  bool
}

// Reset makes parent the element new tokens go into.
func (b *TreeBuilder) Reset(parent *etree.Element) {
	b.cur, b.text, b.run = parent, nil, false
}

// Current is the element tokens go into now.
func (b *TreeBuilder) Current() *etree.Element { return b.cur }

// Add adds one token.
func (b *TreeBuilder) Add(tok *xmltok.Token) {
	switch tok.Kind {
	case xmltok.StartElement:
		el := etree.NewElement(tok.Name.Local)
		el.Space = tok.Name.Prefix
		for i := range tok.Attr {
			a := &tok.Attr[i]
			el.CreateAttr(qualified(a.Prefix, a.Local), a.Value)
		}
		b.cur.AddChild(el)
		b.cur = el
	case xmltok.EndElement:
		b.cur = b.cur.Parent()
	case xmltok.Text:
		if tok.More || b.run {
			if len(tok.Data) > 0 {
				b.text = append(b.text, bytes.Clone(tok.Data))
			}
			b.run = tok.More
			if tok.More {
				return
			}
			var s strings.Builder
			n := 0
			for _, c := range b.text {
				n += len(c)
			}
			s.Grow(n)
			for _, c := range b.text {
				s.Write(c)
			}
			AddText(b.cur, s.String())
			b.text = nil
			return
		}
		AddText(b.cur, string(tok.Data))
	case xmltok.Comment:
		b.cur.CreateComment(string(tok.Data))
	case xmltok.ProcInst:
		b.cur.CreateProcInst(tok.Name.Local, string(tok.Data))
	}
}

// AddText appends text to el as etree's reader does, marking whitespace.
func AddText(el *etree.Element, s string) *etree.CharData {
	c := el.CreateText(s)
	c.SetData(s) // sets the whitespace flag
	return c
}

func qualified(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}
