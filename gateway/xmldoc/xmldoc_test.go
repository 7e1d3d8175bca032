package xmldoc

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func TestParseAccepts(t *testing.T) {
	cases := []struct{ name, in, attr string }{
		{"plain", `<a x="1"/>`, "1"},
		{"declaration", `<?xml version="1.0" encoding="utf-8"?><a x="1"/>`, "1"},
		{"upper-case encoding", `<?xml version="1.0" encoding="UTF-8"?><a x="1"/>`, "1"},
		{"BOM", "\ufeff<?xml version=\"1.0\"?><a x=\"1\"/>", "1"},
		{"comments and PI around root", `<!-- c --><?pi x?><a x="1"/><!-- after -->`, "1"},
		{"attribute newline normalised", "<a x=\"1\n2\"/>", "1 2"},
		{"attribute CRLF is one space", "<a x=\"1\r\n2\"/>", "1 2"},
		{"attribute tab normalised", "<a x=\"1\t2\"/>", "1 2"},
		{"attribute char reference kept", `<a x="1&#10;2"/>`, "1\n2"},
		{"newline in single quotes", "<a x='1\n2'/>", "1 2"},
		{"newline in text untouched", "<a x=\"1\">\n<b/></a>", "1"},
		{"gt inside attribute", `<a x="a>b"/>`, "a>b"},
		{"prefixes", `<p:a xmlns:p="urn:x" p:x="1"><p:b/></p:a>`, "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			got := doc.Root().Attr
			var v string
			for _, a := range got {
				if a.Key == "x" {
					v = a.Value
				}
			}
			if v != c.attr {
				t.Errorf("attribute x = %q, want %q", v, c.attr)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"doctype", `<!DOCTYPE a><a/>`, "DOCTYPE"},
		{"doctype after comment", `<!-- x --><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, "DOCTYPE"},
		{"external entity", `<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://127.0.0.1/x.dtd"><a/>`, "DOCTYPE"},
		{"billion laughs", `<!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><l>&b;</l>`, "DOCTYPE"},
		{"undefined entity", `<a>&nbsp;</a>`, "entity"},
		{"directive inside", `<a><!DOCTYPE b></a>`, "declaration"},
		{"two roots", `<a/><b/>`, "more than one root"},
		{"no root", `<!-- only -->`, "no root"},
		{"text outside", `<a/>text`, "outside"},
		{"unbound element prefix", `<p:a/>`, `prefix "p"`},
		{"unbound attribute prefix", `<a p:x="1"/>`, `prefix "p"`},
		{"duplicate attribute", `<a x="1" x="2"/>`, "twice"},
		{"duplicate expanded attribute", `<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>`, "twice"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, "UTF-8"},
		{"invalid utf8", "<a>\xff</a>", "UTF-8"},
		{"unclosed", `<a><b></a>`, ""},
		{"truncated", `<a><b>`, ""},
		{"empty prefix binding", `<a xmlns:p=""/>`, "empty"},
		{"xml prefix rebound", `<a xmlns:xml="urn:x"/>`, "xml prefix"},
		{"too deep", strings.Repeat("<a>", MaxDepth+2) + strings.Repeat("</a>", MaxDepth+2), "deeper"},
		{"namespace flood on one element", "<a" + nsDecls(0, MaxNamespacesPerElement+1) + "/>", "too many namespace"},
		{"namespace flood over a document", "<r>" + strings.Repeat("<a"+nsDecls(0, 60)+"/>", MaxNamespacesPerDocument/60+1) + "</r>", "too many namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("error %T is not *xmldoc.Error: %v", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// Attribute normalisation (XML 1.0 §3.3.3) touches attribute values only:
// comments, PIs, CDATA and text keep their line ends.
func TestAttributeNormalisationLeavesOtherMarkup(t *testing.T) {
	doc, err := Parse([]byte("<!--\n--><?pi x\n?><a x=\"\n\"><![CDATA[\n\"\n]]>\"\n</a>"))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := doc.Child[0].(*etree.Comment); !ok || c.Data != "\n" {
		t.Errorf("comment: %#v", doc.Child[0])
	}
	if p, ok := doc.Child[1].(*etree.ProcInst); !ok || p.Inst != "x\n" {
		t.Errorf("PI: %#v", doc.Child[1])
	}
	a := doc.Root()
	if v := a.SelectAttrValue("x", ""); v != " " {
		t.Errorf("attribute %q, want one space", v)
	}
	if len(a.Child) != 2 || a.Child[0].(*etree.CharData).Data != "\n\"\n" || a.Child[1].(*etree.CharData).Data != "\"\n" {
		t.Errorf("text: %#v", a.Child)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`<a x="1"/>`, `<!DOCTYPE a><a/>`, "<p:a xmlns:p='u'>\n<b c='\t'/></p:a>", "\ufeff<a/>", `<a><![CDATA[x]]></a>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Parse(b)
		if err != nil {
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if doc.Root() == nil {
			t.Fatal("accepted a document without a root")
		}
	})
}

func nsDecls(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:p%d"`, i, i)
	}
	return b.String()
}

// BenchmarkWide parses documents with many siblings that each declare a
// namespace; ns/op for n and 2n show the walk is linear (it was quadratic).
func BenchmarkWide(b *testing.B) {
	for _, n := range []int{1000, 2000, 4000} {
		var sb strings.Builder
		sb.WriteString("<r>")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, `<a xmlns:q="urn:q%d"><q:b/></a>`, i%50)
		}
		sb.WriteString("</r>")
		in := []byte(sb.String())
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
