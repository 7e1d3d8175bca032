// Package xmltok is the one strict XML reader of the gateway: a tokenizer
// over an io.Reader with a sliding buffer, namespace-aware, that refuses
// what SEOS never needs (DOCTYPE, entities, encodings other than UTF-8) and
// caps every count an attacker controls before anything is built. Long
// text comes out in chunks, so a 64 MiB attachment never has to be held.
//
// It accepts exactly what the encoding/xml reader it replaced accepted
// (with gateway/xmldoc's checks on top), except where that reader was laxer
// than XML 1.0 and Namespaces in XML (see Stricter); the differential tests
// and FuzzAgainstEncodingXML hold it to that.
package xmltok

import (
	"errors"
	"fmt"
)

// XMLNamespace is the namespace bound to the reserved "xml" prefix.
const XMLNamespace = "http://www.w3.org/XML/1998/namespace"

// xmlnsNamespace may be bound to no prefix (Namespaces in XML §3).
const xmlnsNamespace = "http://www.w3.org/2000/xmlns/"

// Kind is what a token is.
type Kind uint8

const (
	StartElement Kind = iota + 1
	EndElement
	Text
	Comment
	ProcInst
)

func (k Kind) String() string {
	switch k {
	case StartElement:
		return "start"
	case EndElement:
		return "end"
	case Text:
		return "text"
	case Comment:
		return "comment"
	case ProcInst:
		return "procinst"
	}
	return "?"
}

// Name is an element's name: its prefix and local part as written, and the
// namespace URI the prefix (or the default namespace) is bound to.
type Name struct {
	Prefix, Local string
	Space         string
}

// Attr is an attribute as written, its value decoded and normalised (XML
// 1.0 §3.3.3: literal tabs and line ends become spaces, character
// references stay what they say). Space is the namespace URI of a prefixed
// attribute; namespace declarations (xmlns, xmlns:p) have none.
type Attr struct {
	Prefix, Local string
	Space         string
	Value         string
}

// IsNamespaceDecl reports whether a is xmlns="..." or xmlns:p="...".
func (a *Attr) IsNamespaceDecl() bool {
	return a.Prefix == "xmlns" || a.Prefix == "" && a.Local == "xmlns"
}

// DeclaredPrefix is the prefix a namespace declaration binds ("" for the
// default namespace).
func (a *Attr) DeclaredPrefix() string {
	if a.Prefix == "xmlns" {
		return a.Local
	}
	return ""
}

// Token is one piece of the document. It and everything it points to are
// valid until the next call to Next.
type Token struct {
	Kind Kind
	// Name of a start or end element; a processing instruction's target
	// is Name.Local.
	Name Name
	// Attr of a start element, in document order, namespace declarations
	// included.
	Attr []Attr
	// Data is a chunk of decoded text, a comment's content, or a
	// processing instruction's content.
	Data []byte
	// More says a text run continues in the next token (long runs come
	// in chunks); CDATA marks text from a CDATA section, a run of its own.
	More, CDATA bool
	// SelfClosing marks a start element written <a/>; its end follows.
	SelfClosing bool
	// Depth of an element (1 for the root); of other tokens, the depth of
	// the element they are in (0 outside the root).
	Depth int
}

// Limits caps what one document may hold; zero fields take the defaults.
type Limits struct {
	MaxDepth                int // element nesting
	MaxNameBytes            int // one qualified name
	MaxAttrsPerElement      int // attributes of one element, declarations included
	MaxAttrs                int // attributes in the document, declarations aside
	MaxNamespacesPerElement int // declarations on one element
	MaxNamespaces           int // declarations in the document
	MaxTokens               int // elements, text runs, comments and PIs in the document
	MaxMarkupBytes          int // one tag, comment, PI or character reference
}

// DefaultLimits suit any document the gateway reads, SEOS messages and
// register listings included, while keeping hostile shapes small.
var DefaultLimits = Limits{
	MaxDepth:                256,
	MaxNameBytes:            1024,
	MaxAttrsPerElement:      256,
	MaxAttrs:                1 << 16,
	MaxNamespacesPerElement: 64,
	MaxNamespaces:           1 << 16,
	MaxTokens:               1 << 20,
	MaxMarkupBytes:          1 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxDepth, d.MaxDepth)
	set(&l.MaxNameBytes, d.MaxNameBytes)
	set(&l.MaxAttrsPerElement, d.MaxAttrsPerElement)
	set(&l.MaxAttrs, d.MaxAttrs)
	set(&l.MaxNamespacesPerElement, d.MaxNamespacesPerElement)
	set(&l.MaxNamespaces, d.MaxNamespaces)
	set(&l.MaxTokens, d.MaxTokens)
	set(&l.MaxMarkupBytes, d.MaxMarkupBytes)
	return l
}

// Error is a document that is not acceptable XML. Line is 0 when unknown.
type Error struct {
	Line int
	Msg  string
	// Limit is set when a cap of Limits was exceeded (the document may be
	// well-formed, but we do not read it).
	Limit bool
	// Stricter is set for the refusals encoding/xml did not make (see the
	// package comment); the differential fuzz test uses it.
	Stricter bool
	Err      error
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

// ErrLimit is wrapped by every Error for an exceeded limit.
var ErrLimit = errors.New("limit exceeded")
