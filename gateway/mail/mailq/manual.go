package mailq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seosgw/seosgw/gateway/store"
)

// The operator's hand on queued mail, as on the SEOS outbox: send a failed
// one again, make a waiting one due now, or cancel one not yet sent.

// ErrInFlight is an action on a mail whose attempt is on its way: it would
// race the attempt's outcome.
var ErrInFlight = errors.New("mailq: an attempt to send it is under way; try again when it has ended")

// Refused is an action the mail's state does not allow; Why says so in the
// operator's terms.
type Refused struct {
	ID     int64
	Action string // retry, cancel
	From   string // the mail's state
	Why    string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("mailq: cannot %s mail %d: %s", e.Action, e.ID, e.Why)
}

// Change is what an action did: the state before and after, and a line
// for the history. Repeated is a retry of a mail already waiting (made due
// now) or a cancel of a cancelled one.
type Change struct {
	From, To string
	Repeated bool
	Detail   string
}

// Retry sends a mail again: a failed one is queued with a new round of
// attempts (the give-up age counting from now), a queued one is made due
// now (its attempts so far still count).
func Retry(ctx context.Context, q Querier, id int64, now time.Time) (Change, error) {
	it, err := forAction(ctx, q, id)
	if err != nil {
		return Change{}, err
	}
	ts := store.FormatTime(now)
	c := Change{From: it.State, To: Queued}
	switch it.State {
	case Queued:
		c.Repeated = true
		c.Detail = fmt.Sprintf("made due now (was due at %s; %d attempts so far)", it.NextAttemptAt.UTC().Format(time.RFC3339), it.Attempts)
		err = update(ctx, q, it, `next_attempt_at = ?, updated_at = ?`, ts, ts)
	case Failed:
		if len(it.Body) == 0 && it.BodyFile == "" {
			return c, &Refused{ID: id, Action: "retry", From: it.State, Why: "its content is no longer kept (the retention period pruned it); send it again from the AIS"}
		}
		c.Detail = fmt.Sprintf("queued again after %d attempts; last error: %s", it.Attempts, it.LastError)
		err = update(ctx, q, it, `state = ?, attempts = 0, next_attempt_at = ?, last_error = '', round_at = ?, updated_at = ?`, Queued, ts, ts, ts)
	case Sent:
		return c, &Refused{ID: id, Action: "retry", From: it.State, Why: "the submission server took it already; a sent mail is not sent twice"}
	default:
		return c, &Refused{ID: id, Action: "retry", From: it.State, Why: "it was cancelled; send it again from the AIS if it should go after all"}
	}
	return c, err
}

// Cancel stops a queued or failed mail from being sent; its row stays.
func Cancel(ctx context.Context, q Querier, id int64, now time.Time) (Change, error) {
	it, err := forAction(ctx, q, id)
	if err != nil {
		return Change{}, err
	}
	c := Change{From: it.State, To: Cancelled}
	switch it.State {
	case Cancelled:
		c.Repeated, c.Detail = true, "cancelled already"
		return c, nil
	case Queued, Failed:
		c.Detail = fmt.Sprintf("cancelled after %d attempts", it.Attempts)
		ts := store.FormatTime(now)
		return c, update(ctx, q, it, `state = ?, updated_at = ?`, Cancelled, ts)
	}
	return c, &Refused{ID: id, Action: "cancel", From: it.State, Why: "the submission server took it already; a sent mail cannot be taken back"}
}

func forAction(ctx context.Context, q Querier, id int64) (*Item, error) {
	it, err := Get(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if it.State == Sending {
		return nil, ErrInFlight
	}
	return it, nil
}

// update changes a mail still in the state it was read in: a sender that
// claimed it meanwhile wins, and the action reports ErrInFlight.
func update(ctx context.Context, q Querier, it *Item, set string, args ...any) error {
	res, err := q.ExecContext(ctx, `UPDATE mail_outbox SET `+set+` WHERE id = ? AND state = ?`, append(args, it.ID, it.State)...)
	if err != nil {
		return fmt.Errorf("mailq: update %d: %w", it.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mailq: update %d: %w", it.ID, err)
	} else if n == 0 {
		return ErrInFlight
	}
	return nil
}

// StateQuery is SQL selecting the ids of mails in a public state of a
// document sent by e-mail — queued (not tried yet), sending (tried, to be
// tried again), sent, failed, cancelled — for the outbox's listing to
// filter by; ok is false for a state no mail is ever in.
func StateQuery(state string) (query string, args []any, ok bool) {
	const sel = `SELECT id FROM mail_outbox WHERE `
	switch state {
	case "queued":
		return sel + `state = ? AND attempts = 0`, []any{Queued}, true
	case "sending":
		return sel + `state IN (?, ?) AND attempts > 0`, []any{Queued, Sending}, true
	case Sent, Failed, Cancelled:
		return sel + `state = ?`, []any{state}, true
	}
	return "", nil, false
}

// PublicState is where a mail stands in those terms.
func PublicState(it *Item) string {
	switch {
	case it.State == Queued && it.Attempts == 0:
		return "queued"
	case it.State == Queued || it.State == Sending:
		return "sending"
	}
	return it.State
}
