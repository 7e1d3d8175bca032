// Package msglog is the message log: every SEOS message in and out, kept as
// the exact bytes that crossed the wire beside what the gateway made of it,
// with a retention policy so that it cannot fill the disk.
package msglog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"strings"
	"time"
)

// Directions.
const (
	In  = "in"
	Out = "out"
)

// Entry is one logged message.
type Entry struct {
	ID           int64     `json:"id"`
	Direction    string    `json:"direction"`
	At           time.Time `json:"at"`
	PeerGUID     string    `json:"peerGuid,omitempty"`
	PeerSerial   string    `json:"peerSerial,omitempty"`
	MessageType  string    `json:"messageType,omitempty"`
	MessageGUID  string    `json:"messageGuid,omitempty"`
	DocumentGUID string    `json:"documentGuid,omitempty"`
	ReplyTo      int64     `json:"replyTo,omitempty"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Size         int       `json:"size"`
	Truncated    bool      `json:"truncated,omitempty"`
	Raw          []byte    `json:"-"`
}

// Execer is a *sql.DB or *sql.Tx, so entries join the caller's transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Insert writes e and returns its id.
func Insert(ctx context.Context, q Execer, e *Entry) (int64, error) {
	if e.Direction != In && e.Direction != Out {
		return 0, fmt.Errorf("msglog: direction %q", e.Direction)
	}
	var replyTo any
	if e.ReplyTo != 0 {
		replyTo = e.ReplyTo
	}
	raw := e.Raw
	if raw == nil {
		raw = []byte{}
	}
	res, err := q.ExecContext(ctx, `INSERT INTO message_log
		(direction, at, peer_guid, peer_serial, message_type, message_guid, document_guid, reply_to, outcome, reason, detail, size, truncated, raw)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Direction, store.FormatTime(e.At), seos.CanonicalGUID(e.PeerGUID), e.PeerSerial, e.MessageType,
		seos.CanonicalGUID(e.MessageGUID), seos.CanonicalGUID(e.DocumentGUID),
		replyTo, e.Outcome, e.Reason, e.Detail, e.Size, e.Truncated, raw)
	if err != nil {
		return 0, fmt.Errorf("msglog: insert: %w", err)
	}
	e.ID, err = res.LastInsertId()
	return e.ID, err
}

// Log reads the message log.
type Log struct{ DB *sql.DB }

// Filter selects entries; zero fields do not filter.
type Filter struct {
	Direction    string
	Peer         string // GUID, case-insensitive
	MessageType  string
	MessageGUID  string
	DocumentGUID string
	Outcome      string
	Since, Until time.Time
	Limit        int // default 100
}

const columns = `id, direction, at, peer_guid, peer_serial, message_type, message_guid, document_guid, COALESCE(reply_to, 0), outcome, reason, detail, size, truncated`

// List returns matching entries, newest first, without their raw bytes.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Direction != "" {
		add("direction = ?", f.Direction)
	}
	// GUID columns hold the canonical form (the raw bytes keep the
	// original), so these comparisons can use the indexes.
	if f.Peer != "" {
		add("peer_guid = ?", seos.CanonicalGUID(f.Peer))
	}
	if f.MessageType != "" {
		add("message_type = ?", f.MessageType)
	}
	if f.MessageGUID != "" {
		add("message_guid = ?", seos.CanonicalGUID(f.MessageGUID))
	}
	if f.DocumentGUID != "" {
		add("document_guid = ?", seos.CanonicalGUID(f.DocumentGUID))
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if !f.Since.IsZero() {
		add("at >= ?", store.FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", store.FormatTime(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := "SELECT " + columns + " FROM message_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	rows, err := l.DB.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("msglog: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// ErrNotFound is an id that is not in the log.
var ErrNotFound = errors.New("msglog: no such entry")

// Get returns one entry with its raw bytes.
func (l *Log) Get(ctx context.Context, id int64) (*Entry, error) {
	row := l.DB.QueryRowContext(ctx, "SELECT "+columns+", raw FROM message_log WHERE id = ?", id)
	var raw []byte
	e, err := scan(row, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	e.Raw = raw
	return e, nil
}

// ReplyTo returns our answer to the entry id (the first entry whose
// reply_to names it), with its raw bytes.
func (l *Log) ReplyTo(ctx context.Context, id int64) (*Entry, error) {
	var rid int64
	err := l.DB.QueryRowContext(ctx, `SELECT id FROM message_log WHERE reply_to = ? ORDER BY id LIMIT 1`, id).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return l.Get(ctx, rid)
}

type scanner interface{ Scan(...any) error }

func scan(s scanner, extra ...any) (*Entry, error) {
	var e Entry
	var at string
	dest := append([]any{&e.ID, &e.Direction, &at, &e.PeerGUID, &e.PeerSerial, &e.MessageType, &e.MessageGUID, &e.DocumentGUID,
		&e.ReplyTo, &e.Outcome, &e.Reason, &e.Detail, &e.Size, &e.Truncated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if e.At, err = store.ParseTime(at); err != nil {
		return nil, fmt.Errorf("msglog: entry %d: bad time %q", e.ID, at)
	}
	return &e, nil
}

// Prune drops the raw bytes of entries older than before and returns how
// many it emptied. The rows stay (documents refer to them); only their
// bytes go, so the log's size is bounded by the retention period.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.DB.ExecContext(ctx, `UPDATE message_log SET raw = x'', truncated = 1,
		detail = CASE WHEN detail = '' THEN 'raw bytes pruned by retention' ELSE detail || '; raw bytes pruned by retention' END
		WHERE at < ? AND length(raw) > 0`, store.FormatTime(before))
	if err != nil {
		return 0, fmt.Errorf("msglog: prune: %w", err)
	}
	return res.RowsAffected()
}

// SetOutcome records what became of a logged message after it was logged.
func SetOutcome(ctx context.Context, q Execer, id int64, outcome, reason, detail string) error {
	if _, err := q.ExecContext(ctx, `UPDATE message_log SET outcome = ?, reason = ?, detail = ? WHERE id = ?`, outcome, reason, detail, id); err != nil {
		return fmt.Errorf("msglog: set outcome of %d: %w", id, err)
	}
	return nil
}
