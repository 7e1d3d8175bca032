package inbound

// A Fault is the typed protocol failure: whose fault it is (ERR_EXTERNAL,
// the sender's; ERR_INTERNAL, ours), the Bulgarian description that goes
// on the wire and the English one for logs.

import (
	"errors"
	"fmt"

	"github.com/seosgw/seosgw/gateway/seos"
)

// Prefixes peers put before the reason (PROTOCOL §5).
const (
	SenderPrefix   = "Неуспешен – Грешка при подателя."
	ReceiverPrefix = "Неуспешен – Грешка при получателя."
)

// Reason is a stable name for the failure, used as a metric label.
type Reason string

const (
	TooLarge          Reason = "too_large"
	TooComplex        Reason = "too_complex" // a limit on the message's structure
	NotWellFormed     Reason = "not_well_formed"
	SchemaInvalid     Reason = "schema_invalid"
	WrongRecipient    Reason = "wrong_recipient"
	SenderNotAllowed  Reason = "sender_not_allowed"
	EIKMismatch       Reason = "eik_mismatch"
	TLSCertMismatch   Reason = "tls_certificate_mismatch"
	SignatureInvalid  Reason = "signature_invalid"
	SignerMismatch    Reason = "signer_certificate_mismatch"
	WeakKey           Reason = "weak_key"
	ClockSkew         Reason = "clock_skew"
	DuplicateMessage  Reason = "duplicate_message"
	UnexpectedMessage Reason = "unexpected_message"
	Internal          Reason = "internal"
	NotAccepting      Reason = "not_accepting"
)

// Reasons lists every Reason, so that metrics can show each at 0 before
// the first refusal.
var Reasons = []Reason{TooLarge, TooComplex, NotWellFormed, SchemaInvalid, WrongRecipient, SenderNotAllowed, TLSCertMismatch, SignatureInvalid,
	SignerMismatch, WeakKey, EIKMismatch, ClockSkew, DuplicateMessage, UnexpectedMessage, Internal, NotAccepting}

// Fault is a refusal of a message.
type Fault struct {
	Kind        seos.ErrorKind
	Reason      Reason
	BG          string // reason in Bulgarian, after the prefix
	EN          string // for logs and operators
	MessageGUID string // of the refused message, when known
	Err         error  // cause, never shown to the peer
}

func (f *Fault) Error() string {
	s := fmt.Sprintf("%s (%s): %s", f.Reason, f.Kind, f.EN)
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	return s
}

func (f *Fault) Unwrap() error { return f.Err }

// Description is the ErrorDescription put on the wire.
func (f *Fault) Description() string {
	prefix := SenderPrefix
	if f.Kind == seos.ErrInternal {
		prefix = ReceiverPrefix
	}
	return prefix + " " + f.BG
}

// senderFault builds an ERR_EXTERNAL fault.
func senderFault(r Reason, bg, en string, cause error) *Fault {
	return &Fault{Kind: seos.ErrExternal, Reason: r, BG: bg, EN: en, Err: cause}
}

// ourFault builds an ERR_INTERNAL fault.
func ourFault(r Reason, bg, en string, cause error) *Fault {
	return &Fault{Kind: seos.ErrInternal, Reason: r, BG: bg, EN: en, Err: cause}
}

// asFault extracts a Fault; any other error becomes an internal one whose cause
// stays in logs and never reaches the peer.
func asFault(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return ourFault(Internal, "Вътрешна грешка при обработката на съобщението.", "internal error", err)
}

// WithGUID records the refused message's GUID.
func (f *Fault) WithGUID(guid string) *Fault {
	f.MessageGUID = guid
	return f
}
