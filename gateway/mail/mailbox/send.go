package mailbox

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"

	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/seos"
)

// Send writes a document the AIS addressed to an e-mail address as signed
// S/MIME from the official address — its kind, registration and texts in
// the body, its files attached — and queues it in tx. It returns the
// queued mail's id, the mail queue's state being the document's, and the
// file-store names a row of the caller's must keep (the signed mail, when
// large). The files stream from the file store into the mail. Call Wake
// after the commit.
func (b *Mailbox) Send(ctx context.Context, tx *sql.Tx, to string, doc *seos.Document, comment string) (int64, []string, error) {
	atts := make([]notice.Attachment, len(doc.Attachments))
	for i, a := range doc.Attachments {
		r, err := b.attachment(a)
		if err != nil {
			return 0, nil, fmt.Errorf("mailbox: attachment %d (%s): %w", i+1, a.FileName, err)
		}
		defer r.Close()
		atts[i] = notice.Attachment{Name: a.FileName, MediaType: a.MIMEType, Content: r}
	}
	subject, text := documentText(doc, comment)
	msg, err := b.o.Composer.Document(to, subject, text, atts)
	if err != nil {
		return 0, nil, fmt.Errorf("mailbox: document %s: %w", doc.ID.GUID, err)
	}
	msg.Ref = "document:" + doc.ID.GUID
	id, _, err := mailq.Enqueue(ctx, tx, msg, "", b.o.Clock.Now())
	if err != nil {
		return 0, nil, fmt.Errorf("mailbox: document %s: %w", doc.ID.GUID, err)
	}
	var files []string
	if msg.BodyFile != "" {
		files = []string{msg.BodyFile}
	}
	b.log.Info("document queued by e-mail", "mail_id", id, "to", to, "document_guid", doc.ID.GUID, "message_id", msg.MessageID, "size", msg.Size)
	return id, files, nil
}

// attachment reads a document's file: from the file store when it is
// there, else from the model.
func (b *Mailbox) attachment(a seos.Attachment) (io.ReadCloser, error) {
	if a.Stored != nil && a.Stored.Blob != "" {
		if b.o.Files == nil {
			return nil, fmt.Errorf("in file %s, and no file store is open", a.Stored.Blob)
		}
		return b.o.Files.Open(a.Stored.Blob)
	}
	body, err := a.Data()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// documentText is a document's subject line — its kind, our registration,
// what it is about — and its body: the same texts one by one, then the
// sending comment.
func documentText(d *seos.Document, comment string) (subject, text string) {
	subject = d.Kind
	var lines []string
	add := func(label, v string) {
		if v = strings.TrimSpace(v); v != "" {
			lines = append(lines, label+": "+v)
		}
	}
	add("Вид / Vid", d.Kind)
	switch {
	case d.ID.Number != nil:
		reg := fmt.Sprintf("%s / %s", d.ID.Number.Number, d.ID.Number.Date)
		subject += " № " + reg
		add("Рег. № / Reg. №", reg)
	case d.ID.URI != nil:
		subject += " № " + d.ID.URI.String()
		add("Рег. № / Reg. №", d.ID.URI.String())
	}
	if d.About != nil {
		subject += ": " + strings.TrimSpace(*d.About)
		add("Относно / Otnosno", *d.About)
	}
	if d.Comment != nil {
		add("Забележка / Zabelezhka", *d.Comment)
	}
	if comment != "" {
		lines = append(lines, "", strings.TrimSpace(comment))
	}
	if len(d.Attachments) > 0 {
		lines = append(lines, "", fmt.Sprintf("Приложения / Prilozhenia: %d", len(d.Attachments)))
	}
	return subject, strings.Join(lines, "\n")
}
