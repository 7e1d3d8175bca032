// Package audit is the record of what operators did through the console:
// every action (a retry, a cancel, a login) with who did it, in which
// role, to what, why, when and how it ended — a row in the database and a
// line in the log, so that neither alone has to be trusted.
package audit

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/seosgw/seosgw/gateway/store"
)

// Outcomes of an action.
const (
	OK      = "ok"      // it did what was asked
	Refused = "refused" // the rules refused it (state, role, CSRF)
	Failed  = "failed"  // it could not be carried out (an error of ours)
)

// Entry is one action.
type Entry struct {
	ID      int64
	At      time.Time
	Who     string // the console user
	Role    string
	Action  string // e.g. outbox.retry, outbox.cancel, login
	Target  string // e.g. outbox/42
	Note    string // the operator's note
	Outcome string // OK, Refused, Failed
	Detail  string // what happened, or why not
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Record writes e and logs it (log may be nil). The row is written first:
// an action the database cannot record is reported as an error.
func Record(ctx context.Context, q Querier, log *slog.Logger, e Entry) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO audit (at, who, role, action, target, note, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		store.FormatTime(e.At), e.Who, e.Role, e.Action, e.Target, e.Note, e.Outcome, e.Detail)
	if err != nil {
		return 0, fmt.Errorf("audit: record %s by %s: %w", e.Action, e.Who, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("audit: record %s by %s: %w", e.Action, e.Who, err)
	}
	if log != nil {
		level := slog.LevelInfo
		if e.Outcome != OK {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "operator action", "audit_id", id, "who", e.Who, "role", e.Role, "action", e.Action,
			"target", e.Target, "note", e.Note, "outcome", e.Outcome, "detail", e.Detail)
	}
	return id, nil
}

// Filter selects entries for List; zero fields select everything.
type Filter struct {
	Who    string
	Before int64 // only entries with a smaller id (the next page)
	Limit  int   // at most this many, newest first (default 50)
}

// List returns entries newest first.
func List(ctx context.Context, q Querier, f Filter) ([]Entry, error) {
	query := `SELECT id, at, who, role, action, target, note, outcome, detail FROM audit WHERE 1 = 1`
	var args []any
	if f.Who != "" {
		query += ` AND who = ?`
		args = append(args, f.Who)
	}
	if f.Before > 0 {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.Role, &e.Action, &e.Target, &e.Note, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		if e.At, err = store.ParseTime(at); err != nil {
			return nil, fmt.Errorf("audit: list: entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
