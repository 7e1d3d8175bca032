package soap

import (
	"bytes"
	"strings"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

// The envelope reader soap had before EnvelopeReader: the whole envelope
// into a DOM, then its structure. It stays as the oracle of
// FuzzEnvelopeReader.

func referenceParseBody(body []byte, op, part string) ([]byte, error) {
	doc, err := xmldoc.Parse(body)
	if err != nil {
		return nil, clientFault("the request is not well-formed XML: %v", err)
	}
	env := doc.Root()
	switch ns := env.NamespaceURI(); {
	case env.Tag == "Envelope" && ns == soap12NS:
		return nil, &Fault{Code: "VersionMismatch", String: "SOAP 1.2 is not supported; SEOS endpoints speak SOAP 1.1"}
	case env.Tag != "Envelope" || ns != EnvelopeNS:
		return nil, clientFault("the root element is %s, not a SOAP 1.1 Envelope", env.FullTag())
	}
	var bodyEl *etree.Element
	for i, k := range env.ChildElements() {
		switch {
		case k.NamespaceURI() == EnvelopeNS && k.Tag == "Header" && i == 0 && bodyEl == nil:
			if err := checkHeaders(k); err != nil {
				return nil, err
			}
		case k.NamespaceURI() == EnvelopeNS && k.Tag == "Body" && bodyEl == nil:
			bodyEl = k
		default:
			return nil, clientFault("unexpected element %s in the Envelope", k.FullTag())
		}
	}
	if bodyEl == nil {
		return nil, clientFault("the Envelope has no Body")
	}
	kids := bodyEl.ChildElements()
	if len(kids) != 1 {
		return nil, clientFault("the Body must hold one element, it holds %d", len(kids))
	}
	opEl := kids[0]
	if opEl.NamespaceURI() == EnvelopeNS && opEl.Tag == "Fault" {
		return nil, readFault(opEl)
	}
	if opEl.NamespaceURI() != ServiceNS || opEl.Tag != op {
		return nil, clientFault("unknown operation %s; this endpoint serves {%s}%s", opEl.FullTag(), ServiceNS, op)
	}
	var payload *etree.Element
	for _, k := range opEl.ChildElements() {
		if k.Tag != part || k.NamespaceURI() != ServiceNS || payload != nil {
			return nil, clientFault("unexpected element %s in %s", k.FullTag(), op)
		}
		payload = k
	}
	if payload == nil {
		return nil, nil // an absent or nil part is an empty message
	}
	var b bytes.Buffer
	for _, t := range payload.Child {
		switch c := t.(type) {
		case *etree.CharData:
			b.WriteString(c.Data)
		case *etree.Element:
			return nil, clientFault("%s must carry the message as text, not as element %s", part, c.FullTag())
		}
	}
	return b.Bytes(), nil
}

// checkHeaders refuses header blocks we are told we must understand: we
// understand none.
func checkHeaders(h *etree.Element) error {
	for _, k := range h.ChildElements() {
		for _, a := range k.Attr {
			if a.Key == "mustUnderstand" && a.NamespaceURI() == EnvelopeNS && (a.Value == "1" || a.Value == "true") {
				return &Fault{Code: "MustUnderstand", String: "header " + k.FullTag() + " is not understood"}
			}
		}
	}
	return nil
}

func readFault(f *etree.Element) *Fault {
	out := &Fault{Peer: true}
	for _, k := range f.ChildElements() {
		switch k.Tag {
		case "faultcode":
			out.Code = strings.TrimSpace(k.Text())
			if i := strings.IndexByte(out.Code, ':'); i >= 0 {
				out.Code = out.Code[i+1:]
			}
		case "faultstring":
			out.String = k.Text()
		}
	}
	return out
}
