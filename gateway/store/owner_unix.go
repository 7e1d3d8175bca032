//go:build unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// MatchOwner gives the database at path and everything beside it that
// belongs to it (-wal, -shm, the lock file, the files folder) the owner
// of its folder, when run as root: tools an administrator runs as root
// (restore, migrate up, backup) must not leave files the node's own user
// cannot open. Without root it does nothing.
func MatchOwner(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", LockPath(path), FilesDir(path)} {
		err := filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(q, int(sys.Uid), int(sys.Gid))
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
