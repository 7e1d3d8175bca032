package ais

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// The operator's hand on documents we send: list them, send a failed one
// again, cancel one, and retry now everything waiting for a participant
// that is back. The outbox's transition table decides what is allowed.

// PublicStates are the states of an outgoing document the AIS sees (see
// PublicState), in the order a document meets them.
// "sent" is a document sent by e-mail that the submission server took.
var PublicStates = []string{"queued", "sending", "sent", "waiting_registration", "registered", "rejected", "closed", "stopped",
	"not_found_at_recipient", "failed", "cancelled"}

// stateFilter selects the outbox items whose PublicState is state.
func stateFilter(state string) (outbox.Filter, bool) {
	inFlight := []outbox.Delivery{outbox.Queued, outbox.Sending}
	yes, no := true, false
	delivered := func(s ...outbox.State) outbox.Filter {
		return outbox.Filter{Delivery: []outbox.Delivery{outbox.Delivered}, DocStatus: s}
	}
	switch state {
	case "":
		return outbox.Filter{}, true
	case "queued":
		return outbox.Filter{Delivery: inFlight, Attempted: &no}, true
	case "sending":
		return outbox.Filter{Delivery: inFlight, Attempted: &yes}, true
	case "failed":
		return outbox.Filter{Delivery: []outbox.Delivery{outbox.Failed}}, true
	case "cancelled":
		return outbox.Filter{Delivery: []outbox.Delivery{outbox.Cancelled}}, true
	case "sent":
		return outbox.Filter{OnlyMail: true}, true // no SEOS document is ever just "sent"
	case "waiting_registration":
		return delivered(outbox.StateQueued, outbox.StateWaiting, outbox.StateAlreadyReceived), true
	case "registered":
		return delivered(outbox.StateRegistered), true
	case "rejected":
		return delivered(outbox.StateRejected), true
	case "closed":
		return delivered(outbox.StateClosed), true
	case "stopped":
		return delivered(outbox.StateStopped), true
	case "not_found_at_recipient":
		return delivered(outbox.StateNotFound), true
	}
	return outbox.Filter{}, false
}

// DocumentSummary is an outgoing document in a list.
type DocumentSummary struct {
	ID            int64     `json:"id"`
	DocumentGUID  string    `json:"documentGuid"`
	Recipient     string    `json:"recipient,omitempty"`     // over SEOS: the participant's GUID
	RecipientName string    `json:"recipientName,omitempty"` // from the register copy
	Email         string    `json:"email,omitempty"`         // by e-mail: the address
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttempt   string    `json:"nextAttempt,omitempty"`
	Error         string    `json:"error,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// DocumentList is a page of outgoing documents, newest first.
type DocumentList struct {
	Items []DocumentSummary `json:"items"`
}

// Documents lists outgoing documents in a public state ("" = all), to a
// participant ("" = any), newest first.
func (s *Service) Documents(ctx context.Context, state, peer string, limit int) (*DocumentList, error) {
	return s.DocumentPage(ctx, state, peer, 0, limit)
}

// DocumentPage is Documents from the ids below before (0: from the newest).
func (s *Service) DocumentPage(ctx context.Context, state, peer string, before int64, limit int) (*DocumentList, error) {
	f, ok := stateFilter(state)
	if !ok {
		return nil, invalid("state", "%q; use one of %s", state, strings.Join(PublicStates, ", "))
	}
	if peer != "" && !seos.IsGUID(peer) {
		return nil, invalid("peer", "%q is not a participant GUID in braces", peer)
	}
	if q, args, ok := mailq.StateQuery(state); ok {
		f.Mail = &outbox.Subquery{Query: q, Args: args}
	}
	f.Kind, f.Peer, f.Limit, f.Before = outbox.KindRegistration, peer, limit, before
	items, err := outbox.List(ctx, s.DB, f)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	out := &DocumentList{Items: []DocumentSummary{}}
	for _, it := range items {
		if it.MailID != 0 {
			d, err := s.mailSummary(ctx, it)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, d)
			continue
		}
		key := seos.CanonicalGUID(it.RecipientGUID)
		name, seen := names[key]
		if !seen {
			if e, err := s.Dir.ByGUID(ctx, it.RecipientGUID); err == nil && e != nil {
				name = e.AdministrativeBodyName
			}
			names[key] = name
		}
		d := DocumentSummary{ID: it.ID, DocumentGUID: it.DocumentGUID, Recipient: it.RecipientGUID, RecipientName: name,
			State: PublicState(it), Attempts: it.Attempts, Error: it.LastError, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
		d.NextAttempt = nextAttempt(it)
		out.Items = append(out.Items, d)
	}
	return out, nil
}

// mailSummary is a document sent by e-mail as listed: its state is its
// mail's in the mail queue.
func (s *Service) mailSummary(ctx context.Context, it *outbox.Item) (DocumentSummary, error) {
	m, err := mailq.Get(ctx, s.DB, it.MailID)
	if err != nil {
		return DocumentSummary{}, fmt.Errorf("ais: document %d: mail %d: %w", it.ID, it.MailID, err)
	}
	d := DocumentSummary{ID: it.ID, DocumentGUID: it.DocumentGUID, Email: it.RecipientGUID, State: mailq.PublicState(m), Attempts: m.Attempts,
		Error: m.LastError, CreatedAt: it.CreatedAt, UpdatedAt: m.UpdatedAt}
	if d.State == "sending" && m.State == mailq.Queued {
		d.NextAttempt = m.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return d, nil
}

// nextAttempt is when a document waiting for another attempt gets it.
func nextAttempt(it *outbox.Item) string {
	if it.State == outbox.Queued && it.Attempts > 0 {
		return it.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return ""
}

// Retry sends an outgoing document again: a queued one now, a failed one
// (or one the recipient reports not found) under the same DocumentGUID
// with a new round of attempts. note goes into its history.
func (s *Service) Retry(ctx context.Context, id int64, note string) (*Status, error) {
	return s.manual(ctx, id, note, outbox.ActionRetry, outbox.Retry)
}

// Cancel stops a queued or failed outgoing document from being sent.
func (s *Service) Cancel(ctx context.Context, id int64, note string) (*Status, error) {
	return s.manual(ctx, id, note, outbox.ActionCancel, outbox.Cancel)
}

func (s *Service) manual(ctx context.Context, id int64, note string, a outbox.Action, act func(context.Context, outbox.Full, int64, string, time.Time) (outbox.Done, error)) (*Status, error) {
	if err := checkNote(note); err != nil {
		return nil, err
	}
	// A document sent by e-mail is retried or cancelled in the mail queue.
	if it, err := outbox.Get(ctx, s.DB, id); err == nil && it.Kind == outbox.KindRegistration && it.MailID != 0 {
		return s.manualMail(ctx, it, note, a)
	}
	var d outbox.Done
	err := store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		var err error
		d, err = act(ctx, tx, id, note, s.Clock.Now())
		return err
	})
	var refused *outbox.Refused
	switch {
	case errors.Is(err, outbox.ErrNotFound), errors.Is(err, outbox.ErrNotDocument):
		return nil, &Error{Code: "not_found", Msg: fmt.Sprintf("no outgoing document %d", id), Status: 404}
	case errors.As(err, &refused):
		s.Transitions.Manual(d, err)
		return nil, &Error{Code: "conflict", Status: 409, Msg: fmt.Sprintf("document %d: cannot %s: %s", id, d.Action, refused.Why)}
	case errors.Is(err, outbox.ErrInFlight):
		s.Transitions.Manual(d, err)
		return nil, &Error{Code: "conflict", Status: 409, Msg: fmt.Sprintf("document %d: an attempt to deliver it is under way; try again when it has ended", id)}
	case err != nil:
		return nil, err
	}
	s.Transitions.Manual(d, nil)
	if d.Action == outbox.ActionRetry {
		s.notify()
	}
	return s.Document(ctx, id)
}

// manualMail is Retry or Cancel of a document sent by e-mail: its mail is
// sent again or stopped in the mail queue, and the document's history
// says so, in one transaction.
func (s *Service) manualMail(ctx context.Context, it *outbox.Item, note string, a outbox.Action) (*Status, error) {
	act, event := mailq.Cancel, "manual_cancel"
	if a == outbox.ActionRetry {
		act, event = mailq.Retry, "manual_retry"
	}
	d := outbox.Done{ID: it.ID, Peer: it.RecipientGUID, Document: it.DocumentGUID, Action: a, Verdict: outbox.Applied}
	err := store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		now := s.Clock.Now()
		c, err := act(ctx, tx, it.MailID, now)
		d.From, d.To, d.Detail = outbox.State(c.From), outbox.State(c.To), noted(c.Detail, note)
		if err != nil || c.Repeated && a == outbox.ActionCancel {
			return err
		}
		if c.Repeated {
			d.Verdict = outbox.Repeated
		}
		return outbox.AddEvent(ctx, tx, it.ID, event, "by e-mail: "+d.Detail, now)
	})
	var refused *mailq.Refused
	switch {
	case errors.As(err, &refused):
		s.Transitions.Manual(d, err)
		return nil, &Error{Code: "conflict", Status: 409, Msg: fmt.Sprintf("document %d: cannot %s: %s", it.ID, a, refused.Why)}
	case errors.Is(err, mailq.ErrInFlight):
		s.Transitions.Manual(d, err)
		return nil, &Error{Code: "conflict", Status: 409, Msg: fmt.Sprintf("document %d: an attempt to send its mail is under way; try again when it has ended", it.ID)}
	case err != nil:
		return nil, err
	}
	s.Transitions.Manual(d, nil)
	if a == outbox.ActionRetry && s.Mail != nil {
		s.Mail.Wake()
	}
	return s.Document(ctx, it.ID)
}

// PeerRetry is what a retry of a participant's deliveries did.
type PeerRetry struct {
	Peer        string  `json:"peer"`
	Rescheduled int     `json:"rescheduled"` // deliveries made due now
	IDs         []int64 `json:"ids"`         // their outbox ids (documents, status notifications and questions)
}

// RetryPeer makes every delivery to peer that waits for a later attempt
// due now: for a participant that is back before the protocol's schedule
// (up to 128 h) would try again.
func (s *Service) RetryPeer(ctx context.Context, peer, note string) (*PeerRetry, error) {
	if !seos.IsGUID(peer) {
		return nil, invalid("guid", "%q is not a participant GUID in braces", peer)
	}
	if err := checkNote(note); err != nil {
		return nil, err
	}
	var done []outbox.Done
	err := store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		var err error
		done, err = outbox.RetryPeer(ctx, tx, peer, note, s.Clock.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &PeerRetry{Peer: peer, Rescheduled: len(done), IDs: []int64{}}
	for _, d := range done {
		s.Transitions.Manual(d, nil)
		out.IDs = append(out.IDs, d.ID)
	}
	if len(done) > 0 {
		s.notify()
	}
	return out, nil
}

// noted is a history line with the operator's note after it.
func noted(detail, note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return detail + " — " + note
	}
	return detail
}

func checkNote(note string) error {
	if len(note) > 500 {
		return invalid("note", "longer than 500 characters")
	}
	return nil
}
