// Package outbox is what we send: a durable queue of messages built from AIS
// requests, and the tracking of each sent document through the recipient's
// later status notifications.
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

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrUnknownDocument is a notification about a document we never sent to
// that participant.
var ErrUnknownDocument = errors.New("outbox: no document with that GUID was sent to this participant")

// ApplyStatus records a recipient's DocumentStatusResponse about a
// registration request we sent it, and returns the outbox id.
func ApplyStatus(ctx context.Context, q Querier, from string, r *seos.StatusResponse, at time.Time) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM outbox WHERE kind = 'registration' AND recipient_guid_key = ? AND document_guid_key = ?
		ORDER BY id DESC LIMIT 1`, seos.CanonicalGUID(from), seos.CanonicalGUID(r.DocID.GUID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrUnknownDocument
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: find document: %w", err)
	}
	number, date, uriJSON := "", "", ""
	switch {
	case r.DocID.Number != nil:
		number, date = r.DocID.Number.Number, string(r.DocID.Number.Date)
	case r.DocID.URI != nil:
		b, _ := json.Marshal(r.DocID.URI)
		uriJSON = string(b)
	}
	reason, expect := "", ""
	if r.RejectionReason != nil {
		reason = *r.RejectionReason
	}
	if r.ExpectCloseDate != nil {
		expect = string(*r.ExpectCloseDate)
	}
	// "Waiting" never replaces a later status (a status reply can overtake
	// the acknowledgement); a bare status (no number) must not erase a
	// number the peer gave before.
	set, args := "updated_at = ?", []any{store.FormatTime(at)}
	if waiting := r.Status == seos.StatusWaitRegistration || r.Status == seos.StatusAlreadyReceived; waiting {
		set += ", doc_status = CASE WHEN doc_status IN ('', 'queued', 'DS_WAIT_REGISTRATION', 'DS_ALREADY_RECEIVED') THEN ? ELSE doc_status END"
	} else {
		set += ", doc_status = ?"
	}
	args = append(args, string(r.Status))
	if number != "" || uriJSON != "" {
		set += ", peer_number = ?, peer_date = ?, peer_uri_json = ?"
		args = append(args, number, date, uriJSON)
	}
	if reason != "" {
		set += ", rejection_reason = ?"
		args = append(args, reason)
	}
	if expect != "" {
		set += ", expect_close = ?"
		args = append(args, expect)
	}
	if _, err := q.ExecContext(ctx, "UPDATE outbox SET "+set+" WHERE id = ?", append(args, id)...); err != nil {
		return 0, fmt.Errorf("outbox: apply status: %w", err)
	}
	detail := string(r.Status)
	if number != "" {
		detail += " No " + number + " of " + date
	}
	if r.DocID.URI != nil {
		detail += " URI " + r.DocID.URI.String()
	}
	if reason != "" {
		detail += ": " + reason
	}
	return id, AddEvent(ctx, q, id, "status", detail, at)
}

// ApplyError records an Error a peer sent about one of our messages; the
// message's delivery is final (not retried). It returns the outbox id, or
// ErrUnknownDocument.
func ApplyError(ctx context.Context, q Querier, from string, e *seos.ErrorBody, at time.Time) (int64, error) {
	if e.MessageGUID == nil {
		return 0, ErrUnknownDocument
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM outbox WHERE recipient_guid_key = ? AND last_message_guid = ?`,
		seos.CanonicalGUID(from), seos.CanonicalGUID(*e.MessageGUID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrUnknownDocument
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: find message: %w", err)
	}
	why := fmt.Sprintf("%s: %s", e.Type, e.Description)
	if _, err := q.ExecContext(ctx, `UPDATE outbox SET state = 'failed', doc_status = CASE WHEN kind = 'registration' THEN 'failed' ELSE doc_status END,
		last_error = ?, updated_at = ? WHERE id = ?`, why, store.FormatTime(at), id); err != nil {
		return 0, fmt.Errorf("outbox: apply error: %w", err)
	}
	return id, AddEvent(ctx, q, id, "peer_error", why, at)
}

// AddEvent appends to a document's history.
func AddEvent(ctx context.Context, q Querier, id int64, event, detail string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO outbox_events (outbox_id, at, event, detail) VALUES (?, ?, ?, ?)`,
		id, store.FormatTime(at), event, detail); err != nil {
		return fmt.Errorf("outbox: event: %w", err)
	}
	return nil
}
