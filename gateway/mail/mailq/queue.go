// Package mailq is the mail channel's durable outgoing queue and its
// sender: signed mails wait in the mail_outbox table, byte for byte, and go
// to the organisation's submission server with retries on a backoff
// schedule; a 5xx answer fails them for good. Delivery is at least once: a
// mail is sent twice only when the process dies between the server's 250
// and the commit that records it, and both copies carry one Message-ID.
package mailq

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/store"
)

// States of a queued mail.
const (
	Queued  = "queued"  // waiting for its next attempt
	Sending = "sending" // an attempt is in flight
	Sent    = "sent"    // the submission server took it (250 after DATA)
	Failed  = "failed"  // refused for good (5xx) or retried past the give-up age
	// Cancelled: the operator stopped it before it was sent.
	Cancelled = "cancelled"
)

// Message is one mail to send.
type Message struct {
	Kind      string // receipt, refusal, document
	Ref       string // what it answers, for the caller (e.g. an inbox item id)
	From      string // envelope sender (MAIL FROM)
	To        string // envelope recipient (RCPT TO)
	MessageID string
	Body      []byte // the whole message, header and body, CRLF line ends
	// BodyFile names the message in the file store instead of Body (a
	// large mail); the queue's row keeps it from the store's sweep
	// (FileRefs) until retention prunes the body.
	BodyFile string
	Size     int64 // of the message, wherever it is
}

// Item is a queued mail and how its sending went.
type Item struct {
	ID int64
	Message
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SentAt        time.Time
	// RoundAt is when the operator's retry began this round of attempts
	// (zero: the first round, from CreatedAt); the give-up age counts from it.
	RoundAt time.Time
}

// Querier is a *sql.DB or *sql.Tx, so a mail can be queued in the same
// transaction as what causes it (a registration, a refusal).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrNotFound is an id the queue does not hold.
var ErrNotFound = errors.New("mailq: no such mail")

// Enqueue stores m, due now. With an idempotency key already taken it
// returns the existing mail's id and created=false, so a retried caller
// does not queue a second copy.
func Enqueue(ctx context.Context, q Querier, m *Message, idemKey string, now time.Time) (id int64, created bool, err error) {
	if m.From == "" || m.To == "" || len(m.Body) == 0 && m.BodyFile == "" {
		return 0, false, errors.New("mailq: a mail needs an envelope sender, a recipient and a body")
	}
	if strings.ContainsAny(m.From+m.To, "\r\n<>") {
		return 0, false, fmt.Errorf("mailq: envelope address %q / %q holds a line break or angle bracket", m.From, m.To)
	}
	if idemKey != "" {
		err := q.QueryRowContext(ctx, `SELECT id FROM mail_outbox WHERE idempotency_key = ?`, idemKey).Scan(&id)
		if err == nil {
			return id, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, false, fmt.Errorf("mailq: idempotency lookup: %w", err)
		}
	}
	var key any
	if idemKey != "" {
		key = idemKey
	}
	ts := store.FormatTime(now)
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	res, err := q.ExecContext(ctx, `INSERT INTO mail_outbox (idempotency_key, kind, ref, mail_from, rcpt_to, message_id, body, body_file, state,
		next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		key, m.Kind, m.Ref, m.From, m.To, m.MessageID, body, m.BodyFile, Queued, ts, ts, ts)
	if err != nil {
		return 0, false, fmt.Errorf("mailq: enqueue: %w", err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, false, fmt.Errorf("mailq: enqueue: %w", err)
	}
	return id, true, nil
}

const itemColumns = `id, kind, ref, mail_from, rcpt_to, message_id, body, body_file, state, attempts, next_attempt_at, last_error, created_at, updated_at, sent_at, round_at`

type scanner interface{ Scan(...any) error }

func scanItem(s scanner) (*Item, error) {
	var it Item
	var next, created, updated, sent, round string
	if err := s.Scan(&it.ID, &it.Kind, &it.Ref, &it.From, &it.To, &it.MessageID, &it.Body, &it.BodyFile, &it.State, &it.Attempts,
		&next, &it.LastError, &created, &updated, &sent, &round); err != nil {
		return nil, err
	}
	var errs [5]error
	if round != "" {
		it.RoundAt, errs[4] = store.ParseTime(round)
	}
	it.NextAttemptAt, errs[0] = store.ParseTime(next)
	it.CreatedAt, errs[1] = store.ParseTime(created)
	it.UpdatedAt, errs[2] = store.ParseTime(updated)
	if sent != "" {
		it.SentAt, errs[3] = store.ParseTime(sent)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("mailq: mail %d: %w", it.ID, err)
	}
	return &it, nil
}

// Get returns a queued mail.
func Get(ctx context.Context, q Querier, id int64) (*Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM mail_outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

// Depth counts the mails in each state.
func Depth(ctx context.Context, db *sql.DB) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT state, COUNT(*) FROM mail_outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("mailq: depth: %w", err)
	}
	defer rows.Close()
	out := map[string]int{Queued: 0, Sending: 0, Sent: 0, Failed: 0, Cancelled: 0}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// claim marks up to limit due mails as sending and returns them. The
// attempt is counted before it is made, so one a crash cut short counts.
func claim(ctx context.Context, db *sql.DB, now time.Time, limit int) ([]*Item, error) {
	var items []*Item
	err := store.InTx(ctx, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+itemColumns+` FROM mail_outbox WHERE state = ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, Queued, store.FormatTime(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, it := range items {
			it.Attempts++
			it.State = Sending
			if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, attempts = ?, updated_at = ? WHERE id = ?`,
				Sending, it.Attempts, store.FormatTime(now), it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailq: claim: %w", err)
	}
	return items, nil
}

// recoverStale puts mails left "sending" since before staleBefore back in
// the queue, due now: those a crash interrupted (at start every one is).
func recoverStale(ctx context.Context, db *sql.DB, now, staleBefore time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, next_attempt_at = ?, updated_at = ? WHERE state = ? AND updated_at <= ?`,
		Queued, store.FormatTime(now), store.FormatTime(now), Sending, store.FormatTime(staleBefore))
	if err != nil {
		return 0, fmt.Errorf("mailq: recover: %w", err)
	}
	return res.RowsAffected()
}

// record stores an attempt's outcome: sent, failed for good, or queued
// again for retryAt.
func record(ctx context.Context, db *sql.DB, id int64, state string, retryAt time.Time, lastErr string, now time.Time) error {
	ts := store.FormatTime(now)
	sent := ""
	if state == Sent {
		sent = ts
	}
	next := ts
	if state == Queued {
		next = store.FormatTime(retryAt)
	}
	_, err := db.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, next_attempt_at = ?, last_error = ?, updated_at = ?, sent_at = ? WHERE id = ?`,
		state, next, lastErr, ts, sent, id)
	if err != nil {
		return fmt.Errorf("mailq: record mail %d: %w", id, err)
	}
	return nil
}

// nextDue is when the earliest queued mail is due (zero when none).
func nextDue(ctx context.Context, db *sql.DB) (time.Time, error) {
	var s sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = ?`, Queued).Scan(&s); err != nil {
		return time.Time{}, err
	}
	if !s.Valid {
		return time.Time{}, nil
	}
	return store.ParseTime(s.String)
}

// PruneBodies empties the bodies of mails sent or failed before `before`
// (the retention period): the row stays, saying what went where and when.
// A body in the file store is no longer named, so the sweep that follows
// the retention pass removes its file (unless another row names it).
func PruneBodies(ctx context.Context, db *sql.DB, before time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE mail_outbox SET body = x'', body_file = '' WHERE state IN (?, ?, ?) AND updated_at < ? AND (length(body) > 0 OR body_file != '')`,
		Sent, Failed, Cancelled, store.FormatTime(before))
	if err != nil {
		return 0, fmt.Errorf("mailq: prune bodies: %w", err)
	}
	return res.RowsAffected()
}

// FileRefs adds the files queued mails are in (Message.BodyFile), for the
// file store's sweep: a mail's file stays while its row names it.
func FileRefs(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, refs map[string]bool) error {
	if err := store.CollectFiles(ctx, q, `SELECT body_file FROM mail_outbox WHERE body_file != ''`, refs); err != nil {
		return fmt.Errorf("mailq: files: %w", err)
	}
	return nil
}
