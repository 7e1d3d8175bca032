//go:build unix

package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Files a root-run tool leaves beside a database get the folder's owner,
// the node's user, who could not open them otherwise.
func TestMatchOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root; MatchOwner does nothing otherwise")
	}
	dir := filepath.Join(t.TempDir(), "var")
	os.Mkdir(dir, 0o700)
	const uid, gid = 54321, 54322 // the node's user, as the folder says
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "seosgw.db")
	for _, p := range []string{db, db + "-wal", LockPath(db), filepath.Join(FilesDir(db), "ab", "cd")} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := MatchOwner(db); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{db, db + "-wal", LockPath(db), FilesDir(db), filepath.Join(FilesDir(db), "ab", "cd")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != uid || sys.Gid != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, sys.Uid, sys.Gid, uid, gid)
		}
	}
}
