package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SyncState is where the register sync stands, as recorded in register_sync.
type SyncState struct {
	LastSuccess     time.Time // any successful sync
	LastFull        time.Time // last GetAllRecords applied
	LastIncremental time.Time // last GetNewRecords applied
	Cursor          string    // the register's LastChange, verbatim
	LastError       string    // the most recent failure; kept after recovery
	LastErrorAt     time.Time
	// ConsecutiveFailures is 0 once a sync succeeds again.
	ConsecutiveFailures int
	// NextAttempt is when the running loop tries next; zero outside Syncer.State.
	NextAttempt time.Time
	// FullSyncOverdue: a full sync (GetAllRecords) is due and failed since it
	// became due, so the copy is kept current with GetNewRecords only and does
	// not see removals. Set by Syncer.State, which knows register.full_sync.
	FullSyncOverdue bool
}

// fullSyncOverdue reads FullSyncOverdue from the recorded state alone, so
// that it holds whichever process ran the sync: a full sync was due at
// LastFull+fullSync and a sync failed at or after that moment (while a full
// sync is due, every pass tries GetAllRecords first). A copy never fully
// synced is not "overdue": its age says more.
func fullSyncOverdue(st SyncState, fullSync time.Duration, now time.Time) bool {
	if st.LastFull.IsZero() || st.LastErrorAt.IsZero() {
		return false
	}
	due := st.LastFull.Add(fullSync)
	return !now.Before(due) && !st.LastErrorAt.Before(due)
}

// State reads the sync state.
func (c *Cache) State(ctx context.Context) (SyncState, error) {
	var s SyncState
	var success, full, incr, errAt string
	err := c.db.QueryRowContext(ctx, `SELECT last_success_at, last_full_at, last_incremental_at, cursor, last_error, last_error_at, consecutive_failures
		FROM register_sync WHERE id = 1`).Scan(&success, &full, &incr, &s.Cursor, &s.LastError, &errAt, &s.ConsecutiveFailures)
	if errors.Is(err, sql.ErrNoRows) {
		err = errNoSyncRow
	}
	if err != nil {
		return s, fmt.Errorf("register cache: sync state: %w", err)
	}
	for _, f := range []struct {
		dst *time.Time
		s   string
	}{{&s.LastSuccess, success}, {&s.LastFull, full}, {&s.LastIncremental, incr}, {&s.LastErrorAt, errAt}} {
		if *f.dst, err = parseStamp(f.s); err != nil {
			return s, fmt.Errorf("register cache: sync state: %w", err)
		}
	}
	return s, nil
}

// RecordFailure notes a failed sync; the cache itself is left as it was.
func (c *Cache) RecordFailure(ctx context.Context, failure error) error {
	res, err := c.db.ExecContext(ctx, `UPDATE register_sync SET last_error = ?, last_error_at = ?,
		consecutive_failures = consecutive_failures + 1 WHERE id = 1`, failure.Error(), formatStamp(c.clk.Now()))
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = errNoSyncRow
		}
	}
	if err != nil {
		return fmt.Errorf("register cache: record sync failure: %w", err)
	}
	return nil
}

// Age is the time since the last successful sync; ok is false when the
// cache was never synced.
func (c *Cache) Age(ctx context.Context) (age time.Duration, ok bool, err error) {
	s, err := c.State(ctx)
	if err != nil || s.LastSuccess.IsZero() {
		return 0, false, err
	}
	return c.clk.Now().Sub(s.LastSuccess), true, nil
}

// Fresh returns nil when the last successful sync is at most staleAfter
// old, else an error saying how stale the copy is — for /readyz.
func (c *Cache) Fresh(ctx context.Context, staleAfter time.Duration) error {
	s, err := c.State(ctx)
	if err != nil {
		return err
	}
	if s.LastSuccess.IsZero() {
		return fmt.Errorf("register copy never synced%s", lastError(s))
	}
	if age := c.clk.Now().Sub(s.LastSuccess); age > staleAfter {
		return fmt.Errorf("register copy is stale: last successful sync %s ago at %s (register.stale_after %s)%s",
			age.Round(time.Second), s.LastSuccess.Format(time.RFC3339), staleAfter, lastError(s))
	}
	return nil
}

func lastError(s SyncState) string {
	if s.LastError == "" {
		return ""
	}
	return fmt.Sprintf("; %d failure(s) in a row, last: %s", s.ConsecutiveFailures, s.LastError)
}
