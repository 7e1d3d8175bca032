package mailbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
)

// Answer queues, in tx, the notice a document that came by e-mail is owed
// in the state it has just reached (section VIII of the agency's rules):
// registered — the signed receipt with the registration number and date
// and the time of receipt, in Cyrillic and Latin, the received message
// attached, unless the sender declined it; rejected — the refusal with its
// reasons in Cyrillic and Latin. Mail a program sent on its own (a bounce,
// an auto-reply) is never answered. Each notice is queued once, whoever
// asks again. Call Wake after the commit.
func (b *Mailbox) Answer(ctx context.Context, tx *sql.Tx, it *inbox.Item) error {
	if it.Channel != inbox.ChannelEmail {
		return nil
	}
	var kind string
	switch it.State {
	case inbox.Registered:
		kind = notice.KindReceipt
	case inbox.Rejected:
		kind = notice.KindRefusal
	default:
		return nil // closing or stopping the work is not told by mail
	}
	o, auto, done, err := b.original(ctx, it)
	if err != nil {
		b.m.notices.WithLabelValues(kind, "failed").Inc()
		return err
	}
	defer done()
	log := b.log.With("inbox_id", it.ID, "kind", kind, "to", o.To)
	switch {
	case auto:
		b.m.notices.WithLabelValues(kind, "auto_submitted").Inc()
		log.Info("no notice: the mail was sent by a program (Auto-Submitted, a report or bulk mail)")
		return nil
	case o.To == "":
		b.m.notices.WithLabelValues(kind, "no_address").Inc()
		log.Warn("no notice: the mail names no address to answer")
		return nil
	}
	var msg *mailq.Message
	if kind == notice.KindReceipt {
		reg, ok := it.Registration()
		if !ok || it.Verdict == nil {
			return fmt.Errorf("mailbox: document %d: registered without a registration number or verdict", it.ID)
		}
		var wanted bool
		if msg, wanted, err = b.o.Composer.Receipt(o, it.Verdict, reg); err == nil && !wanted {
			b.m.notices.WithLabelValues(kind, "declined").Inc()
			log.Info("no receipt: the sender declined confirmation of receipt")
			return nil
		}
	} else {
		msg, err = b.o.Composer.Refusal(o, it.RejectionReason)
	}
	if err != nil {
		b.m.notices.WithLabelValues(kind, "failed").Inc()
		return fmt.Errorf("mailbox: document %d: %s: %w", it.ID, kind, err)
	}
	msg.Ref = fmt.Sprintf("inbox:%d", it.ID)
	id, created, err := mailq.Enqueue(ctx, tx, msg, fmt.Sprintf("%s:inbox:%d", kind, it.ID), b.o.Clock.Now())
	if err != nil {
		b.m.notices.WithLabelValues(kind, "failed").Inc()
		return fmt.Errorf("mailbox: document %d: queue the %s: %w", it.ID, kind, err)
	}
	if created {
		b.m.notices.WithLabelValues(kind, "queued").Inc()
		log.Info("notice queued", "mail_id", id, "message_id", msg.MessageID)
	}
	return nil
}

// original is the received mail as a notice answers it: to its Reply-To
// or From, about its subject, in reply to its Message-ID, with its bytes.
// auto reports mail a program sent, which is not answered. Call done when
// the notice is written: the bytes may be read from a file.
func (b *Mailbox) original(ctx context.Context, it *inbox.Item) (o notice.Original, auto bool, done func(), err error) {
	raw, ok, err := b.raw(ctx, it)
	if err != nil {
		return o, false, nil, err
	}
	o = notice.Original{To: it.SenderEmail, ReceivedAt: it.ReceivedAt}
	if it.Document.About != nil {
		o.Subject = *it.Document.About
	}
	if !ok {
		return o, false, func() {}, nil // pruned by retention: answered without it
	}
	o.Raw, o.RawSize = raw, raw.Size
	done = func() { raw.Close() }
	m, err := mailmsg.Parse(raw, raw.Size, b.o.Parse)
	if err != nil {
		return o, false, done, nil // unreadable: answered at the sender's address
	}
	if a := strings.ToLower(m.ReplyAddress()); a != "" {
		o.To = a
	}
	o.Subject, o.MessageID = m.Subject, m.MessageID
	return o, m.AutoSubmitted(), done, nil
}
