package daeu

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/seosgw/seosgw/register"
)

// ErrTooLarge is wrapped by the MalformedError of an answer over the size limit.
var ErrTooLarge = errors.New("register response larger than the configured limit (register.max_response_bytes)")

// TransportError is a call that got no usable HTTP answer: connection, TLS
// or timeout failures, or an HTTP error status without a SOAP fault.
type TransportError struct {
	Op         Op
	URL        string
	StatusCode int    // 0 when no HTTP answer came
	Body       string // start of an error answer's body, for the log
	Timeout    bool
	Err        error
}

func (e *TransportError) Error() string {
	switch {
	case e.StatusCode != 0:
		return fmt.Sprintf("register %s at %s: HTTP %d without a SOAP fault: %q", e.Op, e.URL, e.StatusCode, e.Body)
	case e.Timeout:
		return fmt.Sprintf("register %s at %s: no answer in time (register.timeout): %v", e.Op, e.URL, e.Err)
	}
	s := fmt.Sprintf("register %s at %s: %v", e.Op, e.URL, e.Err)
	var invalid x509.CertificateInvalidError
	if errors.As(e.Err, &invalid) && invalid.Reason == x509.Expired {
		s += " (if the register's certificate is in date, this host's clock is wrong: clock skew)"
	}
	return s
}

func (e *TransportError) Unwrap() error { return e.Err }

// Kind classifies the error for metrics.
func (e *TransportError) Kind() string {
	switch {
	case e.StatusCode != 0:
		return register.KindHTTPStatus
	case e.Timeout:
		return register.KindTimeout
	}
	return register.KindTransport
}

// FaultError is a SOAP fault the register answered with.
type FaultError struct {
	Op                          Op
	HTTPStatus                  int
	Code, String, Actor, Detail string
}

func (e *FaultError) Error() string {
	s := fmt.Sprintf("register %s: SOAP fault %s: %s", e.Op, e.Code, e.String)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Kind classifies the error for metrics.
func (e *FaultError) Kind() string { return register.KindFault }

// MalformedError is an answer that is not the register's SOAP as we know it.
type MalformedError struct {
	Op  Op
	Msg string
	Err error

	// What the decoder knows of where it went wrong, for rejecting one
	// entity rather than the answer.
	at     string   // path of the offending element in the document
	detail string   // Msg without the path
	value  string   // the offending text, shortened
	field  []string // member names from the entity down, filled in as the error rises
	fatal  bool     // the whole answer is unusable (the multi-ref budget)
}

func (e *MalformedError) Error() string {
	s := fmt.Sprintf("register %s: malformed response: %s", e.Op, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Kind classifies the error for metrics.
func (e *MalformedError) Kind() string {
	if errors.Is(e.Err, ErrTooLarge) {
		return register.KindTooLarge
	}
	return register.KindMalformed
}
