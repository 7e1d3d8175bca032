//go:build unix

package ais

import (
	"os"
	"syscall"
)

// stampOf identifies a version of a file: a rename over it (the usual way
// to rotate) changes the inode even when size and time happen to match.
func stampOf(st os.FileInfo) tokenStamp {
	s := tokenStamp{mod: st.ModTime(), size: st.Size()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		s.ino = uint64(sys.Ino)
	}
	return s
}
