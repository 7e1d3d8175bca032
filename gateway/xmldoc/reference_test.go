package xmldoc

// The reader xmldoc had before gateway/xmltok: encoding/xml under etree,
// with attribute normalisation and namespace checks on top. It stays here
// as the oracle of the differential tests: the tokenizer must accept
// nothing it refused, and read what both accept into the same tree.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// referenceParse reads one document the old way.
func referenceParse(b []byte) (*etree.Document, error) {
	b = bytes.TrimPrefix(b, bom)
	if err := checkProlog(b); err != nil {
		return nil, err
	}
	b = refNormalizeAttrWhitespace(b)
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
	return (&checker{bound: map[string][]string{"xml": {XMLNamespace}}}).element(doc.Root())
}

// checker walks the tree once, keeping the namespace bindings in scope as a
// stack per prefix (push on declaration, pop on leaving the element), so
// the walk stays linear however many declarations there are.
type checker struct {
	bound map[string][]string // prefix ("" = default) -> bindings, innermost last
	decls int
}

func (c *checker) lookup(prefix string) (string, bool) {
	b := c.bound[prefix]
	if len(b) == 0 || b[len(b)-1] == "" {
		return "", false
	}
	return b[len(b)-1], true
}

func (c *checker) element(el *etree.Element) error {
	var pushed []string
	defer func() {
		for _, p := range pushed {
			c.bound[p] = c.bound[p][:len(c.bound[p])-1]
		}
	}()
	bind := func(prefix, uri string) error {
		c.decls++
		if len(pushed) >= MaxNamespacesPerElement || c.decls > MaxNamespacesPerDocument {
			return elementError(el, "too many namespace declarations")
		}
		c.bound[prefix] = append(c.bound[prefix], uri) // "" undeclares the default namespace
		pushed = append(pushed, prefix)
		return nil
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		var err error
		switch {
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == XMLNamespace {
				return elementError(el, "the XML namespace may not be the default namespace")
			}
			err = bind("", a.Value)
		case a.Space == "xmlns":
			switch {
			case a.Key == "xmlns":
				return elementError(el, "the xmlns prefix may not be declared")
			case a.Value == "":
				return elementError(el, fmt.Sprintf("prefix %q undeclared with an empty name (not allowed in XML 1.0)", a.Key))
			case (a.Key == "xml") != (a.Value == XMLNamespace):
				return elementError(el, "the xml prefix and the XML namespace belong only to each other")
			}
			err = bind(a.Key, a.Value)
		}
		if err != nil {
			return err
		}
	}
	if el.Space == "xmlns" {
		return elementError(el, "element names may not use the xmlns prefix")
	}
	if el.Space != "" {
		if _, ok := c.lookup(el.Space); !ok {
			return elementError(el, fmt.Sprintf("namespace prefix %q is not declared", el.Space))
		}
	}
	if len(el.Attr) > 1 {
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
				uri, ok := c.lookup(a.Space)
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
	} else if len(el.Attr) == 1 {
		if a := el.Attr[0]; a.Space != "" && a.Space != "xmlns" {
			if _, ok := c.lookup(a.Space); !ok {
				return elementError(el, fmt.Sprintf("attribute prefix %q is not declared", a.Space))
			}
		}
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := c.element(t); err != nil {
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
