package outbox

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/seos"
)

func TestTransitionTable(t *testing.T) {
	cases := []struct {
		from, to State
		want     Verdict
	}{
		{StateQueued, StateWaiting, Applied},
		{StateNone, StateWaiting, Applied},
		{StateQueued, StateRegistered, Applied}, // the notification overtook the acknowledgement
		{StateWaiting, StateAlreadyReceived, Repeated},
		{StateAlreadyReceived, StateWaiting, Repeated},
		{StateWaiting, StateRegistered, Applied},
		{StateWaiting, StateRejected, Applied},
		{StateAlreadyReceived, StateRejected, Applied},
		{StateWaiting, StateClosed, Applied}, // a lost DS_REGISTERED must not wedge it
		{StateWaiting, StateNotFound, Applied},
		{StateNotFound, StateRegistered, Applied},
		{StateFailed, StateRegistered, Applied}, // the recipient has it after all
		{StateRegistered, StateClosed, Applied},
		{StateRegistered, StateStopped, Applied},
		{StateRegistered, StateRegistered, Repeated},
		{StateRegistered, StateRejected, NotApplied},
		{StateRegistered, StateWaiting, NotApplied},
		{StateRegistered, StateNotFound, NotApplied},
		{StateRegistered, StateFailed, NotApplied},
		{StateRejected, StateRegistered, NotApplied},
		{StateClosed, StateStopped, NotApplied},
		{StateStopped, StateRegistered, NotApplied},
		{StateClosed, StateWaiting, NotApplied},
	}
	for _, c := range cases {
		if got := Decide(c.from, c.to); got != c.want {
			t.Errorf("%q → %q: %s, want %s", c.from, c.to, got, c.want)
		}
	}
	for from, tos := range transitions {
		for _, to := range tos {
			if class(to) != to || from == to {
				t.Errorf("table entry %s → %s: targets must be canonical states, not the source", from, to)
			}
		}
	}
}

// Reports about one document in the order a confused peer sends them: the
// allowed ones move it, the rest are events, and the registration number
// known first survives everything.
func TestApplyStatusFollowsTheTable(t *testing.T) {
	ctx, db := context.Background(), openDB(t)
	reg := prometheus.NewRegistry()
	obs := NewObserver(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := seos.NewGUID()
	id, _, err := Enqueue(ctx, db, KindRegistration, "{B}", doc, 0, &Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := Claim(ctx, db, t0, 1)
	if err := Record(ctx, db, items[0], Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, t0); err != nil {
		t.Fatal(err)
	}
	num := func(n string) seos.DocumentID {
		return seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: n, Date: "2026-11-24"}}
	}
	steps := []struct {
		name    string
		r       seos.StatusResponse
		verdict Verdict
		state   State
		event   string
	}{
		{"registered", seos.StatusResponse{DocID: num("Б-1"), Status: seos.StatusRegistered}, Applied, StateRegistered, "status"},
		{"registered again, same number", seos.StatusResponse{DocID: num("Б-1"), Status: seos.StatusRegistered}, Repeated, StateRegistered, "status_repeated"},
		{"registered again, another number", seos.StatusResponse{DocID: num("Б-2"), Status: seos.StatusRegistered}, NotApplied, StateRegistered, "status_not_applied"},
		{"rejected after registered", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusRejected, RejectionReason: seos.Str("не е наш")}, NotApplied, StateRegistered, "status_not_applied"},
		{"waiting after registered", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusWaitRegistration}, NotApplied, StateRegistered, "status_not_applied"},
		{"closed, with another number", seos.StatusResponse{DocID: num("Б-3"), Status: seos.StatusClosed}, Applied, StateClosed, "status"},
		{"stopped after closed", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusStopped}, NotApplied, StateClosed, "status_not_applied"},
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		tr, err := ApplyStatus(ctx, db, "{b}", &s.r, at)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		obs.Observe(tr)
		it, _ := Get(ctx, db, id)
		ev, _ := Events(ctx, db, id)
		last := ev[len(ev)-1]
		if tr.Verdict != s.verdict || it.DocStatus != s.state || last.Event != s.event {
			t.Errorf("%s: verdict %s, state %s, event %s %q; want %s, %s, %s", s.name, tr.Verdict, it.DocStatus, last.Event, last.Detail, s.verdict, s.state, s.event)
		}
		if it.PeerNumber != "Б-1" || it.RejectionReason != "" {
			t.Errorf("%s: number %q, rejection %q: the first registration must stay", s.name, it.PeerNumber, it.RejectionReason)
		}
	}
	ev, _ := Events(ctx, db, id)
	for _, e := range ev {
		if e.Event == "status_not_applied" && !strings.Contains(e.Detail, "kept DS_") {
			t.Errorf("event does not say what was kept: %q", e.Detail)
		}
	}
	if v := testutil.ToFloat64(obs.counter.WithLabelValues("DS_REGISTERED", "DS_REJECTED", "not_applied")); v != 1 {
		t.Errorf("metric for DS_REJECTED after DS_REGISTERED: %v", v)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// A final failure of a later attempt does not undo what the recipient said.
	if err := Record(ctx, db, &Item{ID: id, Kind: KindRegistration, Attempts: 2}, Outcome{Final: true, Detail: "gave up"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if it, _ := Get(ctx, db, id); it.DocStatus != StateClosed || it.PeerNumber != "Б-1" {
		t.Errorf("after a final failure: %s %s", it.DocStatus, it.PeerNumber)
	}
}

// A report about a document whose delivery is still being retried (every
// acknowledgement was lost) or was given up on ends the retries: the
// recipient has it.
func TestReportEndsRetries(t *testing.T) {
	ctx, db := context.Background(), openDB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, final := range []bool{false, true} {
		doc := seos.NewGUID()
		id, _, _ := Enqueue(ctx, db, KindRegistration, "{B}", doc, 0, &Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}, "", t0)
		items, _ := Claim(ctx, db, t0, 1)
		if err := Record(ctx, db, items[0], Outcome{Final: final, RetryAt: t0.Add(time.Hour), Detail: "network: timeout"}, t0); err != nil {
			t.Fatal(err)
		}
		r := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: "Б-7", Date: "2026-11-23"}}, Status: seos.StatusRegistered}
		if tr, err := ApplyStatus(ctx, db, "{B}", r, t0.Add(time.Minute)); err != nil || tr.Verdict != Applied {
			t.Fatalf("final=%v: %+v %v", final, tr, err)
		}
		if it, _ := Get(ctx, db, id); it.State != Delivered || it.LastError != "" || it.DocStatus != StateRegistered {
			t.Errorf("final=%v: %s %q %s", final, it.State, it.LastError, it.DocStatus)
		}
	}
}
