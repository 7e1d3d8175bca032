// Package msglog is the message log: every SEOS message in and out, kept as
// the exact bytes that crossed the wire beside what the gateway made of it,
// with a retention policy so that it cannot fill the disk.
package msglog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
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
	// The exact bytes are in Raw, or for large messages in the file of
	// the file store named RawFile (gateway/blob).
	Raw     []byte `json:"-"`
	RawFile string `json:"rawFile,omitempty"`
	// RawSHA256 is the hex SHA-256 of the exact bytes, kept when
	// retention dropped them (empty for a truncated prefix).
	RawSHA256 string `json:"rawSha256,omitempty"`
	// Seen marks an accepted inbound message: its MessageGUID is never
	// accepted again.
	Seen bool `json:"-"`
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
		(direction, at, peer_guid, peer_serial, message_type, message_guid, document_guid, reply_to, outcome, reason, detail, size, truncated, raw, raw_file, seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Direction, store.FormatTime(e.At), seos.CanonicalGUID(e.PeerGUID), e.PeerSerial, e.MessageType,
		seos.CanonicalGUID(e.MessageGUID), seos.CanonicalGUID(e.DocumentGUID),
		replyTo, e.Outcome, e.Reason, e.Detail, e.Size, e.Truncated, raw, e.RawFile, e.Seen)
	if err != nil {
		if e.Seen && store.IsUniqueViolation(err) {
			return 0, ErrSeen
		}
		return 0, fmt.Errorf("msglog: insert: %w", err)
	}
	e.ID, err = res.LastInsertId()
	return e.ID, err
}

// ErrSeen is an accepted message whose MessageGUID was accepted before
// (the seen mark is unique).
var ErrSeen = errors.New("msglog: a message with this MessageGUID was accepted before")

// Seen reports whether an inbound message with this MessageGUID was
// accepted before.
func Seen(ctx context.Context, q Querier, messageGUID string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM message_log WHERE message_guid = ? AND seen = 1`, seos.CanonicalGUID(messageGUID)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("msglog: look up message %s: %w", messageGUID, err)
	}
	return true, nil
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	Execer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// FileRefs adds the files the log refers to, for the file store's sweep.
func FileRefs(ctx context.Context, q Querier, refs map[string]bool) error {
	if err := store.CollectFiles(ctx, q, `SELECT raw_file FROM message_log WHERE raw_file != ''`, refs); err != nil {
		return fmt.Errorf("msglog: files: %w", err)
	}
	return nil
}

// Log reads the message log. Files is the file store large messages are
// in (nil: their bytes cannot be read).
type Log struct {
	DB    *sql.DB
	Files *blob.Store
}

// Filter selects entries; zero fields do not filter.
type Filter struct {
	Direction    string
	Peer         string // GUID, case-insensitive
	MessageType  string
	MessageGUID  string
	DocumentGUID string
	Outcome      string
	GUID         string // either the MessageGUID or the DocumentGUID
	Since, Until time.Time
	Before       int64 // only ids below this (the next page); 0 = from the newest
	Limit        int   // default 100
}

const columns = `id, direction, at, peer_guid, peer_serial, message_type, message_guid, document_guid, COALESCE(reply_to, 0), outcome, reason, detail, size, truncated, raw_sha256`

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
	if f.GUID != "" {
		g := seos.CanonicalGUID(f.GUID)
		where = append(where, "(message_guid = ? OR document_guid = ?)")
		args = append(args, g, g)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
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

// Count is how many messages went one way with one outcome.
type Count struct {
	Direction string
	Outcome   string
	N         int
}

// Counts counts the messages logged at or after since, by direction and
// outcome.
func (l *Log) Counts(ctx context.Context, since time.Time) ([]Count, error) {
	rows, err := l.DB.QueryContext(ctx, `SELECT direction, outcome, count(*) FROM message_log WHERE at >= ? GROUP BY direction, outcome ORDER BY direction, outcome`,
		store.FormatTime(since))
	if err != nil {
		return nil, fmt.Errorf("msglog: counts: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Direction, &c.Outcome, &c.N); err != nil {
			return nil, fmt.Errorf("msglog: counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastByPeer is when the log last saw a message to or from each peer (by
// canonical GUID).
func (l *Log) LastByPeer(ctx context.Context) (map[string]time.Time, error) {
	rows, err := l.DB.QueryContext(ctx, `SELECT peer_guid, MAX(at) FROM message_log WHERE peer_guid != '' GROUP BY peer_guid`)
	if err != nil {
		return nil, fmt.Errorf("msglog: last exchange: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var peer, at string
		if err := rows.Scan(&peer, &at); err != nil {
			return nil, fmt.Errorf("msglog: last exchange: %w", err)
		}
		t, err := store.ParseTime(at)
		if err != nil {
			return nil, fmt.Errorf("msglog: last exchange with %s: %w", peer, err)
		}
		out[peer] = t
	}
	return out, rows.Err()
}

// ErrNotFound is an id that is not in the log.
var ErrNotFound = errors.New("msglog: no such entry")

// Get returns one entry with its raw bytes when they are in the row (a
// large message's are in RawFile: OpenRaw reads them).
func (l *Log) Get(ctx context.Context, id int64) (*Entry, error) {
	row := l.DB.QueryRowContext(ctx, "SELECT "+columns+", raw, raw_file FROM message_log WHERE id = ?", id)
	var raw []byte
	var file string
	e, err := scan(row, &raw, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	e.Raw, e.RawFile = raw, file
	return e, nil
}

// OpenRaw reads an entry's exact bytes, from its row or its file.
func (l *Log) OpenRaw(e *Entry) (io.ReadCloser, error) {
	if e.RawFile == "" {
		return io.NopCloser(bytes.NewReader(e.Raw)), nil
	}
	if l.Files == nil {
		return nil, fmt.Errorf("msglog: entry %d is in file %s, and no file store is open", e.ID, e.RawFile)
	}
	return l.Files.Open(e.RawFile)
}

// RawBytes returns an entry's exact bytes in memory, from its row or its file.
func (l *Log) RawBytes(e *Entry) ([]byte, error) {
	if e.RawFile == "" {
		return e.Raw, nil
	}
	r, err := l.OpenRaw(e)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
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
		&e.ReplyTo, &e.Outcome, &e.Reason, &e.Detail, &e.Size, &e.Truncated, &e.RawSHA256}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if e.At, err = store.ParseTime(at); err != nil {
		return nil, fmt.Errorf("msglog: entry %d: bad time %q", e.ID, at)
	}
	return &e, nil
}

// Dropped is what DropRaw let go of.
type Dropped struct {
	Entries int64 // entries whose bytes went
	Bytes   int64 // the bytes they held, in their rows or their files
}

// dropBatch bounds the rows DropRaw reads (with their bytes) per transaction.
const dropBatch = 256

// DropRaw drops the exact bytes of entries older than before, in their
// rows and in the file store: the rows stay (documents refer to them) with
// their metadata and the bytes' SHA-256, so the log's size is bounded by
// the retention period and the record still says which bytes crossed the
// wire. A file goes with the file store's next sweep, once no row names it.
func (l *Log) DropRaw(ctx context.Context, before time.Time) (Dropped, error) {
	var d Dropped
	for {
		n, err := l.dropSome(ctx, before, &d)
		if err != nil {
			return d, fmt.Errorf("msglog: drop raw bytes: %w", err)
		}
		if n < dropBatch {
			return d, nil
		}
	}
}

func (l *Log) dropSome(ctx context.Context, before time.Time, d *Dropped) (int, error) {
	type victim struct {
		id        int64
		sum       string
		bytes     int64
		truncated bool
	}
	var vs []victim
	err := store.InTx(ctx, l.DB, func(tx *sql.Tx) error {
		vs = vs[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, raw, raw_file, size, truncated, raw_sha256 FROM message_log
			WHERE at < ? AND (length(raw) > 0 OR raw_file != '') ORDER BY id LIMIT ?`, store.FormatTime(before), dropBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v victim
			var raw []byte
			var file, sum string
			var size int64
			if err := rows.Scan(&v.id, &raw, &file, &size, &v.truncated, &sum); err != nil {
				rows.Close()
				return err
			}
			switch {
			case sum != "":
				v.sum = sum
			case file != "":
				v.sum = file // a file is named by its content's SHA-256
			case !v.truncated:
				h := sha256.Sum256(raw)
				v.sum = hex.EncodeToString(h[:])
			}
			if file != "" {
				v.bytes = size
			} else {
				v.bytes = int64(len(raw))
			}
			vs = append(vs, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, v := range vs {
			if _, err := tx.ExecContext(ctx, `UPDATE message_log SET raw = x'', raw_file = '', truncated = 1, raw_sha256 = ?,
				detail = CASE WHEN detail = '' THEN 'raw bytes pruned by retention' ELSE detail || '; raw bytes pruned by retention' END
				WHERE id = ?`, v.sum, v.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, v := range vs {
		d.Entries++
		d.Bytes += v.bytes
	}
	return len(vs), nil
}

// SetOutcome records what became of a logged message after it was logged.
func SetOutcome(ctx context.Context, q Execer, id int64, outcome, reason, detail string) error {
	if _, err := q.ExecContext(ctx, `UPDATE message_log SET outcome = ?, reason = ?, detail = ? WHERE id = ?`, outcome, reason, detail, id); err != nil {
		return fmt.Errorf("msglog: set outcome of %d: %w", id, err)
	}
	return nil
}
