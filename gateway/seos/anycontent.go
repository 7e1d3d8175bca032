package seos

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

// AnyContent is content the schema leaves open (DocAddData, an author's
// signature): attributes and child nodes. Each child element carries the
// namespace declarations in scope where it was read, so the content means
// the same when written into another document.
type AnyContent struct {
	Attrs []etree.Attr
	Nodes []etree.Token // *etree.Element or *etree.CharData
}

// captureContent copies x's attributes and children, self-contained.
func captureContent(x *etree.Element) *AnyContent {
	sc := inScope(x)
	c := &AnyContent{}
	declared := map[string]bool{}
	for _, a := range x.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		if a.Space != "" && a.Space != "xml" && !declared[a.Space] {
			c.Attrs = append(c.Attrs, etree.Attr{Space: "xmlns", Key: a.Space, Value: sc[a.Space]})
			declared[a.Space] = true
		}
		c.Attrs = append(c.Attrs, etree.Attr{Space: a.Space, Key: a.Key, Value: a.Value})
	}
	for _, tok := range x.Child {
		switch t := tok.(type) {
		case *etree.Element:
			c.Nodes = append(c.Nodes, detach(t, sc))
		case *etree.CharData:
			c.Nodes = append(c.Nodes, etree.NewText(t.Data))
		}
	}
	return c
}

// detach copies k with the bindings of the parent scope that its subtree
// uses and does not declare itself (the default namespace always, possibly
// empty), so it means the same anywhere. Only used prefixes: copying every
// binding to every child would make the cost grow with both counts.
func detach(k *etree.Element, parentScope map[string]string) *etree.Element {
	cp := k.Copy()
	own := map[string]bool{}
	for _, a := range k.Attr {
		if a.Space == "xmlns" {
			own[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			own[""] = true
		}
	}
	used := map[string]bool{}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		used[e.Space] = true
		for _, a := range e.Attr {
			if a.Space != "" && a.Space != "xmlns" {
				used[a.Space] = true
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(k)
	prefixes := make([]string, 0, len(used))
	for p := range used {
		if p != "" && p != "xml" && !own[p] {
			if _, bound := parentScope[p]; bound {
				prefixes = append(prefixes, p)
			}
		}
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		cp.CreateAttr("xmlns:"+p, parentScope[p])
	}
	if !own[""] {
		cp.CreateAttr("xmlns", parentScope[""]) // "" when no default is in scope
	}
	return cp
}

// inScope returns the namespace bindings in scope on x (prefix "" = default).
func inScope(x *etree.Element) map[string]string {
	var chain []*etree.Element
	for e := x; e != nil; e = e.Parent() {
		chain = append(chain, e)
	}
	sc := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attr {
			switch {
			case a.Space == "xmlns":
				sc[a.Key] = a.Value
			case a.Space == "" && a.Key == "xmlns":
				if a.Value == "" {
					delete(sc, "")
				} else {
					sc[""] = a.Value
				}
			}
		}
	}
	return sc
}

// appendTo writes the content into el.
func (c *AnyContent) appendTo(el *etree.Element) {
	for _, a := range c.Attrs {
		el.CreateAttr(a.FullKey(), a.Value) // CreateAttr ties the attribute to el
	}
	for _, n := range c.Nodes {
		switch t := n.(type) {
		case *etree.Element:
			el.AddChild(t.Copy())
		case *etree.CharData:
			el.AddChild(etree.NewText(normalizeNewlines(t.Data)))
		}
	}
}

// String renders the child nodes as XML text (attributes are not shown).
func (c *AnyContent) String() string {
	if c == nil {
		return ""
	}
	doc := etree.NewDocument()
	wrap := doc.CreateElement("x")
	c.appendTo(wrap)
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true, CanonicalEndTags: true}
	var b strings.Builder
	for _, n := range wrap.Child {
		n.WriteTo(&b, &doc.WriteSettings)
	}
	return b.String()
}

// ParseAnyContent reads an XML fragment (elements and text), e.g. DocAddData
// content supplied by an AIS. Unprefixed elements are in no namespace.
func ParseAnyContent(fragment string) (*AnyContent, error) {
	doc, err := xmldoc.Parse([]byte("<x>" + fragment + "</x>"))
	if err != nil {
		return nil, fmt.Errorf("XML fragment: %w", err)
	}
	return captureContent(doc.Root()), nil
}

// NewGUID returns a random (version 4) GUID in the SEOS braced form.
func NewGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%x-%x-%x-%x-%x}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// MarshalJSON renders the child nodes as an XML fragment string, which is
// how the AIS sees open content. Attributes on the holder element (rare) are
// not carried; the message log keeps the exact wire bytes.
func (c *AnyContent) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.String())
}

// UnmarshalJSON reads an XML fragment string.
func (c *AnyContent) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := ParseAnyContent(s)
	if err != nil {
		return err
	}
	*c = *parsed
	return nil
}
