package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// Channels a document arrives by (inbox.channel).
const (
	ChannelSEOS  = "seos"  // a SEOS registration request from a participant
	ChannelEmail = "email" // a mail to the official address
)

// Mail is a document that came by e-mail, as the inbox keeps it: the
// sender's address instead of a participant, the subject and body text
// in the Document (About, Comment), the mail's files as attachments. The
// .eml itself is in the message log (LogID).
type Mail struct {
	// IntakeID is the intake's name for this arrival (stable over IMAP);
	// SHA256 (hex) is of the message as received: either seen before
	// makes the mail a re-delivery (MailSeen).
	IntakeID, SHA256 string
	From             string // the sender's address
	Name             string // the sender's display name, as the From header gives it
	Document         seos.Document
	LogID            int64
	ReceivedAt       time.Time
}

// AddMail stores a mail as a document waiting for the acceptance policy
// (Checking), with its files, and records it as taken, in the caller's
// transaction with its message log entry.
func AddMail(ctx context.Context, q Querier, m *Mail, files []File) (int64, error) {
	if m.IntakeID == "" || len(m.SHA256) != 64 {
		return 0, errors.New("inbox: a mail needs the intake's id and its SHA-256")
	}
	if m.Document.ID.GUID == "" {
		return 0, errors.New("inbox: a mail needs a DocumentGUID of its own")
	}
	id, err := insert(ctx, q, &row{channel: ChannelEmail, senderEmail: strings.ToLower(m.From),
		sender: seos.Entity{AdministrativeBodyName: m.Name}, doc: m.Document, logID: m.LogID, at: m.ReceivedAt, state: Checking}, files)
	if err != nil {
		return 0, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO inbound_mail (intake_id, sha256, inbox_id, received_at) VALUES (?, ?, ?, ?)`,
		m.IntakeID, strings.ToLower(m.SHA256), id, store.FormatTime(m.ReceivedAt)); err != nil {
		return 0, fmt.Errorf("inbox: record mail %s: %w", m.IntakeID, err)
	}
	return id, nil
}

// MailSeen reports the document a mail became when it was taken before:
// the same intake id (IMAP hands a mail again when a crash came between
// our commit and its mark) or the same bytes (an MTA that lost our 250
// sends them again).
func MailSeen(ctx context.Context, q Querier, intakeID, sha256 string) (inboxID int64, seen bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT inbox_id FROM inbound_mail WHERE intake_id = ? OR sha256 = ? ORDER BY inbox_id LIMIT 1`,
		intakeID, strings.ToLower(sha256)).Scan(&inboxID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("inbox: look up mail %s: %w", intakeID, err)
	}
	return inboxID, true, nil
}
