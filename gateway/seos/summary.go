package seos

import (
	"fmt"
	"io"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// WriteSummary prints a readable account of the message for operators.
func (m *Message) WriteSummary(w io.Writer) error {
	p := &printer{w: w}
	h := m.Header
	p.line("type", string(h.MessageType))
	p.line("message", h.MessageGUID)
	p.line("date", string(h.MessageDate))
	p.line("from", entityLine(h.Sender))
	p.line("to", entityLine(h.Recipient))
	if h.Version != Version {
		p.line("version", h.Version)
	}
	switch b := m.Body; {
	case b.RegistrationRequest != nil:
		d := b.RegistrationRequest.Document
		p.line("document", docIDLine(d.ID))
		if d.ParentID != nil {
			p.line("parent", docIDLine(*d.ParentID))
		}
		p.line("kind", d.Kind)
		p.opt("about", d.About)
		p.opt("doc comment", d.Comment)
		p.line("comment", b.RegistrationRequest.Comment)
		if d.Service != nil {
			p.line("service", fmt.Sprintf("%s (%s, code %s)", d.Service.Name, d.Service.Type, d.Service.Code))
		}
		if d.ReqDateClose != nil {
			p.line("close by", string(*d.ReqDateClose))
		}
		p.opt("attention", d.AttentionTo)
		for i, c := range d.Correspondents {
			s := c.Name + ", " + c.City
			if c.Kind != nil {
				s += " [" + string(*c.Kind) + "]"
			}
			p.line(fmt.Sprintf("correspondent %d", i+1), s)
		}
		for i, a := range d.Attachments {
			p.line(fmt.Sprintf("attachment %d", i+1), fmt.Sprintf("%s (%s, %d bytes)", a.FileName, a.MIMEType, a.Body.DecodedLen()))
		}
		if d.AddData != nil {
			p.line("additional data", shorten(d.AddData.String()))
		}
		if d.AuthorSignature != nil {
			p.line("author signature", "present (not checked here)")
		}
	case b.StatusRequest != nil:
		p.line("document", docIDLine(b.StatusRequest.DocID))
	case b.StatusResponse != nil:
		r := b.StatusResponse
		p.line("document", docIDLine(r.DocID))
		p.line("status", string(r.Status))
		p.opt("rejection", r.RejectionReason)
		if r.ExpectCloseDate != nil {
			p.line("expected close", string(*r.ExpectCloseDate))
		}
		if rc := r.AddData.Receipt(); rc != "" {
			p.line("receipt", rc)
		} else if r.AddData != nil {
			p.line("additional data", shorten(r.AddData.String()))
		}
	case b.Error != nil:
		e := b.Error
		p.line("error type", string(e.Type))
		p.opt("failed message", e.MessageGUID)
		p.line("description", e.Description)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(label, value string) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, "%-16s %s\n", label+":", textsafe.Field(value))
	}
}

func (p *printer) opt(label string, v *string) {
	if v != nil {
		p.line(label, *v)
	}
}

func entityLine(e Entity) string {
	return fmt.Sprintf("%s (EIK %s) %s", e.AdministrativeBodyName, e.Identifier, e.GUID)
}

func docIDLine(id DocumentID) string {
	s := id.GUID
	switch {
	case id.Number != nil:
		s += fmt.Sprintf(", No %s of %s", id.Number.Number, id.Number.Date)
	case id.URI != nil:
		s += ", URI " + id.URI.String()
	}
	return s
}

// String renders the URI as RegisterIndex-SequenceNumber/Date, with '?' for
// a missing part.
func (u *DocumentURI) String() string {
	part := func(v *Integer) string {
		if v == nil {
			return "?"
		}
		return string(*v)
	}
	s := part(u.RegisterIndex) + "-" + part(u.SequenceNumber)
	if u.ReceiptOrSigningDate != nil {
		s += "/" + string(*u.ReceiptOrSigningDate)
	}
	return s
}
