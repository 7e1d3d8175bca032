package ais

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/seos"
)

// The seos model has no JSON names of its own (it is the XML schema's),
// so what the AIS reads is spelled here, in the API's camelCase; the
// OpenAPI test holds these types and openapi.yaml together.

// Party is a participant as a document names it. Name is the register's
// when the register lists the participant: a header's name is the
// sender's own claim. NameAsSent is the header's when it differs. A sender
// by e-mail has a name only (its address is ReceivedDocument.SenderEmail).
type Party struct {
	EIK        string `json:"eik,omitempty"`
	Name       string `json:"name"`
	GUID       string `json:"guid,omitempty"`
	NameAsSent string `json:"nameAsSent,omitempty"`
}

// Correspondent is a person or body a document concerns.
type Correspondent struct {
	Name        string `json:"name"`
	City        string `json:"city"`
	Address     string `json:"address,omitempty"`
	EGN         string `json:"egn,omitempty"`
	IDCard      string `json:"idCard,omitempty"`
	BULSTAT     string `json:"bulstat,omitempty"`
	EMail       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	MobilePhone string `json:"mobilePhone,omitempty"`
	MOL         string `json:"mol,omitempty"`
	Comment     string `json:"comment,omitempty"`
	Kind        string `json:"kind,omitempty"`
}

// ServiceRef is the administrative service a document belongs to.
type ServiceRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Code string `json:"code"`
}

// OurRegistration is how our AIS registered a received document.
type OurRegistration struct {
	Number *Number `json:"number,omitempty"`
	URI    *URI    `json:"uri,omitempty"`
}

// ReceivedAttachment describes one file of a received document.
type ReceivedAttachment struct {
	Index    int    `json:"index"`
	FileName string `json:"fileName"`
	MIMEType string `json:"mimeType"`
	Comment  string `json:"comment,omitempty"`
	Size     int64  `json:"size"`
	Href     string `json:"href,omitempty"` // API download link
	File     string `json:"file,omitempty"` // spool: the file's name in the document's folder
}

// ReceivedDocument is a document another participant sent us.
type ReceivedDocument struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
	// Channel is how it came: seos, or email from SenderEmail (then the
	// subject is About, the body text DocComment, and no MessageGUID).
	Channel         string               `json:"channel"`
	SenderEmail     string               `json:"senderEmail,omitempty"`
	Sender          Party                `json:"sender"`
	DocumentGUID    string               `json:"documentGuid"`
	MessageGUID     string               `json:"messageGuid,omitempty"`
	ReceivedAt      time.Time            `json:"receivedAt"`
	UpdatedAt       time.Time            `json:"updatedAt"`
	Kind            string               `json:"kind"`
	Number          *Number              `json:"number,omitempty"` // the sender's registration
	URI             *URI                 `json:"uri,omitempty"`
	Parent          *Ref                 `json:"parent,omitempty"`
	About           string               `json:"about,omitempty"`
	DocComment      string               `json:"docComment,omitempty"`
	Comment         string               `json:"comment"`
	Correspondents  []Correspondent      `json:"correspondents,omitempty"`
	Service         *ServiceRef          `json:"service,omitempty"`
	ReqDateClose    string               `json:"reqDateClose,omitempty"`
	AttentionTo     string               `json:"attentionTo,omitempty"`
	AddData         string               `json:"addData,omitempty"`
	Registration    *OurRegistration     `json:"registration,omitempty"`
	RejectionReason string               `json:"rejectionReason,omitempty"`
	ExpectCloseDate string               `json:"expectCloseDate,omitempty"`
	Attachments     []ReceivedAttachment `json:"attachments,omitempty"`
	// NeedsReview: the acceptance policy held the document; a clerk
	// registers or rejects it, with Acceptance.Reasons in view.
	NeedsReview bool        `json:"needsReview"`
	Acceptance  *Acceptance `json:"acceptance,omitempty"`
	Receipt     string      `json:"receipt,omitempty"` // the confirmation of receipt sent with DS_REGISTERED
}

// Acceptance is the acceptance policy's verdict on a received document.
// The checks keep the engine's own JSON (acceptance.Check): every check,
// pass, fail, unknown or not-applicable, with its reason in Bulgarian,
// Latin and English.
type Acceptance struct {
	Policy          string             `json:"policy"`
	Outcome         acceptance.Outcome `json:"outcome"`
	EvaluatedAt     time.Time          `json:"evaluatedAt"`
	DeclinedReceipt bool               `json:"declinedReceipt"`
	// Reasons are the enforced checks that made a hold or a reject.
	Reasons []acceptance.Check `json:"reasons"`
	// Checks are all of them (a single document only; lists leave them out).
	Checks []acceptance.Check `json:"checks,omitempty"`
}

func viewAcceptance(v *acceptance.Verdict) *Acceptance {
	if v == nil {
		return nil
	}
	a := &Acceptance{Policy: v.Policy, Outcome: v.Outcome, EvaluatedAt: v.EvaluatedAt, DeclinedReceipt: v.DeclinedReceipt,
		Reasons: v.Problems(), Checks: v.Checks}
	if a.Reasons == nil {
		a.Reasons = []acceptance.Check{}
	}
	return a
}

// View is ViewReceived with the sender's name as the register lists it
// (the EIK was checked against the register on arrival); the name the
// message gave is kept in NameAsSent when it differs.
func (s *Service) View(ctx context.Context, it *inbox.Item, links bool) *ReceivedDocument {
	v := ViewReceived(it, links)
	e, err := s.Dir.ByGUID(ctx, it.Sender.GUID)
	if err != nil || e == nil || strings.TrimSpace(e.AdministrativeBodyName) == "" {
		return v // the name as sent is all there is
	}
	if e.AdministrativeBodyName != v.Sender.Name {
		v.Sender.Name, v.Sender.NameAsSent = e.AdministrativeBodyName, v.Sender.Name
	}
	return v
}

// ViewReceived turns an inbox item into what the AIS reads, the sender as
// the message named it. links adds the API's download links to the
// attachments.
func ViewReceived(it *inbox.Item, links bool) *ReceivedDocument {
	d := &it.Document
	v := &ReceivedDocument{
		ID: it.ID, State: string(it.State), Channel: it.Channel, SenderEmail: it.SenderEmail, DocumentGUID: it.DocumentGUID, MessageGUID: it.MessageGUID,
		Sender:     Party{EIK: it.Sender.Identifier, Name: it.Sender.AdministrativeBodyName, GUID: it.Sender.GUID},
		ReceivedAt: it.ReceivedAt, UpdatedAt: it.UpdatedAt, Kind: d.Kind, Comment: it.Comment,
		About: deref(d.About), DocComment: deref(d.Comment), AttentionTo: deref(d.AttentionTo),
		RejectionReason: it.RejectionReason, ExpectCloseDate: it.ExpectClose,
		NeedsReview: it.NeedsReview, Acceptance: viewAcceptance(it.Verdict),
	}
	if t, ok := it.Receipt(); ok {
		v.Receipt = t.BG + "\n" + t.Latin
	}
	v.Number, v.URI = numberOf(d.ID.Number), uriOf(d.ID.URI)
	if d.ParentID != nil {
		v.Parent = &Ref{GUID: d.ParentID.GUID, Number: numberOf(d.ParentID.Number), URI: uriOf(d.ParentID.URI)}
	}
	for _, c := range d.Correspondents {
		cv := Correspondent{Name: c.Name, City: c.City, Address: deref(c.Address), EGN: deref(c.EGN), IDCard: deref(c.IDCard),
			BULSTAT: deref(c.BULSTAT), EMail: deref(c.EMail), Phone: deref(c.Phone), MobilePhone: deref(c.MobilePhone),
			MOL: deref(c.MOL), Comment: deref(c.Comment)}
		if c.Kind != nil {
			cv.Kind = string(*c.Kind)
		}
		v.Correspondents = append(v.Correspondents, cv)
	}
	if d.Service != nil {
		v.Service = &ServiceRef{Name: d.Service.Name, Type: d.Service.Type, Code: d.Service.Code}
	}
	if d.ReqDateClose != nil {
		v.ReqDateClose = string(*d.ReqDateClose)
	}
	if d.AddData != nil {
		v.AddData = d.AddData.String()
	}
	if it.RegNumber != "" || it.RegURI != nil {
		v.Registration = &OurRegistration{URI: uriOf(it.RegURI)}
		if it.RegNumber != "" {
			v.Registration.Number = &Number{Number: it.RegNumber, Date: it.RegDate}
		}
	}
	for _, a := range it.Attachments {
		av := ReceivedAttachment{Index: a.Index, FileName: a.FileName, MIMEType: a.MIMEType, Comment: a.Comment, Size: a.Size}
		if links {
			av.Href = fmt.Sprintf("%s/inbox/%d/attachments/%d", Prefix, it.ID, a.Index)
		}
		v.Attachments = append(v.Attachments, av)
	}
	return v
}

func numberOf(n *seos.DocumentNumber) *Number {
	if n == nil {
		return nil
	}
	return &Number{Number: n.Number, Date: string(n.Date)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
