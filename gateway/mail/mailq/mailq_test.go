package mailq_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestMain doubles as the sender process of TestRestartMidQueue.
func TestMain(m *testing.M) {
	if db := os.Getenv("SEOSGW_MAILQ_CHILD_DB"); db != "" {
		os.Exit(child(db, os.Getenv("SEOSGW_MAILQ_CHILD_SERVER")))
	}
	os.Exit(m.Run())
}

// child runs a sender on the database until it is killed.
func child(path, server string) int {
	ctx := context.Background()
	db, err := store.OpenGateway(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := mailq.NewSender(db, mailq.Options{Server: server, TLS: mailq.TLSNone, HeloName: "gateway.test", Poll: 50 * time.Millisecond, Batch: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.Run(ctx)
	return 0
}

func message(i int) *mailq.Message {
	id := fmt.Sprintf("%d.test@marad.example", i)
	body := fmt.Sprintf("From: ebma@marad.example\r\nTo: ivan@example.bg\r\nMessage-Id: <%s>\r\nSubject: n%d\r\n\r\n.dot line %d\r\n", id, i, i)
	return &mailq.Message{Kind: "receipt", Ref: fmt.Sprint(i), From: "ebma@marad.example", To: "ivan@example.bg", MessageID: id, Body: []byte(body)}
}

func enqueue(t *testing.T, db *sql.DB, m *mailq.Message, key string, now time.Time) int64 {
	t.Helper()
	id, _, err := mailq.Enqueue(context.Background(), db, m, key, now)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func item(t *testing.T, db *sql.DB, id int64) *mailq.Item {
	t.Helper()
	it, err := mailq.Get(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestSendThroughSubmission(t *testing.T) {
	db := testkit.DB(t)
	sub := testkit.StartSubmission(t, true)
	reg := prometheus.NewRegistry()
	clk := clock.NewManual(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLSConfig: sub.TLSConfig, Username: sub.User, Password: sub.Password,
		HeloName: "gateway.test", Clock: clk, Registry: reg, RetryFirst: time.Minute, RetryMax: 4 * time.Minute, GiveUpAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Ready(ctx); err != nil || value(t, reg, "seosgw_mail_submission_up") != 1 {
		t.Fatalf("ready: %v", err)
	}

	m := message(1)
	id := enqueue(t, db, m, "receipt-1", clk.Now())
	if again := enqueue(t, db, message(1), "receipt-1", clk.Now()); again != id {
		t.Fatalf("the idempotency key queued a second copy: %d and %d", id, again)
	}
	if n, err := s.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d: %v", n, err)
	}
	got := sub.Got()
	if len(got) != 1 || string(got[0].Data) != string(m.Body) || got[0].From != m.From || got[0].To[0] != m.To {
		t.Fatalf("the server got %+v", got)
	}
	if it := item(t, db, id); it.State != mailq.Sent || it.Attempts != 1 || it.SentAt.IsZero() {
		t.Fatalf("item %+v", it)
	}

	// 4xx: retried on the doubling schedule, capped; then it goes.
	var answers []error
	sub.OnData = func(seq int) error {
		if len(answers) == 0 {
			return nil
		}
		a := answers[0]
		answers = answers[1:]
		return a
	}
	busy := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	answers = []error{busy, busy, busy, busy}
	id = enqueue(t, db, message(2), "", clk.Now())
	wantDelays := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for i, d := range wantDelays {
		if n, _ := s.SendDue(ctx); n != 0 {
			t.Fatalf("attempt %d: sent despite 451", i+1)
		}
		it := item(t, db, id)
		if it.State != mailq.Queued || !it.NextAttemptAt.Equal(clk.Now().Add(d)) || !strings.Contains(it.LastError, "451") {
			t.Fatalf("attempt %d: %s next %s (want +%s) err %q", i+1, it.State, it.NextAttemptAt.Sub(clk.Now()), d, it.LastError)
		}
		if n, _ := s.SendDue(ctx); n != 0 { // not due yet
			t.Fatalf("attempt %d: sent before it was due", i+1)
		}
		clk.Advance(d)
	}
	if n, err := s.SendDue(ctx); err != nil || n != 1 || item(t, db, id).State != mailq.Sent || item(t, db, id).Attempts != 5 {
		t.Fatalf("after the retries: %d %v %+v", n, err, item(t, db, id))
	}

	// 5xx: failed for good at once.
	answers = []error{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected for policy reasons"}}
	id = enqueue(t, db, message(3), "", clk.Now())
	s.SendDue(ctx)
	if it := item(t, db, id); it.State != mailq.Failed || it.Attempts != 1 || !strings.Contains(it.LastError, "554") {
		t.Fatalf("5xx: %+v", it)
	}

	// Temporary failures past the give-up age fail it.
	answers = []error{busy, busy}
	id = enqueue(t, db, message(4), "", clk.Now())
	s.SendDue(ctx)
	clk.Advance(time.Hour)
	s.SendDue(ctx)
	if it := item(t, db, id); it.State != mailq.Failed || !strings.Contains(it.LastError, "gave up") {
		t.Fatalf("give up: %+v", it)
	}

	for name, want := range map[string]float64{"seosgw_mail_sent_total": 2, "seosgw_mail_send_attempts_total": 9} {
		if got := value(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}

	t.Run("wrong password", func(t *testing.T) {
		bad, _ := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLSConfig: sub.TLSConfig, Username: sub.User, Password: "wrong", Registry: reg})
		if err := bad.Ready(ctx); err == nil || !strings.Contains(err.Error(), "AUTH") {
			t.Fatalf("ready: %v", err)
		}
		if value(t, reg, "seosgw_mail_submission_up") != 0 {
			t.Error("seosgw_mail_submission_up still 1")
		}
	})
	t.Run("no password over a plain connection", func(t *testing.T) {
		if _, err := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, Username: "u", Password: "p"}); err == nil {
			t.Fatal("accepted")
		}
	})
}

// value reads a single-series counter or gauge.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestRestartMidQueue kills the sending process while a mail is in flight
// and starts it again: nothing is lost, and nothing is sent twice. (A mail
// whose final "." the server read just before the kill would reach it
// twice, the duplicate SMTP itself allows: RFC 1047.)
func TestRestartMidQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seosgw.db")
	db := testkit.OpenDB(t, path)
	sub := testkit.StartSubmission(t, false)
	blocked, release := make(chan struct{}), make(chan struct{})
	sub.OnRcpt = func(seq int) error {
		if seq == 3 { // the third mail: the process dies while it is in flight
			close(blocked)
			<-release
		}
		return nil
	}
	const total = 5
	for i := 1; i <= total; i++ {
		enqueue(t, db, message(i), "", time.Now())
	}
	first := startChild(t, path, sub.Addr)
	<-blocked
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	close(release) // the server answers RCPT to no one; no DATA follows
	if n := len(sub.Got()); n != 2 {
		t.Fatalf("before the kill the server took %d mails, want 2", n)
	}
	second := startChild(t, path, sub.Addr)
	for len(sub.Got()) < total {
		select {
		case <-sub.Took():
		case <-time.After(2 * time.Minute):
			t.Fatalf("after the restart the server has %d of %d mails", len(sub.Got()), total)
		}
	}
	// The server has them all; wait for the sender to record the last.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		d, err := mailq.Depth(context.Background(), db)
		if err == nil && d[mailq.Sent] == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth %v %v", d, err)
		}
	}
	second.Process.Signal(syscall.SIGKILL)
	second.Wait()
	seen := map[string]int{}
	for _, g := range sub.Got() {
		for _, line := range strings.Split(string(g.Data), "\r\n") {
			if id, ok := strings.CutPrefix(line, "Message-Id: "); ok {
				seen[id]++
			}
		}
	}
	for i := 1; i <= total; i++ {
		if id := "<" + message(i).MessageID + ">"; seen[id] != 1 {
			t.Errorf("%s reached the server %d times", id, seen[id])
		}
	}
	if it := item(t, db, 3); it.Attempts != 2 {
		t.Errorf("the mail in flight at the kill took %d attempts, want 2", it.Attempts)
	}
}

func startChild(t *testing.T, db, server string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SEOSGW_MAILQ_CHILD_DB="+db, "SEOSGW_MAILQ_CHILD_SERVER="+server)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// TestManualRetryAndCancel: a mail given up on is queued again by the
// operator with a new round (the give-up age counts from the retry, not
// from when it was first queued); a cancelled one is never sent; a sent
// one can be neither retried nor cancelled.
func TestManualRetryAndCancel(t *testing.T) {
	db := testkit.DB(t)
	sub := testkit.StartSubmission(t, false)
	clk := clock.NewManual(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gateway.test", Clock: clk, GiveUpAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	busy := true
	sub.OnRcpt = func(int) error {
		if busy {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
	ctx := context.Background()
	id, cancelled := enqueue(t, db, message(1), "", clk.Now()), enqueue(t, db, message(2), "", clk.Now())
	clk.Advance(2 * time.Hour)
	s.SendDue(ctx)
	if it := item(t, db, id); it.State != mailq.Failed || !strings.Contains(it.LastError, "gave up") {
		t.Fatalf("past the give-up age: %+v", it)
	}
	if c, err := mailq.Cancel(ctx, db, cancelled, clk.Now()); err != nil || c.From != mailq.Failed || c.To != mailq.Cancelled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	c, err := mailq.Retry(ctx, db, id, clk.Now())
	if err != nil || c.From != mailq.Failed || c.Repeated || !strings.Contains(c.Detail, "gave up") {
		t.Fatalf("retry: %+v %v", c, err)
	}
	if it := item(t, db, id); it.State != mailq.Queued || it.Attempts != 0 || !it.RoundAt.Equal(clk.Now()) {
		t.Fatalf("after the retry: %+v", it)
	}
	s.SendDue(ctx) // 451 again: a new round, so retried rather than given up at once
	if it := item(t, db, id); it.State != mailq.Queued || it.Attempts != 1 {
		t.Fatalf("the new round gave up at its first 451: %s after %d attempts (%s)", it.State, it.Attempts, it.LastError)
	}
	if c, err := mailq.Retry(ctx, db, id, clk.Now()); err != nil || !c.Repeated || !item(t, db, id).NextAttemptAt.Equal(clk.Now()) {
		t.Fatalf("retry of a waiting mail: %+v %v", c, err)
	}
	busy = false
	if n, err := s.SendDue(ctx); n != 1 || err != nil {
		t.Fatalf("sent %d (%v), want the retried one only", n, err)
	}
	if got := sub.Got(); len(got) != 1 || !strings.Contains(string(got[0].Data), "n1") {
		t.Fatalf("the server got %d mails", len(got))
	}
	var refused *mailq.Refused
	for name, act := range map[string]func(context.Context, mailq.Querier, int64, time.Time) (mailq.Change, error){"retry": mailq.Retry, "cancel": mailq.Cancel} {
		if _, err := act(ctx, db, id, clk.Now()); !errors.As(err, &refused) || !strings.Contains(refused.Why, "took it already") {
			t.Errorf("%s of a sent mail: %v", name, err)
		}
	}
	if _, err := mailq.Retry(ctx, db, cancelled, clk.Now()); !errors.As(err, &refused) || !strings.Contains(refused.Why, "cancelled") {
		t.Errorf("retry of a cancelled mail: %v", err)
	}
}

// TestSendConcurrency: mails go out up to Concurrency at once, each on its
// own connection, and never more.
func TestSendConcurrency(t *testing.T) {
	db := testkit.DB(t)
	sub := testkit.StartSubmission(t, false)
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	sub.OnData = func(int) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
		return nil
	}
	s, err := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gateway.test", Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		enqueue(t, db, message(i), "", time.Now())
	}
	done := make(chan int, 1)
	go func() {
		n, _ := s.SendDue(context.Background())
		done <- n
	}()
	testkit.Eventually(t, 20*time.Second, "three mails in DATA at once", func() bool { return inFlight.Load() == 3 })
	time.Sleep(100 * time.Millisecond) // a fourth would have started by now
	if m := most.Load(); m != 3 {
		t.Errorf("%d mails in flight at once, want 3 (mail.submission.concurrency)", m)
	}
	close(release)
	if n := <-done; n != 7 || len(sub.Got()) != 7 || most.Load() != 3 {
		t.Errorf("sent %d, the server took %d, at most %d at once", n, len(sub.Got()), most.Load())
	}
}
