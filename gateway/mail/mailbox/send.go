package mailbox

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/seos"
)

// Send writes a document the AIS addressed to an e-mail address as signed
// S/MIME from the official address — its kind, registration and texts in
// the body, its files attached — and queues it in tx. It returns the
// queued mail's id; the mail queue's state is the document's. Call Wake
// after the commit.
func (b *Mailbox) Send(ctx context.Context, tx *sql.Tx, to string, doc *seos.Document, comment string) (int64, error) {
	atts := make([]notice.Attachment, len(doc.Attachments))
	for i, a := range doc.Attachments {
		body, err := a.Data()
		if err != nil {
			return 0, fmt.Errorf("mailbox: attachment %d (%s): %w", i+1, a.FileName, err)
		}
		atts[i] = notice.Attachment{Name: a.FileName, MediaType: a.MIMEType, Content: bytes.NewReader(body)}
	}
	subject, text := documentText(doc, comment)
	msg, err := b.o.Composer.Document(to, subject, text, atts)
	if err != nil {
		return 0, fmt.Errorf("mailbox: document %s: %w", doc.ID.GUID, err)
	}
	msg.Ref = "document:" + doc.ID.GUID
	id, _, err := mailq.Enqueue(ctx, tx, msg, "", b.o.Clock.Now())
	if err != nil {
		return 0, fmt.Errorf("mailbox: document %s: %w", doc.ID.GUID, err)
	}
	b.log.Info("document queued by e-mail", "mail_id", id, "to", to, "document_guid", doc.ID.GUID, "message_id", msg.MessageID)
	return id, nil
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
