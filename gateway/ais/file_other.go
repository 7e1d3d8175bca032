//go:build !unix

package ais

import "os"

const openNonBlocking = 0

func links(os.FileInfo) (nlink, dev uint64, ok bool) { return 0, 0, false }
