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
	Cursor string
}

// Source is where the sync reads the register from; register/soap.Client
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

// ErrorKind classifies a sync error. Errors of register/soap say their kind
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
