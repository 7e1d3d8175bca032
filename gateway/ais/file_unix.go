//go:build unix

package ais

import (
	"os"
	"syscall"
)

// openNonBlocking is the flag that makes opening a FIFO return at once
// instead of waiting for a writer; it changes nothing for regular files.
const openNonBlocking = syscall.O_NONBLOCK

// links is a file's link count and device (ok false where unknown).
func links(st os.FileInfo) (nlink, dev uint64, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(sys.Nlink), uint64(sys.Dev), true
}
