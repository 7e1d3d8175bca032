//go:build !unix

package ais

import "os"

// stampOf identifies a version of a file by its time and size.
func stampOf(st os.FileInfo) tokenStamp { return tokenStamp{mod: st.ModTime(), size: st.Size()} }
