package inbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// Content is one attachment's bytes, read in place (io.ReaderAt) by
// whoever judges or copies them; Close it when done.
type Content struct {
	io.ReaderAt
	Size  int64
	close func() error
}

// Close releases what OpenAttachment holds.
func (c *Content) Close() error {
	if c.close == nil {
		return nil
	}
	return c.close()
}

// OpenAttachment opens one attachment's bytes for reading in place, by
// index from 1. Readers go through it, never through the table, so that
// the storage of attachment bodies can change under them.
//
// While bodies are BLOBs in inbox_attachments, the SQL driver hands a BLOB
// over only whole: the one copy held is that read, and every reader works
// on it in place.
func OpenAttachment(ctx context.Context, q Querier, id int64, idx int) (*Content, error) {
	var body []byte
	err := q.QueryRowContext(ctx, `SELECT content FROM inbox_attachments WHERE inbox_id = ? AND idx = ?`, id, idx).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: document %d attachment %d: %w", id, idx, err)
	}
	return &Content{ReaderAt: bytes.NewReader(body), Size: int64(len(body))}, nil
}
