//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The database holds every document: it and the -wal and -shm files SQLite
// makes beside it are the node's user's alone, whatever the umask, and an
// existing one another tool left open to others is made private again.
func TestDatabaseFilesArePrivate(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	modes := func(want map[string]os.FileMode) {
		t.Helper()
		for p, m := range want {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != m {
				t.Errorf("%s: mode %o, want %o", filepath.Base(p), st.Mode().Perm(), m)
			}
		}
	}
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Writable(ctx, db); err != nil { // the WAL and its index exist while the database is open
		t.Fatal(err)
	}
	modes(map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600})
	db.Close()

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o644)
	}
	if err := os.Mkdir(FilesDir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err = OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Writable(ctx, db); err != nil {
		t.Fatal(err)
	}
	modes(map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, FilesDir(path): 0o700})
}
