package mailbox

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/translit"
)

// Input is what the acceptance policy judges of a document that came by
// e-mail, read again from the .eml in the message log: the texts, the
// files and the S/MIME signature (verified over the exact bytes signed,
// which only the original holds), and the checks the mail decides itself
// (acceptance.Input.ChannelChecks: encrypted or unreadable mail is refused
// whatever the rules say). Call done when the verdict is in: it removes
// the files made for the policy.
func (b *Mailbox) Input(ctx context.Context, it *inbox.Item) (in acceptance.Input, done func(), err error) {
	raw, ok, err := b.raw(ctx, it)
	if err != nil {
		return in, nil, err
	}
	if !ok {
		// Pruned by the message log's retention before it was judged (the
		// node was down that long): a clerk decides from the inbox.
		const bg = "полученото съобщение вече не се съхранява и не може да бъде проверено; нужна е проверка от служител"
		in.ChannelChecks = []acceptance.Check{{Rule: "mail.original", Status: acceptance.Unknown, Mode: acceptance.Enforce, Effect: acceptance.Hold,
			Reason: acceptance.Text{BG: bg, Latin: translit.String(bg), EN: "the received mail is no longer kept (message log retention); a clerk must check it"}}}
		return in, func() {}, nil
	}
	res, err := b.o.Input.Build(raw, raw.Size)
	if err != nil {
		raw.Close()
		return in, nil, fmt.Errorf("mailbox: document %d: %w", it.ID, err)
	}
	return res.Input, func() { res.Close(); raw.Close() }, nil
}

// Judged follows the policy's verdict on a document that came by e-mail,
// in the transaction that recorded it: a refused one is answered with the
// refusal, its reasons in Cyrillic and Latin.
func (b *Mailbox) Judged(ctx context.Context, tx *sql.Tx, it *inbox.Item, v *acceptance.Verdict) error {
	b.m.verdicts.WithLabelValues(string(v.Outcome)).Inc()
	if it.State != inbox.Rejected {
		return nil
	}
	return b.Answer(ctx, tx, it)
}
