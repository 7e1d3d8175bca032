package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
)

// Mail is the e-mail channel of a node (mail.enabled): the intakes that
// take mail, the mailbox that puts it into the inbox and answers it, and
// the queue's sender.
type Mail struct {
	Mailbox *mailbox.Mailbox
	Sender  *mailq.Sender
	SMTP    *intake.SMTPServer // nil without mail.smtp.listen
	// TLS is the intake's certificate in force when it has its own
	// (mail.smtp.cert): reloaded like the transport pair. Nil otherwise.
	TLS  *rotation.Keeper
	IMAP *intake.IMAPPoller // nil without mail.imap.server
}

// openMail builds the e-mail channel and puts it into the judge's and the
// AIS bridge's flow: the same policy judges mail, the same API registers
// or rejects it, and answers go out through the mail queue.
func (n *Node) openMail() error {
	cfg, log := n.Config, component(n.Log, "mail")
	m := &Mail{}
	signer, err := MailSigner(cfg, n.Clock.Now)
	if err != nil {
		return err
	}
	rules, err := MailKindRules(cfg)
	if err != nil {
		return err
	}
	parse := mailmsg.Options{}
	input := mailinput.New(mailinput.Options{Parse: parse, Rules: rules, FromSubject: cfg.Mail.Kinds.FromSubject, SpoolDir: cfg.Path(cfg.Mail.SpoolDir), Registry: n.Registry})
	composer := &notice.Composer{Signer: signer, From: &mail.Address{Name: cfg.Mail.Name, Address: cfg.Mail.Addresses[0]}, Now: n.Clock.Now, Files: n.Files}
	if m.Mailbox, err = mailbox.New(mailbox.Options{DB: n.DB, Files: n.Files, Parse: parse, Input: input, Composer: composer, Addresses: cfg.Mail.Addresses, Clock: n.Clock, Log: log, Registry: n.Registry}); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	so, err := MailSenderOptions(cfg)
	if err != nil {
		return err
	}
	so.Clock, so.Logger, so.Registry, so.Files = n.Clock, log, n.Registry, n.Files
	if m.Sender, err = mailq.NewSender(n.DB, so); err != nil {
		return fmt.Errorf("mail.submission: %w", err)
	}
	m.Mailbox.Queued = m.Sender.Wake
	m.Mailbox.Arrived = n.Judge.Arrived
	n.Judge.Mail = m.Mailbox
	n.AIS.Mail = m.Mailbox
	if cfg.Mail.SMTP.Listen != "" {
		o, own, err := MailSMTPOptions(cfg, n.Identity, n.Clock, log)
		if err != nil {
			return err
		}
		m.TLS = own
		o.Clock, o.Logger, o.Registry = n.Clock, log, n.Registry
		if m.SMTP, err = intake.NewSMTPServer(o, m.Mailbox); err != nil {
			return fmt.Errorf("mail.smtp: %w", err)
		}
	}
	if cfg.Mail.IMAP.Server != "" {
		o, err := MailIMAPOptions(cfg)
		if err != nil {
			return err
		}
		o.Clock, o.Logger, o.Registry = n.Clock, log, n.Registry
		if m.IMAP, err = intake.NewIMAPPoller(o, m.Mailbox); err != nil {
			return fmt.Errorf("mail.imap: %w", err)
		}
	}
	n.Mail = m
	return nil
}

// runMail starts the channel's loops: the queue's sender, and the intakes
// on what is already open (smtpLn, nil without an SMTP intake).
func (n *Node) runMail(ctx context.Context, loops *group, smtpLn net.Listener) {
	loops.Go(ctx, "mail queue", n.Mail.Sender.Run)
	if n.Mail.SMTP != nil {
		loops.Go(ctx, "mail intake", func(ctx context.Context) error { return n.Mail.SMTP.RunOn(ctx, smtpLn) })
	}
	if n.Mail.TLS != nil {
		loops.Go(ctx, "mail intake certificate files", n.Mail.TLS.Run)
	}
	if n.Mail.IMAP != nil {
		loops.Go(ctx, "mail imap", n.Mail.IMAP.Run)
	}
}

func (n *Node) addMailChecks() {
	if n.Mail.SMTP != nil {
		n.Ops.AddCheck("mail_intake", n.Mail.SMTP.Ready)
	}
	if n.Mail.IMAP != nil {
		n.Ops.AddCheck("mail_imap", n.Mail.IMAP.Ready)
	}
	n.Ops.AddCheck("mail_submission", n.Mail.Sender.Ready)
}

// MailSigner is the administration's S/MIME signer (mail.signing.cert
// and key; the certificate file may carry its intermediates).
func MailSigner(cfg *config.Config, now func() time.Time) (*smime.Signer, error) {
	id, err := pki.LoadIdentity(cfg.Path(cfg.Mail.Signing.Cert), cfg.Path(cfg.Mail.Signing.Key))
	if err != nil {
		return nil, fmt.Errorf("mail.signing.cert / mail.signing.key: %w", err)
	}
	s, err := smime.NewSigner(id, now)
	if err != nil {
		return nil, fmt.Errorf("mail.signing.cert: %w", err)
	}
	return s, nil
}

// MailKindRules are mail.kinds.rules compiled.
func MailKindRules(cfg *config.Config) ([]mailinput.KindRule, error) {
	specs := make([]mailinput.RuleSpec, len(cfg.Mail.Kinds.Rules))
	for i, r := range cfg.Mail.Kinds.Rules {
		specs[i] = mailinput.RuleSpec{Kind: r.Kind, Subject: r.Subject, Body: r.Body}
	}
	rules, err := mailinput.CompileRules(specs)
	if err != nil {
		return nil, fmt.Errorf("mail.kinds.rules: %w", err)
	}
	return rules, nil
}

// MailSMTPOptions are the SMTP/LMTP intake's settings (mail.smtp.*):
// the official addresses, the MTA's addresses, and TLS with mail.smtp.cert
// or else the node's transport certificate in force (transport; nil:
// loaded from tls.cert here). The certificate is read at each handshake,
// so a renewed one is served without a restart; own is the keeper of
// mail.smtp.cert's pair (nil when there is none), to run and reload.
func MailSMTPOptions(cfg *config.Config, transport *rotation.Keeper, clk clock.Clock, log *slog.Logger) (o intake.SMTPOptions, own *rotation.Keeper, err error) {
	o, err = mailSMTPOptions(cfg)
	if err != nil || cfg.Mail.SMTP.TLS == "none" {
		return o, nil, err
	}
	s := cfg.Mail.SMTP
	var src pki.Source = transport
	if s.Cert != "" || transport == nil {
		cert, key, field := s.Cert, s.Key, "mail.smtp.cert / mail.smtp.key"
		if cert == "" {
			cert, key, field = cfg.TLS.Cert, cfg.TLS.Key, "tls.cert / tls.key (for mail.smtp)"
		}
		id, err := pki.LoadIdentity(cfg.Path(cert), cfg.Path(key))
		if err != nil {
			return o, nil, fmt.Errorf("%s: %w", field, err)
		}
		if err := pki.CheckKey(id.Cert.PublicKey, cfg.TLS.MinRSABits); err != nil {
			return o, nil, fmt.Errorf("%s: %w", field, err)
		}
		own = rotation.NewKeeper(cfg.Path(cert), cfg.Path(key), cfg.TLS.MinRSABits, id, clk, log.With("certificate", "mail.smtp.cert"), nil)
		src = own
	}
	o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := src.Current().TLSCertificate()
		return &c, nil
	}}
	return o, own, nil
}

func mailSMTPOptions(cfg *config.Config) (intake.SMTPOptions, error) {
	m := cfg.Mail
	s := m.SMTP
	o := intake.SMTPOptions{Listen: s.Listen, LMTP: s.LMTP, Recipients: m.Addresses, MaxMessageBytes: int64(m.MaxMessageBytes),
		MaxConnections: s.MaxConnections, ReadTimeout: s.ReadTimeout.D(), DataTimeout: s.DataTimeout.D(),
		ImplicitTLS: s.TLS == "implicit", RequireTLS: s.RequireTLS, SpoolDir: cfg.Path(m.SpoolDir)}
	mode, err := s.SocketFileMode()
	if err != nil {
		return o, err
	}
	o.SocketMode = mode
	if at := strings.LastIndexByte(m.Addresses[0], '@'); at >= 0 {
		o.Domain = m.Addresses[0][at+1:] // the greeting names the official domain
	}
	for i, a := range s.AllowedClients {
		p, err := config.ParsePrefix(a)
		if err != nil {
			return o, fmt.Errorf("mail.smtp.allowed_clients[%d]: %w", i, err)
		}
		o.AllowedClients = append(o.AllowedClients, p)
	}
	return o, nil
}

// MailIMAPOptions are the mailbox poller's settings (mail.imap.*), the
// password read from its file.
func MailIMAPOptions(cfg *config.Config) (intake.IMAPOptions, error) {
	m := cfg.Mail
	s := m.IMAP
	pass, err := secret(cfg, "mail.imap.password_file", s.PasswordFile)
	if err != nil {
		return intake.IMAPOptions{}, err
	}
	roots, err := caConfig(cfg, "mail.imap.ca", s.CA)
	if err != nil {
		return intake.IMAPOptions{}, err
	}
	return intake.IMAPOptions{Server: s.Server, TLS: s.TLS, TLSConfig: roots, Username: s.Username, Password: pass, Mailbox: s.Mailbox,
		MoveTo: s.MoveTo, ProcessedFlag: s.Flag, Address: m.Addresses[0], Interval: s.Interval.D(), Timeout: s.Timeout.D(),
		MaxMessageBytes: int64(m.MaxMessageBytes), SpoolDir: cfg.Path(m.SpoolDir)}, nil
}

// MailSenderOptions are the submission server's settings (mail.submission.*).
func MailSenderOptions(cfg *config.Config) (mailq.Options, error) {
	s := cfg.Mail.Submission
	o := mailq.Options{Server: s.Server, TLS: s.TLS, Username: s.Username, HeloName: s.HeloName, Timeout: s.Timeout.D(),
		RetryFirst: s.RetryFirst.D(), RetryMax: s.RetryMax.D(), GiveUpAfter: s.GiveUpAfter.D(), Concurrency: s.Concurrency}
	var err error
	if s.Username != "" {
		if o.Password, err = secret(cfg, "mail.submission.password_file", s.PasswordFile); err != nil {
			return o, err
		}
	}
	o.TLSConfig, err = caConfig(cfg, "mail.submission.ca", s.CA)
	return o, err
}

// secret reads a password file: its first line, without the line end.
func secret(cfg *config.Config, field, path string) (string, error) {
	b, err := os.ReadFile(cfg.Path(path))
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	pass, _, _ := strings.Cut(string(b), "\n")
	pass = strings.TrimRight(pass, "\r")
	if pass == "" {
		return "", fmt.Errorf("%s: %s is empty; write the password in it", field, path)
	}
	return pass, nil
}

// caConfig trusts the roots in path (PEM); empty: the system's roots.
func caConfig(cfg *config.Config, field, path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	certs, err := pki.LoadCertificates(cfg.Path(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if len(certs) == 0 {
		return nil, errors.New(field + ": no certificate in " + path)
	}
	return &tls.Config{RootCAs: pki.CertPool(certs), MinVersion: tls.VersionTLS12}, nil
}
