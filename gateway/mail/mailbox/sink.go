package mailbox

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// MessageType is the message log's type of a received mail.
const MessageType = "email"

// Deliver stores a mail the intake took (intake.Sink): the .eml byte for
// byte in the message log, a document of the e-mail channel waiting for
// the acceptance policy, its files, all in one transaction. A re-delivery
// (the same IMAP mail, or the same bytes) is taken as done. Only after the
// commit does it return nil, and the intake answer 250 or mark the mail.
//
// A mail that cannot be read as MIME is stored too, without files: the
// judge refuses it, and its sender hears why.
func (b *Mailbox) Deliver(ctx context.Context, r *intake.Received) error {
	sum := hex.EncodeToString(r.SHA256[:])
	content := io.NewSectionReader(r.Content, 0, r.Size)
	// The .eml goes to the file store when large (the message log's row
	// then names it), like a SEOS message's bytes; small ones stay in the row.
	raw, err := b.o.Files.Copy(content, rawInline)
	if err != nil {
		b.m.stored.WithLabelValues("failed").Inc()
		return fmt.Errorf("mailbox: keep %s: %w", r.ID, err)
	}
	m, perr := mailmsg.Parse(r.Content, r.Size, b.o.Parse)
	if perr != nil && !errors.Is(perr, mailmsg.ErrMalformed) && !errors.Is(perr, mailmsg.ErrTooComplex) {
		b.m.stored.WithLabelValues("failed").Inc()
		return fmt.Errorf("mailbox: read %s: %w", r.ID, perr)
	}
	mail, files, err := b.document(r, m, sum)
	if err != nil {
		b.m.stored.WithLabelValues("failed").Inc()
		return fmt.Errorf("mailbox: keep the files of %s: %w", r.ID, err)
	}
	var id int64
	dup := false
	err = store.InTx(ctx, b.o.DB, func(tx *sql.Tx) error {
		// In the transaction: writers take the database in turn, so two
		// copies arriving at once cannot both be new.
		var err error
		if id, dup, err = inbox.MailSeen(ctx, tx, r.ID, sum); err != nil || dup {
			return err
		}
		entry := &msglog.Entry{Direction: msglog.In, At: r.ReceivedAt, PeerGUID: mail.From, MessageType: MessageType,
			DocumentGUID: mail.Document.ID.GUID, Outcome: "accepted", Detail: detail(r, m), Size: int(raw.Size), Raw: raw.Data, RawFile: raw.Ref}
		if entry.Raw == nil && entry.RawFile == "" {
			entry.Raw = []byte{}
		}
		if mail.LogID, err = msglog.Insert(ctx, tx, entry); err != nil {
			return err
		}
		id, err = inbox.AddMail(ctx, tx, mail, files)
		return err
	})
	if err != nil {
		b.m.stored.WithLabelValues("failed").Inc()
		return fmt.Errorf("mailbox: store %s: %w", r.ID, err)
	}
	if dup {
		b.m.stored.WithLabelValues("duplicate").Inc()
		b.log.Info("mail delivered again; stored before", "intake_id", r.ID, "inbox_id", id, "sha256", sum)
		return nil
	}
	b.m.stored.WithLabelValues("stored").Inc()
	b.log.Info("mail stored for the acceptance policy", "intake_id", r.ID, "inbox_id", id, "from", mail.From, "kind", mail.Document.Kind,
		"attachments", len(files), "size", r.Size)
	if b.Arrived != nil {
		b.Arrived(id)
	}
	return nil
}

// document is what the inbox keeps of a mail: who sent it (the From
// address, else the envelope sender), the subject as what it is about, the
// body text as its comment, the kind by mail.kinds, and the files (each in
// the file store when large, as SEOS attachments are).
func (b *Mailbox) document(r *intake.Received, m *mailmsg.Mail, sum string) (*inbox.Mail, []inbox.File, error) {
	out := &inbox.Mail{IntakeID: r.ID, SHA256: sum, From: strings.ToLower(r.From), ReceivedAt: r.ReceivedAt,
		Document: seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}}}
	if m == nil {
		return out, nil, nil
	}
	if m.From != nil && m.From.Address != "" {
		out.From, out.Name = strings.ToLower(m.From.Address), m.From.Name
	}
	d := &out.Document
	d.Kind = b.o.Input.Kind(m).Kind
	d.About, d.Comment = nonEmpty(m.Subject), nonEmpty(m.Text)
	name := out.Name
	if name == "" {
		name = out.From
	}
	applicant := seos.CorrApplicant
	d.Correspondents = []seos.Correspondent{{Name: name, EMail: nonEmpty(out.From), Kind: &applicant}}
	files := make([]inbox.File, len(m.Attachments))
	for i, p := range m.Attachments {
		k, err := b.decoded(p)
		if err != nil {
			return nil, nil, fmt.Errorf("attachment %d: %w", i+1, err)
		}
		files[i] = inbox.File{Name: m.AttachmentName(i), MIMEType: p.MediaType, Stored: &seos.StoredBody{Size: k.Size, Blob: k.Ref, Data: k.Data}}
	}
	return out, files, nil
}

// Sizes above which a mail's bytes and its files go to the file store.
const (
	rawInline  = blob.InlineMessage
	fileInline = blob.InlineFile
)

// decoded keeps a file's content: decoded by its transfer encoding, or,
// when that fails (bad base64, an unknown encoding: the sender's fault), as
// it came, so that the clerk still has it and the policy judges what it is.
func (b *Mailbox) decoded(p *mailmsg.Part) (blob.Kept, error) {
	if rd, err := p.Open(); err == nil {
		if k, err := b.o.Files.Copy(rd, fileInline); err == nil {
			return k, nil
		}
	}
	return b.o.Files.Copy(p.Body(), fileInline)
}

// detail is the message log's line about a mail: where it came from.
func detail(r *intake.Received, m *mailmsg.Mail) string {
	parts := []string{"via " + r.Channel, "intake id " + r.ID}
	if r.RemoteAddr != "" {
		parts = append(parts, "from "+r.RemoteAddr)
	}
	if r.From != "" {
		parts = append(parts, "envelope sender "+r.From)
	}
	if m != nil && m.MessageID != "" {
		parts = append(parts, "Message-ID <"+m.MessageID+">")
	}
	if m == nil {
		parts = append(parts, "not readable as MIME")
	}
	return strings.Join(parts, "; ")
}

func nonEmpty(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}
