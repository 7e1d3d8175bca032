package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Mail is the e-mail channel (gateway/mail): official mail taken in by an
// SMTP/LMTP server behind the organisation's MTA or by polling the official
// mailbox over IMAP, and signed mail sent through the submission server.
type Mail struct {
	Enabled         bool           `yaml:"enabled"`
	Addresses       []string       `yaml:"addresses"` // the official addresses; the first one sends
	Name            string         `yaml:"name"`      // display name on outgoing mail
	MaxMessageBytes ByteSize       `yaml:"max_message_bytes"`
	SpoolDir        string         `yaml:"spool_dir"` // temporary files; empty: the system's
	SMTP            MailSMTP       `yaml:"smtp"`
	IMAP            MailIMAP       `yaml:"imap"`
	Submission      MailSubmission `yaml:"submission"`
	Signing         MailSigning    `yaml:"signing"`
	Kinds           MailKinds      `yaml:"kinds"`
}

// MailSMTP is the SMTP/LMTP intake; empty listen: none.
type MailSMTP struct {
	Listen         string   `yaml:"listen"` // host:port, or unix:/path
	LMTP           bool     `yaml:"lmtp"`
	SocketMode     string   `yaml:"socket_mode"`     // octal file mode of a unix: socket, e.g. 0660
	AllowedClients []string `yaml:"allowed_clients"` // the MTA's addresses or CIDRs; empty: loopback only
	TLS            string   `yaml:"tls"`             // none, starttls or implicit
	RequireTLS     bool     `yaml:"require_tls"`
	Cert           string   `yaml:"cert"` // empty: tls.cert
	Key            string   `yaml:"key"`
	MaxConnections int      `yaml:"max_connections"`
	ReadTimeout    Duration `yaml:"read_timeout"`
	DataTimeout    Duration `yaml:"data_timeout"`
}

// MailIMAP polls the official mailbox; empty server: no polling.
type MailIMAP struct {
	Server       string   `yaml:"server"` // host:port
	TLS          string   `yaml:"tls"`    // implicit, starttls or none
	CA           string   `yaml:"ca"`     // PEM roots for the server; empty: the system's
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	Mailbox      string   `yaml:"mailbox"`
	MoveTo       string   `yaml:"move_to"` // empty: flag instead of moving
	Flag         string   `yaml:"flag"`
	Interval     Duration `yaml:"interval"`
	Timeout      Duration `yaml:"timeout"`
}

// MailSubmission is the organisation's submission server.
type MailSubmission struct {
	Server       string   `yaml:"server"` // host:port
	TLS          string   `yaml:"tls"`    // starttls, implicit or none
	CA           string   `yaml:"ca"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	HeloName     string   `yaml:"helo_name"`
	Timeout      Duration `yaml:"timeout"`
	RetryFirst   Duration `yaml:"retry_first"`
	RetryMax     Duration `yaml:"retry_max"`
	GiveUpAfter  Duration `yaml:"give_up_after"`
	Concurrency  int      `yaml:"concurrency"` // mails sent at once, each on its own connection
}

// MailSigning is the administration's signing certificate for outgoing mail.
type MailSigning struct {
	Cert string `yaml:"cert"` // PEM, with its intermediates
	Key  string `yaml:"key"`
}

// MailKinds derive a received mail's DocKind.
type MailKinds struct {
	Rules       []MailKindRule `yaml:"rules"`
	FromSubject bool           `yaml:"from_subject"`
}

// MailKindRule gives Kind to mail whose subject and body match (RE2).
type MailKindRule struct {
	Kind    string `yaml:"kind"`
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
}

// mailDefaults are the channel's defaults (it is off until enabled).
func mailDefaults() Mail {
	return Mail{
		MaxMessageBytes: 64 << 20,
		SMTP:            MailSMTP{TLS: "none", SocketMode: "0660", MaxConnections: 32, ReadTimeout: Duration(5 * time.Minute), DataTimeout: Duration(10 * time.Minute)},
		IMAP:            MailIMAP{TLS: "implicit", Mailbox: "INBOX", Flag: "$SeosgwReceived", Interval: Duration(time.Minute), Timeout: Duration(2 * time.Minute)},
		Submission: MailSubmission{TLS: "starttls", Timeout: Duration(2 * time.Minute), RetryFirst: Duration(time.Minute),
			RetryMax: Duration(time.Hour), GiveUpAfter: Duration(5 * 24 * time.Hour), Concurrency: 4},
		Kinds: MailKinds{FromSubject: true},
	}
}

var imapAtom = regexp.MustCompile(`^\$?[A-Za-z0-9_.-]+$`)

// validateMail checks the mail section when it is enabled.
func (c *Config) validateMail(add func(string, string, ...any)) {
	m := c.Mail
	if !m.Enabled {
		return
	}
	if c.Acceptance.Rules == "" {
		add("mail.enabled", "the e-mail channel needs acceptance.rules: mail from anyone is judged by the administration's rules (formats, signatures, viruses) before the AIS sees it")
	}
	if len(m.Addresses) == 0 {
		add("mail.addresses", "empty; give the official address(es), e.g. [ebma@marad.bg]")
	}
	for i, a := range m.Addresses {
		if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
			add(fmt.Sprintf("mail.addresses[%d]", i), "%q is not a bare address like ebma@marad.bg", a)
		}
	}
	if m.MaxMessageBytes < 1<<20 {
		add("mail.max_message_bytes", "%d is too small; at least 1MiB (the default is 64MiB)", m.MaxMessageBytes)
	}
	if m.SMTP.Listen == "" && m.IMAP.Server == "" {
		add("mail.smtp.listen", "the channel takes mail by neither SMTP/LMTP nor IMAP; set mail.smtp.listen or mail.imap.server")
	}
	if m.SMTP.Listen != "" {
		c.validateMailSMTP(add)
	}
	if m.IMAP.Server != "" {
		s := m.IMAP
		checkHostPort(add, "mail.imap.server", s.Server)
		oneOf(add, "mail.imap.tls", s.TLS, "implicit", "starttls", "none")
		if s.TLS == "none" && !loopbackHost(s.Server) {
			add("mail.imap.tls", "none sends the mailbox password in clear to %s; use implicit or starttls", s.Server)
		}
		if strings.TrimSpace(s.Username) == "" {
			add("mail.imap.username", "empty; give the official mailbox's login")
		}
		c.secretFile(add, "mail.imap.password_file", s.PasswordFile)
		c.optionalFile(add, "mail.imap.ca", s.CA)
		if s.MoveTo == "" && !imapAtom.MatchString(s.Flag) {
			add("mail.imap.flag", "%q is not an IMAP keyword; use letters, digits and $ such as $SeosgwReceived", s.Flag)
		}
		positive(add, "mail.imap.interval", s.Interval)
		positive(add, "mail.imap.timeout", s.Timeout)
	}
	s := m.Submission
	if s.Server == "" {
		add("mail.submission.server", "empty; give the organisation's submission server, e.g. smtp.marad.bg:587, for receipts and refusals")
	} else {
		checkHostPort(add, "mail.submission.server", s.Server)
	}
	oneOf(add, "mail.submission.tls", s.TLS, "starttls", "implicit", "none")
	if s.TLS == "none" && s.Username != "" {
		add("mail.submission.tls", "none would send the password in clear; use starttls or implicit")
	}
	if s.Username != "" {
		c.secretFile(add, "mail.submission.password_file", s.PasswordFile)
	}
	c.optionalFile(add, "mail.submission.ca", s.CA)
	for field, d := range map[string]Duration{"mail.submission.timeout": s.Timeout, "mail.submission.retry_first": s.RetryFirst,
		"mail.submission.retry_max": s.RetryMax, "mail.submission.give_up_after": s.GiveUpAfter} {
		positive(add, field, d)
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		add("mail.submission.concurrency", "%d; give 1 to 64 mails sent at once (the default is 4)", s.Concurrency)
	}
	if s.RetryMax < s.RetryFirst {
		add("mail.submission.retry_max", "%s is shorter than retry_first (%s)", s.RetryMax.D(), s.RetryFirst.D())
	}
	for field, p := range map[string]string{"mail.signing.cert": m.Signing.Cert, "mail.signing.key": m.Signing.Key} {
		if p == "" {
			add(field, "empty; receipts and refusals are signed: give the administration's signing certificate and key (PEM)")
		} else if st, err := os.Stat(c.Path(p)); err != nil {
			add(field, "%v; check the path", err)
		} else if field == "mail.signing.key" && st.Mode().Perm()&0o077 != 0 {
			add(field, "%s is readable by others (mode %o); chmod 600 it", p, st.Mode().Perm())
		}
	}
	for i, r := range m.Kinds.Rules {
		f := fmt.Sprintf("mail.kinds.rules[%d]", i)
		if strings.TrimSpace(r.Kind) == "" {
			add(f+".kind", "empty; give the DocKind the rule sets, e.g. Заявление")
		}
		if r.Subject == "" && r.Body == "" {
			add(f, "give a subject or body pattern")
		}
		for name, re := range map[string]string{"subject": r.Subject, "body": r.Body} {
			if _, err := regexp.Compile(re); err != nil {
				add(f+"."+name, "%v; write an RE2 pattern, e.g. (?i)заявление", err)
			}
		}
	}
}

// SocketFileMode is socket_mode parsed: the permission bits of a unix:
// socket (the MTA connects through its group).
func (s MailSMTP) SocketFileMode() (os.FileMode, error) {
	v, err := strconv.ParseUint(s.SocketMode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("mail.smtp.socket_mode %q: not an octal mode such as 0660", s.SocketMode)
	}
	return os.FileMode(v), nil
}

func (c *Config) validateMailSMTP(add func(string, string, ...any)) {
	s := c.Mail.SMTP
	unix := strings.HasPrefix(s.Listen, "unix:")
	if !unix {
		checkListen(add, "mail.smtp.listen", s.Listen)
	}
	if m, err := s.SocketFileMode(); err != nil {
		add("mail.smtp.socket_mode", "%q is not an octal file mode; use e.g. 0660 (the MTA's group may connect)", s.SocketMode)
	} else if m&0o007 != 0 {
		add("mail.smtp.socket_mode", "%s lets every local user hand mail in as the MTA; use 0660 and put the MTA's user in seosgw's group", s.SocketMode)
	}
	for i, a := range s.AllowedClients {
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				add(fmt.Sprintf("mail.smtp.allowed_clients[%d]", i), "%q is neither an address nor a CIDR such as 10.0.0.25/32", a)
			}
		}
	}
	if !unix && len(s.AllowedClients) == 0 && !loopbackHost(s.Listen) {
		add("mail.smtp.allowed_clients", "empty while mail.smtp.listen %q is not loopback: only loopback clients would get in; list your MTA's address", s.Listen)
	}
	oneOf(add, "mail.smtp.tls", s.TLS, "none", "starttls", "implicit")
	if s.RequireTLS && s.TLS == "none" {
		add("mail.smtp.require_tls", "needs mail.smtp.tls starttls or implicit")
	}
	if s.TLS != "none" {
		cert, key := s.Cert, s.Key
		if cert == "" {
			cert, key = c.TLS.Cert, c.TLS.Key
		}
		for field, p := range map[string]string{"mail.smtp.cert": cert, "mail.smtp.key": key} {
			st, err := os.Stat(c.Path(p))
			switch {
			case err != nil:
				add(field, "%v; give the PEM file of the certificate the MTA sees (empty: tls.cert and tls.key)", err)
			case field == "mail.smtp.key" && s.Key != "" && st.Mode().Perm()&0o077 != 0:
				// Same rule as tls.key (which the empty case falls back to and is checked there).
				add(field, "%s is readable by others (mode %o); chmod 600 it (and chown it to the user seosgw runs as)", p, st.Mode().Perm())
			}
		}
	}
	if s.MaxConnections < 1 {
		add("mail.smtp.max_connections", "must be at least 1")
	}
	positive(add, "mail.smtp.read_timeout", s.ReadTimeout)
	positive(add, "mail.smtp.data_timeout", s.DataTimeout)
}

func oneOf(add func(string, string, ...any), field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	add(field, "%q; use %s", v, strings.Join(allowed, ", "))
}

func checkHostPort(add func(string, string, ...any), field, addr string) {
	if h, p, err := net.SplitHostPort(addr); err != nil || h == "" || p == "" {
		add(field, "%q is not host:port, e.g. mail.example.bg:993", addr)
	}
}

func loopbackHost(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(h)
	return h == "localhost" || err == nil && ip.IsLoopback()
}

func (c *Config) optionalFile(add func(string, string, ...any), field, p string) {
	if p == "" {
		return
	}
	if _, err := os.Stat(c.Path(p)); err != nil {
		add(field, "%v; check the path", err)
	}
}

// secretFile checks a password file: present and private.
func (c *Config) secretFile(add func(string, string, ...any), field, p string) {
	if p == "" {
		add(field, "empty; write the password to a file readable by seosgw only (chmod 600)")
		return
	}
	st, err := os.Stat(c.Path(p))
	switch {
	case err != nil:
		add(field, "%v; create it and chmod 600 it", err)
	case st.Mode().Perm()&0o077 != 0:
		add(field, "%s is readable by others (mode %o); chmod 600 it", p, st.Mode().Perm())
	}
}
