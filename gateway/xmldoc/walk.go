package xmldoc

import (
	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// Walk feeds a DOM to f as the tokens the tokenizer would have read from its
// serialisation, so that streaming consumers (canonicalisation, digests,
// validation) also take trees that were built rather than read. el is the
// element of a start or end token (nil for others).
func Walk(doc *etree.Document, f func(tok *xmltok.Token, el *etree.Element) error) error {
	w := walker{f: f}
	return w.children(&doc.Element, 0, nil)
}

type walker struct {
	f   func(*xmltok.Token, *etree.Element) error
	tok xmltok.Token
}

// scope maps prefixes to namespaces ("" the default); nil when empty.
type scope map[string]string

func (w *walker) children(e *etree.Element, depth int, sc scope) error {
	for _, c := range e.Child {
		var err error
		switch t := c.(type) {
		case *etree.Element:
			err = w.element(t, depth+1, sc)
		case *etree.CharData:
			w.tok = xmltok.Token{Kind: xmltok.Text, Data: []byte(t.Data), CDATA: t.IsCData(), Depth: depth}
			err = w.f(&w.tok, nil)
		case *etree.Comment:
			w.tok = xmltok.Token{Kind: xmltok.Comment, Data: []byte(t.Data), Depth: depth}
			err = w.f(&w.tok, nil)
		case *etree.ProcInst:
			w.tok = xmltok.Token{Kind: xmltok.ProcInst, Name: xmltok.Name{Local: t.Target}, Data: []byte(t.Inst), Depth: depth}
			err = w.f(&w.tok, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) element(e *etree.Element, depth int, parent scope) error {
	sc, own := parent, false
	attrs := make([]xmltok.Attr, len(e.Attr))
	for i, a := range e.Attr {
		attrs[i] = xmltok.Attr{Prefix: a.Space, Local: a.Key, Value: a.Value}
		if p, ok := declared(&a); ok {
			if !own {
				sc, own = make(scope, len(parent)+1), true
				for k, v := range parent {
					sc[k] = v
				}
			}
			sc[p] = a.Value
		}
	}
	for i := range attrs {
		switch a := &attrs[i]; {
		case a.IsNamespaceDecl() || a.Prefix == "":
		case a.Prefix == "xml":
			a.Space = XMLNamespace
		default:
			a.Space = sc[a.Prefix]
		}
	}
	name := xmltok.Name{Prefix: e.Space, Local: e.Tag, Space: sc[e.Space]}
	if e.Space == "xml" {
		name.Space = XMLNamespace
	}
	w.tok = xmltok.Token{Kind: xmltok.StartElement, Name: name, Attr: attrs, Depth: depth, SelfClosing: len(e.Child) == 0}
	if err := w.f(&w.tok, e); err != nil {
		return err
	}
	if err := w.children(e, depth, sc); err != nil {
		return err
	}
	w.tok = xmltok.Token{Kind: xmltok.EndElement, Name: name, Depth: depth}
	return w.f(&w.tok, e)
}

func declared(a *etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// WalkElement feeds el and what is in it to f, as Walk does for a whole
// document; el's depth and the namespaces in scope follow from its
// ancestors.
func WalkElement(el *etree.Element, f func(tok *xmltok.Token, el *etree.Element) error) error {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	var sc scope
	depth := 0
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Tag == "" && chain[i].Parent() == nil {
			continue // the document itself
		}
		depth++
		for _, a := range chain[i].Attr {
			if p, ok := declared(&a); ok {
				if sc == nil {
					sc = scope{}
				}
				sc[p] = a.Value
			}
		}
	}
	w := walker{f: f}
	return w.element(el, depth+1, sc)
}
