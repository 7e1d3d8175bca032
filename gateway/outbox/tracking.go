package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// ApplyStatus judges a recipient's DocumentStatusResponse about a
// registration request we sent it against the transition table and records
// it: an allowed transition is applied, a repeat fills in what was missing,
// anything else is kept as a "status_not_applied" event. A registration
// number once known is never replaced or erased.
func ApplyStatus(ctx context.Context, q Querier, from string, r *seos.StatusResponse, at time.Time) (Transition, error) {
	t := Transition{Peer: from, Document: r.DocID.GUID, To: State(r.Status)}
	var knownNumber, knownDate, knownURI string
	var state Delivery
	err := q.QueryRowContext(ctx, `SELECT id, doc_status, state, peer_number, peer_date, peer_uri_json FROM outbox
		WHERE kind = ? AND recipient_guid_key = ? AND document_guid_key = ? ORDER BY id DESC LIMIT 1`,
		KindRegistration, seos.CanonicalGUID(from), seos.CanonicalGUID(r.DocID.GUID)).Scan(&t.ID, &t.From, &state, &knownNumber, &knownDate, &knownURI)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrUnknownDocument
	}
	if err != nil {
		return t, fmt.Errorf("outbox: find document: %w", err)
	}
	number, date, uriJSON := "", "", ""
	switch {
	case r.DocID.Number != nil:
		number, date = r.DocID.Number.Number, string(r.DocID.Number.Date)
	case r.DocID.URI != nil:
		b, _ := json.Marshal(r.DocID.URI)
		uriJSON = string(b)
	}
	reported := describe(r.Status, number, date, r.DocID.URI)
	known := knownNumber != "" || knownURI != ""
	differs := known && (number != "" || uriJSON != "") && (number != knownNumber || date != knownDate || uriJSON != knownURI)
	t.Verdict = Decide(t.From, t.To)
	if t.Verdict == Repeated && differs && class(t.To) == StateRegistered {
		t.Verdict = NotApplied // a second registration number for one registration
	}
	if t.Verdict == NotApplied {
		t.Detail = fmt.Sprintf("%s after %s is not a protocol transition; kept %s", reported, class(t.From), describeKnown(t.From, knownNumber, knownDate, knownURI))
		if _, err := q.ExecContext(ctx, `UPDATE outbox SET updated_at = ? WHERE id = ?`, store.FormatTime(at), t.ID); err != nil {
			return t, fmt.Errorf("outbox: apply status: %w", err)
		}
		return t, AddEvent(ctx, q, t.ID, "status_not_applied", t.Detail, at)
	}
	set, args := "updated_at = ?", []any{store.FormatTime(at)}
	if t.Verdict == Applied {
		set += ", doc_status = ?"
		args = append(args, string(t.To))
	}
	if state == Failed || state == Queued || state == Cancelled {
		// The recipient has the document, whatever our attempts said (or
		// the operator's cancel, which came too late): stop retrying (an
		// attempt in flight records its own outcome).
		set += ", state = ?, last_error = ''"
		args = append(args, Delivered)
	}
	t.Detail = reported
	switch {
	case (number != "" || uriJSON != "") && !known:
		set += ", peer_number = ?, peer_date = ?, peer_uri_json = ?"
		args = append(args, number, date, uriJSON)
	case differs:
		t.Detail += "; kept the registration known before: " + describeKnown(StateRegistered, knownNumber, knownDate, knownURI)
	}
	if r.RejectionReason != nil && *r.RejectionReason != "" && class(t.To) == StateRejected {
		set += ", rejection_reason = ?"
		args = append(args, *r.RejectionReason)
	}
	if r.ExpectCloseDate != nil {
		set += ", expect_close = ?"
		args = append(args, string(*r.ExpectCloseDate))
	}
	if receipt := r.AddData.Receipt(); receipt != "" && class(t.To) == StateRegistered {
		set += ", receipt = ?"
		args = append(args, receipt)
		t.Detail += "; with a confirmation of receipt"
	}
	if _, err := q.ExecContext(ctx, "UPDATE outbox SET "+set+" WHERE id = ?", append(args, t.ID)...); err != nil {
		return t, fmt.Errorf("outbox: apply status: %w", err)
	}
	event := "status"
	if t.Verdict == Repeated {
		event = "status_repeated"
	}
	return t, AddEvent(ctx, q, t.ID, event, t.Detail, at)
}

// describe renders a reported status for the history.
func describe(status seos.DocStatus, number, date string, uri *seos.DocumentURI) string {
	s := string(status)
	if number != "" {
		s += " No " + number + " of " + date
	}
	if uri != nil {
		s += " URI " + uri.String()
	}
	return s
}

func describeKnown(state State, number, date, uriJSON string) string {
	var uri *seos.DocumentURI
	if uriJSON != "" {
		uri = &seos.DocumentURI{}
		if json.Unmarshal([]byte(uriJSON), uri) != nil {
			uri = nil
		}
	}
	if state == StateNone {
		state = StateQueued
	}
	return describe(seos.DocStatus(state), number, date, uri)
}

// ApplyError records an Error a peer sent about one of our messages; the
// message's delivery is final (not retried). For a registration the table
// decides: a document the recipient already registered, rejected, closed
// or stopped keeps that state and the Error stays an event. It returns
// ErrUnknownDocument when no message of ours matches.
func ApplyError(ctx context.Context, q Querier, from string, e *seos.ErrorBody, at time.Time) (Transition, error) {
	t := Transition{Peer: from, To: StateFailed}
	if e.MessageGUID == nil {
		return t, ErrUnknownDocument
	}
	var kind Kind
	err := q.QueryRowContext(ctx, `SELECT id, kind, document_guid, doc_status FROM outbox WHERE recipient_guid_key = ? AND last_message_guid = ?`,
		seos.CanonicalGUID(from), seos.CanonicalGUID(*e.MessageGUID)).Scan(&t.ID, &kind, &t.Document, &t.From)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrUnknownDocument
	}
	if err != nil {
		return t, fmt.Errorf("outbox: find message: %w", err)
	}
	why := fmt.Sprintf("%s: %s", e.Type, e.Description)
	t.Detail, t.Verdict = why, Applied
	if kind == KindRegistration {
		if t.Verdict = Decide(t.From, StateFailed); t.Verdict != Applied {
			t.Verdict = NotApplied
			t.Detail = fmt.Sprintf("an Error after %s; kept the document's state: %s", class(t.From), why)
			return t, AddEvent(ctx, q, t.ID, "peer_error_not_applied", t.Detail, at)
		}
	}
	docStatus := t.From
	if kind == KindRegistration {
		docStatus = StateFailed
	}
	if _, err := q.ExecContext(ctx, `UPDATE outbox SET state = ?, doc_status = ?, last_error = ?, updated_at = ? WHERE id = ?`,
		Failed, docStatus, why, store.FormatTime(at), t.ID); err != nil {
		return t, fmt.Errorf("outbox: apply error: %w", err)
	}
	if kind != KindRegistration {
		t.From, t.To = StateNone, StateNone // not a document's state; nothing to count
	}
	return t, AddEvent(ctx, q, t.ID, "peer_error", why, at)
}

// AddEvent appends to a document's history.
func AddEvent(ctx context.Context, q Querier, id int64, event, detail string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO outbox_events (outbox_id, at, event, detail) VALUES (?, ?, ?, ?)`,
		id, store.FormatTime(at), event, detail); err != nil {
		return fmt.Errorf("outbox: event: %w", err)
	}
	return nil
}
