//go:build !unix

package store

import "fmt"

// Lock is the exclusive hold a running node keeps on its database; see
// lock.go. Without flock(2) there is nothing to hold: restore and migrate
// up cannot tell a running node, and say so.
type Lock struct{}

// LockPath is the lock file of the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// LockedError says another process holds the database.
type LockedError struct {
	Path string
	PID  int
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("database %s is in use by a running seosgw", e.Path)
}

// Acquire cannot lock on this platform; it returns a Lock that holds nothing.
func Acquire(dbPath string) (*Lock, error) { return &Lock{}, nil }

// Release does nothing here.
func (l *Lock) Release() error { return nil }
