package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// Action is what an operator does to a sent document.
type Action string

const (
	ActionRetry     Action = "retry"      // send a failed document again, or a queued one now
	ActionCancel    Action = "cancel"     // do not send a queued or failed document
	ActionRetryPeer Action = "retry_peer" // make every waiting delivery to one participant due now
)

// ErrInFlight is an action on an item whose attempt is on its way: it
// would race the attempt's outcome.
var ErrInFlight = errors.New("outbox: an attempt is in flight; try again when it has ended")

// ErrNotDocument is a retry or cancel of an item that is not a document
// sent for registration (a status notification or question).
var ErrNotDocument = errors.New("outbox: not a document sent for registration")

// Refused is an action the transition table does not allow in the
// document's state, or one that cannot be carried out (Why says).
type Refused struct {
	ID     int64
	Action Action
	From   State
	Why    string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("outbox: cannot %s document %d: %s", e.Action, e.ID, e.Why)
}

// Done is what an operator's action did to one item.
type Done struct {
	ID       int64
	Peer     string
	Document string
	Action   Action
	From, To State
	Verdict  Verdict // applied, or repeated (a retry of a queued item, a cancel of a cancelled one)
	Detail   string
}

// Retry sends a document again: a queued one is made due now (its
// attempts so far still count); a failed one, or one its recipient
// reports not found, is queued again under the same DocumentGUID with a
// new round of attempts. note, when given, goes into the history.
func Retry(ctx context.Context, q Full, id int64, note string, now time.Time) (Done, error) {
	it, d, err := forAction(ctx, q, id, ActionRetry, StateQueued)
	if err != nil {
		return d, err
	}
	switch d.Verdict = Decide(it.DocStatus, StateQueued); d.Verdict {
	case Repeated:
		d.To = it.DocStatus
		d.Detail = withNote(fmt.Sprintf("made due now (was due at %s; %d attempts so far)", it.NextAttemptAt.UTC().Format(time.RFC3339), it.Attempts), note)
		err = update(ctx, q, it, `next_attempt_at = ?, updated_at = ?`, store.FormatTime(now), store.FormatTime(now))
	case Applied:
		if it.Request == nil || it.Request.Document == nil {
			return d, &Refused{ID: id, Action: ActionRetry, From: it.DocStatus,
				Why: "its content is no longer kept (database.message_log_retention pruned it); send it again from the AIS"}
		}
		why := fmt.Sprintf("after %d attempts; last error: %s", it.Attempts, it.LastError)
		if class(it.DocStatus) == StateNotFound {
			why = "the recipient reported DS_NOT_FOUND"
		}
		d.Detail = withNote("queued again under the same DocumentGUID, "+why, note)
		err = update(ctx, q, it, `state = ?, doc_status = ?, attempts = 0, next_attempt_at = ?, last_error = '', status_asks = 0,
			status_next_at = '', updated_at = ?`, Queued, string(StateQueued), store.FormatTime(now), store.FormatTime(now))
	default:
		return d, &Refused{ID: id, Action: ActionRetry, From: it.DocStatus, Why: notAllowed(it, ActionRetry)}
	}
	if err != nil {
		return d, err
	}
	return d, AddEvent(ctx, q, id, "manual_retry", d.Detail, now)
}

// Cancel stops a queued or failed document from being sent; its record and
// history stay. A document its recipient acknowledged cannot be cancelled.
func Cancel(ctx context.Context, q Full, id int64, note string, now time.Time) (Done, error) {
	it, d, err := forAction(ctx, q, id, ActionCancel, StateCancelled)
	if err != nil {
		return d, err
	}
	switch d.Verdict = Decide(it.DocStatus, StateCancelled); d.Verdict {
	case Repeated:
		d.Detail = "cancelled already"
		return d, nil
	case Applied:
		d.Detail = withNote(fmt.Sprintf("cancelled after %d attempts", it.Attempts), note)
		if err := update(ctx, q, it, `state = ?, doc_status = ?, updated_at = ?`, Cancelled, string(StateCancelled), store.FormatTime(now)); err != nil {
			return d, err
		}
		return d, AddEvent(ctx, q, id, "manual_cancel", d.Detail, now)
	}
	return d, &Refused{ID: id, Action: ActionCancel, From: it.DocStatus, Why: notAllowed(it, ActionCancel)}
}

// RetryPeer makes every delivery to peer that waits for a later attempt
// due now — documents, status notifications and questions alike — for
// when a participant that was down is back before the protocol's schedule
// (up to 128 h) would try it again. Each goes through the table as a
// repeat of its queued state.
func RetryPeer(ctx context.Context, q Full, peer, note string, now time.Time) ([]Done, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+listColumns+` FROM outbox WHERE recipient_guid_key = ? AND state = ? AND next_attempt_at > ? ORDER BY id`,
		seos.CanonicalGUID(peer), Queued, store.FormatTime(now))
	if err != nil {
		return nil, fmt.Errorf("outbox: retry %s: %w", peer, err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return nil, fmt.Errorf("outbox: retry %s: %w", peer, err)
	}
	var done []Done
	for _, it := range items {
		d := Done{ID: it.ID, Peer: it.RecipientGUID, Document: it.DocumentGUID, Action: ActionRetryPeer, From: it.DocStatus, To: it.DocStatus,
			Verdict: Decide(it.DocStatus, StateQueued)}
		if d.Verdict != Repeated {
			continue // not waiting for an attempt after all
		}
		d.Detail = withNote(fmt.Sprintf("every delivery to %s made due now (was due at %s; %d attempts so far)", peer,
			it.NextAttemptAt.UTC().Format(time.RFC3339), it.Attempts), note)
		if err := update(ctx, q, it, `next_attempt_at = ?, updated_at = ?`, store.FormatTime(now), store.FormatTime(now)); errors.Is(err, ErrInFlight) {
			continue // claimed meanwhile: it is being tried now anyway
		} else if err != nil {
			return done, err
		}
		if err := AddEvent(ctx, q, it.ID, "manual_retry", d.Detail, now); err != nil {
			return done, err
		}
		done = append(done, d)
	}
	return done, nil
}

// forAction reads a registration item for an operator's action a, which
// would take it to state to.
func forAction(ctx context.Context, q Full, id int64, a Action, to State) (*Item, Done, error) {
	d := Done{ID: id, Action: a, To: to}
	it, err := Get(ctx, q, id)
	switch {
	case err != nil:
		return nil, d, err
	case it.Kind != KindRegistration:
		return nil, d, ErrNotDocument
	}
	d.Peer, d.Document, d.From = it.RecipientGUID, it.DocumentGUID, it.DocStatus
	if it.State == Sending {
		return nil, d, ErrInFlight
	}
	return it, d, nil
}

// update changes an item that is still in the delivery state it was read
// in: a deliverer that claimed it meanwhile wins, and the action reports
// ErrInFlight.
func update(ctx context.Context, q Full, it *Item, set string, args ...any) error {
	res, err := q.ExecContext(ctx, `UPDATE outbox SET `+set+` WHERE id = ? AND state = ?`, append(args, it.ID, it.State)...)
	if err != nil {
		return fmt.Errorf("outbox: update %d: %w", it.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("outbox: update %d: %w", it.ID, err)
	} else if n == 0 {
		return ErrInFlight
	}
	return nil
}

// notAllowed says why the table refuses an action, in the operator's terms.
func notAllowed(it *Item, a Action) string {
	switch {
	case it.State == Delivered && a == ActionCancel:
		return fmt.Sprintf("it was delivered already (the recipient reported %s); a delivered document cannot be taken back", it.DocStatus)
	case it.State == Delivered:
		return fmt.Sprintf("it was delivered already (the recipient reported %s); retry is for failed or queued documents", it.DocStatus)
	case it.State == Cancelled:
		return "it was cancelled; send it again from the AIS if it should go after all"
	}
	return fmt.Sprintf("not allowed in state %s", it.DocStatus)
}

func withNote(detail, note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return detail + " — " + note
	}
	return detail
}

// Filter selects items for List; empty fields select everything.
type Filter struct {
	Kind      Kind
	Peer      string     // recipient GUID
	Delivery  []Delivery // any of these delivery states
	DocStatus []State    // any of these document states
	Attempted *bool      // tried at least once, or not yet
	// Mail selects documents sent by e-mail, whose state is their mail's
	// (gateway/mail/mailq): SQL giving the mail ids wanted. With a state
	// filter the states above select only documents sent over SEOS, and
	// an e-mail document is listed when Mail selects it.
	Mail     *Subquery
	OnlyMail bool  // no document sent over SEOS
	Before   int64 // only ids below this (the next page); 0 = from the newest
	Limit    int   // at most this many, newest first (default 100)
}

// Subquery is SQL selecting one column, with its arguments.
type Subquery struct {
	Query string
	Args  []any
}

// listColumns are itemColumns without the request (a document with its
// attachments), which a listing does not need.
var listColumns = strings.Replace(itemColumns, "request_json", "'{}'", 1)

// List returns the items f selects, newest first, without their requests.
func List(ctx context.Context, q Full, f Filter) ([]*Item, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if f.Kind != "" {
		in("kind", []string{string(f.Kind)})
	}
	if f.Peer != "" {
		in("recipient_guid_key", []string{seos.CanonicalGUID(f.Peer)})
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	common, commonArgs := where, args
	where, args = nil, nil
	var ds, st []string
	for _, d := range f.Delivery {
		ds = append(ds, string(d))
	}
	for _, s := range f.DocStatus {
		st = append(st, string(s))
	}
	in("state", ds)
	in("doc_status", st)
	if f.Attempted != nil {
		if *f.Attempted {
			where = append(where, "attempts > 0")
		} else {
			where = append(where, "attempts = 0")
		}
	}
	if len(where) > 0 || f.Mail != nil || f.OnlyMail {
		bySEOS := strings.Join(append([]string{"mail_id = 0"}, where...), " AND ")
		if f.OnlyMail {
			bySEOS = "0"
		}
		byMail := "0"
		if f.Mail != nil {
			byMail = "mail_id != 0 AND mail_id IN (" + f.Mail.Query + ")"
			args = append(args, f.Mail.Args...)
		}
		where = []string{"((" + bySEOS + ") OR (" + byMail + "))"}
	}
	where, args = append(common, where...), append(commonArgs, args...)
	query := `SELECT ` + listColumns + ` FROM outbox`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	return scanItems(rows)
}

// Counts is what the outbox holds that an operator watches.
type Counts struct {
	Failed   int // documents given up on (an Error reply, or attempts used up)
	Retrying int // documents waiting for another attempt after a failed one
	Queued   int // documents not tried yet
}

// Count counts the documents sent for registration by where they stand.
func Count(ctx context.Context, q Full) (Counts, error) {
	var c Counts
	err := q.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state IN (?, ?) AND attempts > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state IN (?, ?) AND attempts = 0 THEN 1 ELSE 0 END), 0)
		FROM outbox WHERE kind = ?`, Failed, Queued, Sending, Queued, Sending, KindRegistration).Scan(&c.Failed, &c.Retrying, &c.Queued)
	if err != nil {
		return c, fmt.Errorf("outbox: count: %w", err)
	}
	return c, nil
}
