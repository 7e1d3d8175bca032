package intake

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
)

// SMTPOptions configure the SMTP/LMTP intake.
type SMTPOptions struct {
	Listen string // host:port, or unix:/path (usual for LMTP)
	// SocketMode is a unix socket's permission bits (default 0660: the
	// MTA reaches it through the group), set whatever the umask.
	SocketMode os.FileMode
	LMTP       bool   // speak LMTP (RFC 2033) instead of SMTP
	Domain     string // the name in the greeting
	// Recipients are the official addresses; mail for any other is
	// refused at RCPT (550), so the intake is no open relay.
	Recipients []string
	// AllowedClients are the relay addresses (the organisation's MTA) that
	// may connect; others are refused before the greeting. Empty: loopback
	// only. A unix socket is guarded by its file mode instead.
	AllowedClients  []netip.Prefix
	MaxMessageBytes int64         // default 64 MiB
	MaxRecipients   int           // per transaction (default 16)
	MaxConnections  int           // at once (default 32); more get 421
	ReadTimeout     time.Duration // one command line (default 5m, RFC 5321 4.5.3.2)
	WriteTimeout    time.Duration // one reply (default 1m)
	DataTimeout     time.Duration // the whole DATA transfer (default 10m)
	IdleTimeout     time.Duration // a DATA read that brings nothing (default 3m)
	SinkTimeout     time.Duration // the sink's commit (default 2m)
	TLSConfig       *tls.Config   // our certificate; STARTTLS is offered when set
	ImplicitTLS     bool          // TLS from the first byte (SMTPS) instead of STARTTLS
	RequireTLS      bool          // refuse MAIL before STARTTLS
	SpoolDir        string        // temporary files (default os.TempDir())
	Clock           clock.Clock
	Logger          *slog.Logger
	Registry        prometheus.Registerer
}

func (o SMTPOptions) withDefaults() SMTPOptions {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 20
	}
	if o.SocketMode == 0 {
		o.SocketMode = 0o660
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 16
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 32
	}
	orDuration(&o.ReadTimeout, 5*time.Minute)
	orDuration(&o.WriteTimeout, time.Minute)
	orDuration(&o.DataTimeout, 10*time.Minute)
	orDuration(&o.IdleTimeout, 3*time.Minute)
	orDuration(&o.SinkTimeout, 2*time.Minute)
	if o.Domain == "" {
		o.Domain, _ = os.Hostname()
	}
	o.Clock, o.Logger, o.Registry = deps(o.Clock, o.Logger, o.Registry)
	return o
}

// SMTPServer is the SMTP/LMTP intake.
type SMTPServer struct {
	o          SMTPOptions
	sink       Sink
	srv        *smtp.Server
	log        *slog.Logger
	m          *metrics
	recipients map[string]bool
	channel    string

	mu     sync.Mutex
	ln     net.Listener
	closed bool
}

// NewSMTPServer checks the options and builds the server.
func NewSMTPServer(o SMTPOptions, sink Sink) (*SMTPServer, error) {
	o = o.withDefaults()
	if len(o.Recipients) == 0 {
		return nil, errors.New("intake: no official address to take mail for")
	}
	if (o.ImplicitTLS || o.RequireTLS) && o.TLSConfig == nil {
		return nil, errors.New("intake: implicit or required TLS needs a certificate")
	}
	s := &SMTPServer{o: o, sink: sink, log: o.Logger.With("component", "mail-intake"), m: newMetrics(o.Registry), recipients: map[string]bool{}, channel: ChannelSMTP}
	if o.LMTP {
		s.channel = ChannelLMTP
	}
	for _, r := range o.Recipients {
		s.recipients[normalizeAddress(r)] = true
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.LMTP = o.LMTP
	srv.Domain = o.Domain
	srv.MaxMessageBytes = o.MaxMessageBytes
	srv.MaxRecipients = o.MaxRecipients
	srv.ReadTimeout = o.ReadTimeout
	srv.WriteTimeout = o.WriteTimeout
	srv.ErrorLog = slogPrinter{s.log}
	if o.TLSConfig != nil && !o.ImplicitTLS {
		srv.TLSConfig = o.TLSConfig
	}
	s.srv = srv
	return s, nil
}

// Listen opens the configured address (Listen; unix:/path for a socket).
func (s *SMTPServer) Listen() (net.Listener, error) {
	if path, ok := strings.CutPrefix(s.o.Listen, "unix:"); ok {
		os.Remove(path) // a socket left by a previous run
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("intake: listen %s: %w", s.o.Listen, err)
		}
		// The umask (systemd's UMask=0077) made it ours alone; the MTA
		// connects through the group.
		if err := os.Chmod(path, s.o.SocketMode); err != nil {
			l.Close()
			return nil, fmt.Errorf("intake: socket mode of %s: %w", path, err)
		}
		return l, nil
	}
	l, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return nil, fmt.Errorf("intake: listen %s: %w", s.o.Listen, err)
	}
	return l, nil
}

// Serve takes mail on l until Close: clients outside AllowedClients and
// connections over MaxConnections are turned away before the greeting.
func (s *SMTPServer) Serve(l net.Listener) error {
	g := &guard{Listener: l, sem: make(chan struct{}, s.o.MaxConnections), allowed: s.o.AllowedClients, s: s}
	var ln net.Listener = g
	if s.o.ImplicitTLS {
		ln = tls.NewListener(g, s.o.TLSConfig)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.ln = l
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Run listens and serves until ctx ends, then lets transactions in
// flight finish (up to a minute).
func (s *SMTPServer) Run(ctx context.Context) error {
	l, err := s.Listen()
	if err != nil {
		return err
	}
	return s.RunOn(ctx, l)
}

// RunOn is Run on a listener already open (the node opens every listener
// before it serves any, so that a taken port stops the start).
func (s *SMTPServer) RunOn(ctx context.Context, l net.Listener) error {
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		s.srv.Shutdown(sctx) // lets transactions finish; Close ends the rest and a Serve not yet begun
		s.Close()
		<-done
		return nil
	}
}

// Addr is where the server listens (nil before Serve).
func (s *SMTPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops the server at once.
// A Close before Serve took its listener stops that Serve too (go-smtp's
// Close alone would miss a listener it was not yet given).
func (s *SMTPServer) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	return s.srv.Close()
}

// Ready reports whether the server is listening.
func (s *SMTPServer) Ready(context.Context) error {
	if s.Addr() == nil {
		return errors.New("intake: the SMTP/LMTP listener is not open")
	}
	return nil
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// session is one client connection's transaction state.
type session struct {
	s    *SMTPServer
	conn *smtp.Conn
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.o.RequireTLS {
		if _, ok := ss.conn.TLSConnectionState(); !ok {
			ss.s.m.received.WithLabelValues(ss.s.channel, "tls_required").Inc()
			return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
		}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.recipients[normalizeAddress(to)] {
		ss.s.m.received.WithLabelValues(ss.s.channel, "unknown_recipient").Inc()
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here: this service takes mail for the official address only"}
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data spools the mail, hands it to the sink and answers: 250 only after
// the sink's commit.
func (ss *session) Data(r io.Reader) error { return ss.data(r) }

// LMTPData gives every recipient the one status: the mail is stored once
// for all the official addresses it was sent to.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := ss.data(r)
	for _, to := range ss.to {
		status.SetStatus(to, err)
	}
	return err
}

func (ss *session) data(r io.Reader) error {
	s := ss.s
	start := s.o.Clock.Now()
	nc := ss.conn.Conn()
	dr := &deadlineReader{r: r, conn: nc, idle: s.o.IdleTimeout, end: time.Now().Add(s.o.DataTimeout)}
	f, size, sum, err := spool(s.o.SpoolDir, dr, s.o.MaxMessageBytes)
	if err != nil {
		var se *smtp.SMTPError
		switch {
		case errors.Is(err, errTooLarge) || errors.As(err, &se) && se.Code == smtp.ErrDataTooLarge.Code:
			s.m.received.WithLabelValues(s.channel, "too_large").Inc()
			return smtp.ErrDataTooLarge
		case dr.failed:
			s.m.received.WithLabelValues(s.channel, "aborted").Inc()
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout or broken connection during DATA"}
		}
		s.log.Error("mail intake: spooling failed", "error", err)
		s.m.received.WithLabelValues(s.channel, "spool_failed").Inc()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing; try again later"}
	}
	defer discard(f)
	m := &Received{Channel: s.channel, ID: s.channel + ":" + randomID(), From: ss.from, To: append([]string(nil), ss.to...),
		RemoteAddr: nc.RemoteAddr().String(), ReceivedAt: start, Size: size, SHA256: sum, Content: f}
	if err := deliver(context.Background(), s.sink, m, s.o.SinkTimeout); err != nil {
		if errors.Is(err, ErrRefused) {
			s.m.received.WithLabelValues(s.channel, "refused").Inc()
			s.log.Warn("mail refused by the sink", "id", m.ID, "from", m.From, "error", err)
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message refused"}
		}
		s.m.received.WithLabelValues(s.channel, "sink_failed").Inc()
		s.log.Error("mail not stored; the client is asked to retry", "id", m.ID, "from", m.From, "error", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing; try again later"}
	}
	s.m.received.WithLabelValues(s.channel, "delivered").Inc()
	s.m.bytes.WithLabelValues(s.channel).Add(float64(size))
	s.log.Info("mail received", "id", m.ID, "from", m.From, "to", m.To, "size", size, "remote", m.RemoteAddr)
	return nil
}

// deadlineReader keeps a DATA transfer moving: each read must bring bytes
// within idle, and the whole transfer must end by end (a client trickling
// one byte a minute cannot hold a connection for days).
type deadlineReader struct {
	r      io.Reader
	conn   net.Conn
	idle   time.Duration
	end    time.Time
	failed bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	dl := time.Now().Add(d.idle)
	if d.end.Before(dl) {
		dl = d.end
	}
	d.conn.SetReadDeadline(dl)
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			d.failed = true
		}
	}
	return n, err
}

// guard turns away clients that may not connect and connections over the
// limit, with a reply an MTA understands, before the greeting.
type guard struct {
	net.Listener
	sem     chan struct{}
	allowed []netip.Prefix
	s       *SMTPServer
}

func (g *guard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !g.permitted(c.RemoteAddr()) {
			g.s.m.received.WithLabelValues(g.s.channel, "client_refused").Inc()
			g.s.log.Warn("mail intake: connection from an address not in allowed_clients refused", "remote", c.RemoteAddr().String())
			go refuse(c, "554 5.7.1 Relay access denied: this address may not deliver here\r\n")
			continue
		}
		select {
		case g.sem <- struct{}{}:
			g.s.m.connections.Inc()
			return &slot{Conn: c, release: func() { <-g.sem; g.s.m.connections.Dec() }}, nil
		default:
			g.s.m.received.WithLabelValues(g.s.channel, "too_many_connections").Inc()
			go refuse(c, "421 4.7.0 Too many connections; try again later\r\n")
		}
	}
}

func (g *guard) permitted(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return true // a unix socket: its file mode decides
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	if len(g.allowed) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range g.allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func refuse(c net.Conn, reply string) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, reply)
	c.Close()
}

// slot is a connection holding one place under MaxConnections.
type slot struct {
	net.Conn
	once    sync.Once
	release func()
}

func (s *slot) Close() error {
	s.once.Do(s.release)
	return s.Conn.Close()
}

// normalizeAddress compares addresses case-insensitively, without angle
// brackets or white space.
func normalizeAddress(a string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(a), "<>"))
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// slogPrinter gives go-smtp's error log to slog.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) { p.l.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (p slogPrinter) Println(v ...any)               { p.l.Warn("smtp: " + fmt.Sprint(v...)) }
