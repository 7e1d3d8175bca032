package xmldoc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmltok"
	"github.com/seosgw/seosgw/integration/extools"
)

// TestWriterWritesAsEtree: a tree walked into the Writer comes out byte
// for byte as etree writes it with canonical escaping.
func TestWriterWritesAsEtree(t *testing.T) {
	inputs := append([]string(nil), tricky...)
	files, _ := filepath.Glob(filepath.Join(extools.RepoRoot(), "schemas", "testdata", "corpus", "*", "*.xml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		inputs = append(inputs, string(b))
	}
	built := etree.NewDocument()
	built.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	r := built.CreateElement("r")
	r.CreateAttr("a", "q\"<>&\t\n\r'")
	r.CreateText("t <>&\r\n\t\"' \x01 \uFFFE я")
	r.CreateElement("empty")
	r.CreateComment("c")
	r.CreateProcInst("p", "")
	checked := 0
	for _, in := range inputs {
		doc, err := Parse([]byte(in))
		if err != nil {
			continue
		}
		compare(t, in, doc)
		checked++
	}
	compare(t, "built", built)
	if checked < 50 {
		t.Fatalf("only %d documents", checked)
	}
}

func compare(t *testing.T, name string, doc *etree.Document) {
	t.Helper()
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true, CanonicalEndTags: true}
	var want bytes.Buffer
	doc.WriteTo(&want)
	var got bytes.Buffer
	w := NewWriter(&got)
	if err := Walk(doc, func(tok *xmltok.Token, _ *etree.Element) error { w.Token(tok); return nil }); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got.String() != want.String() {
		t.Fatalf("%.80q:\ngot  %q\nwant %q", name, got.String(), want.String())
	}
}
