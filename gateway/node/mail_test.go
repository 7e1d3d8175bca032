package node

import (
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// mailConfig is a node configuration with the mail channel on, its files
// in a folder of the test's: the transport identity, a mail signing
// identity, a CA file and password files.
func mailConfig(t *testing.T, mail string) *config.Config {
	t.Helper()
	return mailConfigIn(t, mailFiles(t), mail)
}

// mailFiles writes mailConfig's files into a new folder.
func mailFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := testkit.NewPKI(t, "node mail test CA", nil)
	testkit.Files(t, dir, p.Host(t, "gw.obmen.local"), "transport")
	// A provider of its own: the signing key is not the transport key.
	testkit.Files(t, dir, testkit.NewPKI(t, "signing provider", nil).Host(t, "marad.example"), "signing")
	p.CAFile(t, dir)
	for name, content := range map[string]string{"token": "t", "imap-password": "imap-secret\n", "submission-password": "sub-secret\r\nignored\n", "empty-password": "\n", "rules.yaml": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mailConfigIn(t *testing.T, dir, mail string) *config.Config {
	t.Helper()
	y := `participant: {guid: "{11111111-1111-4111-8111-111111111111}", eik: "000695089", name: "ИАМА"}
tls: {cert: transport.pem, key: transport-key.pem, ca: ca.pem}
register: {url: "https://register.obmen.local/service/"}
ais: {token_file: token}
acceptance: {rules: rules.yaml}
` + mail
	cfg, err := config.Parse([]byte(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMailOptions: the mail section becomes each part's options — the
// intake's official addresses, MTA addresses and TLS (its own files or the
// node's transport identity), the poller's and the submission's passwords
// read from their files and their CA files, the signing identity.
func TestMailOptions(t *testing.T) {
	cfg := mailConfig(t, `mail:
  enabled: true
  addresses: [ebma@marad.example, priemna@marad.example]
  max_message_bytes: 32MiB
  smtp: {listen: "127.0.0.1:2525", tls: starttls, allowed_clients: [10.0.0.25, 10.1.0.0/16]}
  imap: {server: "mail.marad.example:993", ca: ca.pem, username: official, password_file: imap-password, move_to: Taken}
  submission: {server: "smtp.marad.example:587", ca: ca.pem, username: gw, password_file: submission-password, retry_first: 30s}
  signing: {cert: signing.pem, key: signing-key.pem}
  kinds: {rules: [{kind: Жалба, body: "(?i)обжалвам"}]}
`)
	s, own, err := MailSMTPOptions(cfg, nil, clock.System, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if own == nil {
		t.Error("no keeper for the intake's TLS pair loaded from tls.cert")
	}
	if s.Domain != "marad.example" || len(s.Recipients) != 2 || s.MaxMessageBytes != 32<<20 || len(s.AllowedClients) != 2 ||
		s.AllowedClients[0].String() != "10.0.0.25/32" || s.TLSConfig == nil || s.TLSConfig.GetCertificate == nil || s.ImplicitTLS {
		t.Errorf("SMTP options %+v", s)
	}
	i, err := MailIMAPOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if i.Password != "imap-secret" || i.Address != "ebma@marad.example" || i.MoveTo != "Taken" || i.TLSConfig == nil || i.TLSConfig.RootCAs == nil ||
		i.Interval != time.Minute {
		t.Errorf("IMAP options %+v", i)
	}
	q, err := MailSenderOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if q.Password != "sub-secret" || q.RetryFirst != 30*time.Second || q.TLS != mailq.TLSStartTLS || q.TLSConfig == nil {
		t.Errorf("submission options %+v", q)
	}
	if _, err := MailSigner(cfg, time.Now); err != nil {
		t.Errorf("signing identity: %v", err)
	}
	if rules, err := MailKindRules(cfg); err != nil || len(rules) != 1 || rules[0].Kind != "Жалба" {
		t.Errorf("kind rules %+v %v", rules, err)
	}
	if _, err := intake.NewSMTPServer(s, nil); err != nil {
		t.Errorf("the intake takes its options: %v", err)
	}

	for _, tc := range []struct {
		name  string
		edit  func(*config.Config)
		field string
		call  func(*config.Config) error
	}{
		{"an empty password file", func(c *config.Config) { c.Mail.IMAP.PasswordFile = "empty-password" }, "mail.imap.password_file",
			func(c *config.Config) error { _, err := MailIMAPOptions(c); return err }},
		{"a CA file without certificates", func(c *config.Config) { c.Mail.Submission.CA = "token" }, "mail.submission.ca",
			func(c *config.Config) error { _, err := MailSenderOptions(c); return err }},
		{"a signing key that is not the certificate's", func(c *config.Config) { c.Mail.Signing.Key = "transport-key.pem" }, "mail.signing",
			func(c *config.Config) error { _, err := MailSigner(c, time.Now); return err }},
		{"TLS from the transport identity", func(c *config.Config) { c.TLS.Key = "signing-key.pem" }, "tls.cert / tls.key (for mail.smtp)",
			func(c *config.Config) error {
				_, _, err := MailSMTPOptions(c, nil, clock.System, slog.Default())
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			c.Mail.IMAP, c.Mail.Submission, c.Mail.Signing, c.TLS = cfg.Mail.IMAP, cfg.Mail.Submission, cfg.Mail.Signing, cfg.TLS
			tc.edit(&c)
			if err := tc.call(&c); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v should name %s", err, tc.field)
			}
		})
	}
}

// TestMailIntakeCertificateRotates: the SMTP intake's STARTTLS certificate
// is read at each handshake from the pair in force — its own
// (mail.smtp.cert) or the node's transport keeper — so a renewed one is
// served after a reload, without a restart.
func TestMailIntakeCertificateRotates(t *testing.T) {
	for _, tc := range []struct {
		name, smtp string
		files      string // the pair that is renewed
		own        bool
	}{
		{"its own certificate", "{listen: \"127.0.0.1:0\", tls: starttls, cert: mx.pem, key: mx-key.pem}", "mx", true},
		{"the transport certificate", "{listen: \"127.0.0.1:0\", tls: starttls}", "transport", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mailFiles(t)
			p := testkit.NewPKI(t, "mail intake CA", nil)
			testkit.Files(t, dir, p.Issue(t, "mx.marad.example"), "mx")
			cfg := mailConfigIn(t, dir, `mail:
  enabled: true
  addresses: [ebma@marad.example]
  smtp: `+tc.smtp+`
  submission: {server: "smtp.marad.example:587", ca: ca.pem}
  signing: {cert: signing.pem, key: signing-key.pem}
`)
			tid, err := pki.LoadIdentity(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
			if err != nil {
				t.Fatal(err)
			}
			transport := rotation.NewKeeper(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key), cfg.TLS.MinRSABits, tid, clock.System, slog.Default(), nil)
			o, own, err := MailSMTPOptions(cfg, transport, clock.System, slog.Default())
			if err != nil || (own != nil) != tc.own {
				t.Fatalf("options: own keeper %v, error %v", own != nil, err)
			}
			o.SpoolDir = t.TempDir()
			srv, err := intake.NewSMTPServer(o, nil)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := srv.Listen()
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			served := func() string {
				t.Helper()
				c, err := smtp.DialStartTLS(ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // the serial is what is looked at
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.Noop(); err != nil { // the handshake happens on first use
					t.Fatal(err)
				}
				cs, ok := c.TLSConnectionState()
				if !ok || len(cs.PeerCertificates) == 0 {
					t.Fatal("no TLS after STARTTLS")
				}
				return pki.SerialHex(cs.PeerCertificates[0])
			}
			before := served()
			renewed := p.Issue(t, "renewed.marad.example")
			testkit.Files(t, dir, renewed, tc.files)
			keeper := transport
			if own != nil {
				keeper = own
			}
			if r, err := keeper.Reload(rotation.TriggerSignal); r != rotation.Swapped || err != nil {
				t.Fatalf("reload: %s %v", r, err)
			}
			if got := served(); got != pki.SerialHex(renewed.Cert) || got == before {
				t.Errorf("after the reload the intake serves %s (before %s), want the renewed %s", got, before, pki.SerialHex(renewed.Cert))
			}
		})
	}
}
