package intake_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/testkit"
)

const official = "ebma@marad.example"

// store is the test's sink: what it was given, byte for byte; fail makes
// it refuse to commit.
type store struct {
	mu   sync.Mutex
	got  []*stored
	fail error
}

type stored struct {
	r       intake.Received
	content []byte
}

func (s *store) Deliver(_ context.Context, m *intake.Received) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	b, err := io.ReadAll(io.NewSectionReader(m.Content, 0, m.Size))
	if err != nil {
		return err
	}
	for _, g := range s.got {
		if g.r.ID == m.ID {
			return nil // already held
		}
	}
	s.got = append(s.got, &stored{r: *m, content: b})
	return nil
}

func (s *store) all() []*stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*stored(nil), s.got...)
}

func (s *store) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

type server struct {
	srv  *intake.SMTPServer
	addr string
	reg  *prometheus.Registry
	sink *store
}

func start(t *testing.T, o intake.SMTPOptions) *server {
	t.Helper()
	s := &server{reg: prometheus.NewRegistry(), sink: &store{}}
	o.Recipients = append(o.Recipients, official)
	o.Registry = s.reg
	o.SpoolDir = t.TempDir()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	srv, err := intake.NewSMTPServer(o, s.sink)
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s.srv, s.addr = srv, l.Addr().String()
	return s
}

func (s *server) count(channel, result string) float64 { return received(s.reg, channel, result) }

// received reads seosgw_mail_received_total{channel, result}.
func received(reg *prometheus.Registry, channel, result string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != "seosgw_mail_received_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["channel"] == channel && l["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// letter holds lines that begin with a dot and 8-bit text: SMTP's dot
// stuffing and our spool must give them back unchanged.
var letter = testkit.CRLF("From: Иван Петров <ivan@example.bg>\nTo: " + official + "\nSubject: =?utf-8?B?0JfQsNGP0LLQu9C10L3QuNC1?=\nMessage-Id: <1@example.bg>\n" +
	"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n.a line that starts with a dot\n..two dots\nЖелая потвърждаване.\n")

func TestSMTPWithSwaks(t *testing.T) {
	id, _, _ := testkit.LocalhostTLS(t, "intake")
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()}}
	// swaks ends the data with CRLF . CRLF itself: the file holds the mail
	// without its last line break.
	data := testkit.TempFile(t, "letter.eml", bytes.TrimSuffix(letter, []byte("\r\n")))

	t.Run("delivered byte for byte after the sink commits", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{})
		r := testkit.Swaks(t, "--server", s.addr, "--from", "ivan@example.bg", "--to", strings.ToUpper(official), "--data", "@"+data)
		if !r.OK() || !strings.Contains(r.Stdout, "250") {
			t.Fatalf("swaks: %d %s %s", r.Code, r.Stdout, r.Stderr)
		}
		got := s.sink.all()
		if len(got) != 1 || !bytes.Equal(got[0].content, letter) {
			t.Fatalf("sink holds %d mails; first %q", len(got), first(got))
		}
		g := got[0].r
		if g.Channel != intake.ChannelSMTP || g.From != "ivan@example.bg" || len(g.To) != 1 || !strings.EqualFold(g.To[0], official) || g.Size != int64(len(letter)) {
			t.Errorf("envelope %+v", g)
		}
		if s.count("smtp", "delivered") != 1 {
			t.Error("seosgw_mail_received_total{result=delivered} not counted")
		}
		if problems, err := testutil.GatherAndLint(s.reg); err != nil || len(problems) > 0 {
			t.Errorf("metric lint: %v %v", err, problems)
		}
	})

	t.Run("STARTTLS required and used", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{TLSConfig: tlsCfg, RequireTLS: true})
		r := testkit.Swaks(t, "--server", s.addr, "--from", "a@example.bg", "--to", official, "--data", "@"+data)
		if r.OK() || !strings.Contains(r.Stdout, "530") {
			t.Fatalf("mail without TLS was taken: %s", r.Stdout)
		}
		r = testkit.Swaks(t, "--server", s.addr, "--tls", "--from", "a@example.bg", "--to", official, "--data", "@"+data)
		if !r.OK() || len(s.sink.all()) != 1 {
			t.Fatalf("swaks --tls: %s %s", r.Stdout, r.Stderr)
		}
	})

	t.Run("implicit TLS", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{TLSConfig: tlsCfg, ImplicitTLS: true})
		if r := testkit.Swaks(t, "--server", s.addr, "--tlsc", "--from", "a@example.bg", "--to", official, "--data", "@"+data); !r.OK() || len(s.sink.all()) != 1 {
			t.Fatalf("swaks --tlsc: %s %s", r.Stdout, r.Stderr)
		}
	})

	t.Run("LMTP on a unix socket", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "lmtp.sock")
		old := syscall.Umask(0o077) // systemd's UMask=0077: the socket's mode must not depend on it
		s := start(t, intake.SMTPOptions{LMTP: true, Listen: "unix:" + sock})
		syscall.Umask(old)
		if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o660 || st.Mode().Type() != os.ModeSocket {
			t.Fatalf("socket %v (%v), want mode 0660 (mail.smtp.socket_mode's default)", st.Mode(), err)
		}
		r := testkit.Swaks(t, "--socket", sock, "--protocol", "LMTP", "--from", "a@example.bg", "--to", official, "--data", "@"+data)
		if !r.OK() || len(s.sink.all()) != 1 || s.sink.all()[0].r.Channel != intake.ChannelLMTP || !bytes.Equal(s.sink.all()[0].content, letter) {
			t.Fatalf("swaks LMTP: %s %s", r.Stdout, r.Stderr)
		}
	})

	t.Run("socket mode as configured", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "lmtp.sock")
		start(t, intake.SMTPOptions{LMTP: true, Listen: "unix:" + sock, SocketMode: 0o620})
		if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o620 {
			t.Fatalf("socket mode %v (%v), want 0620", st.Mode(), err)
		}
	})

	for _, tc := range []struct {
		name   string
		o      intake.SMTPOptions
		args   []string
		reply  string
		result string
	}{
		{"another recipient is refused (no open relay)", intake.SMTPOptions{}, []string{"--to", "someone@elsewhere.example"}, "550", "unknown_recipient"},
		{"over the size limit", intake.SMTPOptions{MaxMessageBytes: 100}, []string{"--to", official}, "552", "too_large"},
		{"client outside allowed_clients", intake.SMTPOptions{AllowedClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, []string{"--to", official}, "554", "client_refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.o)
			r := testkit.Swaks(t, append([]string{"--server", s.addr, "--from", "a@example.bg", "--data", "@" + data}, tc.args...)...)
			if r.OK() || !strings.Contains(r.Stdout+r.Stderr, tc.reply) {
				t.Fatalf("want %s, swaks said %d: %s %s", tc.reply, r.Code, r.Stdout, r.Stderr)
			}
			if len(s.sink.all()) != 0 || s.count("smtp", tc.result) == 0 {
				t.Fatalf("sink %d, %s not counted", len(s.sink.all()), tc.result)
			}
		})
	}

	t.Run("an allowed relay address gets in", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{Listen: "127.0.0.1:0", AllowedClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
		r := testkit.Swaks(t, "--server", s.addr, "--local-interface", "127.0.0.2", "--from", "a@example.bg", "--to", official, "--data", "@"+data)
		if !r.OK() || len(s.sink.all()) != 1 {
			t.Fatalf("%s %s", r.Stdout, r.Stderr)
		}
	})

	t.Run("no 250 until the sink has committed", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{})
		s.sink.setFail(errors.New("database is locked"))
		r := testkit.Swaks(t, "--server", s.addr, "--from", "a@example.bg", "--to", official, "--data", "@"+data)
		if r.OK() || !strings.Contains(r.Stdout, "451") {
			t.Fatalf("want 451: %s", r.Stdout)
		}
		s.sink.setFail(nil) // the MTA tries again later
		if r := testkit.Swaks(t, "--server", s.addr, "--from", "a@example.bg", "--to", official, "--data", "@"+data); !r.OK() || len(s.sink.all()) != 1 {
			t.Fatalf("retry: %s", r.Stdout)
		}
		s.sink.setFail(intake.ErrRefused)
		if r := testkit.Swaks(t, "--server", s.addr, "--from", "a@example.bg", "--to", official, "--data", "@"+data); r.OK() || !strings.Contains(r.Stdout, "554") {
			t.Fatalf("want 554 for a refusal: %s", r.Stdout)
		}
	})
}

// TestSMTPBounds: what an attacker controls is bounded — connections,
// and a DATA transfer that stops moving.
func TestSMTPBounds(t *testing.T) {
	t.Run("connections over the limit get 421", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{MaxConnections: 1})
		c1 := dial(t, s.addr)
		if line := readLine(t, c1); !strings.HasPrefix(line, "220") {
			t.Fatalf("greeting %q", line)
		}
		c2 := dial(t, s.addr)
		if line := readLine(t, c2); !strings.HasPrefix(line, "421") {
			t.Fatalf("second connection got %q", line)
		}
		c1.Close()
		// The place is free again once the first connection is gone.
		for {
			c := dial(t, s.addr)
			line := readLine(t, c)
			c.Close()
			if strings.HasPrefix(line, "220") {
				break
			}
		}
	})
	t.Run("a stalled DATA transfer is cut", func(t *testing.T) {
		s := start(t, intake.SMTPOptions{IdleTimeout: 200 * time.Millisecond})
		c := dial(t, s.addr)
		br := bufio.NewReader(c)
		readLine(t, br)
		for _, cmd := range []string{"EHLO test", "MAIL FROM:<a@example.bg>", "RCPT TO:<" + official + ">", "DATA"} {
			io.WriteString(c, cmd+"\r\n")
			for {
				line := readLine(t, br)
				if len(line) < 4 || line[3] != '-' {
					break
				}
			}
		}
		io.WriteString(c, "Subject: half\r\n") // and nothing more
		c.SetReadDeadline(time.Now().Add(time.Minute))
		if line := readLine(t, br); !strings.HasPrefix(line, "421") {
			t.Fatalf("stalled transfer got %q", line)
		}
		if len(s.sink.all()) != 0 || s.count("smtp", "aborted") != 1 {
			t.Fatalf("sink %d", len(s.sink.all()))
		}
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c
}

func readLine(t *testing.T, r io.Reader) string {
	t.Helper()
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	line, err := br.ReadString('\n')
	if err != nil && line == "" {
		return "EOF: " + err.Error()
	}
	return line
}

func first(g []*stored) string {
	if len(g) == 0 {
		return ""
	}
	return string(g[0].content)
}
