package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// Reports about one document in the order a confused peer sends them: the
// allowed ones move it, the rest are events, and the registration number
// known first survives everything.
func TestApplyStatusFollowsTheTable(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	reg := prometheus.NewRegistry()
	obs := outbox.NewObserver(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := seos.NewGUID()
	id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc, Request: &outbox.Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := outbox.Claim(ctx, db, t0, 1)
	if err := outbox.Record(ctx, db, items[0], outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, t0); err != nil {
		t.Fatal(err)
	}
	num := func(n string) seos.DocumentID {
		return seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: n, Date: "2026-11-24"}}
	}
	steps := []struct {
		name    string
		r       seos.StatusResponse
		verdict outbox.Verdict
		state   outbox.State
		event   string
	}{
		{"registered", seos.StatusResponse{DocID: num("Б-1"), Status: seos.StatusRegistered}, outbox.Applied, outbox.StateRegistered, "status"},
		{"registered again, same number", seos.StatusResponse{DocID: num("Б-1"), Status: seos.StatusRegistered}, outbox.Repeated, outbox.StateRegistered, "status_repeated"},
		{"registered again, another number", seos.StatusResponse{DocID: num("Б-2"), Status: seos.StatusRegistered}, outbox.NotApplied, outbox.StateRegistered, "status_not_applied"},
		{"rejected after registered", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusRejected, RejectionReason: seos.Str("не е наш")}, outbox.NotApplied, outbox.StateRegistered, "status_not_applied"},
		{"waiting after registered", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusWaitRegistration}, outbox.NotApplied, outbox.StateRegistered, "status_not_applied"},
		{"closed, with another number", seos.StatusResponse{DocID: num("Б-3"), Status: seos.StatusClosed}, outbox.Applied, outbox.StateClosed, "status"},
		{"stopped after closed", seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusStopped}, outbox.NotApplied, outbox.StateClosed, "status_not_applied"},
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		tr, err := outbox.ApplyStatus(ctx, db, "{b}", &s.r, at)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		obs.Observe(tr)
		it, _ := outbox.Get(ctx, db, id)
		ev, _ := outbox.Events(ctx, db, id)
		last := ev[len(ev)-1]
		if tr.Verdict != s.verdict || it.DocStatus != s.state || last.Event != s.event {
			t.Errorf("%s: verdict %s, state %s, event %s %q; want %s, %s, %s", s.name, tr.Verdict, it.DocStatus, last.Event, last.Detail, s.verdict, s.state, s.event)
		}
		if it.PeerNumber != "Б-1" || it.RejectionReason != "" {
			t.Errorf("%s: number %q, rejection %q: the first registration must stay", s.name, it.PeerNumber, it.RejectionReason)
		}
	}
	ev, _ := outbox.Events(ctx, db, id)
	for _, e := range ev {
		if e.Event == "status_not_applied" && !strings.Contains(e.Detail, "kept DS_") {
			t.Errorf("event does not say what was kept: %q", e.Detail)
		}
	}
	if v := testutil.ToFloat64(outbox.ObserverCounter(obs).WithLabelValues("DS_REGISTERED", "DS_REJECTED", "not_applied")); v != 1 {
		t.Errorf("metric for DS_REJECTED after DS_REGISTERED: %v", v)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// A final failure of a later attempt does not undo what the recipient said.
	if err := outbox.Record(ctx, db, &outbox.Item{ID: id, Kind: outbox.KindRegistration, Attempts: 2}, outbox.Outcome{Final: true, Detail: "gave up"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if it, _ := outbox.Get(ctx, db, id); it.DocStatus != outbox.StateClosed || it.PeerNumber != "Б-1" {
		t.Errorf("after a final failure: %s %s", it.DocStatus, it.PeerNumber)
	}
}

// A report about a document whose delivery is still being retried (every
// acknowledgement was lost) or was given up on ends the retries: the
// recipient has it.
func TestReportEndsRetries(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, final := range []bool{false, true} {
		doc := seos.NewGUID()
		id, _, _ := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc, Request: &outbox.Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}}, t0)
		items, _ := outbox.Claim(ctx, db, t0, 1)
		if err := outbox.Record(ctx, db, items[0], outbox.Outcome{Final: final, RetryAt: t0.Add(time.Hour), Detail: "network: timeout"}, t0); err != nil {
			t.Fatal(err)
		}
		r := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: "Б-7", Date: "2026-11-23"}}, Status: seos.StatusRegistered}
		if tr, err := outbox.ApplyStatus(ctx, db, "{B}", r, t0.Add(time.Minute)); err != nil || tr.Verdict != outbox.Applied {
			t.Fatalf("final=%v: %+v %v", final, tr, err)
		}
		if it, _ := outbox.Get(ctx, db, id); it.State != outbox.Delivered || it.LastError != "" || it.DocStatus != outbox.StateRegistered {
			t.Errorf("final=%v: %s %q %s", final, it.State, it.LastError, it.DocStatus)
		}
	}
}

// TestApplyStatus: one report about a document in each situation, from a
// fresh item: what the table and the rules around it make of it.
func TestApplyStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	num := seos.DocumentNumber{Number: "Б-1", Date: "2026-11-24"}
	uri := seos.DocumentURI{RegisterIndex: (*seos.Integer)(seos.Str("3")), SequenceNumber: (*seos.Integer)(seos.Str("17"))}
	cases := []struct {
		name     string
		delivery outbox.Delivery // the item's delivery before
		doc      outbox.State    // and the document's state
		report   seos.StatusResponse
		verdict  outbox.Verdict
		after    outbox.State
		state    outbox.Delivery
		event    string
		check    func(*outbox.Item) bool
	}{
		{"waiting acknowledged by a status", outbox.Sending, outbox.StateQueued,
			seos.StatusResponse{Status: seos.StatusWaitRegistration}, outbox.Applied, outbox.StateWaiting, outbox.Sending, "status", nil},
		{"registered, with a number", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{DocID: seos.DocumentID{Number: &num}, Status: seos.StatusRegistered}, outbox.Applied, outbox.StateRegistered, outbox.Delivered, "status",
			func(it *outbox.Item) bool {
				return it.PeerNumber == "Б-1" && it.PeerDate == "2026-11-24" && it.PeerURI == nil
			}},
		{"registered, with a URI", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{DocID: seos.DocumentID{URI: &uri}, Status: seos.StatusRegistered}, outbox.Applied, outbox.StateRegistered, outbox.Delivered, "status",
			func(it *outbox.Item) bool {
				return it.PeerNumber == "" && it.PeerURI != nil && it.PeerURI.String() == uri.String()
			}},
		{"rejected, with the reason", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{Status: seos.StatusRejected, RejectionReason: seos.Str("не е наш")}, outbox.Applied, outbox.StateRejected, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.RejectionReason == "не е наш" }},
		{"a reason without a rejection is not kept", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{Status: seos.StatusClosed, RejectionReason: seos.Str("?")}, outbox.Applied, outbox.StateClosed, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.RejectionReason == "" }},
		{"expected closing date", outbox.Delivered, outbox.StateRegistered,
			seos.StatusResponse{Status: seos.StatusRegistered, ExpectCloseDate: (*seos.Date)(seos.Str("2026-12-24"))}, outbox.Repeated, outbox.StateRegistered, outbox.Delivered, "status_repeated",
			func(it *outbox.Item) bool { return it.ExpectClose == "2026-12-24" }},
		{"registered with a receipt", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{DocID: seos.DocumentID{Number: &num}, Status: seos.StatusRegistered, AddData: seos.NewReceipt("Потвърждаваме", "Potvarzhdavame")},
			outbox.Applied, outbox.StateRegistered, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.Receipt == "Потвърждаваме\nPotvarzhdavame" }},
		{"other additional data is no receipt", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{Status: seos.StatusRegistered, AddData: mustContent(t, `<Data xmlns="urn:ais"><No>1</No></Data>`)},
			outbox.Applied, outbox.StateRegistered, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.Receipt == "" }},
		{"a receipt with a rejection is not kept", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{Status: seos.StatusRejected, AddData: seos.NewReceipt("а", "a")},
			outbox.Applied, outbox.StateRejected, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.Receipt == "" }},
		{"not found at the recipient", outbox.Delivered, outbox.StateWaiting,
			seos.StatusResponse{Status: seos.StatusNotFound}, outbox.Applied, outbox.StateNotFound, outbox.Delivered, "status", nil},
		{"reported while retries go on: they stop", outbox.Queued, outbox.StateQueued,
			seos.StatusResponse{Status: seos.StatusWaitRegistration}, outbox.Applied, outbox.StateWaiting, outbox.Delivered, "status",
			func(it *outbox.Item) bool { return it.LastError == "" }},
		{"reported after we gave up", outbox.Failed, outbox.StateFailed,
			seos.StatusResponse{Status: seos.StatusRegistered}, outbox.Applied, outbox.StateRegistered, outbox.Delivered, "status", nil},
		{"waiting after registered", outbox.Delivered, outbox.StateRegistered,
			seos.StatusResponse{Status: seos.StatusWaitRegistration}, outbox.NotApplied, outbox.StateRegistered, outbox.Delivered, "status_not_applied", nil},
		{"anything after closed", outbox.Delivered, outbox.StateClosed,
			seos.StatusResponse{Status: seos.StatusStopped}, outbox.NotApplied, outbox.StateClosed, outbox.Delivered, "status_not_applied", nil},
	}
	ctx, db := context.Background(), testkit.DB(t) // one document per case
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := seos.NewGUID()
			id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc, Request: &outbox.Request{}}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE outbox SET state = ?, doc_status = ?, last_error = 'earlier' WHERE id = ?`, c.delivery, c.doc, id); err != nil {
				t.Fatal(err)
			}
			r := c.report
			r.DocID.GUID = strings.ToLower(doc)
			tr, err := outbox.ApplyStatus(ctx, db, "{b}", &r, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			it, _ := outbox.Get(ctx, db, id)
			ev, _ := outbox.Events(ctx, db, id)
			last := ev[len(ev)-1]
			if tr.ID != id || tr.Verdict != c.verdict || it.DocStatus != c.after || it.State != c.state || last.Event != c.event {
				t.Errorf("%+v: doc %s, delivery %s, event %s; want %s, %s, %s, %s", tr, it.DocStatus, it.State, last.Event, c.verdict, c.after, c.state, c.event)
			}
			if c.check != nil && !c.check(it) {
				t.Errorf("item %+v", it)
			}
		})
	}
	if _, err := outbox.ApplyStatus(ctx, db, "{C}", &seos.StatusResponse{DocID: seos.DocumentID{GUID: seos.NewGUID()}, Status: seos.StatusRegistered}, t0); !errors.Is(err, outbox.ErrUnknownDocument) {
		t.Errorf("a report about a document never sent: %v", err)
	}
}

func mustContent(t *testing.T, fragment string) *seos.AnyContent {
	t.Helper()
	c, err := seos.ParseAnyContent(fragment)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestApplyError: an Error from a peer fails our message for good, unless
// the document it was about has moved on.
func TestApplyError(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		kind    outbox.Kind
		doc     outbox.State
		verdict outbox.Verdict
		state   outbox.Delivery
		after   outbox.State
		event   string
	}{
		{"registration waiting", outbox.KindRegistration, outbox.StateWaiting, outbox.Applied, outbox.Failed, outbox.StateFailed, "peer_error"},
		{"registration already registered", outbox.KindRegistration, outbox.StateRegistered, outbox.NotApplied, outbox.Delivered, outbox.StateRegistered, "peer_error_not_applied"},
		{"status notification", outbox.KindStatus, outbox.StateNone, outbox.Applied, outbox.Failed, outbox.StateNone, "peer_error"},
	}
	ctx, db := context.Background(), testkit.DB(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := seos.NewGUID()
			id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: c.kind, Recipient: "{B}", Document: seos.NewGUID(), Request: &outbox.Request{}}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE outbox SET state = ?, doc_status = ?, last_message_guid = ? WHERE id = ?`,
				outbox.Delivered, c.doc, seos.CanonicalGUID(msg), id); err != nil {
				t.Fatal(err)
			}
			e := &seos.ErrorBody{MessageGUID: seos.Str(strings.ToUpper(msg)), Type: seos.ErrExternal, Description: "лош формат"}
			tr, err := outbox.ApplyError(ctx, db, "{b}", e, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			it, _ := outbox.Get(ctx, db, id)
			ev, _ := outbox.Events(ctx, db, id)
			if tr.ID != id || tr.Verdict != c.verdict || it.State != c.state || it.DocStatus != c.after || ev[len(ev)-1].Event != c.event {
				t.Errorf("%+v: %s %s %s", tr, it.State, it.DocStatus, ev[len(ev)-1].Event)
			}
			if c.state == outbox.Failed && !strings.Contains(it.LastError, "ERR_EXTERNAL: лош формат") {
				t.Errorf("last error %q", it.LastError)
			}
		})
	}
	for _, e := range []*seos.ErrorBody{{Type: seos.ErrExternal}, {MessageGUID: seos.Str(seos.NewGUID()), Type: seos.ErrExternal}} {
		if _, err := outbox.ApplyError(ctx, db, "{B}", e, t0); !errors.Is(err, outbox.ErrUnknownDocument) {
			t.Errorf("an Error about no message of ours: %v", err)
		}
	}
}
