package ais

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// MaxFileNameBytes is the longest attachment name taken: what file systems
// hold in one name (ext4, NTFS in UTF-16 units, most archives).
const MaxFileNameBytes = 255

// FileNameRule is what an attachment's fileName must be, as the API and
// the spool say when they refuse one.
const FileNameRule = "a file's name, not a path: no / or \\, not . or .., no control or bidirectional formatting characters, at most 255 bytes of UTF-8"

// CheckFileName refuses an attachment name a receiver could take for a
// path or that would hide its real name: it travels to the peer and ends
// up in its AIS and on its disk as given.
func CheckFileName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("required; " + FileNameRule)
	case len(name) > MaxFileNameBytes:
		return errors.New("too long; " + FileNameRule)
	case !utf8.ValidString(name):
		return errors.New("not UTF-8; " + FileNameRule)
	case strings.ContainsAny(name, `/\`):
		return errors.New("holds a path separator; " + FileNameRule)
	case name == "." || name == "..":
		return errors.New("is a folder's name; " + FileNameRule)
	case strings.IndexFunc(name, textsafe.Unsafe) >= 0:
		return errors.New("holds a control or bidirectional formatting character; " + FileNameRule)
	}
	return nil
}
