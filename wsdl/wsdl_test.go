package wsdl_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/wsdl"
)

func TestEndpointWSDLSetsAddress(t *testing.T) {
	orig, err := wsdl.FS.ReadFile(wsdl.EndpointFile)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url     string
		escaped string // how the value must appear in the bytes
	}{
		{"https://seos.example.bg/seos/endpoint", `location="https://seos.example.bg/seos/endpoint"`},
		{"https://mon.obmen.local:4443/EGovService.svc", `location="https://mon.obmen.local:4443/EGovService.svc"`},
		{"http://[::1]:8443/x", `location="http://[::1]:8443/x"`},
		{`https://a.obmen.local/ep?x=1&y=<2>'"`, `location="https://a.obmen.local/ep?x=1&amp;y=&lt;2&gt;&apos;&quot;"`},
		{"https://а.obmen.local/обмен", `location="https://а.obmen.local/обмен"`},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			got, err := wsdl.EndpointWSDL(c.url)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) {
				t.Errorf("output does not start with the XML declaration: %.60q", got)
			}
			if !bytes.Contains(got, []byte(c.escaped)) {
				t.Errorf("output lacks %s", c.escaped)
			}
			doc := parseXML(t, "EndpointWSDL output", got)
			if loc := addressOf(t, doc); loc != c.url {
				t.Errorf("soap:address location = %q, want %q", loc, c.url)
			}
			// Nothing but the address changed, prose included.
			want := parseXML(t, "committed endpoint WSDL", orig)
			setAddress(t, want, c.url)
			if d := diffLines(canonical(t, want, canonOpts{docs: true, service: true}),
				canonical(t, doc, canonOpts{docs: true, service: true})); d != "" {
				t.Errorf("EndpointWSDL changed more than the address:\n%s", d)
			}
		})
	}
}

func TestEndpointWSDLRejectsBadAddress(t *testing.T) {
	for _, u := range []string{
		"",
		"/seos/endpoint",
		"participant.obmen.local/seos",
		"ftp://participant.obmen.local/seos",
		"https://",
		"https:///seos",
		"https://participant.obmen.local/se os",
		"https://participant.obmen.local/seos\n",
		"https://participant.obmen.local/seos\x00",
		"https://participant.obmen.local/seos#frag",
	} {
		if b, err := wsdl.EndpointWSDL(u); err == nil {
			t.Errorf("EndpointWSDL(%q) = %d bytes, want an error", u, len(b))
		}
	}
}

func TestRegistryWSDLSetsAddress(t *testing.T) {
	const u = "https://127.0.0.1:9443/service/"
	got, err := wsdl.RegistryWSDL(u)
	if err != nil {
		t.Fatal(err)
	}
	if loc := addressOf(t, parseXML(t, "RegistryWSDL output", got)); loc != u {
		t.Errorf("soap:address location = %q, want %q", loc, u)
	}
}

// The committed files keep placeholders, never a real participant's address.
func TestCommittedAddressesArePlaceholders(t *testing.T) {
	for name, want := range map[string]string{
		wsdl.EndpointFile: "https://participant.obmen.local/seos/endpoint",
		wsdl.RegistryFile: "https://register.obmen.local/service/",
	} {
		b, err := wsdl.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := addressOf(t, parseXML(t, name, b)); got != want {
			t.Errorf("%s: soap:address location = %q, want the placeholder %q", name, got, want)
		}
	}
}

func TestFSHoldsBothWSDLs(t *testing.T) {
	entries, err := wsdl.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{wsdl.EndpointFile, wsdl.RegistryFile}; !slices.Equal(names, want) {
		t.Errorf("FS holds %v, want %v", names, want)
	}
}

func soapAddressElems(doc *etree.Document) []*etree.Element {
	var out []*etree.Element
	for _, svc := range doc.Root().ChildElements() {
		if svc.Tag != "service" || svc.NamespaceURI() != nsWSDL {
			continue
		}
		for _, port := range svc.ChildElements() {
			for _, a := range port.ChildElements() {
				if a.Tag == "address" && a.NamespaceURI() == nsWSDLSOAP {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

func addressOf(t *testing.T, doc *etree.Document) string {
	t.Helper()
	as := soapAddressElems(doc)
	if len(as) != 1 {
		t.Fatalf("found %d soap:address elements, want 1", len(as))
	}
	return as[0].SelectAttrValue("location", "")
}

func setAddress(t *testing.T, doc *etree.Document, u string) {
	t.Helper()
	as := soapAddressElems(doc)
	if len(as) != 1 || !strings.HasPrefix(as[0].SelectAttrValue("location", ""), "https://") {
		t.Fatalf("committed WSDL: want one soap:address with an https placeholder")
	}
	as[0].CreateAttr("location", u)
}
