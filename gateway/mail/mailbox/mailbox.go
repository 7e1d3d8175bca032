// Package mailbox puts the official mailbox into the gateway's one flow:
// each mail the intake takes becomes a document of the inbox's e-mail
// channel (sink.go), the acceptance judge judges it from the mail itself
// (judge.go), registration and refusal answer it with signed mail through
// the mail queue, in the transaction that moves the document (notices.go),
// and the AIS's documents go out by e-mail the same way (send.go).
package mailbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/msglog"
)

// Options configure the mailbox.
type Options struct {
	DB *sql.DB
	// Files is where large mails and their files are kept (the node's
	// file store beside the database); nil keeps everything in rows.
	Files *blob.Store
	// Parse bounds what one mail may make the parser do (the sink and the
	// judge read a mail alike).
	Parse mailmsg.Options
	// Input maps a mail to the acceptance policy's input and gives it its
	// DocKind (mail.kinds).
	Input *mailinput.Builder
	// Composer writes and signs what goes out, from the official address.
	Composer *notice.Composer
	// Addresses are the official addresses the intake takes mail for
	// (mail.addresses): a document sent to one would come back as mail.
	Addresses []string
	Clock     clock.Clock
	Log       *slog.Logger
	Registry  prometheus.Registerer
}

// Mailbox is the mail channel's part of the inbox and the outbox.
type Mailbox struct {
	o   Options
	log *slog.Logger
	m   *metrics
	// Arrived, when set, is told of each document stored (the judge's
	// wake-up); Queued, that mail was queued (the sender's). Neither may
	// block.
	Arrived func(inboxID int64)
	Queued  func()
}

// New checks the options and builds the mailbox.
func New(o Options) (*Mailbox, error) {
	if o.DB == nil || o.Input == nil || o.Composer == nil {
		return nil, errors.New("mailbox: the database, the input builder and the composer are required")
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return &Mailbox{o: o, log: o.Log.With("component", "mailbox"), m: newMetrics(o.Registry)}, nil
}

// Official tells whether addr is one of the official addresses (or the
// sender's): mail to it loops back into the intake. Case is ignored, as
// MTAs do for the local part in practice.
func (b *Mailbox) Official(addr string) bool {
	addr = strings.TrimSpace(addr)
	if b.o.Composer.From != nil && strings.EqualFold(addr, b.o.Composer.From.Address) {
		return true
	}
	for _, a := range b.o.Addresses {
		if strings.EqualFold(addr, a) {
			return true
		}
	}
	return false
}

// raw opens the received mail of a document as the message log keeps it,
// in its row or its file; ok is false when it is no longer kept
// (retention pruned it). Close the reader when done.
func (b *Mailbox) raw(ctx context.Context, it *inbox.Item) (r rawMail, ok bool, err error) {
	l := &msglog.Log{DB: b.o.DB, Files: b.o.Files}
	e, err := l.Get(ctx, it.LogID)
	if err != nil {
		return r, false, fmt.Errorf("mailbox: document %d: the received mail (log %d): %w", it.ID, it.LogID, err)
	}
	switch {
	case e.RawFile != "":
		f, err := b.o.Files.Open(e.RawFile)
		if errors.Is(err, blob.ErrNotFound) {
			return r, false, nil
		}
		if err != nil {
			return r, false, fmt.Errorf("mailbox: document %d: the received mail (log %d): %w", it.ID, it.LogID, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return r, false, fmt.Errorf("mailbox: document %d: the received mail (log %d): %w", it.ID, it.LogID, err)
		}
		return rawMail{ReaderAt: f, Size: st.Size(), close: f.Close}, true, nil
	case len(e.Raw) == 0:
		return r, false, nil
	}
	return rawMail{ReaderAt: bytes.NewReader(e.Raw), Size: int64(len(e.Raw)), close: func() error { return nil }}, true, nil
}

// rawMail is a received mail's exact bytes.
type rawMail struct {
	io.ReaderAt
	Size  int64
	close func() error
}

func (r rawMail) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close()
}

// Wake tells the sender that mail was queued; call it after the commit.
func (b *Mailbox) Wake() {
	if b.Queued != nil {
		b.Queued()
	}
}
