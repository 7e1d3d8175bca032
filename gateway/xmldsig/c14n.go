package xmldsig

import (
	"bufio"
	"io"
	"sort"
	"strings"

	"github.com/beevik/etree"
)

// writeDocumentC14N streams the inclusive Canonical XML 1.0 form (without
// comments) of the whole document minus the excluded element — the node-set
// of Reference URI="" after the enveloped-signature transform — into w.
// goxmldsig's canonicalizers return one []byte and copy the tree; for a
// 10 MiB message that is two more copies, so the digest streams instead.
// TestC14NMatchesGoxmldsig and FuzzC14N hold this to goxmldsig's output.
func writeDocumentC14N(w io.Writer, doc *etree.Document, exclude *etree.Element) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := &c14n{w: bw, exclude: exclude}
	seenRoot := false
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue // the XML declaration is not a node
			}
			if seenRoot {
				bw.WriteByte('\n')
			}
			c.procInst(t)
			if !seenRoot {
				bw.WriteByte('\n')
			}
		case *etree.Element:
			seenRoot = true
			c.element(t, nil)
		}
	}
	return bw.Flush()
}

type c14n struct {
	w       *bufio.Writer
	exclude *etree.Element
}

// element writes e. rendered holds the namespace bindings the nearest
// output ancestor put in scope (nil at the root).
func (c *c14n) element(e *etree.Element, rendered map[string]string) {
	if e == c.exclude {
		return
	}
	type nsDecl struct{ prefix, uri string }
	var decls []nsDecl
	var attrs []etree.Attr
	out := rendered
	own := false
	for _, a := range e.Attr {
		var prefix string
		switch {
		case a.Space == "xmlns":
			prefix = a.Key
		case a.Space == "" && a.Key == "xmlns":
			prefix = ""
		default:
			attrs = append(attrs, a)
			continue
		}
		if prefix == "xml" {
			continue
		}
		prev, had := rendered[prefix]
		if prefix == "" && a.Value == "" && (!had || prev == "") {
			continue // xmlns="" only undoes a rendered default
		}
		if had && prev == a.Value {
			continue // superfluous: the output parent has it already
		}
		decls = append(decls, nsDecl{prefix, a.Value})
		if !own {
			out, own = make(map[string]string, len(rendered)+1), true
			for k, v := range rendered {
				out[k] = v
			}
		}
		out[prefix] = a.Value
	}
	sort.Slice(decls, func(i, j int) bool { return decls[i].prefix < decls[j].prefix })
	if len(attrs) > 1 {
		sort.Slice(attrs, func(i, j int) bool {
			ni, nj := attrNS(e, attrs[i]), attrNS(e, attrs[j])
			if ni != nj {
				return ni < nj
			}
			return attrs[i].Key < attrs[j].Key
		})
	}
	w := c.w
	w.WriteByte('<')
	writeQName(w, e.Space, e.Tag)
	for _, d := range decls {
		if d.prefix == "" {
			w.WriteString(` xmlns="`)
		} else {
			w.WriteString(" xmlns:")
			w.WriteString(d.prefix)
			w.WriteString(`="`)
		}
		escapeAttr(w, d.uri)
		w.WriteByte('"')
	}
	for _, a := range attrs {
		w.WriteByte(' ')
		writeQName(w, a.Space, a.Key)
		w.WriteString(`="`)
		escapeAttr(w, a.Value)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	for _, tok := range e.Child {
		switch t := tok.(type) {
		case *etree.Element:
			c.element(t, out)
		case *etree.CharData:
			escapeText(w, t.Data)
		case *etree.ProcInst:
			c.procInst(t)
		}
	}
	w.WriteString("</")
	writeQName(w, e.Space, e.Tag)
	w.WriteByte('>')
}

func attrNS(e *etree.Element, a etree.Attr) string {
	switch a.Space {
	case "":
		return ""
	case "xml": // bound by definition; etree only finds declared prefixes
		return "http://www.w3.org/XML/1998/namespace"
	}
	return a.NamespaceURI()
}

func (c *c14n) procInst(p *etree.ProcInst) {
	c.w.WriteString("<?")
	c.w.WriteString(p.Target)
	if p.Inst != "" {
		c.w.WriteByte(' ')
		c.w.WriteString(p.Inst)
	}
	c.w.WriteString("?>")
}

func writeQName(w *bufio.Writer, space, local string) {
	if space != "" {
		w.WriteString(space)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

func escapeText(w *bufio.Writer, s string) {
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
		w.WriteString(s[last:i])
		w.WriteString(esc)
		last = i + 1
	}
	w.WriteString(s[last:])
}

func escapeAttr(w *bufio.Writer, s string) {
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
