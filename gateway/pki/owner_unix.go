//go:build unix

package pki

import (
	"os"
	"syscall"
)

// ownLike gives path the owner and group of ref when run as root, so that
// a key an administrator makes as root is readable by the node's user, as
// the key it replaces is. Otherwise it does nothing.
func ownLike(path, ref string) error {
	if os.Geteuid() != 0 || ref == "" {
		return nil
	}
	st, err := os.Stat(ref)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return os.Chown(path, int(sys.Uid), int(sys.Gid))
	}
	return nil
}
