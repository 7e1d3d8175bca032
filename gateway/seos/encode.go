package seos

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// WriteSettings make etree write only what canonical XML would escape, and
// explicit end tags, so our bytes stay close to what verifiers canonicalise.
var WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true, CanonicalEndTags: true}

// xmlDecl is the declaration peers put first.
const xmlDecl = `version="1.0" encoding="utf-8"`

// Marshal writes the message compactly (UTF-8, declaration, no whitespace
// between elements) and checks the result against the schema.
func (m *Message) Marshal() ([]byte, error) {
	doc, err := m.Document()
	if err != nil {
		return nil, err
	}
	return WriteCompact(doc)
}

// WriteCompact serialises a document without adding any whitespace.
func WriteCompact(doc *etree.Document) ([]byte, error) {
	doc.WriteSettings = WriteSettings
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("write XML: %w", err)
	}
	return buf.Bytes(), nil
}

// Document builds the unsigned message as a DOM and validates it. An
// attachment kept in a file (Stored.Blob) cannot go into a DOM: write such
// a message as a stream (Tree, and xmldsig's Signer.WriteSigned).
func (m *Message) Document() (*etree.Document, error) {
	doc, _, err := m.tree(false)
	return doc, err
}

// PendingBody is an attachment whose AttBody a streaming writer fills in.
type PendingBody struct {
	El         *etree.Element
	Attachment *Attachment
}

// Tree builds the message as Document does, except that the bodies of
// attachments kept elsewhere (Stored) are left out: their AttBody
// elements stay empty and are listed, in document order, for a streaming
// writer to fill in as it writes.
func (m *Message) Tree() (*etree.Document, []PendingBody, error) {
	return m.tree(true)
}

func (m *Message) tree(stream bool) (*etree.Document, []PendingBody, error) {
	bodyType, err := m.Body.messageType()
	if err != nil {
		return nil, nil, err
	}
	if m.Header.MessageType != "" && m.Header.MessageType != bodyType {
		return nil, nil, &RuleError{Path: "/Message/Header/MessageType", Msg: fmt.Sprintf("%s does not match the body (%s)", m.Header.MessageType, bodyType)}
	}
	w := &writer{stream: stream}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", xmlDecl)
	root := doc.CreateElement("Message")
	root.CreateAttr("xmlns", NS)
	h := root.CreateElement("Header")
	version := m.Header.Version
	if version == "" {
		version = Version
	}
	w.text(h, "Version", version)
	w.text(h, "MessageType", string(bodyType))
	w.text(h, "MessageDate", string(m.Header.MessageDate))
	w.entity(h, "Sender", m.Header.Sender)
	w.entity(h, "Recipient", m.Header.Recipient)
	w.text(h, "MessageGUID", m.Header.MessageGUID)
	body := root.CreateElement("Body")
	switch b := m.Body; {
	case b.RegistrationRequest != nil:
		r := body.CreateElement("DocumentRegistrationRequest")
		w.document(r, &b.RegistrationRequest.Document)
		w.text(r, "Comment", b.RegistrationRequest.Comment)
	case b.StatusRequest != nil:
		w.docID(body.CreateElement("DocumentStatusRequest"), "DocID", b.StatusRequest.DocID)
	case b.StatusResponse != nil:
		s := b.StatusResponse
		r := body.CreateElement("DocumentStatusResponse")
		w.docID(r, "DocID", s.DocID)
		w.text(r, "DocRegStatus", string(s.Status))
		w.opt(r, "RejectionReason", s.RejectionReason)
		w.optDate(r, "DocExpectCloseDate", s.ExpectCloseDate)
		if s.AddData != nil {
			s.AddData.appendTo(r.CreateElement("DocAddData"))
		}
	case b.Error != nil:
		r := body.CreateElement("Error")
		w.opt(r, "MessageGUID", b.Error.MessageGUID)
		w.text(r, "ErrorType", string(b.Error.Type))
		w.text(r, "ErrorDescription", b.Error.Description)
	}
	if w.err != nil {
		return nil, nil, w.err
	}
	var pending map[*etree.Element]*bodyStream
	if len(w.pending) > 0 {
		pending = map[*etree.Element]*bodyStream{}
		for _, p := range w.pending {
			pending[p.El] = &bodyStream{} // base64 we write ourselves
		}
	}
	if _, err := validate(doc, false, pending); err != nil {
		return nil, nil, fmt.Errorf("message would break the schema: %w", err)
	}
	return doc, w.pending, nil
}

func (b Body) messageType() (MessageType, error) {
	var t []MessageType
	if b.RegistrationRequest != nil {
		t = append(t, TypeRegistrationRequest)
	}
	if b.StatusRequest != nil {
		t = append(t, TypeStatusRequest)
	}
	if b.StatusResponse != nil {
		t = append(t, TypeStatusResponse)
	}
	if b.Error != nil {
		t = append(t, TypeError)
	}
	if len(t) != 1 {
		return "", &RuleError{Path: "/Message/Body", Msg: fmt.Sprintf("exactly one body element must be set, found %d", len(t))}
	}
	return t[0], nil
}

// writer builds elements and remembers the first text that XML cannot
// carry; with stream, bodies kept elsewhere are left for the caller.
type writer struct {
	err     error
	stream  bool
	pending []PendingBody
}

func (w *writer) text(parent *etree.Element, name, s string) *etree.Element {
	s = normalizeNewlines(s)
	e := parent.CreateElement(name)
	if s != "" {
		if w.err == nil {
			if i := invalidXMLChar(s); i >= 0 {
				w.err = &RuleError{Path: e.GetPath(), Msg: fmt.Sprintf("character at byte %d cannot appear in XML", i)}
			}
		}
		e.CreateText(s)
	}
	return e
}

func (w *writer) opt(parent *etree.Element, name string, s *string) {
	if s != nil {
		w.text(parent, name, *s)
	}
}

func (w *writer) optDate(parent *etree.Element, name string, d *Date) {
	if d != nil {
		w.text(parent, name, string(*d))
	}
}

func (w *writer) entity(parent *etree.Element, name string, e Entity) {
	x := parent.CreateElement(name)
	w.text(x, "Identifier", e.Identifier)
	w.text(x, "AdministrativeBodyName", e.AdministrativeBodyName)
	w.text(x, "GUID", e.GUID)
}

func (w *writer) docID(parent *etree.Element, name string, id DocumentID) {
	x := parent.CreateElement(name)
	switch {
	case id.Number != nil && id.URI != nil:
		w.fail(x, "a document is identified by a number or a URI, not both")
	case id.Number != nil:
		n := x.CreateElement("DocumentNumber")
		w.text(n, "DocNumber", id.Number.Number)
		w.text(n, "DocDate", string(id.Number.Date))
	case id.URI != nil:
		u := x.CreateElement("DocumentURI")
		u.CreateAttr("xmlns:u", NSURI)
		if id.URI.RegisterIndex != nil {
			w.text(u, "u:RegisterIndex", string(*id.URI.RegisterIndex))
		}
		if id.URI.SequenceNumber != nil {
			w.text(u, "u:SequenceNumber", string(*id.URI.SequenceNumber))
		}
		w.optDate(u, "u:ReceiptOrSigningDate", id.URI.ReceiptOrSigningDate)
	}
	w.text(x, "DocumentGUID", id.GUID)
}

func (w *writer) fail(x *etree.Element, msg string) {
	if w.err == nil {
		w.err = &RuleError{Path: x.GetPath(), Msg: msg}
	}
}

func (w *writer) document(parent *etree.Element, d *Document) {
	x := parent.CreateElement("Document")
	w.docID(x, "DocID", d.ID)
	if d.ParentID != nil {
		w.docID(x, "DocParentID", *d.ParentID)
	}
	w.text(x, "DocKind", d.Kind)
	if len(d.Correspondents) > 0 {
		l := x.CreateElement("DocCorrespondentList")
		for _, c := range d.Correspondents {
			e := l.CreateElement("Corespondent")
			w.text(e, "CorName", c.Name)
			w.text(e, "CorCity", c.City)
			w.opt(e, "CorAddress", c.Address)
			w.opt(e, "CorEGN", c.EGN)
			w.opt(e, "CorIDCard", c.IDCard)
			w.opt(e, "CorBULSTAT", c.BULSTAT)
			w.opt(e, "CorEMail", c.EMail)
			w.opt(e, "CorPhone", c.Phone)
			w.opt(e, "CorMobilePhone", c.MobilePhone)
			w.opt(e, "CorMOL", c.MOL)
			w.opt(e, "CorComment", c.Comment)
			if c.Kind != nil {
				w.text(e, "CorKind", string(*c.Kind))
			}
		}
	}
	if len(d.Attachments) > 0 {
		l := x.CreateElement("DocAttachmentList")
		for i := range d.Attachments {
			a := &d.Attachments[i]
			e := l.CreateElement("Attachment")
			w.text(e, "AttFileName", a.FileName)
			body := e.CreateElement("AttBody")
			switch {
			case a.Stored == nil:
				body.CreateText(string(a.Body)) // the schema check covers base64
			case w.stream:
				w.pending = append(w.pending, PendingBody{El: body, Attachment: a})
			case a.Stored.Blob == "":
				body.CreateText(string(Base64Of(a.Stored.Data)))
			default:
				w.fail(body, "the attachment is in a file: write the message as a stream")
			}
			w.opt(e, "AttComment", a.Comment)
			w.text(e, "AttMIMEType", a.MIMEType)
		}
	}
	w.opt(x, "DocAbout", d.About)
	if d.Service != nil {
		s := x.CreateElement("DocService")
		w.text(s, "ServiceName", d.Service.Name)
		w.text(s, "ServiceType", d.Service.Type)
		w.text(s, "ServiceCode", d.Service.Code)
	}
	w.opt(x, "DocComment", d.Comment)
	if d.AddData != nil {
		d.AddData.appendTo(x.CreateElement("DocAddData"))
	}
	w.optDate(x, "DocReqDateClose", d.ReqDateClose)
	w.opt(x, "DocAttentionTo", d.AttentionTo)
	if d.AuthorSignature != nil {
		d.AuthorSignature.appendTo(x)
	}
}

// invalidXMLChar returns the byte offset of the first character XML 1.0
// cannot carry (or of invalid UTF-8), or -1.
func invalidXMLChar(s string) int {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return i
		}
	}
	return -1
}

// normalizeNewlines turns CR LF and lone CR into LF, as an XML reader does
// with literal line ends. A CR could only reach the wire as &#xD;, and the
// .NET (Mono) SignedXml canonicalises that differently from C14N, so signed
// messages with it fail there; text from an AIS often has Windows line ends.
func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
