// Package intake takes mail for the official address into the gateway: an
// SMTP or LMTP server behind the organisation's MTA, or a poller of the
// official mailbox over IMAP. Each mail goes, byte for byte with its
// envelope, to a durable Sink; only once the sink has committed it does
// SMTP answer 250 or IMAP mark it processed, so a crash loses no mail.
package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Channels a mail arrives by.
const (
	ChannelSMTP = "smtp"
	ChannelLMTP = "lmtp"
	ChannelIMAP = "imap"
)

// Received is one mail as it arrived.
type Received struct {
	Channel string
	// ID names this arrival. Over IMAP it is stable (mailbox, UIDVALIDITY,
	// UID): a mail delivered again after a crash between the sink's commit
	// and the mark has the same ID. Over SMTP it is fresh: an MTA that lost
	// our 250 sends the mail again as a new transaction (same SHA256).
	ID         string
	From       string   // envelope sender; "" is the null reverse path of a bounce
	To         []string // envelope recipients: the official address(es)
	RemoteAddr string
	ReceivedAt time.Time
	Size       int64
	SHA256     [32]byte    // of the content, for deduplication
	Content    io.ReaderAt // the message exactly as received; valid until Deliver returns
}

// Sink stores received mail durably (gateway part B: the inbox).
type Sink interface {
	// Deliver returns nil only once the mail is committed; then SMTP
	// answers 250 and IMAP marks it processed. It must take an ID it
	// already holds as done (return nil). An error wrapping ErrRefused
	// refuses the mail for good (SMTP 554; IMAP flags it and moves on);
	// any other error is temporary (SMTP 451; IMAP tries again next poll).
	Deliver(ctx context.Context, m *Received) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, m *Received) error

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, m *Received) error { return f(ctx, m) }

// ErrRefused marks a sink's permanent refusal of a mail.
var ErrRefused = errors.New("intake: mail refused")

// errTooLarge is a mail over the size limit.
var errTooLarge = errors.New("intake: mail over the size limit")

// spool copies r, at most limit bytes, into a temporary file and returns it
// with its size and digest; the caller removes it with discard.
func spool(dir string, r io.Reader, limit int64) (f *os.File, size int64, sum [32]byte, err error) {
	f, err = os.CreateTemp(dir, "seosgw-mail-*.eml")
	if err != nil {
		return nil, 0, sum, fmt.Errorf("intake: spool: %w", err)
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err == nil && size > limit {
		err = errTooLarge
	}
	if err != nil {
		discard(f)
		return nil, 0, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return f, size, sum, nil
}

func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// deliver hands one spooled mail to the sink within timeout.
func deliver(ctx context.Context, sink Sink, m *Received, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return sink.Deliver(ctx, m)
}

func orDuration(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// deps fills in the system clock, the default logger and a private
// registry where the caller gave none.
func deps(c clock.Clock, l *slog.Logger, r prometheus.Registerer) (clock.Clock, *slog.Logger, prometheus.Registerer) {
	if c == nil {
		c = clock.System
	}
	if l == nil {
		l = slog.Default()
	}
	if r == nil {
		r = prometheus.NewRegistry()
	}
	return c, l, r
}
