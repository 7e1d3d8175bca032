package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modes of what seosgw creates: the AIS (often another account in the
// same group) reads and removes it.
const (
	dirMode  = 0o770
	fileMode = 0o660
)

// writeFile writes a file and flushes it to disk.
func writeFile(path string, b []byte) error {
	return write(path, b, os.O_TRUNC)
}

// writeNew writes a file that must not exist yet, and flushes it to disk.
// A name taken already is an error wrapping fs.ErrExist, never a
// truncation.
func writeNew(path string, b []byte) error {
	return write(path, b, os.O_EXCL)
}

func write(path string, b []byte, mode int) error {
	return writeFrom(path, bytes.NewReader(b), mode)
}

// writeFrom is write for what r yields (an attachment streamed from the
// file store).
func writeFrom(path string, r io.Reader, mode int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|mode, fileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeAtomic writes path through a temporary name in the same folder, so
// a reader sees the whole file or none.
func writeAtomic(path string, b []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := writeFile(tmp, b); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes renames and creations in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err // some file systems (and Windows) cannot sync folders; nothing to do there
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// freeName returns name, or name~2, name~3 … (before the extension) so
// that neither it nor it+suffix exists in dir.
func freeName(dir, name, suffix string) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s~%d%s", stem, i, ext)
		}
		if !exists(filepath.Join(dir, n)) && (suffix == "" || !exists(filepath.Join(dir, n+suffix))) {
			return n
		}
	}
}

// moveFree renames src into dir under name, or a free variant of it, and
// returns the name used.
func moveFree(src, dir, name string) (string, error) {
	n := freeName(dir, name, "")
	if err := os.Rename(src, filepath.Join(dir, n)); err != nil {
		return "", err
	}
	return n, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
