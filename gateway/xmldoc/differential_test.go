package xmldoc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/integration/extools"
)

// tricky inputs for the differential: each construct the tokenizer reads
// itself (references, line ends, CDATA, comments, PIs, names, namespaces)
// in the shapes that once differed between readers.
var tricky = []string{
	`<a/>`, `<a></a>`, `<a x="1" y='2'/>`, `<a x="1"y="2"/>`, `<a	x = "1" />`, `<a x="1" / >`,
	`<a>&lt;&gt;&amp;&apos;&quot;</a>`, `<a>&#65;&#x41;&#0065;&#x0000041;</a>`, `<a>&#X41;</a>`, `<a>&#;</a>`, `<a>&#x;</a>`,
	`<a>&#0;</a>`, `<a>&#xD800;</a>`, `<a>&#x110000;</a>`, `<a>&#xFFFE;</a>`, `<a>&#9;&#10;&#13;</a>`, `<a>&lt</a>`, `<a>&unknown;</a>`,
	`<a>&a:b;</a>`, `<a>& </a>`, "<a>x\r\ny\rz\n</a>", "<a x='1\r\n2\r3\t4'/>", `<a x="&#13;&#10;&#9;"/>`,
	`<a>]]></a>`, `<a>]]&gt;</a>`, `<a>]</a>`, `<a>]]</a>`, `<a x="]]>"/>`, `<a><![CDATA[<&]]>]]></a>`, `<a><![CDATA[]]]></a>`,
	`<a><![CDATA[]]></a>`, `<a><![CDATA[x]]]]><![CDATA[>]]></a>`, "<a><![CDATA[\r\n]]></a>", `<![CDATA[ ]]><a/>`, `<a/><![CDATA[ ]]>`,
	`<a/><![CDATA[x]]>`, `<a><!-- c --></a>`, `<a><!----></a>`, `<a><!---></a>`, `<a><!-- a -- b --></a>`, `<a><!-- a ---></a>`,
	"<a><!-- \x01 --></a>", "<a><!-- \xff --></a>", `<a><?pi?></a>`, `<a><?pi x?></a>`, `<a><?pi"x"?></a>`, "<a><?pi \x01?></a>",
	`<a><?xml version="1.0"?></a>`, `<?xml version="1.0"?><a/>`, ` <?xml version="1.0"?><a/>`, `<!-- c --><?xml version="1.0"?><a/>`,
	`<?xml version="1.1"?><a/>`, `<?xml version="1.0" encoding="UTF8"?><a/>`, `<?xml version="1.0" encoding="ascii"?><a/>`,
	`<?xml version="1.0" encoding="latin1"?><a/>`, `<?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>`, `<?XML x?><a/>`,
	`<?xml-stylesheet href="x"?><a/>`, "\ufeff<a/>", "\ufeff\ufeff<a/>", `<a:b xmlns:a="u"/>`, `<:a/>`, `<a:/>`, `<a:b:c/>`,
	`<a :x="1"/>`, `<a x:="1"/>`, `<a xmlns:x="u" x:y="1" x:y="2"/>`, `<a xmlns:x="u" xmlns:z="u" x:y="1" z:y="2"/>`,
	`<a xmlns="u"><b xmlns=""/></a>`, `<a xmlns:p=""/>`, `<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>`,
	`<a xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, `<a xmlns="http://www.w3.org/XML/1998/namespace"/>`,
	`<a xmlns:p="http://www.w3.org/2000/xmlns/"/>`, `<a xmlns:xmlns="u"/>`, `<xmlns:a xmlns:xmlns="u"/>`, `<xml:a/>`,
	`<a xml:lang="bg"/>`, `<p:a xmlns:p="u"></p:a>`, `<p:a xmlns:p="u"></a>`, `<a></b>`, `<a></a >`, `<a></a b>`, `<a>`, `</a>`,
	`<a/><b/>`, `<a/>x`, `x<a/>`, `  <a/>  `, `<a/>&#32;`, `<a/>&amp;`, `<!DOCTYPE a><a/>`, `<a><!DOCTYPE b></a>`, `<a/><!DOCTYPE b>`,
	`<!- x --><a/>`, `<a><![CDATX[x]]></a>`, `<a x=1/>`, `<a x/>`, `<a x="1/>`, `<a x="<"/>`, `<a x='"'/>`, `<a x="'">'</a>`,
	`<a é="1"/>`, `<é/>`, `<a·/>`, `<·a/>`, `<a.b-c_d/>`, `<_a/>`, `<1a/>`, `<a b="&#x80;"/>`, "<a>\x00</a>", "<a>\x7f\u0085</a>",
	"<a>\xc3\x28</a>", "<a>\xed\xa0\x80</a>", "<a>\xef\xbf\xbe</a>", "<a>\U0001F600</a>", `<a>` + strings.Repeat("x", 70000) + `</a>`,
	`<a>` + strings.Repeat("&amp;", 20000) + `</a>`, `<a x="` + strings.Repeat("y", 70000) + `"/>`,
}

// TestAgainstEncodingXML reads tricky inputs, the schema corpus and the
// signature test messages both ways.
func TestAgainstEncodingXML(t *testing.T) {
	inputs := append([]string(nil), tricky...)
	root := extools.RepoRoot()
	for _, glob := range []string{"schemas/testdata/corpus/*/*.xml", "gateway/xmldsig/testdata/*.xml", "integration/e2e/testdata/*.xml"} {
		files, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, string(b))
		}
	}
	for _, in := range inputs {
		compareReaders(t, []byte(in))
	}
}

func FuzzAgainstEncodingXML(f *testing.F) {
	for _, s := range tricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { compareReaders(t, b) })
}

// compareReaders requires Parse to accept nothing encoding/xml refused, to
// refuse what it accepted only for a documented stricter rule or a limit,
// and to read what both accept into the same tree.
func compareReaders(t *testing.T, b []byte) {
	t.Helper()
	ref, refErr := referenceParse(b)
	got, err := Parse(b)
	var xe *Error
	if err != nil && !errors.As(err, &xe) {
		t.Fatalf("%.200q: error of type %T: %v", b, err, err)
	}
	switch {
	case err == nil && refErr != nil:
		t.Fatalf("%.200q: accepted what encoding/xml refused (%v)", b, refErr)
	case err != nil && refErr == nil && !xe.Stricter && !xe.Limit:
		t.Fatalf("%.200q: refused what encoding/xml accepted: %v", b, err)
	case err == nil:
		if d := diffTokens(ref.Child, got.Child, "/"); d != "" {
			t.Fatalf("%.200q: trees differ at %s", b, d)
		}
	}
	// Streamed in pieces of any size, the verdict and the tree stay.
	for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(b)), iotest.HalfReader(bytes.NewReader(b))} {
		streamed, serr := Read(r, Limits)
		if (serr == nil) != (err == nil) {
			t.Fatalf("%.200q: streamed verdict %v, whole %v", b, serr, err)
		}
		if err == nil {
			if d := diffTokens(got.Child, streamed.Child, "/"); d != "" {
				t.Fatalf("%.200q: streamed tree differs at %s", b, d)
			}
		}
	}
}

func diffTokens(want, got []etree.Token, path string) string {
	if len(want) != len(got) {
		return path + ": " + itoa(len(want)) + " children, got " + itoa(len(got))
	}
	for i := range want {
		p := path + "[" + itoa(i) + "]"
		switch w := want[i].(type) {
		case *etree.Element:
			g, ok := got[i].(*etree.Element)
			if !ok || w.Space != g.Space || w.Tag != g.Tag || len(w.Attr) != len(g.Attr) {
				return p + ": element " + w.FullTag()
			}
			for j := range w.Attr {
				if w.Attr[j].Space != g.Attr[j].Space || w.Attr[j].Key != g.Attr[j].Key || w.Attr[j].Value != g.Attr[j].Value {
					return p + ": attribute " + w.Attr[j].FullKey() + "=" + w.Attr[j].Value + " vs " + g.Attr[j].FullKey() + "=" + g.Attr[j].Value
				}
			}
			if d := diffTokens(w.Child, g.Child, p+"/"+w.FullTag()); d != "" {
				return d
			}
		case *etree.CharData:
			g, ok := got[i].(*etree.CharData)
			if !ok || w.Data != g.Data || w.IsWhitespace() != g.IsWhitespace() || w.IsCData() != g.IsCData() {
				return p + ": text"
			}
		case *etree.Comment:
			if g, ok := got[i].(*etree.Comment); !ok || w.Data != g.Data {
				return p + ": comment"
			}
		case *etree.ProcInst:
			if g, ok := got[i].(*etree.ProcInst); !ok || w.Target != g.Target || w.Inst != g.Inst {
				return p + ": processing instruction"
			}
		default:
			return p + ": unexpected token"
		}
	}
	return ""
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
