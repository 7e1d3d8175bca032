package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/translit"
)

// DocumentFile is the name of the description in each inbox folder.
const DocumentFile = "document.json"

// FolderName is the inbox folder of a received document: its id, padded
// so that folders sort in the order they arrived.
func FolderName(inboxID int64) string { return fmt.Sprintf("%08d", inboxID) }

// Received writes a document the endpoint has just stored to its inbox
// folder at once, in the background: the scan would catch up anyway; this
// only makes it prompt. It never blocks (the inbound pipeline calls it);
// Run and Wait wait for these writes.
func (s *Spool) Received(inboxID int64) {
	s.prompt.Add(1)
	go func() {
		defer s.prompt.Done()
		if err := s.WriteReceived(context.Background(), inboxID); err != nil {
			s.log.Warn("writing a received document", "inbox_id", inboxID, "error", err)
		}
	}()
}

// Wait waits for the writes Received started.
func (s *Spool) Wait() { s.prompt.Wait() }

// WriteReceived writes a received document to inbox/ID/: document.json
// (the API's ReceivedDocument, each attachment with the "file" it is
// saved as) and the attachment files under safe names. The folder is
// built in work/inbox/ and renamed into inbox/ whole, so the AIS never
// sees half a document.
//
// It writes each document once. After writing, it leaves a marker,
// state/written/ID, so that a folder the AIS has consumed (moved or
// deleted) is not written again — neither by a repeated call nor after a
// restart. Deleting the marker has the folder written again. The marker
// lives in the spool directory rather than the database so that the two
// cannot disagree when the spool folder is restored or replaced.
func (s *Spool) WriteReceived(ctx context.Context, inboxID int64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	marker := filepath.Join(s.dir, State, "written", strconv.FormatInt(inboxID, 10))
	if exists(marker) {
		return nil
	}
	name := FolderName(inboxID)
	final := filepath.Join(s.dir, Inbox, name)
	if exists(final) {
		// Written before a crash took the marker with it.
		return s.mark(marker, name)
	}
	it, err := s.svc.InboxItem(ctx, inboxID)
	if err != nil {
		return fmt.Errorf("spool: received document %d: %w", inboxID, err)
	}
	stage := filepath.Join(s.dir, Work, Inbox, name)
	if err := os.RemoveAll(stage); err != nil { // a half-written folder from before a crash
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Mkdir(stage, dirMode); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	view := s.svc.View(ctx, it, false)
	used := map[string]bool{strings.ToLower(DocumentFile): true}
	for i := range view.Attachments {
		a := &view.Attachments[i]
		if _, infected := it.Verdict.Infected(a.FileName); infected {
			continue // described (the verdict says why), never written
		}
		// Streamed from the file store: a 64 MiB attachment is not held.
		_, body, err := s.svc.OpenAttachment(ctx, inboxID, a.Index)
		if err != nil {
			return fmt.Errorf("spool: received document %d attachment %d: %w", inboxID, a.Index, err)
		}
		file, err := writeAttachment(stage, a, body, used)
		body.Close()
		if err != nil {
			return fmt.Errorf("spool: write attachment %d: %w", a.Index, err)
		}
		a.File = file
	}
	b, err := json.MarshalIndent(view, "", "  ")
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(stage, DocumentFile), append(b, '\n')); err != nil {
		return fmt.Errorf("spool: write %s: %w", DocumentFile, err)
	}
	if err := syncDir(stage); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(stage, final); err != nil {
		return fmt.Errorf("spool: move %s into inbox: %w", name, err)
	}
	if err := syncDir(filepath.Join(s.dir, Inbox)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.mark(marker, name); err != nil {
		return err
	}
	s.count(func(st *Status) { st.Written++ })
	s.log.Info("received document written", "inbox_id", inboxID, "folder", filepath.Join(Inbox, name), "attachments", len(view.Attachments))
	return nil
}

// writeAttachment writes one attachment into the folder under a safe name
// no other file of the folder has — its own name, else "INDEX_name", else
// "INDEX_N_name" (N = 2, 3 …; a prefix, so shortening a long name cannot
// take it off) — and returns the name. Names are compared without case, for
// the AIS may read the folder on a case-insensitive file system, and the
// file is created exclusively, so a collision can never overwrite another.
func writeAttachment(dir string, a *ais.ReceivedAttachment, body io.Reader, used map[string]bool) (string, error) {
	base := translit.FileName(a.FileName)
	for n := 0; ; n++ {
		file := base
		switch {
		case n == 1:
			file = translit.FileName(fmt.Sprintf("%d_%s", a.Index, base))
		case n > 1:
			file = translit.FileName(fmt.Sprintf("%d_%d_%s", a.Index, n, base))
		}
		if used[strings.ToLower(file)] {
			continue
		}
		used[strings.ToLower(file)] = true
		err := writeFrom(filepath.Join(dir, file), body, os.O_EXCL)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return file, err
	}
}

func (s *Spool) mark(marker, name string) error {
	if err := writeAtomic(marker, []byte(s.clk.Now().UTC().Format(time.RFC3339)+" "+filepath.Join(Inbox, name)+"\n")); err != nil {
		return fmt.Errorf("spool: marker: %w", err)
	}
	return nil
}

// catchUp writes every document waiting for the AIS (state received) that
// is not written yet: one that arrived while a write failed, or while
// seosgw ran without the spool. One the AIS already handled through the
// API is not written.
func (s *Spool) catchUp(ctx context.Context) error {
	const page = 200
	for {
		ids, err := s.svc.ReceivedIDs(ctx, s.cursor, page)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.WriteReceived(ctx, id); err != nil {
				return err // the cursor stays; the next scan tries again
			}
			s.cursor = id
		}
		if len(ids) < page {
			return nil
		}
	}
}
