//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Lock is the exclusive hold a running node keeps on its database, so
// that restore and migrate up cannot replace or change it underneath. It
// is an flock(2) on DB.lock: the kernel drops it when the process ends,
// however it ends (SIGKILL, OOM), so a killed node never leaves it stale.
type Lock struct{ f *os.File }

// LockPath is the lock file of the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// LockedError says another process holds the database.
type LockedError struct {
	Path string
	PID  int // 0 when the holder did not say
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("database %s is in use by a running seosgw (%s holds %s); stop it first (systemctl stop seosgw)", e.Path, who, LockPath(e.Path))
}

// Acquire takes the lock of the database at dbPath without waiting.
func Acquire(dbPath string) (*Lock, error) {
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if errors.Is(err, os.ErrPermission) {
		// Created by another user (root running restore): a read-only
		// descriptor locks as well; the pid just goes unrecorded.
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &LockedError{Path: dbPath, PID: pid}
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // informative only
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
