package outbound

import (
	"context"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
)

func TestStatusGapDoublesToTheCap(t *testing.T) {
	d := &Deliverer{StatusAfter: 72 * time.Hour, StatusMaxInterval: 7 * 24 * time.Hour}
	want := []time.Duration{144 * time.Hour, 168 * time.Hour, 168 * time.Hour}
	for i, w := range want {
		if got := d.statusGap(i + 1); got != w {
			t.Errorf("gap after question %d: %v, want %v", i+1, got, w)
		}
	}
	huge := &Deliverer{StatusAfter: time.Hour, StatusMaxInterval: 1<<63 - 1}
	if g := huge.statusGap(200); g <= 0 {
		t.Errorf("gap overflowed: %v", g)
	}
}

// One waiting document, polled every ten minutes of the injected clock for
// five days: it is asked about after status_after, then after 2×, 4× ...
// up to the cap, never while a question is still on its way, and never
// again once the recipient reports it registered.
func TestStatusPollingBacksOff(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	n.d.Clock, n.d.StatusAfter, n.d.StatusMaxInterval = clk, time.Hour, 5*time.Hour
	doc := seos.NewGUID()
	id, _, err := outbox.Enqueue(ctx, n.dbA, outbox.Entry{Kind: outbox.KindRegistration, Recipient: n.bEnt.GUID, Document: doc, Request: &outbox.Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := outbox.Claim(ctx, n.dbA, t0, 1)
	if err := outbox.Record(ctx, n.dbA, items[0], outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, t0); err != nil {
		t.Fatal(err)
	}
	// answer plays the recipient: every queued question is delivered and
	// answered with status, as attempt() records a real answer.
	answer := func(status seos.DocStatus) {
		now := clk.Now()
		qs, err := outbox.Claim(ctx, n.dbA, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			r := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: status}
			if err := outbox.Record(ctx, n.dbA, q, outbox.Outcome{Delivered: true, DocStatus: string(status)}, now); err != nil {
				t.Fatal(err)
			}
			if _, err := outbox.ApplyStatus(ctx, n.dbA, n.bEnt.GUID, r, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	questions := func() int {
		var c int
		n.dbA.QueryRow(`SELECT count(*) FROM outbox WHERE kind = 'status_request'`).Scan(&c)
		return c
	}
	var asked []time.Duration
	step := 10 * time.Minute
	for clk.Now().Sub(t0) < 120*time.Hour {
		before := questions()
		n.d.askAboutWaiting(ctx)
		if questions() > before {
			asked = append(asked, clk.Now().Sub(t0))
		}
		elapsed := clk.Now().Sub(t0)
		switch {
		case elapsed == 60*time.Hour:
			// The recipient's notification: registered.
			r := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: "Б-44", Date: "2026-12-03"}}, Status: seos.StatusRegistered}
			if _, err := outbox.ApplyStatus(ctx, n.dbA, n.bEnt.GUID, r, clk.Now()); err != nil {
				t.Fatal(err)
			}
		case elapsed >= 3*time.Hour && elapsed < 8*time.Hour:
			// question 2 stays unanswered (the recipient is down) until 8h
		default:
			answer(seos.StatusWaitRegistration)
		}
		clk.Advance(step)
	}
	// Asked at 1h; +2h → 3h; 3h+4h = 7h is due, but question 2 is still on
	// its way until it is answered at 8h, so the next pass, 8h10m; then +5h
	// (the cap) each time until the registration at 60h.
	want := []time.Duration{1 * time.Hour, 3 * time.Hour}
	for at := 8*time.Hour + step; at < 60*time.Hour; at += 5 * time.Hour {
		want = append(want, at)
	}
	if len(asked) != len(want) {
		t.Fatalf("asked at %v, want %v", asked, want)
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Errorf("question %d at %v, want %v", i+1, asked[i], want[i])
		}
	}
	it, _ := outbox.Get(ctx, n.dbA, id)
	if it.DocStatus != outbox.StateRegistered || it.PeerNumber != "Б-44" || it.StatusAsks != len(want) {
		t.Errorf("document after polling: %s %s, %d questions", it.DocStatus, it.PeerNumber, it.StatusAsks)
	}
}
