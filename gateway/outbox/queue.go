package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// Entry is a message to queue.
type Entry struct {
	Kind      Kind
	Recipient string // the recipient's participant GUID
	Document  string // the DocumentGUID the message is about
	InboxID   int64  // the received document a status notification reports on
	Request   *Request
	// Key is the idempotency key ("" for none); Hash names the request
	// asked under it (see ByKey).
	Key, Hash string
	// Files are the file store's files the request's attachments are in.
	Files []string
	// MailID is the mail_outbox mail of a registration sent by e-mail
	// (Recipient is then the address): the mail queue sends it, so the
	// item is handed over (Delivered) at once and never claimed here.
	MailID int64
}

// ErrUnsendable is a status notification that cannot form a valid SEOS
// message.
var ErrUnsendable = errors.New("outbox: the notification cannot form a valid SEOS message")

// EnqueueStatus queues a status notification about a document we received
// (inboxID) to its sender. It builds the message once first, as delivery
// will: what is queued must be sendable, or the sender would never learn
// what we did (ErrUnsendable, nothing queued).
func EnqueueStatus(ctx context.Context, q Full, self, sender seos.Entity, inboxID int64, resp *seos.StatusResponse, now time.Time) (int64, error) {
	probe := seos.NewMessage(self, sender, now, seos.Body{StatusResponse: resp})
	if _, err := probe.Document(); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrUnsendable, resp.Status, err)
	}
	id, _, err := Enqueue(ctx, q, Entry{Kind: KindStatus, Recipient: sender.GUID, Document: resp.DocID.GUID, InboxID: inboxID,
		Request: &Request{Status: resp}}, now)
	return id, err
}

// Enqueue stores a message to send, due now. With an idempotency key that
// is already taken it returns the existing item's id and created=false, or
// a *KeyConflict when the key was taken by a different request.
func Enqueue(ctx context.Context, q Full, e Entry, now time.Time) (int64, bool, error) {
	if e.Key != "" {
		if k, ok, err := ByKey(ctx, q, e.Key, e.Hash); err != nil || ok {
			return k.ID, false, err
		}
	}
	body, err := json.Marshal(e.Request)
	if err != nil {
		return 0, false, fmt.Errorf("outbox: encode request: %w", err)
	}
	var key, inbox any
	if e.Key != "" {
		key = e.Key
	}
	if e.InboxID != 0 {
		inbox = e.InboxID
	}
	ts := store.FormatTime(now)
	state, docStatus, what := Queued, StateNone, string(e.Kind)+" to "+e.Recipient
	if e.Kind == KindRegistration {
		docStatus = StateQueued
	}
	if e.MailID != 0 {
		if e.Kind != KindRegistration {
			return 0, false, fmt.Errorf("outbox: only a registration goes by e-mail, not %s", e.Kind)
		}
		state, docStatus, what = Delivered, StateNone, fmt.Sprintf("by e-mail to %s (mail %d)", e.Recipient, e.MailID)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO outbox (kind, idempotency_key, recipient_guid_key, recipient_guid, document_guid_key, document_guid,
		inbox_id, request_json, state, next_attempt_at, created_at, updated_at, doc_status, request_hash, mail_id, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Kind, key, seos.CanonicalGUID(e.Recipient), e.Recipient, seos.CanonicalGUID(e.Document), e.Document, inbox, string(body),
		state, ts, ts, ts, docStatus, e.Hash, e.MailID, strings.Join(e.Files, " "))
	if err != nil {
		return 0, false, fmt.Errorf("outbox: enqueue: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, false, fmt.Errorf("outbox: enqueue: %w", err)
	}
	return id, true, AddEvent(ctx, q, id, "queued", what, now)
}

// Keyed is an item found by its idempotency key or its document.
type Keyed struct {
	ID           int64
	DocumentGUID string
}

// KeyConflict is an idempotency key that already queued a different
// request: answering with the first item would silently drop the second.
type KeyConflict struct{ Keyed }

func (e *KeyConflict) Error() string {
	return fmt.Sprintf("outbox: the idempotency key already queued a different request (item %d, document %s)", e.ID, e.DocumentGUID)
}

// ByKey is the one idempotency lookup: the item queued under key, if any.
// hash names what is asked now (the request in canonical form); an item
// queued for a different request is a *KeyConflict. An item queued before
// requests were hashed has no hash and is taken as the same, as is any
// item when the caller cannot say (hash "": a spool drop claimed by an
// older version, whose files have moved on).
func ByKey(ctx context.Context, q Querier, key, hash string) (Keyed, bool, error) {
	var k Keyed
	var stored string
	err := q.QueryRowContext(ctx, `SELECT id, document_guid, request_hash FROM outbox WHERE idempotency_key = ?`, key).Scan(&k.ID, &k.DocumentGUID, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return Keyed{}, false, nil
	}
	if err != nil {
		return Keyed{}, false, fmt.Errorf("outbox: idempotency lookup: %w", err)
	}
	if stored != "" && hash != "" && stored != hash {
		return Keyed{}, false, &KeyConflict{k}
	}
	return k, true, nil
}

// FindRegistration returns the first registration request of a document
// queued to a recipient: a DocumentGUID names one document across the
// exchange, so a second request for it to the same recipient is a repeat.
func FindRegistration(ctx context.Context, q Querier, recipientGUID, documentGUID string) (Keyed, bool, error) {
	var k Keyed
	err := q.QueryRowContext(ctx, `SELECT id, document_guid FROM outbox WHERE kind = ? AND recipient_guid_key = ? AND document_guid_key = ? ORDER BY id LIMIT 1`,
		KindRegistration, seos.CanonicalGUID(recipientGUID), seos.CanonicalGUID(documentGUID)).Scan(&k.ID, &k.DocumentGUID)
	if errors.Is(err, sql.ErrNoRows) {
		return Keyed{}, false, nil
	}
	if err != nil {
		return Keyed{}, false, fmt.Errorf("outbox: look up document %s: %w", documentGUID, err)
	}
	return k, true, nil
}

const itemColumns = `id, kind, COALESCE(idempotency_key, ''), recipient_guid, document_guid, COALESCE(inbox_id, 0), state, attempts,
	next_attempt_at, last_error, last_message_guid, created_at, updated_at, doc_status, peer_number, peer_date, peer_uri_json,
	rejection_reason, expect_close, status_asked_at, status_asks, status_next_at, request_json, receipt, mail_id`

type scanner interface{ Scan(...any) error }

// scanItems reads the items of rows and closes them.
func scanItems(rows *sql.Rows) ([]*Item, error) {
	defer rows.Close()
	var out []*Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

func scanItem(s scanner) (*Item, error) {
	var it Item
	var next, created, updated, asked, askNext, uri, req string
	if err := s.Scan(&it.ID, &it.Kind, &it.IdempotencyKey, &it.RecipientGUID, &it.DocumentGUID, &it.InboxID, &it.State, &it.Attempts,
		&next, &it.LastError, &it.LastMessageGUID, &created, &updated, &it.DocStatus, &it.PeerNumber, &it.PeerDate, &uri,
		&it.RejectionReason, &it.ExpectClose, &asked, &it.StatusAsks, &askNext, &req, &it.Receipt, &it.MailID); err != nil {
		return nil, err
	}
	var errs [5]error
	it.NextAttemptAt, errs[0] = store.ParseTime(next)
	it.CreatedAt, errs[1] = store.ParseTime(created)
	it.UpdatedAt, errs[2] = store.ParseTime(updated)
	if asked != "" {
		it.StatusAskedAt, errs[3] = store.ParseTime(asked)
	}
	if askNext != "" {
		it.StatusNextAt, errs[4] = store.ParseTime(askNext)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("outbox: item %d: %w", it.ID, err)
	}
	if uri != "" {
		it.PeerURI = &seos.DocumentURI{}
		if err := json.Unmarshal([]byte(uri), it.PeerURI); err != nil {
			return nil, fmt.Errorf("outbox: item %d: %w", it.ID, err)
		}
	}
	it.Request = &Request{}
	if err := json.Unmarshal([]byte(req), it.Request); err != nil {
		return nil, fmt.Errorf("outbox: item %d request: %w", it.ID, err)
	}
	return &it, nil
}

// Get returns an item with its request.
func Get(ctx context.Context, q Full, id int64) (*Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

// Events returns an item's history, oldest first.
func Events(ctx context.Context, q Full, id int64) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, event, detail FROM outbox_events WHERE outbox_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&at, &e.Event, &e.Detail); err != nil {
			return nil, err
		}
		if e.At, err = store.ParseTime(at); err != nil {
			return nil, fmt.Errorf("outbox: event of %d: %w", id, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Claim marks up to limit due items as sending and returns them; an item is
// claimed by one deliverer only. Attempts are counted here, before the
// attempt, so a crash mid-attempt still uses up one.
func Claim(ctx context.Context, db *sql.DB, now time.Time, limit int) ([]*Item, error) {
	return ClaimFair(ctx, db, now, limit, 0, nil)
}

// ClaimFair is Claim with at most perPeer items in flight to one
// recipient, counting busy (items in flight already, by CanonicalGUID of
// the recipient); perPeer 0 is no such limit. A recipient that hangs then
// holds at most perPeer workers, and the others deliver meanwhile.
func ClaimFair(ctx context.Context, db *sql.DB, now time.Time, limit, perPeer int, busy map[string]int) ([]*Item, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids, err := dueIDs(ctx, tx, now, limit, perPeer, busy)
	if err != nil {
		return nil, err
	}
	items := make([]*Item, 0, len(ids))
	for _, id := range ids {
		it, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM outbox WHERE id = ?`, id))
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	for _, it := range items {
		it.Attempts++
		it.State = Sending
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = ?, updated_at = ? WHERE id = ?`,
			Sending, it.Attempts, store.FormatTime(now), it.ID); err != nil {
			return nil, err
		}
	}
	return items, tx.Commit()
}

// dueIDs picks the due items, oldest first, at most limit in all and at
// most perPeer per recipient with busy counted. The window keeps the rows
// read to perPeer per recipient, however many a hanging one has queued.
func dueIDs(ctx context.Context, tx *sql.Tx, now time.Time, limit, perPeer int, busy map[string]int) ([]int64, error) {
	query, args := `SELECT id, recipient_guid_key FROM outbox WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
		[]any{Queued, store.FormatTime(now), limit}
	if perPeer > 0 {
		query = `SELECT id, recipient_guid_key FROM (
			SELECT id, recipient_guid_key, next_attempt_at,
				ROW_NUMBER() OVER (PARTITION BY recipient_guid_key ORDER BY next_attempt_at, id) AS n
			FROM outbox WHERE state = ? AND next_attempt_at <= ?) due
			WHERE n <= ? ORDER BY next_attempt_at, id`
		args = []any{Queued, store.FormatTime(now), perPeer}
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	taken := map[string]int{}
	var ids []int64
	for rows.Next() && len(ids) < limit {
		var id int64
		var peer string
		if err := rows.Scan(&id, &peer); err != nil {
			return nil, err
		}
		if perPeer > 0 && busy[peer]+taken[peer] >= perPeer {
			continue
		}
		taken[peer]++
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Recover puts items left in "sending" since before staleBefore back in the
// queue, due now: those a crash interrupted (at start, staleBefore = now) and
// those whose attempt could not be recorded (every pass, staleBefore = now
// minus the longest attempt).
func Recover(ctx context.Context, db *sql.DB, now, staleBefore time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ?, updated_at = ? WHERE state = ? AND updated_at <= ?`,
		Queued, store.FormatTime(now), store.FormatTime(now), Sending, store.FormatTime(staleBefore))
	if err != nil {
		return 0, fmt.Errorf("outbox: recover: %w", err)
	}
	return res.RowsAffected()
}

// NextDue is when the earliest queued item is due (zero when none).
func NextDue(ctx context.Context, db *sql.DB) (time.Time, error) {
	var s sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM outbox WHERE state = ?`, Queued).Scan(&s); err != nil {
		return time.Time{}, err
	}
	if !s.Valid {
		return time.Time{}, nil
	}
	return store.ParseTime(s.String)
}

// Outcome of an attempt.
type Outcome struct {
	Delivered   bool
	Final       bool      // failed for good (an Error reply, or attempts exhausted)
	RetryAt     time.Time // when not delivered and not final
	MessageGUID string    // of the message the attempt sent
	DocStatus   string    // from the acknowledgement (registrations)
	Detail      string
}

// Record stores an attempt's outcome and its history line. A registration's
// state moves by the transition table: a waiting acknowledgement never
// overwrites a later status the recipient sent while the attempt was in
// flight, and a document the recipient has reported on is not turned back
// into "failed". Any other status in an acknowledgement is the caller's to
// ApplyStatus.
func Record(ctx context.Context, q Querier, it *Item, o Outcome, now time.Time) error {
	ts := store.FormatTime(now)
	var kind Kind
	var docStatus State
	if err := q.QueryRowContext(ctx, `SELECT kind, doc_status FROM outbox WHERE id = ?`, it.ID).Scan(&kind, &docStatus); err != nil {
		return fmt.Errorf("outbox: record attempt: %w", err)
	}
	move := func(to State) {
		if kind == KindRegistration && Decide(docStatus, to) == Applied {
			docStatus = to
		}
	}
	var err error
	switch {
	case o.Delivered:
		if to := State(o.DocStatus); to.Waiting() {
			move(to)
		}
		_, err = q.ExecContext(ctx, `UPDATE outbox SET state = ?, last_error = '', last_message_guid = ?, updated_at = ?, doc_status = ? WHERE id = ?`,
			Delivered, seos.CanonicalGUID(o.MessageGUID), ts, string(docStatus), it.ID)
		if err == nil {
			err = AddEvent(ctx, q, it.ID, "delivered", o.Detail, now)
		}
	case o.Final:
		move(StateFailed)
		_, err = q.ExecContext(ctx, `UPDATE outbox SET state = ?, last_error = ?, last_message_guid = CASE WHEN ? <> '' THEN ? ELSE last_message_guid END,
			updated_at = ?, doc_status = ? WHERE id = ?`,
			Failed, o.Detail, seos.CanonicalGUID(o.MessageGUID), seos.CanonicalGUID(o.MessageGUID), ts, string(docStatus), it.ID)
		if err == nil {
			err = AddEvent(ctx, q, it.ID, "failed", o.Detail, now)
		}
	default:
		_, err = q.ExecContext(ctx, `UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ?,
			last_message_guid = CASE WHEN ? <> '' THEN ? ELSE last_message_guid END, updated_at = ? WHERE id = ?`,
			Queued, o.Detail, store.FormatTime(o.RetryAt), seos.CanonicalGUID(o.MessageGUID), seos.CanonicalGUID(o.MessageGUID), ts, it.ID)
		if err == nil {
			err = AddEvent(ctx, q, it.ID, "retry", fmt.Sprintf("attempt %d: %s; next at %s", it.Attempts, o.Detail, o.RetryAt.UTC().Format(time.RFC3339)), now)
		}
	}
	if err != nil {
		return fmt.Errorf("outbox: record attempt: %w", err)
	}
	return nil
}

// Depths counts items by state, for metrics.
func Depths(ctx context.Context, db *sql.DB) (map[Delivery]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Delivery]int{Queued: 0, Sending: 0, Delivered: 0, Failed: 0, Cancelled: 0}
	for rows.Next() {
		var s Delivery
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// AwaitingStatus returns the delivered registrations due a status
// question at now: still waiting (or not found) at the recipient, first
// asked once they waited since firstBefore or earlier, then when their
// status_next_at comes; never while a question about them is still on its
// way, so one document is never asked about twice at once.
func AwaitingStatus(ctx context.Context, db *sql.DB, now, firstBefore time.Time) ([]*Item, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+itemColumns+` FROM outbox o WHERE kind = ? AND state = ? AND doc_status IN (?, ?, ?)
		AND ((status_next_at = '' AND updated_at <= ?) OR (status_next_at <> '' AND status_next_at <= ?))
		AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.kind = ? AND s.state IN (?, ?)
			AND s.recipient_guid_key = o.recipient_guid_key AND s.document_guid_key = o.document_guid_key)`,
		KindRegistration, Delivered, string(StateWaiting), string(StateAlreadyReceived), string(StateNotFound),
		store.FormatTime(firstBefore), store.FormatTime(now), KindStatusRequest, Queued, Sending)
	if err != nil {
		return nil, err
	}
	return scanItems(rows)
}

// MarkAsked records that a status request about item id is on its way and
// that the next may go at next.
func MarkAsked(ctx context.Context, q Querier, id int64, now, next time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE outbox SET status_asked_at = ?, status_asks = status_asks + 1, status_next_at = ? WHERE id = ?`,
		store.FormatTime(now), store.FormatTime(next), id)
	return err
}

// PruneRequests empties the stored requests (documents with inline
// attachments) of items delivered, failed or cancelled before `before`:
// the message log keeps what was sent, under its own retention.
func PruneRequests(ctx context.Context, db *sql.DB, before time.Time) (int64, error) {
	// The attachments' files go with the next sweep of the file store.
	res, err := db.ExecContext(ctx, `UPDATE outbox SET request_json = '{}', files = '' WHERE state IN (?, ?, ?) AND updated_at < ? AND request_json <> '{}'`,
		Delivered, Failed, Cancelled, store.FormatTime(before))
	if err != nil {
		return 0, fmt.Errorf("outbox: prune requests: %w", err)
	}
	return res.RowsAffected()
}

// FileRefs adds the files outgoing requests' attachments are in, for the
// file store's sweep.
func FileRefs(ctx context.Context, q Full, refs map[string]bool) error {
	if err := store.CollectFiles(ctx, q, `SELECT files FROM outbox WHERE files != ''`, refs); err != nil {
		return fmt.Errorf("outbox: files: %w", err)
	}
	return nil
}
