package inbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/seosgw/seosgw/gateway/blob"
)

// Content is one attachment's bytes, read in place (io.ReaderAt) by
// whoever judges or copies them, with its listing; Close it when done.
type Content struct {
	io.ReaderAt
	Size       int64
	Attachment Attachment
	close      func() error
}

// Reader reads the bytes from the start.
func (c *Content) Reader() io.Reader { return io.NewSectionReader(c.ReaderAt, 0, c.Size) }

// Close releases what OpenAttachment holds.
func (c *Content) Close() error {
	if c.close == nil {
		return nil
	}
	return c.close()
}

// OpenAttachment opens one attachment's bytes for reading in place, by
// index from 1: its file in files (a body read as a stream), else its row
// (a small one, or one stored before the file store). Readers go through
// it, never through the table.
func OpenAttachment(ctx context.Context, q Querier, files *blob.Store, id int64, idx int) (*Content, error) {
	var c Content
	var body []byte
	var file string
	a := &c.Attachment
	err := q.QueryRowContext(ctx, `SELECT idx, file_name, mime_type, comment, size, content, file FROM inbox_attachments WHERE inbox_id = ? AND idx = ?`, id, idx).
		Scan(&a.Index, &a.FileName, &a.MIMEType, &a.Comment, &a.Size, &body, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: document %d attachment %d: %w", id, idx, err)
	}
	if file == "" {
		c.ReaderAt, c.Size = bytes.NewReader(body), int64(len(body))
		return &c, nil
	}
	if files == nil {
		return nil, fmt.Errorf("inbox: document %d attachment %d is in file %s, and no file store is open", id, idx, file)
	}
	f, err := files.Open(file)
	if err != nil {
		return nil, fmt.Errorf("inbox: document %d attachment %d: %w", id, idx, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inbox: document %d attachment %d: %w", id, idx, err)
	}
	c.ReaderAt, c.Size, c.close = f, st.Size(), f.Close
	return &c, nil
}
