package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "gw.db")
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d (want 2 = FULL) %v", sync, err)
	}
	if err := Writable(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE register_sync SET cursor = 'x'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = OpenGateway(ctx, path) // no change on a second run, data kept
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cursor string
	if err := db.QueryRowContext(ctx, `SELECT cursor FROM register_sync`).Scan(&cursor); err != nil || cursor != "x" {
		t.Errorf("cursor %q %v", cursor, err)
	}
}

func TestOpenRefusesUnwritablePlace(t *testing.T) {
	if _, err := OpenGateway(context.Background(), "/proc/seosgw-cannot/gw.db"); err == nil {
		t.Fatal("opened a database where no file can be created")
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	if _, err := OpenReadOnly(ctx, path); err == nil {
		t.Fatal("opened a database that does not exist")
	}
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.QueryRowContext(ctx, `SELECT count(*) FROM register_entities`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.ExecContext(ctx, `UPDATE register_sync SET cursor = 'x'`); err == nil {
		t.Error("wrote through a read-only handle")
	}
}

// TestNewConnectionReadsDuringAWrite: a connection the pool opens while a
// write transaction runs must read at once (WAL). A pragma in the DSN that
// needs the write lock (auto_vacuum once did) would stall it until
// busy_timeout and fail it with SQLITE_BUSY.
func TestNewConnectionReadsDuringAWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxIdleConns(0) // every read below needs a new connection
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO health (id, at) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET at = 'x'`); err != nil {
		t.Fatal(err)
	}
	// The deadline only bounds a failing run; the assertion is the error.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(rctx, `SELECT count(*) FROM health`).Scan(&n); err != nil {
		t.Fatalf("a read beside a write transaction: %v", err)
	}
}
