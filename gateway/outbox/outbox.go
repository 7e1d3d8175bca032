// Package outbox is what we send: a durable queue of messages built from AIS
// requests, and the tracking of each sent document through the recipient's
// later status notifications.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
)

// Kind is what an outgoing message is (outbox.kind).
type Kind string

const (
	KindRegistration  Kind = "registration"   // a document for the recipient to register
	KindStatus        Kind = "status"         // our status of a document we received
	KindStatusRequest Kind = "status_request" // asking the recipient about a document we sent
)

// Delivery is where an outgoing message's delivery stands (outbox.state).
type Delivery string

const (
	Queued    Delivery = "queued"    // waiting for its next attempt
	Sending   Delivery = "sending"   // an attempt is in flight
	Delivered Delivery = "delivered" // the recipient acknowledged it
	Failed    Delivery = "failed"    // given up: an Error reply, or attempts exhausted
	Cancelled Delivery = "cancelled" // the operator cancelled it before it was delivered
)

// State is where a document we sent for registration stands, as its
// recipient reported it (outbox.doc_status of registration items).
type State string

const (
	StateNone            State = ""       // not a registration: status notifications and requests
	StateQueued          State = "queued" // not acknowledged yet
	StateWaiting         State = State(seos.StatusWaitRegistration)
	StateAlreadyReceived State = State(seos.StatusAlreadyReceived) // waiting too: the recipient had it already
	StateRegistered      State = State(seos.StatusRegistered)
	StateRejected        State = State(seos.StatusRejected)
	StateClosed          State = State(seos.StatusClosed)
	StateStopped         State = State(seos.StatusStopped)
	StateNotFound        State = State(seos.StatusNotFound) // the recipient says it does not know the document
	StateFailed          State = "failed"                   // not delivered: an Error reply, or attempts exhausted
	StateCancelled       State = "cancelled"                // the operator cancelled it before it was delivered
)

// Request is what to send; exactly one part is set, by Kind.
type Request struct {
	Document *seos.Document       `json:"document,omitempty"` // registration, attachments inline
	Comment  string               `json:"comment,omitempty"`  // RegistrationRequest/Comment
	Status   *seos.StatusResponse `json:"status,omitempty"`   // status notification
	DocID    *seos.DocumentID     `json:"docId,omitempty"`    // status request
}

// Item is one outgoing message and, for a registration, what the
// recipient has said about the document since.
type Item struct {
	ID              int64             `json:"id"`
	Kind            Kind              `json:"kind"`
	IdempotencyKey  string            `json:"idempotencyKey,omitempty"`
	RecipientGUID   string            `json:"recipient"`
	DocumentGUID    string            `json:"documentGuid"`
	InboxID         int64             `json:"inboxId,omitempty"`
	State           Delivery          `json:"state"`
	Attempts        int               `json:"attempts"`
	NextAttemptAt   time.Time         `json:"nextAttemptAt"`
	LastError       string            `json:"lastError,omitempty"`
	LastMessageGUID string            `json:"lastMessageGuid,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
	DocStatus       State             `json:"docStatus,omitempty"`
	PeerNumber      string            `json:"peerNumber,omitempty"`
	PeerDate        string            `json:"peerDate,omitempty"`
	PeerURI         *seos.DocumentURI `json:"peerUri,omitempty"`
	RejectionReason string            `json:"rejectionReason,omitempty"`
	ExpectClose     string            `json:"expectClose,omitempty"`
	StatusAskedAt   time.Time         `json:"statusAskedAt,omitempty"`
	StatusAsks      int               `json:"statusAsks,omitempty"`   // status requests that left it waiting
	StatusNextAt    time.Time         `json:"statusNextAt,omitempty"` // when the next may go (zero: not asked yet)
	Receipt         string            `json:"receipt,omitempty"`      // the recipient's confirmation of receipt, with DS_REGISTERED
	MailID          int64             `json:"mailId,omitempty"`       // a registration sent by e-mail: its mail in the mail queue
	Request         *Request          `json:"-"`
}

// Event is a line of an item's history.
type Event struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// Full is a *sql.DB or *sql.Tx with every method the queue uses.
type Full interface {
	Querier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ErrNotFound is an id the outbox does not hold.
var ErrNotFound = errors.New("outbox: no such item")

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrUnknownDocument is a notification about a document we never sent to
// that participant.
var ErrUnknownDocument = errors.New("outbox: no document with that GUID was sent to this participant")
