// Package soap is the SOAP 1.1 binding of a SEOS endpoint: the Submit
// request and SubmitResponse envelopes that carry a signed Message as
// escaped text, SOAP faults, and an HTTP client for Submit.
package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/wsdl/endpoint"
)

// Namespaces and action of the binding (PROTOCOL §2).
const (
	EnvelopeNS = "http://schemas.xmlsoap.org/soap/envelope/"
	soap12NS   = "http://www.w3.org/2003/05/soap-envelope"
	ServiceNS  = "http://services.egov.bg/messaging/"
	Action     = "http://services.egov.bg/messaging/IEGovService/Submit"
	// ContentType is what peers send and expect.
	ContentType = "text/xml; charset=utf-8"
)

// Fault is a SOAP 1.1 fault: a request that is not a SOAP Submit at all.
type Fault struct {
	Code   string // Client, Server, VersionMismatch, MustUnderstand
	String string
	// Peer is set when the fault was read from the other side's answer,
	// as opposed to raised by us over a body we could not read.
	Peer bool
}

func (f *Fault) Error() string { return "SOAP fault " + f.Code + ": " + f.String }

func clientFault(format string, args ...any) *Fault {
	return &Fault{Code: "Client", String: fmt.Sprintf(format, args...)}
}

// ParseSubmit returns the Message text carried in Submit/request. A *Fault
// means the body is not a SOAP 1.1 Submit.
func ParseSubmit(body []byte) ([]byte, error) {
	payload, err := parseBody(body, "Submit", "request")
	if err != nil {
		return nil, err
	}
	return payload, nil
}

// ParseSubmitResponse returns SubmitResult's text, or the *Fault the peer sent.
func ParseSubmitResponse(body []byte) ([]byte, error) {
	return parseBody(body, "SubmitResponse", "SubmitResult")
}

func parseBody(body []byte, op, part string) ([]byte, error) {
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

// Submit wraps a signed message in a Submit request envelope.
func Submit(message []byte) ([]byte, error) {
	s := string(message)
	return envelope(endpoint.Submit{Request: &s})
}

// SubmitResponse wraps a reply (possibly empty) in a SubmitResponse envelope.
func SubmitResponse(result []byte) ([]byte, error) {
	s := string(result)
	return envelope(endpoint.SubmitResponse{SubmitResult: &s})
}

// envelope marshals a gowsdl-generated body element into the envelope
// shape peers emit: <s:Envelope xmlns:s=...><s:Body>...</s:Body></s:Envelope>.
func envelope(body any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<s:Envelope xmlns:s="` + EnvelopeNS + `"><s:Body>`)
	if err := xml.NewEncoder(&b).Encode(body); err != nil {
		return nil, fmt.Errorf("soap: encode body: %w", err)
	}
	b.WriteString(`</s:Body></s:Envelope>`)
	return b.Bytes(), nil
}

// FaultEnvelope renders a fault for an HTTP 500 answer.
func FaultEnvelope(f *Fault) []byte {
	var b bytes.Buffer
	b.WriteString(`<s:Envelope xmlns:s="` + EnvelopeNS + `"><s:Body><s:Fault><faultcode>s:`)
	xml.EscapeText(&b, []byte(f.Code))
	b.WriteString(`</faultcode><faultstring xml:lang="en">`)
	xml.EscapeText(&b, []byte(f.String))
	b.WriteString(`</faultstring></s:Fault></s:Body></s:Envelope>`)
	return b.Bytes()
}

// Payload returns the message an envelope carries, whichever side it is
// (a Submit request or a SubmitResponse), for tools reading the log.
func Payload(body []byte) ([]byte, error) {
	if b, err := ParseSubmit(body); err == nil {
		return b, nil
	}
	return ParseSubmitResponse(body)
}
