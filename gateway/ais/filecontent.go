package ais

import (
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
)

// fileContent is an attachment's content left in the file a spool drop
// names: read as a stream each time it is needed (the request hash, the
// drop's key, the file store), so a 64 MiB file is never held whole.
type fileContent struct {
	name  string // as the envelope names it, for errors
	field string // attachments[i].file
	f     openFile
	st    fs.FileInfo // as opened: every read must find the file so
}

// openFile is what an Opener returns for a file it can stream: read at
// any offset, so each pass starts at the beginning.
type openFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// reader reads the file's bytes once, from the start; it fails when the
// file is not what it was when opened (written to, cut short, grown).
func (c *fileContent) reader() io.Reader {
	return &checkedReader{c: c, r: io.NewSectionReader(c.f, 0, c.st.Size()+1)}
}

func (c *fileContent) changed() error {
	return invalid(c.field, "%q changed while it was read; write it again (to a temporary name, then rename it)", c.name)
}

// base64Len is the length of the content in base64.
func (c *fileContent) base64Len() int64 {
	return int64(base64.StdEncoding.EncodedLen(int(c.st.Size())))
}

// writeBase64 writes the content as base64, as Resolve would inline it.
func (c *fileContent) writeBase64(w io.Writer) error {
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := io.Copy(enc, c.reader()); err != nil {
		return err
	}
	return enc.Close()
}

type checkedReader struct {
	c *fileContent
	r *io.SectionReader
	n int64
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	size := r.c.st.Size()
	if r.n > size {
		return n, r.c.changed()
	}
	if err == io.EOF {
		st, serr := r.c.f.Stat()
		if serr != nil {
			return n, fmt.Errorf("ais: %s: %w", r.c.name, serr)
		}
		if r.n != size || st.Size() != size || !st.ModTime().Equal(r.c.st.ModTime()) {
			return n, r.c.changed()
		}
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("ais: read %s: %w", r.c.name, err)
	}
	return n, err
}

// ContentLen is the length of the attachment's content in base64,
// wherever it is.
func (a *Attachment) ContentLen() (int64, error) {
	switch {
	case a.file != nil:
		return a.file.base64Len(), nil
	case a.raw != nil:
		return io.Copy(io.Discard, newUnescaper(a.raw))
	}
	return int64(len(a.Content)), nil
}

// WriteContent writes the attachment's content (base64, as given) to w,
// streaming it from a file the attachment was resolved to.
func (a *Attachment) WriteContent(w io.Writer) error {
	var err error
	switch {
	case a.file != nil:
		err = a.file.writeBase64(w)
	case a.raw != nil:
		_, err = io.Copy(w, newUnescaper(a.raw))
	default:
		_, err = io.WriteString(w, a.Content)
	}
	return err
}

// Close closes the files ResolveFiles left open for the attachments.
func (in *Outgoing) Close() error {
	var first error
	for i := range in.Attachments {
		if c := in.Attachments[i].file; c != nil {
			if err := c.f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
