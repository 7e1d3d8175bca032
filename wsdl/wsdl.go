// Package wsdl holds the project's WSDLs, the participant endpoint's and the
// DAEU register's, and serves them with the real address filled in. The Go code
// gowsdl makes from them is in the endpoint and registry subpackages.
package wsdl

import (
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/beevik/etree"
)

// File names in FS.
const (
	EndpointFile = "EgovEndpoint.wsdl"
	RegistryFile = "EgovRegistry.wsdl"
)

// FS holds the WSDL files as committed.
//
//go:embed *.wsdl
var FS embed.FS

const (
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsWSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
)

// EndpointWSDL returns the endpoint WSDL with its soap:address set to publicURL,
// the URL peers use to reach this participant's Submit endpoint. It is what the
// server answers to "?wsdl".
func EndpointWSDL(publicURL string) ([]byte, error) {
	return withAddress(EndpointFile, publicURL)
}

// RegistryWSDL returns the register WSDL with its soap:address set to publicURL
// (for a test register that publishes its own WSDL).
func RegistryWSDL(publicURL string) ([]byte, error) {
	return withAddress(RegistryFile, publicURL)
}

func withAddress(name, publicURL string) ([]byte, error) {
	if err := checkURL(publicURL); err != nil {
		return nil, fmt.Errorf("wsdl: address for %s: %w", name, err)
	}
	raw, err := FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("wsdl: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, fmt.Errorf("wsdl: parse %s: %w", name, err)
	}
	addrs := soapAddresses(doc)
	if len(addrs) != 1 {
		return nil, fmt.Errorf("wsdl: %s has %d soap:address elements, want 1", name, len(addrs))
	}
	// etree escapes the value (&, <, >, ', ") when it writes the attribute.
	addrs[0].CreateAttr("location", publicURL)
	return doc.WriteToBytes()
}

// checkURL accepts absolute http and https URLs without white space or fragment.
// url.Parse also rejects control characters, which no XML escaping could carry.
func checkURL(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q contains white space", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if strings.Contains(s, "#") {
		return errors.New("an endpoint address cannot have a #fragment")
	}
	return nil
}

// soapAddresses finds definitions/service/port/soap:address by namespace, not prefix.
func soapAddresses(doc *etree.Document) []*etree.Element {
	var out []*etree.Element
	root := doc.Root()
	if root == nil || root.Tag != "definitions" || root.NamespaceURI() != nsWSDL {
		return nil
	}
	for _, svc := range children(root, nsWSDL, "service") {
		for _, port := range children(svc, nsWSDL, "port") {
			out = append(out, children(port, nsWSDLSOAP, "address")...)
		}
	}
	return out
}

func children(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}
