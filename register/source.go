package register

import (
	"context"
	"errors"
	"time"
)

// Listing is one answer of the register: the entities it returned and the
// time of the register's latest change.
type Listing struct {
	Entities   []Entity
	LastChange time.Time
	// Cursor is LastChange exactly as the register wrote it. GetNewRecords
	// gets it back verbatim, because that is a format the register can read.
	// It is "" when the register gave no LastChange (nil, absent, or .NET's
	// unset 0001-01-01T00:00:00): the sync then keeps the cursor it has.
	Cursor string
	// AnsweredCursor is when the register answered, by its own clock (its
	// HTTP Date less the call's duration), as an xsd:dateTime: the cursor
	// of a first full listing that carries no LastChange. "" = unknown.
	AnsweredCursor string
	// Rejected are entities of the answer that could not be read; they are
	// left out of Entities and the copy keeps what it had of them.
	Rejected []Rejection
	// Warnings are values read as "no value" (an unset .NET DateTime).
	Warnings []Warning
}

// Rejection is one entity of an answer left out because a field of it is
// malformed; the rest of the answer applies.
type Rejection struct {
	Index int    // 1-based position in the answer's Entities
	GUID  string // "" when the Guid itself is missing
	Name  string // AdministrativeBodyName, when it could be read
	// Field names the member in the schema, without positions
	// ("Services/Version", "LastChange"); it is the label of
	// seosgw_register_records_rejected_total, so its values are bounded.
	Field string
	Path  string // where exactly, e.g. Entities/item[3]/Services/item[1]/Version
	Value string // the offending text, shortened
	Err   string // what is wrong with it
}

// EntityFields are the values Rejection.Field takes: "Entity" for the item
// itself, then the Entity members and, under Contact and Services, theirs.
// register/daeu's tests tie this list to its field tables.
var EntityFields = []string{"Entity", "EntityIdentifier", "Guid", "ParentGuid", "AdministrativeBodyName",
	"Contact", "Contact/Phone", "Contact/Fax", "Contact/EmailAddress", "CertificateSN",
	"Services", "Services/Guid", "Services/Name", "Services/URI", "Services/Status", "Services/Type", "Services/Version",
	"LastChange", "Status"}

// Warning is a value of an answer read as "no value", applied nonetheless.
type Warning struct {
	GUID, Name string // the participant; "" for the answer's own LastChange
	Field      string
	Value      string
	Msg        string
}

// Source is where the sync reads the register from; register/daeu.Client
// is the real one.
type Source interface {
	GetAllRecords(ctx context.Context) (*Listing, error)
	GetNewRecords(ctx context.Context, since string) (*Listing, error)
}

// Failure kinds, the label of seosgw_register_sync_failures_total.
const (
	KindTransport  = "transport"   // connection, TLS, DNS
	KindTimeout    = "timeout"     // no answer in time
	KindHTTPStatus = "http_status" // an HTTP error without a SOAP fault
	KindFault      = "fault"       // the register answered with a SOAP fault
	KindMalformed  = "malformed"   // an answer we cannot read
	KindTooLarge   = "too_large"   // an answer over register.max_response_bytes
	KindStore      = "store"       // our own database
	KindRefused    = "refused"     // an answer we will not apply (e.g. an empty full listing)
	KindPanic      = "panic"       // a bug; the loop survives it
	KindOther      = "other"
)

// FailureKinds lists every kind, so metrics can start every series at zero.
var FailureKinds = []string{KindTransport, KindTimeout, KindHTTPStatus, KindFault, KindMalformed, KindTooLarge, KindStore, KindRefused, KindPanic, KindOther}

// ErrorKind classifies a sync error. Errors of register/daeu say their kind
// through a Kind method; this package cannot import that one (it imports us).
func ErrorKind(err error) string {
	var k interface{ Kind() string }
	switch {
	case err == nil:
		return ""
	case errors.As(err, &k):
		return k.Kind()
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	return KindOther
}

// kindError gives an error one of the kinds above.
type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }
func (e *kindError) Kind() string  { return e.kind }
