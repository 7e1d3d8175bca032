package testregister

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

const (
	nsXSD     = "http://www.w3.org/2001/XMLSchema"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsEgovMsg = "uri:egovmsg"
)

// The test register writes only what a strict client of the register WSDL
// accepts: every Service and Contact struct it serves validates, with
// xmllint, against the WSDL's own types (the reference WSDL and the
// project's), xsi:type included. Version is xsd:integer there, so a version
// that is no integer ("1.0") is refused when it is set or imported, and
// never written as <Version xsi:type="xsd:integer">1.0</Version>.
func TestServedStructsValidateAgainstTheWSDL(t *testing.T) {
	ctx := context.Background()
	r := open(t, clock.System, nil)
	a := participant(gA, "111", register.Inactive)
	a.Contact = register.Contact{Phone: "+359 2 000 0000", EmailAddress: "a@example.bg"}
	a.Services = append(a.Services, register.Service{GUID: "{11111111-1111-4111-8111-111111111111}", Name: "Друга услуга",
		URI: "https://111.obmen.local/other?x=1&y=2", Status: register.TemporarilyInactive, Type: "OTHER", Version: "+2"})
	b := participant(gB, "222", register.Inactive)
	b.Services[0].Version = "-0"
	for _, e := range []register.Entity{a, b} {
		if _, err := r.Add(ctx, e, nil); err != nil {
			t.Fatal(err)
		}
	}

	// What the register WSDL does not allow is refused where it comes in.
	for _, v := range []register.Version{"1.0", "", "v1", "1 000", "+-1"} {
		_, err := r.UpdateService(ctx, gA, "", func(s *register.Service) { s.Version = v })
		if err == nil || !strings.Contains(err.Error(), "xsd:integer") {
			t.Errorf("version %q: %v, want a refusal naming xsd:integer", v, err)
		}
		bad := participant(gC, "333", register.Inactive)
		bad.Services[0].Version = v
		dump := Dump{Format: DumpFormat, Entities: []register.Entity{bad}}
		js, err := json.Marshal(dump)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Import(ctx, bytes.NewReader(js), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "xsd:integer") {
			t.Errorf("import of version %q: %v, want a refusal naming xsd:integer", v, err)
		}
	}

	p := newServerPKI(t)
	url := serve(t, r, p, "")
	resp, err := rawClient(p, p.client).Post(url, "text/xml; charset=UTF-8", bytes.NewReader(daeu.EncodeRequest(daeu.GetAllRecords, "")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	instance, n := structsOf(t, body, "Service", "Contact")
	if n["Service"] != 3 || n["Contact"] != 2 {
		t.Fatalf("found %v structs in the answer, want 3 Service and 2 Contact:\n%s", n, body)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "structs.xml")
	if err := os.WriteFile(file, instance, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, wsdl := range map[string]string{
		"reference": extools.Reference(t, "wsdl/EgovRegistry.wsdl"),
		"project":   filepath.Join(extools.RepoRoot(), "wsdl", "EgovRegistry.wsdl"),
	} {
		xsd := filepath.Join(dir, name+".xsd")
		if err := os.WriteFile(xsd, wsdlStructSchema(t, wsdl, "Service", "Contact"), 0o644); err != nil {
			t.Fatal(err)
		}
		if ok, msg := extools.XMLLint(t, xsd, file); !ok {
			t.Errorf("the answer's structs break the %s WSDL's types:\n%s\n%s", name, msg, instance)
		}
	}
}

// wsdlStructSchema is an XSD holding the WSDL's complex types of those
// names, as written there, each with a global element of its name, and a
// root <tns:Structs> of any number of them.
func wsdlStructSchema(t *testing.T, wsdlPath string, types ...string) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(wsdlPath); err != nil {
		t.Fatal(err)
	}
	out := etree.NewDocument()
	s := out.CreateElement("xsd:schema")
	s.CreateAttr("xmlns:xsd", nsXSD)
	s.CreateAttr("xmlns:tns", nsEgovMsg)
	s.CreateAttr("targetNamespace", nsEgovMsg)
	choice := s.CreateElement("xsd:element")
	choice.CreateAttr("name", "Structs")
	choice = choice.CreateElement("xsd:complexType").CreateElement("xsd:choice")
	choice.CreateAttr("minOccurs", "0")
	choice.CreateAttr("maxOccurs", "unbounded")
	for _, name := range types {
		var found *etree.Element
		for _, ct := range doc.FindElements("//complexType[@name='" + name + "']") {
			if ct.NamespaceURI() == nsXSD {
				found = ct
			}
		}
		if found == nil {
			t.Fatalf("%s declares no complex type %s", wsdlPath, name)
		}
		ct := found.Copy()
		renamespace(ct, found)
		s.AddChild(ct)
		el := s.CreateElement("xsd:element")
		el.CreateAttr("name", name)
		el.CreateAttr("type", "tns:"+name)
		ref := choice.CreateElement("xsd:element")
		ref.CreateAttr("ref", "tns:"+name)
	}
	b, err := out.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renamespace writes a copied schema element with the xsd: prefix and its
// type references in xsd:/tns: form, whatever prefixes the WSDL used.
func renamespace(copied, orig *etree.Element) {
	copied.Space = "xsd"
	for i, a := range copied.Attr {
		if a.Key == "type" {
			if pfx, local, ok := strings.Cut(a.Value, ":"); ok {
				switch lookupPrefix(orig, pfx) {
				case nsXSD:
					copied.Attr[i].Value = "xsd:" + local
				case nsEgovMsg:
					copied.Attr[i].Value = "tns:" + local
				}
			}
		}
	}
	kids, origKids := copied.ChildElements(), orig.ChildElements()
	for i := range kids {
		renamespace(kids[i], origKids[i])
	}
}

// lookupPrefix resolves a namespace prefix in scope at e.
func lookupPrefix(e *etree.Element, prefix string) string {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// structsOf gathers from a SOAP answer every element whose xsi:type is one
// of the register's struct types, as <tns:Name> children of <tns:Structs>,
// and counts them by type.
func structsOf(t *testing.T, soapBody []byte, types ...string) ([]byte, map[string]int) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(soapBody); err != nil {
		t.Fatal(err)
	}
	out := etree.NewDocument()
	root := out.CreateElement("tns:Structs")
	root.CreateAttr("xmlns:tns", nsEgovMsg)
	root.CreateAttr("xmlns:xsi", nsXSI)
	root.CreateAttr("xmlns:xsd", nsXSD)
	n := map[string]int{}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if xt := e.SelectAttr("xsi:type"); xt != nil {
			pfx, local, _ := strings.Cut(xt.Value, ":")
			for _, name := range types {
				if local == name && lookupPrefix(e, pfx) == nsEgovMsg {
					n[name]++
					c := root.CreateElement("tns:" + name)
					for _, k := range e.ChildElements() {
						c.AddChild(resolvedCopy(k))
					}
				}
			}
		}
		for _, k := range e.ChildElements() {
			walk(k)
		}
	}
	walk(doc.Root())
	b, err := out.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b, n
}

// resolvedCopy copies a struct member with its xsi:type written with the
// xsd: prefix declared on the new root (the answer may use another).
func resolvedCopy(e *etree.Element) *etree.Element {
	c := e.Copy()
	if xt := c.SelectAttr("xsi:type"); xt != nil {
		if pfx, local, ok := strings.Cut(xt.Value, ":"); ok && lookupPrefix(e, pfx) == nsXSD {
			xt.Value = "xsd:" + local
		}
	}
	return c
}
