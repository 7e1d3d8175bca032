// Package inbox is what we received: the documents other participants sent
// us for registration, as the AIS sees them, with their registration state.
// (The MessageGUIDs accepted are marked in the message log, gateway/msglog.)
package inbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// State is where a received document stands (inbox.state), driven by the
// acceptance policy while it is checking, then by the AIS.
type State string

const (
	Checking   State = "checking" // waiting for the acceptance policy's verdict; DS_WAIT_REGISTRATION, unseen by the AIS
	Received   State = "received" // DS_WAIT_REGISTRATION
	Registered State = "registered"
	Rejected   State = "rejected"
	Closed     State = "closed"
	Stopped    State = "stopped"
)

// transitions is the one table of how a received document moves
// (PROTOCOL §5): the acceptance policy's verdict takes it from checking to
// received (accept, hold) or rejected; the AIS registers or rejects it
// while it waits, then closes or stops the work on a registered one.
// Rejected, closed and stopped are final.
var transitions = map[State][]State{
	Checking:   {Received, Rejected},
	Received:   {Registered, Rejected},
	Registered: {Closed, Stopped},
	Rejected:   nil,
	Closed:     nil,
	Stopped:    nil,
}

// CanMove says whether a document may move from one state to another:
// by the verdict from checking, by the AIS from any state it sees
// (Visible).
func CanMove(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a state of the table.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Visible reports whether the AIS sees a document in this state (API,
// spool) and may act on it: not while the policy has yet to judge it.
func (s State) Visible() bool { return s.Valid() && s != Checking }

// DocStatus is what the protocol calls a state.
func (s State) DocStatus() seos.DocStatus {
	switch s {
	case Registered:
		return seos.StatusRegistered
	case Rejected:
		return seos.StatusRejected
	case Closed:
		return seos.StatusClosed
	case Stopped:
		return seos.StatusStopped
	}
	return seos.StatusWaitRegistration
}

// Item is a received document without attachment bodies.
type Item struct {
	ID              int64             `json:"id"`
	Sender          seos.Entity       `json:"sender"`
	DocumentGUID    string            `json:"documentGuid"`
	MessageGUID     string            `json:"messageGuid"`
	ReceivedAt      time.Time         `json:"receivedAt"`
	LogID           int64             `json:"logId"`
	State           State             `json:"state"`
	Document        seos.Document     `json:"document"`
	Comment         string            `json:"comment"`
	RegNumber       string            `json:"regNumber,omitempty"`
	RegDate         string            `json:"regDate,omitempty"`
	RegURI          *seos.DocumentURI `json:"regUri,omitempty"`
	RejectionReason string            `json:"rejectionReason,omitempty"`
	ExpectClose     string            `json:"expectClose,omitempty"`
	UpdatedAt       time.Time         `json:"updatedAt"`
	Attachments     []Attachment      `json:"attachments"`
	// Verdict is the acceptance policy's judgement (nil when no policy
	// judged the document); NeedsReview marks one it held until a clerk
	// registers or rejects it.
	Verdict     *acceptance.Verdict `json:"verdict,omitempty"`
	NeedsReview bool                `json:"needsReview,omitempty"`
	// Channel is how the document came (ChannelSEOS, ChannelEmail); one
	// that came by e-mail has SenderEmail and no sender GUID.
	Channel     string `json:"channel"`
	SenderEmail string `json:"senderEmail,omitempty"`
}

// Attachment describes one attached file.
type Attachment struct {
	Index    int    `json:"index"`
	FileName string `json:"fileName"`
	MIMEType string `json:"mimeType"`
	Comment  string `json:"comment,omitempty"`
	Size     int64  `json:"size"`
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Add stores a received registration request and its decoded attachments
// in state (Received, or Checking when the acceptance policy judges it
// first); a body read as a stream is in the file store already, or in its
// Stored.Data. The caller's transaction also records the message and its
// log entry. ErrExists: the sender sent this document before.
func Add(ctx context.Context, q Querier, sender seos.Entity, messageGUID string, req *seos.RegistrationRequest, logID int64, at time.Time, state State) (int64, error) {
	if state != Received && state != Checking {
		return 0, fmt.Errorf("inbox: a document arrives received or checking, not %q", state)
	}
	files := make([]File, len(req.Document.Attachments))
	for i, a := range req.Document.Attachments {
		files[i] = File{Name: a.FileName, MIMEType: a.MIMEType, Stored: a.Stored}
		if a.Stored == nil {
			body, err := a.Body.Decode()
			if err != nil {
				return 0, fmt.Errorf("inbox: attachment %d (%s): %w", i+1, a.FileName, err)
			}
			files[i].Content = bytes.NewReader(body)
		}
		if a.Comment != nil {
			files[i].Comment = *a.Comment
		}
	}
	return insert(ctx, q, &row{channel: ChannelSEOS, sender: sender, messageGUID: messageGUID, doc: req.Document, comment: req.Comment,
		logID: logID, at: at, state: state}, files)
}

// File is an attachment to store: already kept (Stored: in the file store
// or in memory), else read once from Content.
type File struct {
	Name, MIMEType, Comment string
	Stored                  *seos.StoredBody
	Content                 io.Reader
}

// row is what a received document's inbox row holds, whatever its channel.
type row struct {
	channel, senderEmail string
	sender               seos.Entity
	messageGUID          string
	doc                  seos.Document
	comment              string
	logID                int64
	at                   time.Time
	state                State
}

// insert writes a received document and its attachments.
func insert(ctx context.Context, q Querier, r *row, files []File) (int64, error) {
	doc := r.doc
	doc.Attachments = nil // bodies go to inbox_attachments, decoded
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return 0, fmt.Errorf("inbox: encode document: %w", err)
	}
	about := ""
	if doc.About != nil {
		about = *doc.About
	}
	ts := store.FormatTime(r.at)
	res, err := q.ExecContext(ctx, `INSERT INTO inbox
		(sender_guid_key, sender_guid, sender_eik, sender_name, document_guid_key, document_guid, message_guid, received_at, log_id,
		 kind, about, document_json, comment, state, updated_at, channel, sender_email)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seos.CanonicalGUID(r.sender.GUID), r.sender.GUID, r.sender.Identifier, r.sender.AdministrativeBodyName,
		seos.CanonicalGUID(doc.ID.GUID), doc.ID.GUID, r.messageGUID, ts, r.logID, doc.Kind, about, string(docJSON), r.comment, r.state, ts,
		r.channel, r.senderEmail)
	if store.IsUniqueViolation(err) {
		return 0, ErrExists
	}
	if err != nil {
		return 0, fmt.Errorf("inbox: insert: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("inbox: insert: %w", err)
	}
	for i, f := range files {
		var body []byte
		var size int64
		file := ""
		if s := f.Stored; s != nil {
			body, file, size = s.Data, s.Blob, s.Size
		} else {
			if body, err = io.ReadAll(f.Content); err != nil {
				return 0, fmt.Errorf("inbox: attachment %d (%s): %w", i+1, f.Name, err)
			}
			size = int64(len(body))
		}
		if body == nil {
			body = []byte{}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO inbox_attachments (inbox_id, idx, file_name, mime_type, comment, size, content, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, i+1, f.Name, f.MIMEType, f.Comment, size, body, file); err != nil {
			return 0, fmt.Errorf("inbox: attachment %d: %w", i+1, err)
		}
	}
	return id, nil
}

// ErrExists is a document the sender sent before (its DocumentGUID is
// unique per sender).
var ErrExists = errors.New("inbox: this sender sent a document with this DocumentGUID before")

// ErrNotFound is a document that is not in the inbox.
var ErrNotFound = errors.New("inbox: no such document")

const itemColumns = `id, sender_guid, sender_eik, sender_name, document_guid, message_guid, received_at, log_id, state,
	document_json, comment, reg_number, reg_date, reg_uri_json, rejection_reason, expect_close, updated_at, verdict_json, needs_review,
	channel, sender_email`

// Find returns the document a sender sent with this DocumentGUID.
func Find(ctx context.Context, q Querier, senderGUID, documentGUID string) (*Item, error) {
	return one(ctx, q, `SELECT `+itemColumns+` FROM inbox WHERE sender_guid_key = ? AND document_guid_key = ?`,
		seos.CanonicalGUID(senderGUID), seos.CanonicalGUID(documentGUID))
}

// Get returns a document by id, with its attachment list.
func Get(ctx context.Context, q Querier, id int64) (*Item, error) {
	it, err := one(ctx, q, `SELECT `+itemColumns+` FROM inbox WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT idx, file_name, mime_type, comment, size FROM inbox_attachments WHERE inbox_id = ? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.Index, &a.FileName, &a.MIMEType, &a.Comment, &a.Size); err != nil {
			return nil, err
		}
		it.Attachments = append(it.Attachments, a)
	}
	return it, rows.Err()
}

// ByLog returns the document a registration request logged as logID
// brought.
func ByLog(ctx context.Context, q Querier, logID int64) (*Item, error) {
	return one(ctx, q, `SELECT `+itemColumns+` FROM inbox WHERE log_id = ?`, logID)
}

// List returns documents in a state ("" for every state the AIS sees),
// oldest first.
func List(ctx context.Context, q Querier, state State, limit int) ([]Item, error) {
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + itemColumns + ` FROM inbox WHERE state <> ?`
	args := []any{Checking}
	if state != "" {
		query = `SELECT ` + itemColumns + ` FROM inbox WHERE state = ?`
		args = []any{state}
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("inbox: list: %w", err)
	}
	return collect(rows)
}

// PageFilter selects received documents for a console page.
type PageFilter struct {
	State  State // "" = every state, checking included
	Held   bool  // only documents the acceptance policy held for a clerk
	Before int64 // only ids below this (the next page); 0 = from the newest
	Limit  int   // at most this many (default 50)
}

// Page returns the documents f selects, newest first.
func Page(ctx context.Context, q Querier, f PageFilter) ([]Item, error) {
	query := `SELECT ` + itemColumns + ` FROM inbox WHERE 1 = 1`
	var args []any
	if f.State != "" {
		query += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Held {
		query += ` AND needs_review = 1`
	}
	if f.Before > 0 {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("inbox: page: %w", err)
	}
	return collect(rows)
}

// Backlog is what waits on others than the sender: documents waiting for
// the acceptance policy's verdict, and those it held that a clerk has yet
// to decide.
type Backlog struct {
	Checking int
	Held     int       // received, needing review
	Oldest   time.Time // when the longest-waiting checking document came; zero when none
}

// CountBacklog counts the backlog.
func CountBacklog(ctx context.Context, q Querier) (Backlog, error) {
	var b Backlog
	err := q.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? AND needs_review = 1 THEN 1 ELSE 0 END), 0)
		FROM inbox WHERE state IN (?, ?)`, Checking, Received, Checking, Received).Scan(&b.Checking, &b.Held)
	if err != nil {
		return b, fmt.Errorf("inbox: backlog: %w", err)
	}
	if b.Checking == 0 {
		return b, nil
	}
	var oldest string
	if err := q.QueryRowContext(ctx, `SELECT received_at FROM inbox WHERE state = ? ORDER BY id LIMIT 1`, Checking).Scan(&oldest); err != nil {
		if errors.Is(err, sql.ErrNoRows) { // judged meanwhile
			return b, nil
		}
		return b, fmt.Errorf("inbox: backlog: %w", err)
	}
	if b.Oldest, err = store.ParseTime(oldest); err != nil {
		return b, fmt.Errorf("inbox: backlog: %w", err)
	}
	return b, nil
}

// AttachmentContent returns one attachment's bytes: in memory, whatever
// their size (OpenAttachment reads them in place).
func AttachmentContent(ctx context.Context, q Querier, files *blob.Store, id int64, idx int) (*Attachment, []byte, error) {
	c, err := OpenAttachment(ctx, q, files, id, idx)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	body := make([]byte, c.Size)
	if _, err := c.ReadAt(body, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("inbox: document %d attachment %d: %w", id, idx, err)
	}
	return &c.Attachment, body, nil
}

// FileRefs adds the files the inbox refers to, for the file store's sweep.
func FileRefs(ctx context.Context, q Querier, refs map[string]bool) error {
	if err := store.CollectFiles(ctx, q, `SELECT file FROM inbox_attachments WHERE file != ''`, refs); err != nil {
		return fmt.Errorf("inbox: files: %w", err)
	}
	return nil
}

func one(ctx context.Context, q Querier, query string, args ...any) (*Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

type scanner interface{ Scan(...any) error }

func scanItem(s scanner) (*Item, error) {
	var it Item
	var received, updated, docJSON, uriJSON, verdictJSON string
	if err := s.Scan(&it.ID, &it.Sender.GUID, &it.Sender.Identifier, &it.Sender.AdministrativeBodyName, &it.DocumentGUID, &it.MessageGUID,
		&received, &it.LogID, &it.State, &docJSON, &it.Comment, &it.RegNumber, &it.RegDate, &uriJSON, &it.RejectionReason, &it.ExpectClose, &updated,
		&verdictJSON, &it.NeedsReview, &it.Channel, &it.SenderEmail); err != nil {
		return nil, err
	}
	if verdictJSON != "" {
		it.Verdict = &acceptance.Verdict{}
		if err := json.Unmarshal([]byte(verdictJSON), it.Verdict); err != nil {
			return nil, fmt.Errorf("inbox: document %d: verdict: %w", it.ID, err)
		}
	}
	var err1, err2 error
	it.ReceivedAt, err1 = store.ParseTime(received)
	it.UpdatedAt, err2 = store.ParseTime(updated)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("inbox: document %d: %w", it.ID, err)
	}
	if err := json.Unmarshal([]byte(docJSON), &it.Document); err != nil {
		return nil, fmt.Errorf("inbox: document %d: %w", it.ID, err)
	}
	if uriJSON != "" {
		it.RegURI = &seos.DocumentURI{}
		if err := json.Unmarshal([]byte(uriJSON), it.RegURI); err != nil {
			return nil, fmt.Errorf("inbox: document %d: %w", it.ID, err)
		}
	}
	return &it, nil
}

// StatusID is the DocID this node reports for a received document: the
// DocumentGUID with our registration number or URI once we have one.
func (it *Item) StatusID() seos.DocumentID {
	id := seos.DocumentID{GUID: it.DocumentGUID}
	switch {
	case it.RegURI != nil:
		id.URI = it.RegURI
	case it.RegNumber != "":
		id.Number = &seos.DocumentNumber{Number: it.RegNumber, Date: seos.Date(it.RegDate)}
	}
	return id
}

// StatusResponse is this node's report on a received document, as a
// DocumentStatusResponse to its sender says it: a registered document's
// carries the confirmation of receipt (Receipt).
func (it *Item) StatusResponse() *seos.StatusResponse {
	r := &seos.StatusResponse{DocID: it.StatusID(), Status: it.State.DocStatus()}
	if it.RejectionReason != "" {
		r.RejectionReason = seos.Str(it.RejectionReason)
	}
	if it.ExpectClose != "" {
		v := seos.Date(it.ExpectClose)
		r.ExpectCloseDate = &v
	}
	if t, ok := it.Receipt(); ok && it.State == Registered {
		r.AddData = seos.NewReceipt(t.BG, t.Latin)
	}
	return r
}

// Receipt is the confirmation of receipt the sender is sent with
// DS_REGISTERED (the agency's rules, section VIII): the registration
// number and date and when we received the document, in Cyrillic and
// Latin. There is none before registration, without a verdict (no policy
// judged the document) or when the sender declined confirmation.
func (it *Item) Receipt() (acceptance.Text, bool) {
	reg, ok := it.Registration()
	if !ok || it.Verdict == nil {
		return acceptance.Text{}, false
	}
	return it.Verdict.ReceiptText(reg)
}

// Registration is how we registered the document, as a receipt states it
// (number or URI, the date, when it came); false before registration.
func (it *Item) Registration() (acceptance.Registration, bool) {
	if it.State != Registered && it.State != Closed && it.State != Stopped {
		return acceptance.Registration{}, false
	}
	reg := acceptance.Registration{Number: it.RegNumber, ReceivedAt: it.ReceivedAt, Date: it.UpdatedAt}
	if d, err := time.ParseInLocation("2006-01-02", it.RegDate, clock.Sofia); err == nil {
		reg.Date = d
	}
	if it.RegURI != nil {
		reg.Number = it.RegURI.String()
		if u := it.RegURI.ReceiptOrSigningDate; u != nil {
			if d, err := time.ParseInLocation("2006-01-02", string(*u), clock.Sofia); err == nil {
				reg.Date = d
			}
		}
	}
	return reg, reg.Number != ""
}

// Update is what a verdict or an AIS action changes.
type Update struct {
	State       State
	ID          *seos.DocumentID // our registration (number or URI) when registering
	Reason      string           // rejection reason
	ExpectClose string
	// Verdict is the acceptance policy's, recorded when it judges a
	// document; a hold marks the document for review.
	Verdict *acceptance.Verdict
}

// Apply writes an update.
func Apply(ctx context.Context, q Querier, id int64, u *Update, at time.Time) error {
	number, date, uriJSON := "", "", ""
	if u.ID != nil {
		switch {
		case u.ID.Number != nil:
			number, date = u.ID.Number.Number, string(u.ID.Number.Date)
		case u.ID.URI != nil:
			b, _ := json.Marshal(u.ID.URI)
			uriJSON = string(b)
		}
	}
	set, args := "state = ?, updated_at = ?", []any{u.State, store.FormatTime(at)}
	if u.ID != nil {
		set += ", reg_number = ?, reg_date = ?, reg_uri_json = ?"
		args = append(args, number, date, uriJSON)
	}
	if u.Reason != "" {
		set += ", rejection_reason = ?"
		args = append(args, u.Reason)
	}
	if u.ExpectClose != "" {
		set += ", expect_close = ?"
		args = append(args, u.ExpectClose)
	}
	if u.Verdict != nil {
		b, err := json.Marshal(u.Verdict)
		if err != nil {
			return fmt.Errorf("inbox: update %d: verdict: %w", id, err)
		}
		set += ", verdict_json = ?, needs_review = ?"
		args = append(args, string(b), u.Verdict.Outcome == acceptance.Hold)
	} else if u.State != Received {
		set += ", needs_review = ?" // the clerk has decided
		args = append(args, false)
	}
	if _, err := q.ExecContext(ctx, "UPDATE inbox SET "+set+" WHERE id = ?", append(args, id)...); err != nil {
		return fmt.Errorf("inbox: update %d: %w", id, err)
	}
	return nil
}

// Pruned is what PruneAttachments reclaimed.
type Pruned struct {
	Attachments int64 // attachments whose content went
	Bytes       int64 // the bytes they held
}

// PruneAttachments drops the content of the attachments of documents the
// AIS has acted on — registered, rejected, closed or stopped — whose last
// change is before `before`: the AIS took them when it registered or
// refused the document, and they would otherwise fill the disk. The
// document and its attachment list (names, types, sizes) stay. It says how
// many bytes went, however attachments are kept: the rows let go of their
// files, which the file store's next sweep removes once nothing names them.
func PruneAttachments(ctx context.Context, db *sql.DB, before time.Time) (Pruned, error) {
	states := actedOn()
	where := `(length(content) > 0 OR file != '') AND inbox_id IN (SELECT id FROM inbox WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `) AND updated_at < ?)`
	args := append(states, store.FormatTime(before))
	var p Pruned
	err := store.InTx(ctx, db, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN file != '' THEN size ELSE length(content) END), 0) FROM inbox_attachments WHERE `+where, args...).
			Scan(&p.Attachments, &p.Bytes); err != nil || p.Attachments == 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE inbox_attachments SET content = ?, file = '' WHERE `+where, append([]any{[]byte{}}, args...)...)
		return err
	})
	if err != nil {
		return Pruned{}, fmt.Errorf("inbox: prune attachments: %w", err)
	}
	return p, nil
}

// actedOn lists the states of a document that no longer waits: the
// policy or the AIS registered or rejected it (every state but checking
// and received).
func actedOn() []any {
	var out []any
	for s := range transitions {
		if s != Checking && s != Received {
			out = append(out, s)
		}
	}
	return out
}

// ReceivedIDs lists the ids of received documents still waiting for the
// AIS (state received) after `after`, in order, at most limit of them.
func ReceivedIDs(ctx context.Context, q Querier, after int64, limit int) ([]int64, error) {
	return idsIn(ctx, q, Received, after, limit)
}

// CheckingIDs lists the ids of documents waiting for the acceptance
// policy's verdict after `after`, in order, at most limit of them.
func CheckingIDs(ctx context.Context, q Querier, after int64, limit int) ([]int64, error) {
	return idsIn(ctx, q, Checking, after, limit)
}

func idsIn(ctx context.Context, q Querier, state State, after int64, limit int) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM inbox WHERE id > ? AND state = ? ORDER BY id LIMIT ?`, after, state, limit)
	if err != nil {
		return nil, fmt.Errorf("inbox: list %s: %w", state, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// collect reads every item of rows (itemColumns) and closes them.
func collect(rows *sql.Rows) ([]Item, error) {
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, rows.Err()
}
