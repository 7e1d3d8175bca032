// Package backup copies a node's database consistently while the node
// serves, with the files folder beside it; it verifies and describes a
// copy, and puts one back in place of a stopped node's database.
//
// A backup is a folder: seosgw.db (a VACUUM INTO snapshot: one read
// transaction, so consistent, while WAL lets the node go on writing),
// files/ (the database's files folder, when it has one) and backup.json
// (what it holds).
package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/store"
)

// Names inside a backup folder.
const (
	DBName       = "seosgw.db"
	FilesName    = "files"
	ManifestName = "backup.json"
)

// Table is one table's row count.
type Table struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// Contents is what a backup holds; backup.json records it.
type Contents struct {
	Created       time.Time `json:"created"`
	Source        string    `json:"source"`        // the database that was copied
	Seosgw        string    `json:"seosgw"`        // the version that made the copy
	SchemaVersion uint      `json:"schemaVersion"` // golang-migrate's version of the copy
	DatabaseBytes int64     `json:"databaseBytes"`
	Integrity     string    `json:"integrity"` // PRAGMA integrity_check: "ok"
	Tables        []Table   `json:"tables"`
	Files         int       `json:"files"` // in files/
	FileBytes     int64     `json:"fileBytes"`
}

// Options say who makes a backup and when.
type Options struct {
	Now    time.Time
	Seosgw string // the version, for backup.json
}

// Create copies the database at dbPath, and its files folder if there is
// one, into the new folder dest, verifies the copy and describes it. dest
// appears whole or not at all.
func Create(ctx context.Context, dbPath, dest string, opt Options) (*Contents, error) {
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("backup: the database: %w", err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return nil, fmt.Errorf("backup: %s exists; give a new folder (e.g. with the date in its name)", dest)
	}
	tmp := fmt.Sprintf("%s.partial-%d", dest, os.Getpid())
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	err := snapshot(ctx, dbPath, filepath.Join(tmp, DBName))
	// Reading may have created -wal/-shm beside a stopped node's database.
	if oerr := store.MatchOwner(dbPath); err == nil && oerr != nil {
		err = fmt.Errorf("backup: %w", oerr)
	}
	if err != nil {
		return nil, err
	}
	// After the snapshot: files are written before the rows that name
	// them, so every file the snapshot names is there by now.
	files, fileBytes, err := copyTree(store.FilesDir(dbPath), filepath.Join(tmp, FilesName))
	if err != nil {
		return nil, fmt.Errorf("backup: files folder: %w", err)
	}
	c, err := Inspect(ctx, filepath.Join(tmp, DBName))
	if err != nil {
		return nil, err
	}
	c.Created, c.Source, c.Seosgw, c.Files, c.FileBytes = opt.Now.UTC(), dbPath, opt.Seosgw, files, fileBytes
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := writeSynced(filepath.Join(tmp, ManifestName), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ok = true
	if err := syncDir(filepath.Dir(dest)); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return c, nil
}

// snapshot writes a consistent copy of the database with VACUUM INTO, on a
// read-only connection: a running node is not disturbed beyond one long
// read transaction, and its WAL keeps taking writes meanwhile.
func snapshot(ctx context.Context, dbPath, out string) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+dbPath+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", dbPath, err)
	}
	defer db.Close()
	// Created private first: VACUUM INTO takes an empty file, and would
	// otherwise make one with 0644 less the umask for every document.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, store.FileMode)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("backup: copy %s: %w", dbPath, err)
	}
	if f, err = os.Open(out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Inspect verifies a database file (PRAGMA integrity_check) and says what
// it holds. It only reads.
func Inspect(ctx context.Context, dbFile string) (*Contents, error) {
	st, err := os.Stat(dbFile)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	db, err := store.OpenReadOnly(ctx, dbFile)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	c := &Contents{DatabaseBytes: st.Size()}
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("backup: %s: integrity check: %w", dbFile, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: %s: integrity check: %w", dbFile, err)
		}
		problems = append(problems, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: %s: integrity check: %w", dbFile, err)
	}
	c.Integrity = strings.Join(problems, "; ")
	if c.Integrity != "ok" {
		return c, fmt.Errorf("backup: %s fails the integrity check: %s", dbFile, c.Integrity)
	}
	if c.SchemaVersion, _, err = store.Version(ctx, db); err != nil {
		return nil, fmt.Errorf("backup: %s: %w", dbFile, err)
	}
	names, err := tables(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("backup: %s: %w", dbFile, err)
	}
	for _, n := range names {
		t := Table{Name: n}
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&t.Rows); err != nil {
			return nil, fmt.Errorf("backup: %s: count %s: %w", dbFile, n, err)
		}
		c.Tables = append(c.Tables, t)
	}
	return c, nil
}

func tables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Write prints the contents for an operator.
func (c *Contents) Write(w io.Writer) error {
	var b strings.Builder
	if !c.Created.IsZero() {
		fmt.Fprintf(&b, "made:            %s by seosgw %s\n", c.Created.Format(time.RFC3339), c.Seosgw)
	}
	if c.Source != "" {
		fmt.Fprintf(&b, "of:              %s\n", c.Source)
	}
	fmt.Fprintf(&b, "database:        %s, schema version %d, integrity %s\n", size(c.DatabaseBytes), c.SchemaVersion, c.Integrity)
	width := 0
	for _, t := range c.Tables {
		width = max(width, len(t.Name))
	}
	for _, t := range c.Tables {
		fmt.Fprintf(&b, "  %-*s  %d rows\n", width, t.Name, t.Rows)
	}
	fmt.Fprintf(&b, "files:           %d (%s)\n", c.Files, size(c.FileBytes))
	_, err := io.WriteString(w, b.String())
	return err
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// copyTree copies the regular files under src to dst (which must not
// exist), synced; a missing src copies nothing.
func copyTree(src, dst string) (files int, bytes int64, err error) {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && rel == blob.TempDir:
			return filepath.SkipDir // files being written: no row names them yet
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case !d.Type().IsRegular():
			return nil // sockets, links: not data
		}
		n, err := copyFile(p, target)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // swept meanwhile: no row names it
		}
		files, bytes = files+1, bytes+n
		return err
	})
	if err == nil && files > 0 {
		err = syncDir(dst)
	}
	return files, bytes, err
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm()&0o700)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
