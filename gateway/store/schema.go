package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded schema step.
type Migration struct {
	Version uint   `json:"version"`
	Name    string `json:"name"`
}

// migrationFile is golang-migrate's naming: VERSION_NAME.up.EXT.
var migrationFile = regexp.MustCompile(`^([0-9]+)_(.*)\.up\.[a-z]+$`)

// Migrations lists the up migrations in dir of fsys, in order.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: uint(v), Name: m[2]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// SchemaStatus is where a database stands against the migrations this
// binary embeds.
type SchemaStatus struct {
	Current uint        `json:"current"` // recorded version; 0 = no schema yet
	Dirty   bool        `json:"dirty"`   // a migration to Current failed halfway
	Latest  uint        `json:"latest"`  // the highest this binary knows
	Pending []Migration `json:"pending"` // known, not applied yet
}

// Newer says the database was written by a newer seosgw.
func (s SchemaStatus) Newer() bool { return s.Current > s.Latest }

// Version reads the schema version golang-migrate recorded in db; a
// database without the table has version 0. Read only: tools can ask a
// database a node is using.
func Version(ctx context.Context, db *sql.DB) (version uint, dirty bool, err error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("store: schema version: %w", err)
	}
	if n == 0 {
		return 0, false, nil
	}
	var v int64
	switch err := db.QueryRowContext(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &dirty); {
	case err == sql.ErrNoRows:
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("store: schema version: %w", err)
	case v < 0: // golang-migrate's "nil version"
		return 0, dirty, nil
	}
	return uint(v), dirty, nil
}

// Status compares db with the migrations in dir of fsys.
func Status(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) (SchemaStatus, error) {
	ms, err := Migrations(fsys, dir)
	if err != nil {
		return SchemaStatus{}, err
	}
	var st SchemaStatus
	if st.Current, st.Dirty, err = Version(ctx, db); err != nil {
		return st, err
	}
	for _, m := range ms {
		st.Latest = max(st.Latest, m.Version)
		if m.Version > st.Current {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

// GatewayStatus is Status for the gateway database.
func GatewayStatus(ctx context.Context, db *sql.DB) (SchemaStatus, error) {
	return Status(ctx, db, gatewayMigrations, "migrations")
}

// NewerSchemaError refuses a database written by a newer seosgw: this
// binary would not know its tables, and migrating "down" loses data.
type NewerSchemaError struct {
	Path           string
	Current, Known uint
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("database %s has schema version %d, newer than this seosgw knows (%d): it was upgraded by a newer seosgw. "+
		"Run that version again, or restore the backup taken before the upgrade (configs/README.md, \"Rollback\")", e.Path, e.Current, e.Known)
}

// DirtyError is a database whose last migration failed halfway.
type DirtyError struct {
	Path    string
	Version uint
}

func (e *DirtyError) Error() string {
	return fmt.Sprintf("database %s: the migration to schema version %d failed halfway (the database is marked dirty); "+
		"restore the backup taken before the upgrade (configs/README.md, \"Rollback\")", e.Path, e.Version)
}

// String is the status as an operator reads it.
func (s SchemaStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema version: %d", s.Current)
	if s.Dirty {
		b.WriteString(" (dirty: a migration failed halfway)")
	}
	fmt.Fprintf(&b, "\nthis seosgw knows up to: %d\n", s.Latest)
	switch {
	case s.Newer():
		b.WriteString("the database is NEWER than this seosgw: it will refuse to serve it\n")
	case len(s.Pending) == 0:
		b.WriteString("up to date\n")
	default:
		fmt.Fprintf(&b, "pending (serve or migrate up applies them):\n")
		for _, m := range s.Pending {
			fmt.Fprintf(&b, "  %04d %s\n", m.Version, m.Name)
		}
	}
	return b.String()
}
