package xmldsig

import (
	"bufio"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// A canonicalizer writes Canonical XML 1.0 without comments of a whole
// document read as tokens, minus one excluded subtree (the node-set of
// Reference URI="" after the enveloped-signature transform), in one pass:
// nothing is held but the namespaces in scope. It writes several forms at
// once (inclusive, exclusive), so that one read of a message serves
// whichever the signature turns out to name; text, the bulk, is escaped
// once for all. TestC14NMatchesGoxmldsigAndXmllint and FuzzC14N hold the
// output to goxmldsig and libxml2.
type canonicalizer struct {
	outs     []*c14nOut
	scope    []nsScope // in-scope bindings per open element, innermost last
	skip     int       // depth of the excluded element while inside it
	seenRoot bool
	esc      []byte
}

// c14nOut is one canonical form and where it goes.
type c14nOut struct {
	w         *bufio.Writer
	exclusive bool
	prefixes  map[string]bool // exclusive: the InclusiveNamespaces PrefixList
	// rendered is, per open output element, the bindings the nearest
	// output ancestors rendered (exclusive only; inclusive renders what is
	// in scope, so the scope stack serves).
	rendered []nsScope
}

// nsScope maps prefixes to namespaces ("" the default; a "" value: no
// default). Frames share their parent's map until they declare.
type nsScope map[string]string

func newC14NOut(w io.Writer, exclusive bool, prefixList string) *c14nOut {
	o := &c14nOut{w: bufio.NewWriterSize(w, 32<<10), exclusive: exclusive}
	if exclusive && prefixList != "" {
		o.prefixes = map[string]bool{}
		for _, p := range strings.Fields(prefixList) {
			if p == "#default" {
				p = ""
			}
			o.prefixes[p] = true
		}
	}
	return o
}

func newCanonicalizer(outs ...*c14nOut) *canonicalizer {
	return &canonicalizer{outs: outs}
}

// flush writes out what the forms buffered.
func (c *canonicalizer) flush() error {
	for _, o := range c.outs {
		if err := o.w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// token adds a token; exclude (on a start element) leaves the element and
// everything in it out.
// plain is text inside the root that needs no escaping (base64 the
// caller encoded), written as it is.
func (c *canonicalizer) plain(b []byte) {
	if c.skip > 0 {
		return
	}
	for _, o := range c.outs {
		o.w.Write(b)
	}
}

func (c *canonicalizer) token(tok *xmltok.Token, exclude bool) {
	if c.skip > 0 {
		switch tok.Kind {
		case xmltok.StartElement:
			c.skip++
		case xmltok.EndElement:
			c.skip--
		}
		return
	}
	switch tok.Kind {
	case xmltok.StartElement:
		if exclude {
			c.skip = 1
			return
		}
		c.start(tok)
	case xmltok.EndElement:
		c.end(tok)
	case xmltok.Text:
		if tok.Depth == 0 {
			return // outside the root: not part of the node-set's output
		}
		text := tok.Data
		if needsEscape(text) {
			c.esc = appendEscapedText(c.esc[:0], text)
			text = c.esc
		}
		for _, o := range c.outs {
			o.w.Write(text)
		}
	case xmltok.ProcInst:
		if tok.Name.Local == "xml" && tok.Depth == 0 {
			return // the XML declaration is not a node
		}
		for _, o := range c.outs {
			if tok.Depth == 0 && c.seenRoot {
				o.w.WriteByte('\n')
			}
			o.w.WriteString("<?")
			o.w.WriteString(tok.Name.Local)
			if len(tok.Data) > 0 {
				o.w.WriteByte(' ')
				o.w.Write(tok.Data)
			}
			o.w.WriteString("?>")
			if tok.Depth == 0 && !c.seenRoot {
				o.w.WriteByte('\n')
			}
		}
	}
}

type nsBinding struct{ prefix, uri string }

func (c *canonicalizer) start(tok *xmltok.Token) {
	c.seenRoot = true
	var parent nsScope
	if n := len(c.scope); n > 0 {
		parent = c.scope[n-1]
	}
	sc := parent
	var own []nsBinding // declarations on this element, in order
	var attrs []xmltok.Attr
	for i := range tok.Attr {
		a := &tok.Attr[i]
		if !a.IsNamespaceDecl() {
			attrs = append(attrs, *a)
			continue
		}
		p := a.DeclaredPrefix()
		if p == "xml" {
			continue // bound by definition; never rendered
		}
		own = append(own, nsBinding{p, a.Value})
	}
	if len(own) > 0 {
		sc = make(nsScope, len(parent)+len(own))
		for k, v := range parent {
			sc[k] = v
		}
		for _, d := range own {
			sc[d.prefix] = d.uri
		}
	}
	c.scope = append(c.scope, sc)
	if len(attrs) > 1 {
		sort.Slice(attrs, func(i, j int) bool {
			ni, nj := attrSortNS(&attrs[i]), attrSortNS(&attrs[j])
			if ni != nj {
				return ni < nj
			}
			return attrs[i].Local < attrs[j].Local
		})
	}
	for _, o := range c.outs {
		var decls []nsBinding
		if o.exclusive {
			decls = o.exclusiveDecls(tok, sc, own)
		} else {
			decls = inclusiveDecls(parent, own)
		}
		w := o.w
		w.WriteByte('<')
		writeQName(w, tok.Name.Prefix, tok.Name.Local)
		for _, d := range decls {
			if d.prefix == "" {
				w.WriteString(` xmlns="`)
			} else {
				w.WriteString(" xmlns:")
				w.WriteString(d.prefix)
				w.WriteString(`="`)
			}
			writeEscapedAttr(w, d.uri)
			w.WriteByte('"')
		}
		for _, a := range attrs {
			w.WriteByte(' ')
			writeQName(w, a.Prefix, a.Local)
			w.WriteString(`="`)
			writeEscapedAttr(w, a.Value)
			w.WriteByte('"')
		}
		w.WriteByte('>')
	}
}

// inclusiveDecls are the element's declarations that change what its
// parent has in scope (all ancestors are output in a whole-document
// node-set, so what they rendered is what is in scope).
func inclusiveDecls(parent nsScope, own []nsBinding) []nsBinding {
	var out []nsBinding
	for _, d := range own {
		prev, had := parent[d.prefix]
		if d.prefix == "" && d.uri == "" && (!had || prev == "") {
			continue // xmlns="" only undoes a rendered default
		}
		if had && prev == d.uri {
			continue
		}
		out = append(out, d)
	}
	// A prefix declared twice on one element is refused by the reader.
	sort.Slice(out, func(i, j int) bool { return out[i].prefix < out[j].prefix })
	return out
}

// exclusiveDecls renders the namespaces the element visibly uses (its own
// prefix or the default, its attributes' prefixes) and those of the
// PrefixList it declares, where the nearest output ancestors did not
// render the same binding (Exclusive XML Canonicalization §3).
func (o *c14nOut) exclusiveDecls(tok *xmltok.Token, sc nsScope, own []nsBinding) []nsBinding {
	var rendered nsScope
	if n := len(o.rendered); n > 0 {
		rendered = o.rendered[n-1]
	}
	used := []string{tok.Name.Prefix}
	for i := range tok.Attr {
		a := &tok.Attr[i]
		if !a.IsNamespaceDecl() && a.Prefix != "" && a.Prefix != "xml" {
			used = append(used, a.Prefix)
		}
	}
	for _, d := range own {
		if o.prefixes[d.prefix] {
			used = append(used, d.prefix)
		}
	}
	var out []nsBinding
	next, copied := rendered, false
	for _, p := range used {
		if p == "xml" || slices.ContainsFunc(out, func(d nsBinding) bool { return d.prefix == p }) {
			continue
		}
		uri := sc[p]
		prev, had := rendered[p]
		if p == "" && uri == "" && (!had || prev == "") {
			continue
		}
		if had && prev == uri {
			continue
		}
		out = append(out, nsBinding{p, uri})
		if !copied {
			next, copied = make(nsScope, len(rendered)+1), true
			for k, v := range rendered {
				next[k] = v
			}
		}
		next[p] = uri
	}
	o.rendered = append(o.rendered, next)
	sort.Slice(out, func(i, j int) bool { return out[i].prefix < out[j].prefix })
	return out
}

func (c *canonicalizer) end(tok *xmltok.Token) {
	c.scope = c.scope[:len(c.scope)-1]
	for _, o := range c.outs {
		if o.exclusive {
			o.rendered = o.rendered[:len(o.rendered)-1]
		}
		o.w.WriteString("</")
		writeQName(o.w, tok.Name.Prefix, tok.Name.Local)
		o.w.WriteByte('>')
	}
}

// attrSortNS is the namespace an attribute sorts by: C14N orders
// attributes by namespace URI, then local name.
func attrSortNS(a *xmltok.Attr) string {
	switch a.Prefix {
	case "":
		return ""
	case "xml":
		return xmltok.XMLNamespace
	}
	return a.Space
}

func writeQName(w *bufio.Writer, prefix, local string) {
	if prefix != "" {
		w.WriteString(prefix)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

// c14nText marks the bytes canonical text keeps as they are.
var c14nText [256]bool

func init() {
	for c := range c14nText {
		c14nText[c] = c != '&' && c != '<' && c != '>' && c != '\r'
	}
}

func needsEscape(s []byte) bool {
	for _, c := range s {
		if !c14nText[c] {
			return true
		}
	}
	return false
}

func appendEscapedText(out, s []byte) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, esc...)
		last = i + 1
	}
	return append(out, s[last:]...)
}

func writeEscapedAttr(w *bufio.Writer, s string) {
	if !strings.ContainsAny(s, "&<\"\t\n\r") {
		w.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			w.WriteString("&amp;")
		case '<':
			w.WriteString("&lt;")
		case '"':
			w.WriteString("&quot;")
		case '\t':
			w.WriteString("&#x9;")
		case '\n':
			w.WriteString("&#xA;")
		case '\r':
			w.WriteString("&#xD;")
		default:
			w.WriteByte(s[i])
		}
	}
}

// writeDocumentC14N writes the inclusive canonical form of doc minus the
// exclude element (nil: the whole document) to w.
func writeDocumentC14N(w io.Writer, doc *etree.Document, exclude *etree.Element) error {
	return writeC14N(w, doc, exclude, false, "")
}

func writeC14N(w io.Writer, doc *etree.Document, exclude *etree.Element, exclusive bool, prefixList string) error {
	c := newCanonicalizer(newC14NOut(w, exclusive, prefixList))
	err := xmldoc.Walk(doc, func(tok *xmltok.Token, el *etree.Element) error {
		c.token(tok, exclude != nil && el == exclude && tok.Kind == xmltok.StartElement)
		return nil
	})
	if err != nil {
		return err
	}
	return c.flush()
}
