package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mailOn is a valid enabled mail section (files from writeFiles).
const mailOn = `acceptance: {rules: ais-token}
mail:
  enabled: true
  addresses: [ebma@marad.example]
  smtp: {listen: "127.0.0.1:2525"}
  submission: {server: "smtp.marad.example:587", username: gw, password_file: ais-token}
  signing: {cert: cert.pem, key: key.pem}
`

func TestMailSection(t *testing.T) {
	dir := writeFiles(t)
	c, err := Parse([]byte(minimal+mailOn), dir)
	if err != nil {
		t.Fatalf("a valid mail section: %v", err)
	}
	if !c.Mail.Enabled || c.Mail.Submission.RetryFirst.D() <= 0 || c.Mail.IMAP.Mailbox != "INBOX" || !c.Mail.Kinds.FromSubject {
		t.Errorf("defaults not applied: %+v", c.Mail)
	}
	if m, err := c.Mail.SMTP.SocketFileMode(); err != nil || m != 0o660 {
		t.Errorf("mail.smtp.socket_mode defaults to %v (%v), want 0660", m, err)
	}
	os.WriteFile(filepath.Join(dir, "open-password"), []byte("x"), 0o644)
	for _, tc := range []struct{ name, from, to, field, fix string }{
		{"no address", "addresses: [ebma@marad.example]", "addresses: []", "mail.addresses", "official address"},
		{"address with a name", "addresses: [ebma@marad.example]", `addresses: ["ИАМА <ebma@marad.example>"]`, "mail.addresses[0]", "bare address"},
		{"no way in", `smtp: {listen: "127.0.0.1:2525"}`, "smtp: {}", "mail.smtp.listen", "mail.imap.server"},
		{"open to the network", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "0.0.0.0:25"}`, "mail.smtp.allowed_clients", "MTA's address"},
		{"bad client", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "127.0.0.1:2525", allowed_clients: [mta.local]}`, "mail.smtp.allowed_clients[0]", "CIDR"},
		{"TLS required without TLS", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "127.0.0.1:2525", require_tls: true}`, "mail.smtp.require_tls", "starttls"},
		{"no submission server", `submission: {server: "smtp.marad.example:587", username: gw, password_file: ais-token}`, "submission: {}", "mail.submission.server", "submission server"},
		{"password in clear", `submission: {server: "smtp.marad.example:587", username: gw, password_file: ais-token}`,
			`submission: {server: "smtp.marad.example:25", tls: none, username: gw, password_file: ais-token}`, "mail.submission.tls", "in clear"},
		{"password file readable by others", "password_file: ais-token", "password_file: open-password", "mail.submission.password_file", "chmod 600"},
		{"no signing key", "signing: {cert: cert.pem, key: key.pem}", "signing: {cert: cert.pem}", "mail.signing.key", "signing certificate"},
		{"signing key readable by others", "signing: {cert: cert.pem, key: key.pem}", "signing: {cert: cert.pem, key: open-password}", "mail.signing.key", "readable by others (mode 644); chmod 600"},
		{"SMTP intake key readable by others", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "127.0.0.1:2525", tls: starttls, cert: cert.pem, key: open-password}`,
			"mail.smtp.key", "readable by others (mode 644); chmod 600"},
		{"socket mode not octal", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "unix:/run/seosgw/lmtp.sock", lmtp: true, socket_mode: "rw"}`, "mail.smtp.socket_mode", "octal"},
		{"socket open to everyone", `smtp: {listen: "127.0.0.1:2525"}`, `smtp: {listen: "unix:/run/seosgw/lmtp.sock", lmtp: true, socket_mode: "0666"}`, "mail.smtp.socket_mode", "every local user"},
		{"IMAP without a user", `smtp: {listen: "127.0.0.1:2525"}`, `imap: {server: "mail.marad.example:993", password_file: ais-token}`, "mail.imap.username", "login"},
		{"bad kind pattern", "signing:", "kinds: {rules: [{kind: Заявление, subject: \"(\"}]}\n  signing:", "mail.kinds.rules[0].subject", "RE2"},
		{"no acceptance policy", "acceptance: {rules: ais-token}", "", "mail.enabled", "acceptance.rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(mailOn, tc.from, tc.to, 1)
			if y == mailOn {
				t.Fatalf("%q not in the section", tc.from)
			}
			_, err := Parse([]byte(minimal+y), dir)
			if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.fix) {
				t.Fatalf("error %v should name %q and say %q", err, tc.field, tc.fix)
			}
		})
	}
}
