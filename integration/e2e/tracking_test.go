package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// Two gateways: A asks B about a waiting document with a doubling gap,
// stops once B registers it, and keeps B's registration when B (its
// certificate, its endpoint identity) then reports what the protocol does
// not allow: DS_REJECTED after DS_REGISTERED, and another number.
func TestStatusPollingAndTransitionsBetweenTwoGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	x := newExchange(t, map[string]string{"OUTBOUND": ", status_after: 1s, status_max_interval: 4s"})
	x.a.start()
	x.b.start()
	bdb := testkit.OpenDB(t, x.b.db)
	id, doc := x.a.send(1, x.b)
	// A second document B never registers: A keeps asking about it, and
	// its questions show when A's poller has passed a given instant.
	witness, _ := x.a.send(2, x.b)
	x.a.waitFor(id, 20*time.Second, state("waiting_registration"))

	type question struct{ at, next time.Time } // when asked; the next not before
	asked := func(st *ais.Status) []question {
		var qs []question
		for _, e := range st.History {
			if e.Event != "status_asked" {
				continue
			}
			_, after, _ := strings.Cut(e.Detail, "the next not before ")
			next, err := time.Parse(time.RFC3339, after)
			if err != nil {
				t.Fatalf("status_asked detail %q: %v", e.Detail, err)
			}
			qs = append(qs, question{e.At, next})
		}
		return qs
	}
	st := x.a.waitFor(id, 40*time.Second, func(st *ais.Status) bool { return len(asked(st)) >= 4 })
	at := asked(st)
	// The plan A recorded: the gap doubles from status_after (1s) and stops
	// at status_max_interval (4s), and no question came before its time.
	// Times come from A's own records; that A really waits is proved with
	// an injected clock in gateway/outbound TestStatusPollingBacksOff.
	for i, gap := range []time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if got := at[i].next.Sub(at[i].at.Truncate(time.Second)); got != gap {
			t.Errorf("question %d planned the next %v later, want %v", i+1, got, gap)
		}
		if at[i+1].at.Before(at[i].next) {
			t.Errorf("question %d at %v, before the time question %d set (%v)", i+2, at[i+1].at, i+1, at[i].next)
		}
	}
	var received int
	bdb.QueryRow(`SELECT count(*) FROM message_log WHERE direction = 'in' AND message_type = ? AND document_guid = ?`,
		string(seos.TypeStatusRequest), doc).Scan(&received)
	if received > len(at) {
		t.Errorf("B received %d status requests, A asked %d times", received, len(at))
	}

	var inboxID int64
	if err := bdb.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&inboxID); err != nil {
		t.Fatal(err)
	}
	if code, body := x.b.post(fmt.Sprintf("/api/v1/inbox/%d/register", inboxID), `{"number":{"number":"Б-1","date":"2026-12-01"}}`); code != 202 {
		t.Fatalf("register: HTTP %d %s", code, body)
	}
	st = x.a.waitFor(id, 20*time.Second, state("registered"))
	questions := asked(st)
	askedWhenRegistered, due := len(questions), questions[len(questions)-1].next

	// B's endpoint identity now reports what no transition allows.
	client := testkit.Client(x.b.p.id, x.tp.Authority.Pool(), "a.obmen.local")
	report := func(status seos.DocStatus, number, reason string) {
		t.Helper()
		r := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: status}
		if number != "" {
			r.DocID.Number = &seos.DocumentNumber{Number: number, Date: "2026-12-01"}
		}
		if reason != "" {
			r.RejectionReason = seos.Str(reason)
		}
		m := seos.NewMessage(x.b.p.entity, x.a.p.entity, time.Now(), seos.Body{StatusResponse: r})
		reply, _, err := testkit.Submit(context.Background(), client, x.a.url(), testkit.Sign(t, x.b.p.id, m))
		if err != nil || reply != nil {
			t.Fatalf("%s: a status report is received with an empty SubmitResult; got %v %+v", status, err, reply)
		}
	}
	report(seos.StatusRejected, "", "по погрешка")
	report(seos.StatusRegistered, "Б-2", "")
	report(seos.StatusClosed, "", "")

	st = x.a.waitFor(id, 20*time.Second, state("closed"))
	if st.PeerNumber == nil || st.PeerNumber.Number != "Б-1" || st.Rejection != "" {
		t.Errorf("A lost B's registration: %+v %q", st.PeerNumber, st.Rejection)
	}
	var notApplied []string
	for _, e := range st.History {
		if e.Event == "status_not_applied" {
			notApplied = append(notApplied, e.Detail)
		}
	}
	if len(notApplied) != 2 || !strings.Contains(notApplied[0], "DS_REJECTED after DS_REGISTERED") || !strings.Contains(notApplied[1], "No Б-2") {
		t.Errorf("history of reports not applied: %q", notApplied)
	}
	// Had A gone on asking, it would have asked again at its next poll
	// from due on (the recorded time is cut to the second). Once the
	// witness is asked about at or after that instant, that poll has run.
	x.a.waitFor(witness, 30*time.Second, func(st *ais.Status) bool {
		qs := asked(st)
		return len(qs) > 0 && !qs[len(qs)-1].at.Before(due.Add(time.Second))
	})
	st, _, err := x.a.api.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(asked(st)); n != askedWhenRegistered {
		t.Errorf("A asked %d more times after B registered the document", n-askedWhenRegistered)
	}
	metrics := getText(t, "http://"+x.a.ops+"/metrics")
	for _, want := range []string{
		`seosgw_outbox_status_transitions_total{from="DS_REGISTERED",to="DS_REJECTED",verdict="not_applied"} 1`,
		`seosgw_outbox_status_transitions_total{from="DS_REGISTERED",to="DS_REGISTERED",verdict="not_applied"} 1`,
		`seosgw_outbox_status_transitions_total{from="DS_REGISTERED",to="DS_CLOSED",verdict="applied"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "transitions"))
		}
	}
	if out := x.a.node.Output(); !strings.Contains(out, `"level":"WARN","msg":"a recipient's report is not a protocol transition`) {
		t.Error("no warning logged for the reports not applied")
	}
}
