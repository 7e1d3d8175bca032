package ais

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Envelope is an outgoing document kept in a file (seosgw send, the spool
// folder, a translated legacy XML document): an Outgoing whose attachments
// may name a file instead of carrying their content.
type Envelope struct {
	Outgoing
	Attachments []FileAttachment `json:"attachments,omitempty"`
}

// FileAttachment is an attachment given by content (base64) or by a file
// name relative to the envelope.
type FileAttachment struct {
	Attachment
	File string `json:"file,omitempty"`
}

// ParseEnvelope reads an envelope strictly: unknown fields are refused,
// naming them.
func ParseEnvelope(b []byte) (*Envelope, error) {
	var e Envelope
	if len(b) > MaxRequestBytes {
		return nil, tooLarge(MaxRequestBytes)
	}
	if err := DecodeJSON(bytes.NewReader(b), &e, false); err != nil {
		return nil, err
	}
	return &e, nil
}

// Opener reads a file an envelope names; the caller decides where names
// may lead (the spool keeps them inside its outbox folder).
type Opener func(name string) (io.ReadCloser, error)

// Resolve returns the Outgoing with every file read and inlined, and the
// names of the files it read. The attachments together may take up to
// MaxRequestBytes in base64, like a request to the API.
func (e *Envelope) Resolve(open Opener) (*Outgoing, []string, error) {
	return e.resolve(open, false)
}

// ResolveFiles is Resolve that leaves each file the opener opens as a
// file (one it can read at any offset, such as OpenIn's) open instead of
// reading it: its content is streamed wherever it is needed, and the same
// request hash results. The caller closes the Outgoing when done with it.
func (e *Envelope) ResolveFiles(open Opener) (*Outgoing, []string, error) {
	return e.resolve(open, true)
}

func (e *Envelope) resolve(open Opener, stream bool) (_ *Outgoing, _ []string, err error) {
	out := e.Outgoing
	out.Attachments = make([]Attachment, 0, len(e.Attachments))
	defer func() {
		if err != nil {
			out.Close()
		}
	}()
	var files []string
	total, kept := int64(0), 0
	for i, a := range e.Attachments {
		f := fmt.Sprintf("attachments[%d]", i)
		att := a.Attachment
		if a.File != "" {
			if a.Content != "" {
				return nil, nil, invalid(f+".file", "give content or file, not both")
			}
			if open == nil {
				return nil, nil, invalid(f+".file", "files cannot be referenced here; give the content in base64")
			}
			limit := (MaxRequestBytes - total) / 4 * 3
			rc, err := openNamed(open, a.File, f+".file")
			if err != nil {
				return nil, nil, err
			}
			c, ok := rc.(openFile)
			var fc *fileContent
			if ok && stream && kept < maxStreamed {
				if fc, err = keepOpen(c, a.File, f+".file", limit); err != nil {
					rc.Close()
					return nil, nil, err
				}
				if fc.st.Size() <= streamAbove {
					fc = nil // small: read below, its descriptor closed at once
				}
			}
			if fc != nil {
				att.file = fc
				kept++
				total += fc.base64Len()
			} else {
				body, err := readOpened(rc, limit, a.File, f+".file")
				if err != nil {
					return nil, nil, err
				}
				att.Content = base64.StdEncoding.EncodeToString(body)
			}
			if strings.TrimSpace(att.FileName) == "" {
				att.FileName = path.Base(filepath.ToSlash(a.File))
			}
			files = append(files, a.File)
		}
		total += int64(len(att.Content))
		out.Attachments = append(out.Attachments, att)
		if total > MaxRequestBytes {
			return nil, nil, tooLarge(MaxRequestBytes)
		}
	}
	if len(out.Attachments) == 0 {
		out.Attachments = nil
	}
	return &out, files, nil
}

// A drop may name any number of files: only the large ones stay open,
// and at most maxStreamed of them, so one drop cannot use up the
// process's descriptors; the rest are read in as Resolve reads them.
const (
	maxStreamed = 64
	streamAbove = 64 << 10
)

// keepOpen checks an opened file and keeps it for streaming: a regular
// file of at most limit bytes.
func keepOpen(f openFile, name, field string, limit int64) (*fileContent, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, invalid(field, "%s: %v", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, invalid(field, "%q is not a regular file (%s); only files written into the folder are sent", name, kindOf(st.Mode()))
	}
	if st.Size() > max(limit, 0) {
		return nil, tooLarge(MaxRequestBytes)
	}
	return &fileContent{name: name, field: field, f: f, st: st}, nil
}

// openNamed opens a file an envelope names, its errors in the envelope's
// terms.
func openNamed(open Opener, name, field string) (io.ReadCloser, error) {
	rc, err := open(name)
	if err != nil {
		var e *Error
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, invalid(field, "%s: no such file (names are relative to the document's file)", name)
		case errors.Is(err, fs.ErrPermission):
			return nil, invalid(field, "%s: permission denied", name)
		case errors.As(err, &e):
			e2 := *e
			e2.Field = field
			return nil, &e2
		}
		return nil, invalid(field, "%s: %v", name, err)
	}
	return rc, nil
}

// readOpened reads and closes an opened file of at most limit bytes.
func readOpened(rc io.ReadCloser, limit int64, name, field string) ([]byte, error) {
	defer rc.Close()
	b, err := readAtMost(rc, max(limit, 0))
	if errors.Is(err, ErrTooLarge) {
		return nil, tooLarge(MaxRequestBytes)
	}
	if err != nil {
		return nil, invalid(field, "%s: %v", name, err)
	}
	return b, nil
}

// OpenIn opens names relative to dir, refusing any that lead outside it:
// .., absolute paths, symbolic links out, and what the path checks cannot
// see — a hard link to a file elsewhere (more than one link) or a file on
// another file system mounted inside. Only regular files are opened: a
// FIFO or a device is refused without being opened, so it cannot block.
func OpenIn(dir string) (Opener, func() error, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	rootSt, err := root.Stat(".")
	if err != nil {
		root.Close()
		return nil, nil, err
	}
	_, rootDev, devKnown := links(rootSt)
	return func(name string) (io.ReadCloser, error) {
		p := filepath.FromSlash(name)
		if !filepath.IsLocal(p) {
			return nil, invalid("file", "%q must be a relative name inside the folder, without ..", name)
		}
		st, err := root.Stat(p) // through links inside the folder
		if err != nil {
			return nil, err
		}
		if err := regularHere(name, st, rootDev, devKnown); err != nil {
			return nil, err
		}
		f, err := root.OpenFile(p, os.O_RDONLY|openNonBlocking, 0)
		if err != nil {
			return nil, err
		}
		// What was opened must be what was judged: a file swapped for a
		// FIFO or a link in between is refused too.
		if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
			f.Close()
			return nil, invalid("file", "%q changed while it was opened; write it again", name)
		}
		return f, nil
	}, root.Close, nil
}

// regularHere refuses a file that is not a regular file with one link on
// the folder's own file system.
func regularHere(name string, st os.FileInfo, rootDev uint64, devKnown bool) error {
	if !st.Mode().IsRegular() {
		return invalid("file", "%q is not a regular file (%s); only files written into the folder are sent", name, kindOf(st.Mode()))
	}
	nlink, dev, ok := links(st)
	switch {
	case ok && nlink > 1:
		return invalid("file", "%q has %d hard links: it may be a file from outside the folder; copy it into the folder instead of linking it", name, nlink)
	case ok && devKnown && dev != rootDev:
		return invalid("file", "%q is on another file system than the folder: copy it into the folder", name)
	}
	return nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "not a plain file"
}

// ReadEnvelopeFile reads an envelope from a file and inlines the files it
// names, relative to the envelope's folder (seosgw send).
func ReadEnvelopeFile(name string) (*Outgoing, error) {
	b, err := ReadFile(name, MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	e, err := ParseEnvelope(b)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	out, _, err := e.Resolve(func(n string) (io.ReadCloser, error) {
		p := filepath.FromSlash(n)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.Open(p)
	})
	return out, err
}

// ErrTooLarge is what ReadFile reports, wrapped, for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is what ReadFile reports, wrapped, for a FIFO, a device or
// a folder.
var ErrNotRegular = errors.New("not a regular file")

// ReadFile reads a whole regular file of at most limit bytes; a larger one
// is an error that wraps ErrTooLarge. It reads no more than limit+1 bytes,
// so a huge file cannot exhaust memory, and a FIFO or device is refused
// without waiting on it.
func ReadFile(name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", name, ErrNotRegular)
	}
	b, err := readAtMost(f, limit)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%s: %w (over %d MiB)", name, err, limit>>20)
	}
	return b, err
}

// readAtMost reads r to the end, or fails with ErrTooLarge past limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}
