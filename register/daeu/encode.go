package daeu

import (
	"bytes"
	"fmt"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/register"
)

// encoder writes the register's SOAP in NuSOAP 0.9's form (wsdl/README.md):
// xsi:type on every accessor, SOAP-ENC:Array with <item> members, xsi:nil for
// PHP nulls, and end tags for empty elements.
type encoder struct{ zone *time.Location }

func (e *encoder) dateTime(t time.Time) string { return formatOrEmpty(t, e.zone) }

func (e *encoder) scalar(p *etree.Element, name, xsiType, val string) {
	c := p.CreateElement(name)
	c.CreateAttr("xsi:type", xsiType)
	c.SetText(val)
}

func (e *encoder) nilScalar(p *etree.Element, name, xsiType string) {
	c := p.CreateElement(name)
	c.CreateAttr("xsi:nil", "true")
	c.CreateAttr("xsi:type", xsiType)
}

func (e *encoder) array(p *etree.Element, name, itemType string, n int) *etree.Element {
	c := p.CreateElement(name)
	c.CreateAttr("xsi:type", "SOAP-ENC:Array")
	c.CreateAttr("SOAP-ENC:arrayType", fmt.Sprintf("tns:%s[%d]", itemType, n))
	return c
}

func encodeStruct[T any](e *encoder, p *etree.Element, name, xsiType string, fields []field[T], v *T) {
	c := p.CreateElement(name)
	c.CreateAttr("xsi:type", xsiType)
	for _, f := range fields {
		f.encode(e, c, v)
	}
}

// envelope starts a NuSOAP envelope; withTNS declares tns, as NuSOAP does
// on responses (their xsi:type values use it).
func envelope(withTNS bool) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument() // serialize writes the XML declaration
	env := doc.CreateElement("SOAP-ENV:Envelope")
	env.CreateAttr("SOAP-ENV:encodingStyle", NSEnc)
	env.CreateAttr("xmlns:SOAP-ENV", NSEnv)
	env.CreateAttr("xmlns:xsd", NSXSD)
	env.CreateAttr("xmlns:xsi", NSXSI)
	env.CreateAttr("xmlns:SOAP-ENC", NSEnc)
	if withTNS {
		env.CreateAttr("xmlns:tns", NS)
	}
	return doc, env.CreateElement("SOAP-ENV:Body")
}

// serialize writes the document the way wsdl/README.md's NuSOAP samples
// are written, which etree's settings cannot express: nil elements
// self-closed, empty ones with an end tag, and text escaping &, <, > and "
// but not '.
func serialize(doc *etree.Document) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	writeElement(&b, doc.Root())
	return b.Bytes()
}

func writeElement(b *bytes.Buffer, e *etree.Element) {
	b.WriteString("<" + e.FullTag())
	for _, a := range e.Attr {
		b.WriteString(" " + a.FullKey() + `="`)
		escape(b, a.Value)
		b.WriteByte('"')
	}
	if len(e.Child) == 0 && isNil(e) {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, t := range e.Child {
		switch v := t.(type) {
		case *etree.Element:
			writeElement(b, v)
		case *etree.CharData:
			escape(b, v.Data)
		}
	}
	b.WriteString("</" + e.FullTag() + ">")
}

// escape writes s as XML character data; characters XML 1.0 cannot carry
// (control characters from a database) become U+FFFD rather than making
// the whole answer unreadable.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;") // survives end-of-line normalisation
		case r == '\t' || r == '\n' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF:
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
}

// EncodeRequest writes a call of op with its one parameter (ignored for
// GetAllRecords), as a NuSOAP client sends it.
func EncodeRequest(op Op, param string) []byte {
	doc, body := envelope(false)
	w := body.CreateElement("ns1:" + string(op))
	w.CreateAttr("xmlns:ns1", NS)
	if part := op.Part(); part != "" {
		(&encoder{}).scalar(w, part, op.partType(), param)
	}
	return serialize(doc)
}

// EncodeResponse writes the answer to op as a NuSOAP server does. Times
// without Listing.Cursor are written in zone (nil = Europe/Sofia).
func EncodeResponse(op Op, l *register.Listing, zone *time.Location) []byte {
	doc, body := envelope(true)
	w := body.CreateElement("ns1:" + string(op) + "Response")
	w.CreateAttr("xmlns:ns1", NS)
	encodeStruct(&encoder{zone: zone}, w, "return", "tns:EGovMessageDir", dirFields, l)
	return serialize(doc)
}

// Fault codes a NuSOAP server uses.
const (
	FaultClient = "SOAP-ENV:Client"
	FaultServer = "SOAP-ENV:Server"
)

// EncodeFault writes a SOAP 1.1 fault as NuSOAP does (sent with HTTP 500).
func EncodeFault(code, faultString, detail string) []byte {
	doc, body := envelope(false)
	f := body.CreateElement("SOAP-ENV:Fault")
	e := &encoder{}
	e.scalar(f, "faultcode", "xsd:string", code)
	e.scalar(f, "faultactor", "xsd:string", "")
	e.scalar(f, "faultstring", "xsd:string", faultString)
	e.scalar(f, "detail", "xsd:string", detail)
	return serialize(doc)
}
