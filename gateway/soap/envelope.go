// Package soap is the SOAP 1.1 binding of a SEOS endpoint: the Submit
// request and SubmitResponse envelopes that carry a signed Message as
// escaped text, SOAP faults, and an HTTP client for Submit.
package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
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
	// Err is the cause of a fault we raise (the XML error), for logs.
	Err error
}

func (f *Fault) Error() string { return "SOAP fault " + f.Code + ": " + f.String }

func (f *Fault) Unwrap() error { return f.Err }

func clientFault(format string, args ...any) *Fault {
	return &Fault{Code: "Client", String: fmt.Sprintf(format, args...)}
}

// ParseSubmit returns the Message text carried in Submit/request. A *Fault
// means the body is not a SOAP 1.1 Submit.
func ParseSubmit(body []byte) ([]byte, error) {
	return readPart(body, "Submit", "request")
}

// ParseSubmitResponse returns SubmitResult's text, or the *Fault the peer sent.
func ParseSubmitResponse(body []byte) ([]byte, error) {
	return readPart(body, "SubmitResponse", "SubmitResult")
}

// Submit wraps a signed message in a Submit request envelope.
func Submit(message []byte) ([]byte, error) {
	return submitParts.wrap(message)
}

// SubmitResponse wraps a reply (possibly empty) in a SubmitResponse envelope.
func SubmitResponse(result []byte) ([]byte, error) {
	return responseParts.wrap(result)
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
