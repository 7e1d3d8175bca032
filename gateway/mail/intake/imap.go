package intake

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/textproto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
)

// TLS modes of the IMAP connection.
const (
	IMAPTLSImplicit = "implicit" // port 993
	IMAPTLSStartTLS = "starttls" // port 143 with STARTTLS
	IMAPTLSNone     = "none"     // plain; only for a server on the same host
)

// Keywords the poller sets.
const (
	DefaultProcessedFlag = "$SeosgwReceived" // taken by the sink (flag mode)
	TooLargeFlag         = "$SeosgwTooLarge" // over the size limit: left for a person
	RefusedFlag          = "$SeosgwRefused"  // refused for good by the sink
)

// IMAPOptions configure the mailbox poller.
type IMAPOptions struct {
	Server    string // host:port
	TLS       string // implicit (default), starttls or none
	TLSConfig *tls.Config
	Username  string
	Password  string
	Mailbox   string // default INBOX
	// MoveTo is the mailbox processed mail is moved to; empty: it stays
	// and gets ProcessedFlag instead.
	MoveTo          string
	ProcessedFlag   string        // default $SeosgwReceived
	Address         string        // the official address: the envelope recipient of what the mailbox holds
	Interval        time.Duration // between polls (default 1m)
	Timeout         time.Duration // one IMAP step, e.g. fetching one mail (default 2m)
	MaxMessageBytes int64         // default 64 MiB
	Batch           int           // mails taken per poll (default 50)
	SinkTimeout     time.Duration // default 2m
	SpoolDir        string
	Clock           clock.Clock
	Logger          *slog.Logger
	Registry        prometheus.Registerer
}

func (o IMAPOptions) withDefaults() IMAPOptions {
	if o.TLS == "" {
		o.TLS = IMAPTLSImplicit
	}
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.ProcessedFlag == "" {
		o.ProcessedFlag = DefaultProcessedFlag
	}
	orDuration(&o.Interval, time.Minute)
	orDuration(&o.Timeout, 2*time.Minute)
	orDuration(&o.SinkTimeout, 2*time.Minute)
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 20
	}
	if o.Batch <= 0 {
		o.Batch = 50
	}
	o.Clock, o.Logger, o.Registry = deps(o.Clock, o.Logger, o.Registry)
	return o
}

// IMAPPoller takes mail out of the official mailbox.
type IMAPPoller struct {
	o    IMAPOptions
	sink Sink
	log  *slog.Logger
	m    *metrics
}

// NewIMAPPoller checks the options and builds the poller.
func NewIMAPPoller(o IMAPOptions, sink Sink) (*IMAPPoller, error) {
	o = o.withDefaults()
	if _, _, err := net.SplitHostPort(o.Server); err != nil {
		return nil, fmt.Errorf("intake: IMAP server %q is not host:port", o.Server)
	}
	switch o.TLS {
	case IMAPTLSImplicit, IMAPTLSStartTLS, IMAPTLSNone:
	default:
		return nil, fmt.Errorf("intake: IMAP TLS mode %q; use implicit, starttls or none", o.TLS)
	}
	if o.Username == "" {
		return nil, errors.New("intake: the IMAP poller needs the mailbox's user name")
	}
	return &IMAPPoller{o: o, sink: sink, log: o.Logger.With("component", "mail-imap"), m: newMetrics(o.Registry)}, nil
}

// Run polls every Interval until ctx ends; a failed poll is logged and
// the next one tries again.
func (p *IMAPPoller) Run(ctx context.Context) error {
	for {
		if n, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("mailbox poll failed; retrying at the next poll", "error", err)
		} else if n > 0 {
			p.log.Info("mailbox poll", "taken", n)
		}
		t := time.NewTimer(p.o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Ready logs in and out: the mailbox can be polled.
func (p *IMAPPoller) Ready(ctx context.Context) error {
	c, stop, err := p.connect(ctx)
	if err == nil {
		err = c.Logout().Wait()
		stop()
	}
	p.m.up(err == nil)
	return err
}

// Poll makes one pass and returns how many mails the sink took.
func (p *IMAPPoller) Poll(ctx context.Context) (int, error) {
	n, err := p.poll(ctx)
	if err != nil {
		p.m.polls.WithLabelValues("error").Inc()
		return n, err
	}
	p.m.polls.WithLabelValues("ok").Inc()
	return n, nil
}

func (p *IMAPPoller) poll(ctx context.Context) (int, error) {
	c, stop, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer stop()
	wd := p.watchdog(c)
	defer wd.Stop()
	sel, err := c.Select(p.o.Mailbox, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("intake: SELECT %s: %w", p.o.Mailbox, err)
	}
	skip := []imap.Flag{imap.FlagDeleted, TooLargeFlag, RefusedFlag}
	if p.o.MoveTo == "" {
		skip = append(skip, imap.Flag(p.o.ProcessedFlag))
	}
	wd.Reset(p.o.Timeout)
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: skip}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("intake: UID SEARCH: %w", err)
	}
	uids := found.AllUIDs()
	if len(uids) > p.o.Batch {
		uids = uids[:p.o.Batch]
	}
	taken := 0
	for _, uid := range uids {
		if ctx.Err() != nil {
			break
		}
		wd.Reset(p.o.Timeout)
		done, err := p.take(ctx, c, sel.UIDValidity, uid)
		if err != nil {
			return taken, err
		}
		if done {
			taken++
		}
	}
	wd.Reset(p.o.Timeout)
	if err := c.Logout().Wait(); err != nil {
		p.log.Debug("IMAP LOGOUT", "error", err)
	}
	return taken, nil
}

// take fetches one mail, hands it to the sink and, once committed, marks
// it. A mail over the size limit is flagged and left for a person.
func (p *IMAPPoller) take(ctx context.Context, c *imapclient.Client, validity uint32, uid imap.UID) (bool, error) {
	set := imap.UIDSetNum(uid)
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return false, fmt.Errorf("intake: FETCH RFC822.SIZE of UID %d: %w", uid, err)
	}
	if len(bufs) == 0 {
		return false, nil // expunged meanwhile
	}
	if bufs[0].RFC822Size > p.o.MaxMessageBytes {
		p.m.received.WithLabelValues(ChannelIMAP, "too_large").Inc()
		p.log.Warn("mail over the size limit left in the mailbox, flagged", "uid", uid, "size", bufs[0].RFC822Size, "limit", p.o.MaxMessageBytes, "flag", TooLargeFlag)
		return false, p.flag(c, set, TooLargeFlag)
	}
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	defer cmd.Close()
	msg := cmd.Next()
	if msg == nil {
		return false, cmd.Close()
	}
	var rec *Received
	for item := msg.Next(); item != nil; item = msg.Next() {
		body, ok := item.(imapclient.FetchItemDataBodySection)
		if !ok || body.Literal == nil {
			continue
		}
		f, size, sum, err := spool(p.o.SpoolDir, body.Literal, p.o.MaxMessageBytes)
		if err != nil {
			return false, fmt.Errorf("intake: FETCH BODY[] of UID %d: %w", uid, err)
		}
		defer discard(f)
		rec = &Received{Channel: ChannelIMAP, From: "", To: []string{p.o.Address}, RemoteAddr: p.o.Server,
			ReceivedAt: p.o.Clock.Now(), Size: size, SHA256: sum, Content: f,
			ID: fmt.Sprintf("imap://%s@%s/%s;UIDVALIDITY=%d/;UID=%d", p.o.Username, p.o.Server, p.o.Mailbox, validity, uid)}
	}
	if err := cmd.Close(); err != nil {
		return false, fmt.Errorf("intake: FETCH BODY[] of UID %d: %w", uid, err)
	}
	if rec == nil {
		return false, fmt.Errorf("intake: the server sent no body for UID %d", uid)
	}
	rec.From = returnPath(rec.Content, rec.Size)
	if err := deliver(ctx, p.sink, rec, p.o.SinkTimeout); err != nil {
		if errors.Is(err, ErrRefused) {
			p.m.received.WithLabelValues(ChannelIMAP, "refused").Inc()
			p.log.Warn("mail refused by the sink, flagged", "id", rec.ID, "error", err, "flag", RefusedFlag)
			return false, p.flag(c, set, RefusedFlag)
		}
		p.m.received.WithLabelValues(ChannelIMAP, "sink_failed").Inc()
		return false, fmt.Errorf("intake: the sink did not take %s: %w", rec.ID, err)
	}
	p.m.received.WithLabelValues(ChannelIMAP, "delivered").Inc()
	p.m.bytes.WithLabelValues(ChannelIMAP).Add(float64(rec.Size))
	p.log.Info("mail received", "id", rec.ID, "size", rec.Size)
	// Committed: a crash from here on delivers it again under the same ID.
	if p.o.MoveTo != "" {
		if _, err := c.Move(set, p.o.MoveTo).Wait(); err != nil {
			return true, fmt.Errorf("intake: MOVE UID %d to %s: %w", uid, p.o.MoveTo, err)
		}
		return true, nil
	}
	return true, p.flag(c, set, imap.Flag(p.o.ProcessedFlag))
}

func (p *IMAPPoller) flag(c *imapclient.Client, set imap.UIDSet, f imap.Flag) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{f}}, nil).Close(); err != nil {
		return fmt.Errorf("intake: STORE +FLAGS %s: %w", f, err)
	}
	return nil
}

// connect dials, secures and logs in within Timeout. stop closes the
// connection.
func (p *IMAPPoller) connect(ctx context.Context) (*imapclient.Client, func(), error) {
	dctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", p.o.Server)
	if err != nil {
		p.m.up(false)
		return nil, nil, fmt.Errorf("intake: IMAP server %s: %w", p.o.Server, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.o.TLSConfig != nil {
		cfg = p.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(p.o.Server)
	}
	opts := &imapclient.Options{TLSConfig: cfg}
	// Until logged in, a silent server must not hold the poller.
	conn.SetDeadline(time.Now().Add(p.o.Timeout))
	var c *imapclient.Client
	switch p.o.TLS {
	case IMAPTLSImplicit:
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			p.m.up(false)
			return nil, nil, fmt.Errorf("intake: IMAP server %s: TLS: %w", p.o.Server, err)
		}
		c = imapclient.New(tc, opts)
	case IMAPTLSStartTLS:
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			conn.Close()
			p.m.up(false)
			return nil, nil, fmt.Errorf("intake: IMAP server %s: STARTTLS: %w", p.o.Server, err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.Login(p.o.Username, p.o.Password).Wait(); err != nil {
		c.Close()
		p.m.up(false)
		return nil, nil, fmt.Errorf("intake: IMAP LOGIN as %s: %w", p.o.Username, err)
	}
	conn.SetDeadline(time.Time{}) // from here the watchdog bounds each step
	p.m.up(true)
	return c, func() { c.Close() }, nil
}

// watchdog closes the connection when a step outlasts Timeout; Reset it
// before each step.
func (p *IMAPPoller) watchdog(c *imapclient.Client) *time.Timer {
	return time.AfterFunc(p.o.Timeout, func() {
		p.log.Warn("IMAP step timed out; closing the connection", "timeout", p.o.Timeout)
		c.Close()
	})
}

// returnPath reads the Return-Path the delivering MTA wrote, the envelope
// sender of a mail taken from a mailbox ("" for none or <>).
func returnPath(r io.ReaderAt, size int64) string {
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(io.NewSectionReader(r, 0, size), 256<<10)))
	if err != nil {
		return ""
	}
	return normalizeAddress(h.Get("Return-Path"))
}
