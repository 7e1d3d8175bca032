package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Retention empties rows (message log bytes, attachments); SQLite then keeps
// the pages for reuse but the file never shrinks unless the database is in
// incremental auto-vacuum, when Reclaim gives them back. A database made
// by this version is created so (Open asks for it before the first
// table); one made before is converted once by EnableIncrementalVacuum.
// A PostgreSQL backend would do neither: its autovacuum does this.

// Vacuum modes of PRAGMA auto_vacuum.
const (
	vacuumNone        = 0
	vacuumIncremental = 2
)

// VacuumState is what EnableIncrementalVacuum found or did.
type VacuumState string

const (
	VacuumReady     VacuumState = "ready"     // incremental already
	VacuumConverted VacuumState = "converted" // converted now by a VACUUM
	VacuumNoSpace   VacuumState = "no_space"  // not converted: too little free disk for the VACUUM
)

// EnableIncrementalVacuum puts the database at path in incremental
// auto-vacuum. A database without auto-vacuum needs a VACUUM to change,
// which rewrites the whole file and needs up to twice its size free (a
// copy, and the WAL): it is done only with that much free space; else the
// database stays as it is, free pages are reused, and the next start tries
// again. Run it at start, before anything else uses the database: VACUUM
// holds the write lock while it runs.
func EnableIncrementalVacuum(ctx context.Context, db *sql.DB, path string) (VacuumState, error) {
	conn, err := db.Conn(ctx) // the pragma and the VACUUM must share a connection
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	defer conn.Close()
	var mode int
	if err := conn.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return "", fmt.Errorf("store: auto_vacuum: %w", err)
	}
	if mode == vacuumIncremental {
		return VacuumReady, nil
	}
	if mode != vacuumNone { // full: switching between full and incremental needs no VACUUM
		if _, err := conn.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
			return "", fmt.Errorf("store: auto_vacuum: %w", err)
		}
		return VacuumConverted, nil
	}
	size := fileSize(path) + fileSize(path+"-wal")
	if free, ok := freeBytes(filepath.Dir(path)); ok && free < 2*size+64<<20 {
		return VacuumNoSpace, nil
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return "", fmt.Errorf("store: auto_vacuum: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return "", fmt.Errorf("store: VACUUM to enable incremental auto-vacuum: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != vacuumIncremental {
		return "", errors.Join(fmt.Errorf("store: auto_vacuum is %d after VACUUM", mode), err)
	}
	return VacuumConverted, nil
}

// Reclaim gives the free pages back to the file system and returns how
// many bytes the database file lost: the incremental vacuum moves them to
// the end, and a checkpoint truncates the file there (in WAL mode the
// main file changes only at a checkpoint).
func Reclaim(ctx context.Context, db *sql.DB, path string) (int64, error) {
	before := fileSize(path)
	if _, err := db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return 0, fmt.Errorf("store: incremental vacuum: %w", err)
	}
	var busy, logPages, moved int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &moved); err != nil {
		return 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	return max(before-fileSize(path), 0), nil
}

// FileSize is the size of the database at path with its WAL, for the
// metric.
func FileSize(path string) int64 { return fileSize(path) + fileSize(path+"-wal") }

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
