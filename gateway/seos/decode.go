package seos

import (
	"fmt"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

// Parse reads and validates a SEOS message. Errors are *xmldoc.Error for
// XML that is not acceptable, *SchemaError for schema violations, or a
// *RuleError when the message type and body disagree.
func Parse(b []byte) (*Message, *etree.Document, error) {
	doc, err := xmldoc.Parse(b)
	if err != nil {
		return nil, nil, err
	}
	m, err := FromDocument(doc)
	if err != nil {
		return nil, doc, err
	}
	return m, doc, nil
}

// RuleError is a schema-valid message that breaks a protocol rule the schema
// cannot express (PROTOCOL §3).
type RuleError struct {
	Path string
	Msg  string
}

func (e *RuleError) Error() string { return e.Path + ": " + e.Msg }

// FromDocument validates doc and builds the model. It accepts the known
// quirks of production peers (see Quirk) and lists them in Message.Tolerated.
func FromDocument(doc *etree.Document) (*Message, error) {
	return fromDocument(doc, true, nil)
}

// fromDocument is FromDocument where the text of some AttBody elements was
// checked while it streamed past (bodies) and is not in the tree.
func fromDocument(doc *etree.Document, tolerate bool, bodies map[*etree.Element]*bodyStream) (*Message, error) {
	quirks, err := validate(doc, tolerate, bodies)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	h := kid(root, "Header")
	m := &Message{
		Header: Header{
			Version:     text(kid(h, "Version")),
			MessageType: MessageType(text(kid(h, "MessageType"))),
			MessageDate: DateTime(text(kid(h, "MessageDate"))),
			Sender:      entity(kid(h, "Sender")),
			Recipient:   entity(kid(h, "Recipient")),
			MessageGUID: text(kid(h, "MessageGUID")),
		},
		Signed:    kid(root, "Signature") != nil,
		Tolerated: quirks,
	}
	content := kid(root, "Body").ChildElements()[0]
	var bodyType MessageType
	switch content.Tag {
	case "DocumentRegistrationRequest":
		bodyType = TypeRegistrationRequest
		m.Body.RegistrationRequest = &RegistrationRequest{
			Document: document(kid(content, "Document")),
			Comment:  text(kid(content, "Comment")),
		}
	case "DocumentStatusRequest":
		bodyType = TypeStatusRequest
		m.Body.StatusRequest = &StatusRequest{DocID: docID(kid(content, "DocID"))}
	case "DocumentStatusResponse":
		bodyType = TypeStatusResponse
		r := &StatusResponse{
			DocID:           docID(kid(content, "DocID")),
			Status:          DocStatus(text(kid(content, "DocRegStatus"))),
			RejectionReason: optText(content, "RejectionReason"),
		}
		if d := optText(content, "DocExpectCloseDate"); d != nil {
			r.ExpectCloseDate = ptr(Date(*d))
		}
		if a := kid(content, "DocAddData"); a != nil {
			r.AddData = captureContent(a)
		}
		m.Body.StatusResponse = r
	case "Error":
		bodyType = TypeError
		m.Body.Error = &ErrorBody{
			MessageGUID: optText(content, "MessageGUID"),
			Type:        ErrorKind(text(kid(content, "ErrorType"))),
			Description: text(kid(content, "ErrorDescription")),
		}
	}
	if bodyType != m.Header.MessageType {
		return nil, &RuleError{Path: "/Message/Header/MessageType", Msg: fmt.Sprintf("%s does not match the body, which is %s", m.Header.MessageType, content.Tag)}
	}
	return m, nil
}

func ptr[T any](v T) *T { return &v }

// kid returns x's first child element with the local name (the schema has
// already fixed namespaces and order).
func kid(x *etree.Element, name string) *etree.Element {
	for _, t := range x.Child {
		if e, ok := t.(*etree.Element); ok && e.Tag == name {
			return e
		}
	}
	return nil
}

func kids(x *etree.Element, name string) []*etree.Element {
	var out []*etree.Element
	for _, t := range x.Child {
		if e, ok := t.(*etree.Element); ok && e.Tag == name {
			out = append(out, e)
		}
	}
	return out
}

func text(x *etree.Element) string {
	s, _ := simpleText(x, "")
	return s
}

func optText(x *etree.Element, name string) *string {
	if k := kid(x, name); k != nil {
		return ptr(text(k))
	}
	return nil
}

func entity(x *etree.Element) Entity {
	return Entity{
		Identifier:             text(kid(x, "Identifier")),
		AdministrativeBodyName: text(kid(x, "AdministrativeBodyName")),
		GUID:                   text(kid(x, "GUID")),
	}
}

func docID(x *etree.Element) DocumentID {
	id := DocumentID{GUID: text(kid(x, "DocumentGUID"))}
	if n := kid(x, "DocumentNumber"); n != nil {
		id.Number = &DocumentNumber{Number: text(kid(n, "DocNumber")), Date: Date(text(kid(n, "DocDate")))}
	}
	if u := kid(x, "DocumentURI"); u != nil {
		uri := &DocumentURI{}
		if v := optText(u, "RegisterIndex"); v != nil {
			uri.RegisterIndex = ptr(Integer(collapse(*v)))
		}
		if v := optText(u, "SequenceNumber"); v != nil {
			uri.SequenceNumber = ptr(Integer(collapse(*v)))
		}
		if v := optText(u, "ReceiptOrSigningDate"); v != nil {
			uri.ReceiptOrSigningDate = ptr(Date(*v))
		}
		id.URI = uri
	}
	return id
}

func document(x *etree.Element) Document {
	d := Document{
		ID:          docID(kid(x, "DocID")),
		Kind:        text(kid(x, "DocKind")),
		About:       optText(x, "DocAbout"),
		Comment:     optText(x, "DocComment"),
		AttentionTo: optText(x, "DocAttentionTo"),
	}
	if p := kid(x, "DocParentID"); p != nil {
		d.ParentID = ptr(docID(p))
	}
	if l := kid(x, "DocCorrespondentList"); l != nil {
		for _, c := range kids(l, "Corespondent") {
			corr := Correspondent{
				Name: text(kid(c, "CorName")), City: text(kid(c, "CorCity")),
				Address: optText(c, "CorAddress"), EGN: optText(c, "CorEGN"), IDCard: optText(c, "CorIDCard"),
				BULSTAT: optText(c, "CorBULSTAT"), EMail: optText(c, "CorEMail"), Phone: optText(c, "CorPhone"),
				MobilePhone: optText(c, "CorMobilePhone"), MOL: optText(c, "CorMOL"), Comment: optText(c, "CorComment"),
			}
			if k := optText(c, "CorKind"); k != nil {
				corr.Kind = ptr(CorrespondentKind(*k))
			}
			d.Correspondents = append(d.Correspondents, corr)
		}
	}
	if l := kid(x, "DocAttachmentList"); l != nil {
		for _, a := range kids(l, "Attachment") {
			d.Attachments = append(d.Attachments, Attachment{
				FileName: text(kid(a, "AttFileName")),
				Body:     Base64(text(kid(a, "AttBody"))),
				Comment:  optText(a, "AttComment"),
				MIMEType: text(kid(a, "AttMIMEType")),
			})
		}
	}
	if s := kid(x, "DocService"); s != nil {
		d.Service = &Service{Name: text(kid(s, "ServiceName")), Type: text(kid(s, "ServiceType")), Code: text(kid(s, "ServiceCode"))}
	}
	if a := kid(x, "DocAddData"); a != nil {
		d.AddData = captureContent(a)
	}
	if v := optText(x, "DocReqDateClose"); v != nil {
		d.ReqDateClose = ptr(Date(*v))
	}
	if s := kid(x, "Signature"); s != nil {
		d.AuthorSignature = &AnyContent{Nodes: []etree.Token{detach(s, inScope(x))}}
	}
	return d
}
