package intake_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestIMAPWithDovecot polls a real dovecot: mail the delivery agent put in
// the mailbox reaches the sink byte for byte and is moved (or flagged)
// only after the sink's commit; a failing sink leaves it for the next poll.
func TestIMAPWithDovecot(t *testing.T) {
	d := testkit.StartDovecot(t)
	d.CreateMailbox(t, "Processed")
	withReturnPath := append([]byte("Return-Path: <ivan@example.bg>\r\n"), letter...)
	d.Deliver(t, "INBOX", withReturnPath)
	d.Deliver(t, "INBOX", letter)
	big := append(append([]byte(nil), letter...), bytes.Repeat([]byte("x"), 4096)...)
	d.Deliver(t, "INBOX", big)

	reg := prometheus.NewRegistry()
	sink := &store{}
	o := intake.IMAPOptions{Server: d.Addr, TLSConfig: d.TLSConfig, Username: d.User, Password: d.Password, MoveTo: "Processed",
		Address: official, MaxMessageBytes: 2048, SpoolDir: t.TempDir(), Registry: reg}
	p, err := intake.NewIMAPPoller(o, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}

	sink.setFail(errors.New("database is locked"))
	if _, err := p.Poll(ctx); err == nil {
		t.Fatal("a poll whose sink failed reported success")
	}
	if n := d.Count(t, "INBOX"); n != 3 || len(sink.all()) != 0 {
		t.Fatalf("after a failed commit the mailbox holds %d (want 3), the sink %d", n, len(sink.all()))
	}

	sink.setFail(nil)
	n, err := p.Poll(ctx)
	if err != nil || n != 2 {
		t.Fatalf("poll took %d: %v", n, err)
	}
	got := sink.all()
	if len(got) != 2 || !bytes.Equal(got[0].content, withReturnPath) || !bytes.Equal(got[1].content, letter) {
		t.Fatalf("sink holds %d mails, not byte for byte", len(got))
	}
	if got[0].r.From != "ivan@example.bg" || got[0].r.To[0] != official || !strings.HasPrefix(got[0].r.ID, "imap://official@") || got[0].r.Channel != intake.ChannelIMAP {
		t.Errorf("envelope %+v", got[0].r)
	}
	if d.Count(t, "Processed") != 2 || d.Count(t, "INBOX") != 1 {
		t.Fatalf("processed %d, inbox %d", d.Count(t, "Processed"), d.Count(t, "INBOX"))
	}
	// The mail over the size limit stays, flagged for a person, and is
	// not fetched again.
	if f := d.Flags(t, "INBOX"); len(f) != 1 || !strings.Contains(f[0], intake.TooLargeFlag) {
		t.Fatalf("flags of what stayed: %q", f)
	}
	if n, err := p.Poll(ctx); err != nil || n != 0 || received(reg, "imap", "too_large") != 1 || received(reg, "imap", "delivered") != 2 {
		t.Fatalf("second poll took %d (%v); too_large %v", n, err, received(reg, "imap", "too_large"))
	}

	t.Run("flag mode", func(t *testing.T) {
		d.CreateMailbox(t, "Flagged")
		d.Deliver(t, "Flagged", letter)
		o := o
		o.Mailbox, o.MoveTo, o.Registry = "Flagged", "", prometheus.NewRegistry()
		fp, err := intake.NewIMAPPoller(o, sink)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := fp.Poll(ctx); err != nil || n != 1 {
			t.Fatalf("poll: %d %v", n, err)
		}
		if f := d.Flags(t, "Flagged"); len(f) != 1 || !strings.Contains(f[0], intake.DefaultProcessedFlag) || strings.Contains(f[0], `\Seen`) {
			t.Fatalf("flags %q", f)
		}
		if n, err := fp.Poll(ctx); err != nil || n != 0 {
			t.Fatalf("a flagged mail was taken again: %d %v", n, err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		o := o
		o.Password, o.Registry = "wrong", prometheus.NewRegistry()
		bad, _ := intake.NewIMAPPoller(o, sink)
		if err := bad.Ready(ctx); err == nil || !strings.Contains(err.Error(), "LOGIN") {
			t.Fatalf("ready with a wrong password: %v", err)
		}
	})
}
