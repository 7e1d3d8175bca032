package wsdl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/wsdl"
)

// TestCompatibleWithReference checks our WSDLs against the reference ones in
// ../shared/reference/wsdl, declaration by declaration: messages and parts,
// port types, bindings (style, use, namespace, encodingStyle, soapAction), WS-A
// actions and every schema declaration with its type, occurrence bounds and
// position. Prose, prefixes and layout may differ, and so may wsdl:service: the
// reference endpoint WSDL has none and the register's address is a placeholder.
func TestCompatibleWithReference(t *testing.T) {
	for _, name := range []string{wsdl.EndpointFile, wsdl.RegistryFile} {
		t.Run(name, func(t *testing.T) {
			refBytes, err := os.ReadFile(extools.Reference(t, filepath.Join("wsdl", name)))
			if err != nil {
				t.Fatal(err)
			}
			ourBytes, err := wsdl.FS.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			ref := parseXML(t, "reference "+name, refBytes)
			ours := parseXML(t, name, ourBytes)

			want := canonical(t, ref, canonOpts{})
			got := canonical(t, ours, canonOpts{})
			mustMention(t, want, "soap:operation", "soapAction=", "soap:body", "use=", "wsdl:part", "xsd:element")
			if d := diffLines(want, got); d != "" {
				t.Errorf("%s differs from the reference:\n%s", name, d)
			}

			refSvc := services(t, ref)
			gotSvc := services(t, ours)
			if len(refSvc) > 0 {
				if d := diffLines(refSvc, gotSvc); d != "" {
					t.Errorf("%s: wsdl:service differs from the reference (address aside):\n%s", name, d)
				}
			}
			// Either way ours has one port, on a binding it declares.
			checkPortBinding(t, name, ours)
		})
	}
}

func checkPortBinding(t *testing.T, name string, doc *etree.Document) {
	t.Helper()
	root := doc.Root()
	tns := root.SelectAttrValue("targetNamespace", "")
	bindings := map[string]bool{}
	for _, b := range root.ChildElements() {
		if b.Tag == "binding" && b.NamespaceURI() == nsWSDL {
			bindings["{"+tns+"}"+b.SelectAttrValue("name", "")] = true
		}
	}
	ports := 0
	for _, svc := range root.ChildElements() {
		if svc.Tag != "service" || svc.NamespaceURI() != nsWSDL {
			continue
		}
		for _, p := range svc.ChildElements() {
			if p.Tag != "port" || p.NamespaceURI() != nsWSDL {
				continue
			}
			ports++
			if b := resolveQName(t, p, p.SelectAttrValue("binding", "")); !bindings[b] {
				t.Errorf("%s: port %q names binding %s, which the WSDL does not declare", name, p.SelectAttrValue("name", ""), b)
			}
		}
	}
	if ports != 1 {
		t.Errorf("%s has %d service ports, want 1", name, ports)
	}
}

// services returns the canonical lines of the wsdl:service elements, with the
// address location blanked.
func services(t *testing.T, doc *etree.Document) []string {
	t.Helper()
	var out []string
	for _, l := range canonical(t, doc, canonOpts{service: true}) {
		if !strings.HasPrefix(l, "wsdl:definitions/wsdl:service") {
			continue
		}
		if i := strings.Index(l, " location="); i >= 0 && strings.HasSuffix(l[:strings.IndexByte(l, ' ')], "soap:address") {
			l = l[:i] + " location=*"
		}
		out = append(out, l)
	}
	return out
}

// mustMention guards against a canonical form that lost what it should compare.
func mustMention(t *testing.T, lines []string, words ...string) {
	t.Helper()
	all := strings.Join(lines, "\n")
	for _, w := range words {
		if !strings.Contains(all, w) {
			t.Fatalf("canonical form mentions no %q; the comparison would prove nothing", w)
		}
	}
}
