package ais

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// The operator's hand on documents we send: list them, send a failed one
// again, cancel one, and retry now everything waiting for a participant
// that is back. The outbox's transition table decides what is allowed.

// PublicStates are the states of an outgoing document the AIS sees (see
// PublicState), in the order a document meets them.
var PublicStates = []string{"queued", "sending", "waiting_registration", "registered", "rejected", "closed", "stopped",
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
	Recipient     string    `json:"recipient"`
	RecipientName string    `json:"recipientName,omitempty"` // from the register copy
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
	f.Kind, f.Peer, f.Limit, f.Before = outbox.KindRegistration, peer, limit, before
	items, err := outbox.List(ctx, s.DB, f)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	out := &DocumentList{Items: []DocumentSummary{}}
	for _, it := range items {
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
	return s.manual(ctx, id, note, outbox.Retry)
}

// Cancel stops a queued or failed outgoing document from being sent.
func (s *Service) Cancel(ctx context.Context, id int64, note string) (*Status, error) {
	return s.manual(ctx, id, note, outbox.Cancel)
}

func (s *Service) manual(ctx context.Context, id int64, note string, act func(context.Context, outbox.Full, int64, string, time.Time) (outbox.Done, error)) (*Status, error) {
	if err := checkNote(note); err != nil {
		return nil, err
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

func checkNote(note string) error {
	if len(note) > 500 {
		return invalid("note", "longer than 500 characters")
	}
	return nil
}
