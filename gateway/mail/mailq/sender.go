package mailq

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
)

// TLS modes of the submission connection.
const (
	TLSStartTLS = "starttls" // port 587: STARTTLS, required
	TLSImplicit = "implicit" // port 465: TLS from the first byte
	TLSNone     = "none"     // plain; only for a relay on the same host
)

// Options configure the sender.
type Options struct {
	Server      string      // submission server host:port
	TLS         string      // starttls (default), implicit or none
	TLSConfig   *tls.Config // roots and server name to check the server with
	Username    string      // AUTH PLAIN when set (never over a plain connection)
	Password    string
	HeloName    string        // the name we greet with (default: the host name)
	Timeout     time.Duration // one attempt, connection to QUIT (default 2m)
	RetryFirst  time.Duration // first retry delay, doubling after each failure (default 1m)
	RetryMax    time.Duration // the longest delay between attempts (default 1h)
	GiveUpAfter time.Duration // a mail still failing this long after it was queued fails for good (default 5d)
	Poll        time.Duration // how often to look for due mail when not woken (default 30s)
	Probe       time.Duration // how often Run checks the server is reachable, for seosgw_mail_submission_up (default 1m)
	Batch       int           // mails claimed per pass (default 16)
	// Concurrency is how many mails are sent at once, each on its own
	// connection (default 4): a slow recipient's large mail does not hold
	// up the receipts behind it, and the submission server sees a bound.
	Concurrency int
	Files       *blob.Store // where large mails are (Message.BodyFile)
	Clock       clock.Clock
	Logger      *slog.Logger
	Registry    prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&o.Timeout, 2*time.Minute)
	setDur(&o.RetryFirst, time.Minute)
	setDur(&o.RetryMax, time.Hour)
	setDur(&o.GiveUpAfter, 5*24*time.Hour)
	setDur(&o.Poll, 30*time.Second)
	setDur(&o.Probe, time.Minute)
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return o
}

// Sender sends queued mail through the submission server.
type Sender struct {
	db   *sql.DB
	o    Options
	log  *slog.Logger
	m    *metrics
	wake chan struct{}
}

// NewSender checks the options and builds the sender.
func NewSender(db *sql.DB, o Options) (*Sender, error) {
	o = o.withDefaults()
	if _, _, err := net.SplitHostPort(o.Server); err != nil {
		return nil, fmt.Errorf("mailq: submission server %q is not host:port", o.Server)
	}
	switch o.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if o.Username != "" {
			return nil, errors.New("mailq: a password is never sent over a plain connection; use starttls or implicit TLS")
		}
	default:
		return nil, fmt.Errorf("mailq: TLS mode %q; use starttls, implicit or none", o.TLS)
	}
	return &Sender{db: db, o: o, log: o.Logger.With("component", "mailq"), m: newMetrics(o.Registry), wake: make(chan struct{}, 1)}, nil
}

// Wake asks the sender to look at the queue now (after an Enqueue commit).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends: first it puts back mail a crash left in
// flight, then it sends what is due, sleeping until the next is due, Poll
// passes, or Wake. It recovers from every failure by itself.
func (s *Sender) Run(ctx context.Context) error {
	now := s.o.Clock.Now()
	if n, err := recoverStale(ctx, s.db, now, now); err != nil {
		s.log.Error("mail queue: recovering mail left in flight", "error", err)
	} else if n > 0 {
		s.log.Warn("mail queue: mail left in flight by a stop is queued again", "count", n)
	}
	var lastProbe time.Time
	up := true
	for {
		if time.Since(lastProbe) >= s.o.Probe {
			lastProbe = time.Now()
			up = s.probe(ctx, up)
		}
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("mail queue pass", "error", err)
		}
		wait := min(s.o.Poll, s.o.Probe)
		if next, err := nextDue(ctx, s.db); err == nil && !next.IsZero() {
			if d := next.Sub(s.o.Clock.Now()); d < wait {
				wait = max(d, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// SendDue makes one pass: every mail due now gets an attempt. It returns
// how many were sent.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	// An attempt whose outcome could not be recorded is retried.
	if _, err := recoverStale(ctx, s.db, now, now.Add(-2*s.o.Timeout)); err != nil {
		return 0, err
	}
	sent := 0
	defer s.gauge(ctx)
	for {
		items, err := claim(ctx, s.db, now, s.o.Batch)
		if err != nil || len(items) == 0 {
			return sent, err
		}
		// Up to Concurrency at once; every claimed mail gets its outcome
		// recorded (one that could not be is retried after 2×Timeout).
		var (
			mu    sync.Mutex
			wg    sync.WaitGroup
			first error
		)
		sem := make(chan struct{}, s.o.Concurrency)
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				ok, err := s.attempt(ctx, it)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					sent++
				}
				if err != nil && first == nil {
					first = err
				}
			}()
		}
		wg.Wait()
		if first != nil {
			return sent, first
		}
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

// attempt sends one claimed mail and records how it went; ok is true
// when the submission server took it.
func (s *Sender) attempt(ctx context.Context, it *Item) (ok bool, err error) {
	serr := s.send(ctx, it)
	done := s.o.Clock.Now()
	state, retryAt, detail := s.outcome(it, serr, done)
	if err := record(context.WithoutCancel(ctx), s.db, it.ID, state, retryAt, detail, done); err != nil {
		return false, err
	}
	switch state {
	case Sent:
		s.log.Info("mail sent", "id", it.ID, "kind", it.Kind, "to", it.To, "message_id", it.MessageID, "attempt", it.Attempts)
	case Failed:
		s.log.Error("mail failed for good", "id", it.ID, "kind", it.Kind, "to", it.To, "attempt", it.Attempts, "error", detail)
	default:
		s.log.Warn("mail not sent; will retry", "id", it.ID, "to", it.To, "attempt", it.Attempts, "retry_at", retryAt, "error", detail)
	}
	return state == Sent, nil
}

// outcome classifies an attempt: 5xx is permanent (RFC 5321 4.2.1), 4xx
// and network faults are retried on the backoff schedule until the
// give-up age.
func (s *Sender) outcome(it *Item, err error, now time.Time) (state string, retryAt time.Time, detail string) {
	s.m.attempts.Inc()
	if err == nil {
		s.m.sent.Inc()
		return Sent, time.Time{}, ""
	}
	detail = err.Error()
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 {
		s.m.failures.WithLabelValues("permanent").Inc()
		return Failed, time.Time{}, detail
	}
	s.m.failures.WithLabelValues("temporary").Inc()
	round := it.CreatedAt
	if !it.RoundAt.IsZero() {
		round = it.RoundAt
	}
	if now.Sub(round) >= s.o.GiveUpAfter {
		return Failed, time.Time{}, fmt.Sprintf("gave up after %s: %s", s.o.GiveUpAfter, detail)
	}
	delay := s.o.RetryFirst
	for i := 1; i < it.Attempts && delay < s.o.RetryMax; i++ {
		delay *= 2
	}
	return Queued, now.Add(min(delay, s.o.RetryMax)), detail
}

// send makes one SMTP transaction for it.
func (s *Sender) send(ctx context.Context, it *Item) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(it.From, nil); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(it.To, nil); err != nil {
		return fmt.Errorf("RCPT TO <%s>: %w", it.To, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	body, err := s.body(it)
	if err != nil {
		w.Close()
		return err
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil { // streamed from the file store for a large mail
		w.Close()
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	c.Quit() // the mail is taken; a failed QUIT changes nothing
	return nil
}

// body reads a mail's bytes, from its row or its file.
func (s *Sender) body(it *Item) (io.ReadCloser, error) {
	if it.BodyFile == "" {
		return io.NopCloser(bytes.NewReader(it.Body)), nil
	}
	if s.o.Files == nil {
		return nil, fmt.Errorf("mail %d is in file %s, and no file store is open", it.ID, it.BodyFile)
	}
	return s.o.Files.Open(it.BodyFile)
}

// dial connects, greets, secures and authenticates, within Timeout.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.o.Server)
	if err != nil {
		return nil, fmt.Errorf("submission server %s: %w", s.o.Server, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	cfg := s.tlsConfig()
	var c *smtp.Client
	switch s.o.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, cfg))
	case TLSStartTLS:
		// The first EHLO goes out as "localhost" (go-smtp); the one after
		// STARTTLS carries our name.
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return nil, fmt.Errorf("submission server %s: STARTTLS: %w", s.o.Server, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout, c.SubmissionTimeout = s.o.Timeout, s.o.Timeout
	if err := c.Hello(s.heloName()); err != nil {
		c.Close()
		return nil, fmt.Errorf("submission server %s: EHLO: %w", s.o.Server, err)
	}
	if s.o.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.o.Username, s.o.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("submission server %s: AUTH: %w", s.o.Server, err)
		}
	}
	return c, nil
}

func (s *Sender) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.o.TLSConfig != nil {
		cfg = s.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(s.o.Server)
	}
	return cfg
}

func (s *Sender) heloName() string {
	if s.o.HeloName != "" {
		return s.o.HeloName
	}
	if h, err := osHostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// Ready checks that the submission server answers, takes our TLS and
// credentials, and keeps seosgw_mail_submission_up current.
func (s *Sender) Ready(ctx context.Context) error {
	c, err := s.dial(ctx)
	if err == nil {
		err = c.Quit()
		c.Close()
	}
	s.m.up(err == nil)
	return err
}

// probe checks the submission server now and then even when nothing is
// sent, so that seosgw_mail_submission_up says whether a receipt would go
// out; it logs when the server goes and comes back.
func (s *Sender) probe(ctx context.Context, wasUp bool) bool {
	err := s.Ready(ctx)
	switch {
	case ctx.Err() != nil:
		return wasUp
	case err != nil && wasUp:
		s.log.Warn("submission server unreachable: outgoing mail waits in the queue", "error", err)
	case err == nil && !wasUp:
		s.log.Info("submission server reachable again")
	}
	return err == nil
}

func (s *Sender) gauge(ctx context.Context) {
	d, err := Depth(context.WithoutCancel(ctx), s.db)
	if err != nil {
		return
	}
	for st, n := range d {
		s.m.depth.WithLabelValues(st).Set(float64(n))
	}
}
