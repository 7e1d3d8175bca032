package testkit

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/integration/extools"
)

// Dovecot is a real IMAP server (Debian's dovecot-imapd) run for one test
// from a temporary configuration: TLS on a loopback port, one mailbox
// user, maildir storage in a temporary folder.
type Dovecot struct {
	Addr      string // 127.0.0.1:port, implicit TLS
	User      string
	Password  string
	TLSConfig *tls.Config // trusts the server's test certificate (ServerName localhost)
	CAFile    string      // that certificate's CA (PEM)
	conf      string
	cmd       *exec.Cmd
	done      chan struct{}
	dir       string
}

// StartDovecot starts dovecot in the foreground. As root it drops to the
// package's dovecot/dovenull users (dovecot refuses to serve mail as
// root); otherwise it runs rootless as the test's own user.
func StartDovecot(t testing.TB) *Dovecot {
	t.Helper()
	bin := extools.Require(t, "dovecot")
	extools.Require(t, "doveadm")
	id, client, ca := LocalhostTLS(t, "dovecot")
	// Outside t.TempDir: its parents are private to root, and the mail
	// user must reach the maildir.
	dir, err := os.MkdirTemp("", "seosgw-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &Dovecot{User: "official", Password: "mailbox-secret", dir: dir, done: make(chan struct{}), TLSConfig: client, CAFile: ca}
	certPath, keyPath, err := id.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	mailUser, loginUser, internalUser := currentUser(t), currentUser(t), currentUser(t)
	if os.Getuid() == 0 {
		mailUser, loginUser, internalUser = "dovecot", "dovenull", "dovecot"
	}
	uid, gid := lookup(t, mailUser)
	mail := filepath.Join(dir, "mail")
	for _, p := range []string{dir, mail} {
		os.MkdirAll(p, 0o700)
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chmod(keyPath, 0o600)
	passwd := filepath.Join(dir, "passwd")
	writeFile(t, passwd, []byte(d.User+":{PLAIN}"+d.Password+"::::::\n"))
	if err := os.Chown(passwd, uid, gid); err != nil { // the auth process reads it
		t.Fatal(err)
	}
	d.Addr = FreeAddr(t)
	_, port, _ := net.SplitHostPort(d.Addr)
	d.conf = filepath.Join(dir, "dovecot.conf")
	writeFile(t, d.conf, []byte(strings.Join([]string{
		"protocols = imap",
		"listen = 127.0.0.1",
		"base_dir = " + filepath.Join(dir, "run"),
		"state_dir = " + filepath.Join(dir, "state"),
		"instance_name = seosgw-test-" + port,
		"log_path = " + filepath.Join(dir, "dovecot.log"),
		"default_login_user = " + loginUser,
		"default_internal_user = " + internalUser,
		"default_internal_group = " + internalUser,
		"mail_location = maildir:" + mail + "/%u",
		fmt.Sprintf("first_valid_uid = %d", uid), // a system user such as dovecot
		fmt.Sprintf("first_valid_gid = %d", gid),
		"ssl = required",
		"ssl_cert = <" + certPath,
		"ssl_key = <" + keyPath,
		"auth_mechanisms = plain",
		"passdb {\n  driver = passwd-file\n  args = " + passwd + "\n}",
		fmt.Sprintf("userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/%%u\n}", uid, gid, mail),
		"service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    address = 127.0.0.1\n    port = " + port + "\n  }\n  chroot =\n}",
		"service anvil {\n  chroot =\n}",
		"",
	}, "\n")))
	d.cmd = exec.Command(bin, "-F", "-c", d.conf)
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case <-d.done:
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot exited while starting: %s", log)
		default:
		}
		if c, err := tls.Dial("tcp", d.Addr, d.TLSConfig); err == nil {
			buf := make([]byte, 512)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.Contains(string(buf[:n]), "ready") {
				return d
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not greet within a minute: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Deliver puts a mail into a mailbox the way the MTA's delivery agent
// would (doveadm save), independently of the poller.
func (d *Dovecot) Deliver(t testing.TB, mailbox string, raw []byte) {
	t.Helper()
	r := d.doveadm(t, raw, "save", "-u", d.User, "-m", mailbox)
	if !r.OK() {
		t.Fatalf("doveadm save: %s", r.Stderr)
	}
}

// CreateMailbox makes a mailbox.
func (d *Dovecot) CreateMailbox(t testing.TB, name string) {
	t.Helper()
	if r := d.doveadm(t, nil, "mailbox", "create", "-u", d.User, name); !r.OK() {
		t.Fatalf("doveadm mailbox create: %s", r.Stderr)
	}
}

// Count is how many mails a mailbox holds.
func (d *Dovecot) Count(t testing.TB, mailbox string) int {
	t.Helper()
	r := d.doveadm(t, nil, "mailbox", "status", "-u", d.User, "-t", "messages", mailbox)
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(r.Stdout), "messages="))
	if !r.OK() || err != nil {
		t.Fatalf("doveadm mailbox status: %s %s", r.Stdout, r.Stderr)
	}
	return n
}

// Flags lists the flags of every mail in a mailbox, one string each.
func (d *Dovecot) Flags(t testing.TB, mailbox string) []string {
	t.Helper()
	r := d.doveadm(t, nil, "fetch", "-u", d.User, "flags", "mailbox", mailbox)
	if !r.OK() {
		t.Fatalf("doveadm fetch: %s", r.Stderr)
	}
	var out []string
	for _, line := range strings.Split(r.Stdout, "\n") {
		if f, ok := strings.CutPrefix(line, "flags: "); ok {
			out = append(out, f)
		} else if line == "flags:" {
			out = append(out, "")
		}
	}
	return out
}

func (d *Dovecot) doveadm(t testing.TB, stdin []byte, args ...string) extools.Result {
	t.Helper()
	return extools.Run(t, stdin, "doveadm", append([]string{"-c", d.conf}, args...)...)
}

func (d *Dovecot) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

func currentUser(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func lookup(t testing.TB, name string) (int, int) {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s (from the dovecot-core package): %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}
