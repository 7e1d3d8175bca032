// Package seos is the SEOS message: the Go model of every element of
// EGovMessaging.xsd, strict parsing that enforces the schema in pure Go, and
// compact serialisation that .NET peers can verify signatures on.
package seos

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// MessageType is Header/MessageType.
type MessageType string

const (
	TypeRegistrationRequest MessageType = "MSG_DocumentRegistrationRequest"
	TypeStatusRequest       MessageType = "MSG_DocumentStatusRequest"
	TypeStatusResponse      MessageType = "MSG_DocumentStatusResponse"
	TypeError               MessageType = "MSG_Error"
)

// DocStatus is DocRegStatus.
type DocStatus string

const (
	StatusWaitRegistration DocStatus = "DS_WAIT_REGISTRATION"
	StatusRegistered       DocStatus = "DS_REGISTERED"
	StatusRejected         DocStatus = "DS_REJECTED"
	StatusStopped          DocStatus = "DS_STOPPED"
	StatusClosed           DocStatus = "DS_CLOSED"
	StatusNotFound         DocStatus = "DS_NOT_FOUND"
	StatusAlreadyReceived  DocStatus = "DS_ALREADY_RECEIVED"
)

// ErrorKind is Error/ErrorType: whose fault a failure is.
type ErrorKind string

const (
	ErrInternal ErrorKind = "ERR_INTERNAL" // the receiver's own fault
	ErrExternal ErrorKind = "ERR_EXTERNAL" // the sender's fault
)

// CorrespondentKind is Corespondent/CorKind.
type CorrespondentKind string

const (
	CorrApplicant CorrespondentKind = "Corr_Applicant"
	CorrOther     CorrespondentKind = "Corr_Other"
)

// Version is what peers put in Header/Version.
const Version = "1.0"

// Message is a SEOS message. Exactly one Body field is set, matching
// Header.MessageType.
type Message struct {
	Header Header
	Body   Body
	// Signed records that the parsed message carried a Message-level
	// ds:Signature; the xmldsig package checks it. Encoding ignores it.
	Signed bool
	// Tolerated lists the schema departures of production peers the
	// parser accepted in this message (empty for a schema-valid one).
	Tolerated []Quirk
}

// NewMessage is a message from one participant to another, dated now,
// under a new MessageGUID (a receiver refuses a MessageGUID it has seen);
// Version and MessageType follow from the body when it is encoded.
func NewMessage(from, to Entity, now time.Time, body Body) *Message {
	return &Message{Header: Header{MessageDate: DateTimeOf(now), Sender: from, Recipient: to, MessageGUID: NewGUID()}, Body: body}
}

// Header is Message/Header.
type Header struct {
	Version     string
	MessageType MessageType
	MessageDate DateTime
	Sender      Entity
	Recipient   Entity
	MessageGUID string
}

// Entity is a participant (EntityNodeType).
type Entity struct {
	Identifier             string // EIK/BULSTAT
	AdministrativeBodyName string
	GUID                   string // the participant's register GUID
}

// Body holds the one content element of a message.
type Body struct {
	RegistrationRequest *RegistrationRequest
	StatusRequest       *StatusRequest
	StatusResponse      *StatusResponse
	Error               *ErrorBody
}

// RegistrationRequest is DocumentRegistrationRequest.
type RegistrationRequest struct {
	Document Document
	Comment  string
}

// StatusRequest is DocumentStatusRequest.
type StatusRequest struct {
	DocID DocumentID
}

// StatusResponse is DocumentStatusResponse.
type StatusResponse struct {
	DocID           DocumentID
	Status          DocStatus
	RejectionReason *string
	ExpectCloseDate *Date
	AddData         *AnyContent
}

// ErrorBody is the Error element.
type ErrorBody struct {
	MessageGUID *string // of the message that failed
	Type        ErrorKind
	Description string
}

// Document is DocumentType. Optional elements are nil when absent; the
// correspondent and attachment lists are absent when empty.
type Document struct {
	ID             DocumentID
	ParentID       *DocumentID
	Kind           string
	Correspondents []Correspondent
	Attachments    []Attachment
	About          *string
	Service        *Service
	Comment        *string
	AddData        *AnyContent
	ReqDateClose   *Date
	AttentionTo    *string
	// AuthorSignature is the author's own ds:Signature on the document,
	// kept verbatim (self-contained); it is not the message signature.
	AuthorSignature *AnyContent
}

// DocumentID is DocumentIdentificationType: an optional registration
// (number or URI) of the side that speaks, and the exchange-wide GUID.
type DocumentID struct {
	Number *DocumentNumber
	URI    *DocumentURI
	GUID   string
}

// DocumentNumber is a registration number with its date.
type DocumentNumber struct {
	Number string
	Date   Date
}

// DocumentURI is the register-index form (segment 0009-000001); the
// integers keep their lexical form.
type DocumentURI struct {
	RegisterIndex        *Integer
	SequenceNumber       *Integer
	ReceiptOrSigningDate *Date
}

// Correspondent is CorrespondentType (the element is spelled Corespondent).
type Correspondent struct {
	Name        string
	City        string
	Address     *string
	EGN         *string
	IDCard      *string
	BULSTAT     *string
	EMail       *string
	Phone       *string
	MobilePhone *string
	MOL         *string
	Comment     *string
	Kind        *CorrespondentKind
}

// Attachment is AttachmentFileType. Body keeps the base64 text as it came,
// so a large attachment is not decoded until someone needs its bytes; or,
// for a message read as a stream or built from stored files, Stored says
// where the decoded bytes are and Body is empty.
type Attachment struct {
	FileName string
	Body     Base64
	Stored   *StoredBody `json:",omitempty"`
	Comment  *string
	MIMEType string
}

// StoredBody is an attachment body kept outside the model: in a file of
// the gateway's file store (Blob, its content address) or, when small, in
// Data.
type StoredBody struct {
	Size int64
	Blob string `json:",omitempty"`
	Data []byte `json:",omitempty"`
}

// Data returns the attachment's bytes when the model holds them (its
// base64 Body, or a small Stored body); one kept in a file it cannot.
func (a *Attachment) Data() ([]byte, error) {
	switch {
	case a.Stored == nil:
		return a.Body.Decode()
	case a.Stored.Blob != "":
		return nil, fmt.Errorf("attachment %s is in file %s of the file store", a.FileName, a.Stored.Blob)
	}
	return a.Stored.Data, nil
}

// Len is the decoded size of the attachment.
func (a *Attachment) Len() int64 {
	if a.Stored != nil {
		return a.Stored.Size
	}
	return int64(a.Body.DecodedLen())
}

// Service is ServiceItemType.
type Service struct {
	Name, Type, Code string
}

// Base64 is xsd:base64Binary text.
type Base64 string

// Base64Of encodes data.
func Base64Of(data []byte) Base64 { return Base64(base64.StdEncoding.EncodeToString(data)) }

// Decode returns the bytes (whitespace inside the text is allowed).
func (b Base64) Decode() ([]byte, error) {
	s := string(b)
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if isXMLSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// DecodedLen is the size of the decoded data, computed without decoding.
func (b Base64) DecodedLen() int {
	n, pad := 0, 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '=':
			pad++
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			n++
		}
	}
	return (n+pad)/4*3 - pad
}

// Integer is the lexical form of an xsd:integer.
type Integer string

// Date is the lexical form of an xsd:date.
type Date string

// DateOf formats a civil date.
func DateOf(t time.Time) Date { return Date(t.Format("2006-01-02")) }

// Time parses the date (midnight, in its zone or else Europe/Sofia).
func (d Date) Time() (time.Time, error) {
	s := string(d)
	if len(s) > 10 {
		return time.Parse("2006-01-02Z07:00", s)
	}
	return time.ParseInLocation("2006-01-02", s, clock.Sofia)
}

// DateTime is the lexical form of an xsd:dateTime.
type DateTime string

// DateTimeOf formats an instant as peers write it: local offset, milliseconds.
func DateTimeOf(t time.Time) DateTime {
	return DateTime(t.Format("2006-01-02T15:04:05.000Z07:00"))
}

// Time parses the value; without a zone it is Bulgarian local time, which
// is what peers without a zone mean.
func (d DateTime) Time() (time.Time, error) {
	s := string(d)
	if strings.HasSuffix(s, "Z") || hasOffset(s) {
		return time.Parse(time.RFC3339Nano, s)
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, clock.Sofia)
}

func hasOffset(s string) bool {
	return len(s) > 6 && (s[len(s)-6] == '+' || s[len(s)-6] == '-') && s[len(s)-3] == ':'
}

// UnknownSender is the Recipient seosgw writes on an Error when nothing
// told it who sent the request (the schema requires one): a TLS client
// certificate that is no participant's, refused before any parsing. The
// sender knows the Error is its own from the connection it came back on.
var UnknownSender = Entity{Identifier: "неизвестен", AdministrativeBodyName: "неизвестен подател", GUID: "{00000000-0000-0000-0000-000000000000}"}

// Str returns a pointer to s, for optional elements.
func Str(s string) *string { return &s }

// EqualGUID compares GUIDs case-insensitively, as the protocol requires.
func EqualGUID(a, b string) bool { return strings.EqualFold(a, b) }

// CanonicalGUID is the form used for storage keys: trimmed, in braces,
// lower case, so every spelling of one GUID finds the same row.
func CanonicalGUID(g string) string {
	g = strings.TrimSpace(g)
	if len(g) == 36 && IsGUID("{"+g+"}") {
		g = "{" + g + "}"
	}
	return strings.ToLower(g)
}
