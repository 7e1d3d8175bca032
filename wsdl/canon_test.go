package wsdl_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// A WSDL reduced to what its consumers see: one line per element, in document
// order, naming the element by namespace URI and local name under its ancestors,
// with its attributes sorted and QName values (type, element, message, base...)
// resolved to {namespace}local. Prefixes, namespace declarations, layout and
// comments do not show; neither do attributes left at their XSD default.

const (
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsWSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsXSD      = "http://www.w3.org/2001/XMLSchema"
)

// Short names for the namespaces every WSDL here uses, to keep lines readable.
var nsAlias = map[string]string{
	nsWSDL:     "wsdl",
	nsWSDLSOAP: "soap",
	nsXSD:      "xsd",
}

// Attributes whose value is a QName.
var qnameAttrs = map[string]bool{
	"type": true, "element": true, "message": true, "binding": true,
	"base": true, "ref": true, "itemType": true,
}

// Attribute values that mean the same as leaving the attribute out.
var attrDefaults = map[string]string{
	"minOccurs": "1", "maxOccurs": "1", "nillable": "false", "mixed": "false",
}

type canonOpts struct {
	docs    bool // keep wsdl:documentation and xsd:annotation, with their text
	service bool // keep wsdl:service
}

func canonical(t *testing.T, doc *etree.Document, o canonOpts) []string {
	t.Helper()
	root := doc.Root()
	if root == nil {
		t.Fatal("document has no root element")
	}
	var lines []string
	var walk func(e *etree.Element, path string)
	walk = func(e *etree.Element, path string) {
		ns := e.NamespaceURI()
		if !o.docs && ((ns == nsWSDL && e.Tag == "documentation") || (ns == nsXSD && e.Tag == "annotation")) {
			return
		}
		if !o.service && ns == nsWSDL && e.Tag == "service" {
			return
		}
		label := qualify(ns, e.Tag)
		if n := e.SelectAttrValue("name", ""); n != "" {
			label += "[" + n + "]"
		} else if ns == nsXSD && e.Tag == "schema" {
			label += "[" + e.SelectAttrValue("targetNamespace", "") + "]"
		}
		if path != "" {
			label = path + "/" + label
		}
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") || (a.Space == "" && a.Key == "name") {
				continue
			}
			if a.Space == "" && attrDefaults[a.Key] == a.Value {
				continue
			}
			key := a.Key
			if a.Space != "" {
				key = qualify(a.NamespaceURI(), a.Key)
			}
			val := a.Value
			switch {
			case a.Space == "" && qnameAttrs[a.Key]:
				val = resolveQName(t, e, val)
			case a.Space != "" && a.NamespaceURI() == nsWSDL && a.Key == "arrayType":
				// tns:Service[] : a QName followed by array dimensions.
				i := strings.IndexByte(val, '[')
				if i < 0 {
					i = len(val)
				}
				val = resolveQName(t, e, val[:i]) + val[i:]
			}
			attrs = append(attrs, key+"="+val)
		}
		slices.Sort(attrs)
		line := label
		if len(attrs) > 0 {
			line += " " + strings.Join(attrs, " ")
		}
		if o.docs {
			if txt := strings.Join(strings.Fields(e.Text()), " "); txt != "" {
				line += " text=" + txt
			}
		}
		lines = append(lines, line)
		for _, c := range e.ChildElements() {
			walk(c, label)
		}
	}
	walk(root, "")
	return lines
}

func qualify(ns, local string) string {
	if a, ok := nsAlias[ns]; ok {
		return a + ":" + local
	}
	return "{" + ns + "}" + local
}

// resolveQName turns prefix:local into {namespace}local using the declarations
// in scope at e.
func resolveQName(t *testing.T, e *etree.Element, v string) string {
	t.Helper()
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	for p := e; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return "{" + a.Value + "}" + local
			}
		}
	}
	if prefix != "" {
		t.Errorf("%s: prefix %q of %q is not declared", e.GetPath(), prefix, v)
	}
	return "{}" + local
}

func parseXML(t *testing.T, what string, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("parse %s: %v", what, err)
	}
	return doc
}

// diffLines reports how got differs from want: lines missing, lines extra, or,
// when both hold the same lines, the first place where the order differs.
func diffLines(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	count := func(ls []string) map[string]int {
		m := map[string]int{}
		for _, l := range ls {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range want {
		if g[l] < w[l] {
			fmt.Fprintf(&b, "  missing: %s\n", l)
			g[l]++
		}
	}
	g = count(got)
	for _, l := range got {
		if w[l] < g[l] {
			fmt.Fprintf(&b, "  extra:   %s\n", l)
			w[l]++
		}
	}
	if b.Len() == 0 {
		for i := range want {
			if want[i] != got[i] {
				fmt.Fprintf(&b, "  same declarations, different order; line %d is\n    %s\n  but should be\n    %s\n", i+1, got[i], want[i])
				break
			}
		}
	}
	return b.String()
}
