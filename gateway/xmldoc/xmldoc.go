// Package xmldoc reads XML from the network strictly and safely into an etree
// DOM: UTF-8 only, no DOCTYPE (so no DTD, entities or external fetches),
// namespace-well-formed, one root element.
package xmldoc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// MaxDepth bounds element nesting; SEOS messages are shallow, DocAddData aside.
const MaxDepth = 256

// XMLNamespace is the namespace bound to the reserved "xml" prefix.
const XMLNamespace = "http://www.w3.org/XML/1998/namespace"

// Error is a document that is not acceptable XML. Line is 0 when unknown.
type Error struct {
	Line int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("XML line %d: %s", e.Line, e.Msg)
	}
	return "XML: " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrDoctype is returned for any document type declaration.
var ErrDoctype = errors.New("DOCTYPE declarations are not accepted (no DTDs or entities in SEOS messages)")

var bom = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one document. The input slice is not retained.
func Parse(b []byte) (*etree.Document, error) {
	b = bytes.TrimPrefix(b, bom)
	if err := checkProlog(b); err != nil {
		return nil, err
	}
	b = normalizeAttrWhitespace(b)
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader:          utf8Only,
		PreserveDuplicateAttrs: true, // duplicates are a well-formedness error we must see
		MaxDepth:               MaxDepth,
	}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, wrapSyntax(err)
	}
	if err := check(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func wrapSyntax(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: se.Line, Msg: se.Msg, Err: err}
	}
	if errors.Is(err, etree.ErrMaxDepth) {
		return &Error{Msg: fmt.Sprintf("elements nested deeper than %d", MaxDepth), Err: err}
	}
	if errors.Is(err, etree.ErrXML) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Msg: "not well-formed (unbalanced or truncated element tags)", Err: err}
	}
	return &Error{Msg: err.Error(), Err: err}
}

func utf8Only(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported: SEOS messages are UTF-8", charset)
}

// checkProlog refuses a DOCTYPE before the parser sees it, so entity
// declarations never reach encoding/xml and the error says what is wrong.
func checkProlog(b []byte) error {
	i := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case bytes.HasPrefix(b[i:], []byte("<?")):
			end := bytes.Index(b[i:], []byte("?>"))
			if end < 0 {
				return nil // the parser reports the truncation
			}
			i += end + 2
		case bytes.HasPrefix(b[i:], []byte("<!--")):
			end := bytes.Index(b[i+4:], []byte("-->"))
			if end < 0 {
				return nil
			}
			i += 4 + end + 3
		case bytes.HasPrefix(b[i:], []byte("<!")):
			return &Error{Line: 1 + bytes.Count(b[:i], []byte("\n")), Msg: ErrDoctype.Error(), Err: ErrDoctype}
		default:
			return nil
		}
	}
	return nil
}

// check enforces what etree's raw-token reader lets through: a single root,
// no directives, bound prefixes, unique attributes.
func check(doc *etree.Document) error {
	roots := 0
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			roots++
		case *etree.CharData:
			if !t.IsWhitespace() {
				return &Error{Msg: "text outside the root element"}
			}
		case *etree.Directive:
			return &Error{Msg: ErrDoctype.Error(), Err: ErrDoctype}
		}
	}
	switch {
	case roots == 0:
		return &Error{Msg: "no root element"}
	case roots > 1:
		return &Error{Msg: "more than one root element"}
	}
	return checkElement(doc.Root(), rootScope)
}

// scope maps prefixes ("" for the default namespace) to namespace names.
type scope map[string]string

var rootScope = scope{"xml": XMLNamespace}

func checkElement(el *etree.Element, parent scope) error {
	sc, own := parent, false
	bind := func(prefix, uri string) {
		if !own { // copy on first write so siblings keep the parent's scope
			sc, own = make(scope, len(parent)+2), true
			for k, v := range parent {
				sc[k] = v
			}
		}
		if uri == "" {
			delete(sc, prefix) // xmlns="" undeclares the default namespace
		} else {
			sc[prefix] = uri
		}
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		switch {
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == XMLNamespace {
				return elementError(el, "the XML namespace may not be the default namespace")
			}
			bind("", a.Value)
		case a.Space == "xmlns":
			switch {
			case a.Key == "xmlns":
				return elementError(el, "the xmlns prefix may not be declared")
			case a.Value == "":
				return elementError(el, fmt.Sprintf("prefix %q undeclared with an empty name (not allowed in XML 1.0)", a.Key))
			case (a.Key == "xml") != (a.Value == XMLNamespace):
				return elementError(el, "the xml prefix and the XML namespace belong only to each other")
			}
			bind(a.Key, a.Value)
		}
	}
	if el.Space == "xmlns" {
		return elementError(el, "element names may not use the xmlns prefix")
	}
	if el.Space != "" {
		if _, ok := sc[el.Space]; !ok {
			return elementError(el, fmt.Sprintf("namespace prefix %q is not declared", el.Space))
		}
	}
	type name struct{ ns, local string }
	seen := make(map[name]bool, len(el.Attr))
	for _, a := range el.Attr {
		n := name{local: a.Key}
		switch a.Space {
		case "":
			if a.Key == "xmlns" {
				n.ns = "xmlns:"
			}
		case "xmlns":
			n.ns = "xmlns:"
		default:
			uri, ok := sc[a.Space]
			if !ok {
				return elementError(el, fmt.Sprintf("attribute prefix %q is not declared", a.Space))
			}
			n.ns = uri
		}
		if seen[n] {
			return elementError(el, fmt.Sprintf("attribute %q appears twice", a.FullKey()))
		}
		seen[n] = true
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := checkElement(t, sc); err != nil {
				return err
			}
		case *etree.Directive:
			return elementError(el, "a declaration (<!...>) inside an element")
		}
	}
	return nil
}

func elementError(el *etree.Element, msg string) error {
	return &Error{Msg: fmt.Sprintf("<%s>: %s", el.FullTag(), msg)}
}
