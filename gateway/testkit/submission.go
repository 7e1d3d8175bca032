package testkit

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
)

// Submitted is one mail the submission server took.
type Submitted struct {
	From string
	To   []string
	Data []byte
	Size int64
}

// Submission is the organisation's submission server as a test sees it: a
// go-smtp server on loopback offering STARTTLS and AUTH PLAIN, recording
// what it takes. OnRcpt and OnData, when set, run at each RCPT and before
// each DATA is read (seq counts transactions from 1) and may answer
// instead (an *smtp.SMTPError) or block.
type Submission struct {
	Addr      string
	User      string
	Password  string
	TLSConfig *tls.Config // trusts the server (ServerName localhost)
	CAFile    string      // the CA that issued the server's certificate (PEM)
	OnRcpt    func(seq int) error
	OnData    func(seq int) error
	// Discard keeps only the size of what it takes (Data is nil), for
	// benchmarks that measure the sender's memory in the same process.
	Discard bool

	mu   sync.Mutex
	seq  int // transactions (MAIL)
	got  []Submitted
	srv  *smtp.Server
	took chan struct{}
}

// StartSubmission starts the server; withTLS offers STARTTLS and requires
// AUTH PLAIN.
func StartSubmission(t testing.TB, withTLS bool) *Submission {
	t.Helper()
	s := &Submission{User: "gateway", Password: "submission-secret", took: make(chan struct{}, 1024)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &subSession{s: s, tls: withTLS}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = discardLogger{}
	if withTLS {
		id, client, ca := LocalhostTLS(t, "submission")
		s.CAFile = ca
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()}}
		s.TLSConfig = client
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr, s.srv = l.Addr().String(), srv
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Got returns what the server took so far.
func (s *Submission) Got() []Submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submitted(nil), s.got...)
}

// Took is signalled once per mail taken.
func (s *Submission) Took() <-chan struct{} { return s.took }

type subSession struct {
	s    *Submission
	tls  bool
	auth bool
	seq  int
	from string
	to   []string
}

func (ss *subSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *subSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.User || pass != ss.s.Password {
			return errors.New("invalid credentials")
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *subSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.tls && !ss.auth {
		return smtp.ErrAuthRequired
	}
	ss.s.mu.Lock()
	ss.s.seq++
	ss.seq = ss.s.seq
	ss.s.mu.Unlock()
	ss.from = from
	return nil
}

func (ss *subSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if hook := ss.s.OnRcpt; hook != nil {
		if err := hook(ss.seq); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *subSession) Data(r io.Reader) error {
	if hook := ss.s.OnData; hook != nil {
		if err := hook(ss.seq); err != nil {
			return err
		}
	}
	var b []byte
	var size int64
	var err error
	if ss.s.Discard {
		size, err = io.Copy(io.Discard, r)
	} else {
		b, err = io.ReadAll(r)
		size = int64(len(b))
	}
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, Submitted{From: ss.from, To: ss.to, Data: b, Size: size})
	ss.s.mu.Unlock()
	ss.s.took <- struct{}{}
	return nil
}

func (ss *subSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *subSession) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// Await waits (a minute at most) for the mail whose subject or body text
// holds match, verifies its S/MIME signature with openssl against p's
// root, and returns it parsed, with its bytes as the server took them.
func (s *Submission) Await(t testing.TB, p *acceptancetest.PKI, match string) (*mailmsg.Mail, []byte) {
	t.Helper()
	var raw []byte
	var m *mailmsg.Mail
	Eventually(t, time.Minute, "the mail about "+match, func() bool {
		for _, got := range s.Got() {
			parsed, err := mailmsg.Parse(bytes.NewReader(got.Data), int64(len(got.Data)), mailmsg.Options{})
			if err == nil && (strings.Contains(parsed.Subject, match) || strings.Contains(parsed.Text, match)) {
				raw, m = got.Data, parsed
				return true
			}
		}
		return false
	})
	VerifyMail(t, p, raw)
	return m, raw
}

// AttachmentBytes is the decoded content of a parsed mail's i-th file.
func AttachmentBytes(t testing.TB, m *mailmsg.Mail, i int) []byte {
	t.Helper()
	if i >= len(m.Attachments) {
		t.Fatalf("the mail has %d attachments, not %d", len(m.Attachments), i+1)
	}
	var b bytes.Buffer
	if _, err := m.Attachments[i].WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
