// Package store opens seosgw's SQLite databases (pure Go, WAL, fsync on
// every commit) and brings their schema up to date with embedded
// golang-migrate migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	sqlitedrv "modernc.org/sqlite" // the "sqlite" database/sql driver, no cgo
	sqlite3 "modernc.org/sqlite/lib"
)

// Open opens (creating if needed) the SQLite file at path and applies the
// migrations in dir of fsys. synchronous=FULL makes every commit durable
// before it returns, which is what lets us acknowledge documents.
func Open(ctx context.Context, path string, fsys fs.FS, dir string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("store: database path is empty")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create folder for %s: %w", path, err)
	}
	if err := private(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// auto_vacuum takes effect only in a database without tables yet (a new
	// one), and lets retention shrink the file (vacuum.go). It is set once,
	// here, not in every connection's DSN: on an existing database the
	// pragma waits for the write lock, so a connection the pool opens while
	// a transaction runs would stall for busy_timeout and fail.
	if err := newIncremental(ctx, path); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	q := url.Values{}
	// temp_store(MEMORY): savepoints keep their page copies in memory, not
	// in a temporary file.
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(15000)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers take the lock up front: no upgrade deadlocks
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Keep connections (and the statements prepared on them) for the
	// concurrent readers of a busy endpoint instead of reopening them.
	db.SetMaxIdleConns(32)
	if err := migrateUp(ctx, db, path, fsys, dir); err != nil {
		db.Close()
		var newer *NewerSchemaError
		var dirty *DirtyError
		if errors.As(err, &newer) || errors.As(err, &dirty) {
			return nil, err
		}
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return db, nil
}

// migrateUp applies the pending migrations. A database from a newer
// seosgw, or one whose last migration failed halfway, is refused with
// what to do: golang-migrate alone would fail on the first with "no
// migration found for version N".
func migrateUp(ctx context.Context, db *sql.DB, path string, fsys fs.FS, dir string) error {
	st, err := Status(ctx, db, fsys, dir)
	if err != nil {
		return err
	}
	switch {
	case st.Newer():
		return &NewerSchemaError{Path: path, Current: st.Current, Known: st.Latest}
	case st.Dirty:
		return &DirtyError{Path: path, Version: st.Current}
	}
	src, err := iofs.New(fsys, dir)
	if err != nil {
		return err
	}
	drv, err := sqlite.WithInstance(db, &sqlite.Config{})
	if err != nil {
		return err
	}
	m, err := migrate.NewWithInstance("iofs", src, "sqlite", drv)
	if err != nil {
		return err
	}
	// Not m.Close(): it would close db, which the caller keeps using.
	defer src.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return err
	}
	return nil
}

// Writable checks that a write to the main database file commits, for
// readiness probes (gateway databases: it uses the health table).
func Writable(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`,
		FormatTime(time.Now())); err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	return nil
}

// InTx runs f in a transaction, committing when f returns nil.
func InTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// TimeFormat is how timestamps are stored: UTC, fixed width, so that SQL
// compares them correctly as text (RFC3339Nano drops trailing zeros and
// would sort 10:00:00Z after 10:00:00.5Z).
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// FormatTime renders t for storage.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads a stored timestamp (RFC 3339 in any precision).
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// OpenReadOnly opens an existing database for reading only, without
// migrating it: tools must not change the schema under a running node.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "query_only(1)")
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// Modes of what holds documents: the database (and the -wal and -shm
// files SQLite makes with the database file's mode), the files folder and
// backups are the node's user's alone, whatever the umask. systemd's
// UMask=0077 says the same, but seosgw also runs outside systemd.
const (
	FileMode     = 0o600
	FilesDirMode = 0o700
)

// private creates the database file with FileMode before SQLite does (it
// would take 0644 less the umask) and takes away what others may do with
// an existing database, its -wal and -shm files and its files folder.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()
	for p, mode := range map[string]os.FileMode{path: FileMode, path + "-wal": FileMode, path + "-shm": FileMode, FilesDir(path): FilesDirMode} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if st.Mode().Perm()&^mode != 0 {
			if err := os.Chmod(p, mode); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// FilesDir is the folder beside the database at path where bulk data kept
// as files (attachments) belongs: backup and restore carry it with the
// database. The file store (gateway/blob) keeps requests and attachments
// there, named by their content.
func FilesDir(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".files"
}

// IsUniqueViolation reports whether err is a write refused by a UNIQUE
// constraint: how a table's owner learns, without asking first, that
// what it inserts is there already.
func IsUniqueViolation(err error) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// newIncremental makes a new database (an empty file: private has just
// created it) with incremental auto-vacuum; an existing one is left as it
// is (EnableIncrementalVacuum converts it once, at the node's start).
func newIncremental(ctx context.Context, path string) error {
	if st, err := os.Stat(path); err != nil {
		return err
	} else if st.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=auto_vacuum(2)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// CollectFiles adds to refs the file-store names query selects (one
// column; several names in one value are separated by spaces): what a
// table's owner reports to the file store's sweep.
func CollectFiles(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, refs map[string]bool) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		for _, f := range strings.Fields(v) {
			refs[f] = true
		}
	}
	return rows.Err()
}
