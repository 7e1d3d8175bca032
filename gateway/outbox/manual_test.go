package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// manualWorld is an outbox with documents in each state an operator
// meets: queued for a later attempt, failed, in flight, delivered, not
// found at the recipient.
type manualWorld struct {
	t   *testing.T
	db  *sql.DB
	now time.Time
}

var peerB, peerC = testkit.GUID(2), testkit.GUID(3)

func (w *manualWorld) queue(to string) (int64, string) {
	w.t.Helper()
	doc := &seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо"}
	id, _, err := outbox.Enqueue(context.Background(), w.db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: to, Document: doc.ID.GUID,
		Request: &outbox.Request{Document: doc, Comment: "за регистрация"}}, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	return id, doc.ID.GUID
}

// attempt makes one delivery attempt of id with outcome o.
func (w *manualWorld) attempt(id int64, o outbox.Outcome) {
	w.t.Helper()
	testkit.Attempt(w.t, w.db, id, o, w.now)
}

func (w *manualWorld) get(id int64) *outbox.Item {
	w.t.Helper()
	it, err := outbox.Get(context.Background(), w.db, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return it
}

func (w *manualWorld) lastEvent(id int64) outbox.Event {
	w.t.Helper()
	ev, err := outbox.Events(context.Background(), w.db, id)
	if err != nil || len(ev) == 0 {
		w.t.Fatalf("history of %d: %v %v", id, ev, err)
	}
	return ev[len(ev)-1]
}

func TestRetryAndCancel(t *testing.T) {
	ctx := context.Background()
	w := &manualWorld{t: t, db: testkit.DB(t), now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}

	waiting, waitingDoc := w.queue(peerB) // a network failure: next attempt in 15 minutes
	w.attempt(waiting, outbox.Outcome{Detail: "network: connection refused"})
	failed, failedDoc := w.queue(peerB) // an Error reply
	w.attempt(failed, outbox.Outcome{Final: true, Detail: "the recipient answered ERR_EXTERNAL: ..."})
	delivered, _ := w.queue(peerB)
	w.attempt(delivered, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)})
	notFound, _ := w.queue(peerB)
	w.attempt(notFound, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)})
	if _, err := outbox.ApplyStatus(ctx, w.db, peerB, &seos.StatusResponse{DocID: seos.DocumentID{GUID: w.get(notFound).DocumentGUID}, Status: seos.StatusNotFound}, w.now); err != nil {
		t.Fatal(err)
	}
	fresh, _ := w.queue(peerB) // not tried yet

	w.now = w.now.Add(time.Minute)
	t.Run("a queued document is made due now, its attempts still counting", func(t *testing.T) {
		d, err := outbox.Retry(ctx, w.db, waiting, "", w.now)
		if err != nil || d.Verdict != outbox.Repeated {
			t.Fatalf("%+v %v", d, err)
		}
		it := w.get(waiting)
		if !it.NextAttemptAt.Equal(w.now) || it.Attempts != 1 || it.State != outbox.Queued || it.DocumentGUID != waitingDoc {
			t.Errorf("after retry: %+v", it)
		}
		if e := w.lastEvent(waiting); e.Event != "manual_retry" || !strings.Contains(e.Detail, "made due now") {
			t.Errorf("history: %+v", e)
		}
	})
	t.Run("a failed document is queued again under its DocumentGUID with new attempts", func(t *testing.T) {
		d, err := outbox.Retry(ctx, w.db, failed, "the recipient fixed its register copy", w.now)
		if err != nil || d.Verdict != outbox.Applied || d.From != outbox.StateFailed || d.To != outbox.StateQueued {
			t.Fatalf("%+v %v", d, err)
		}
		it := w.get(failed)
		if it.State != outbox.Queued || it.DocStatus != outbox.StateQueued || it.Attempts != 0 || it.LastError != "" ||
			it.DocumentGUID != failedDoc || it.Request.Document == nil {
			t.Errorf("after retry: %+v", it)
		}
		ev, _ := outbox.Events(ctx, w.db, failed)
		var names []string
		for _, e := range ev {
			names = append(names, e.Event)
		}
		if strings.Join(names, ",") != "queued,failed,manual_retry" || !strings.Contains(ev[2].Detail, "ERR_EXTERNAL") ||
			!strings.Contains(ev[2].Detail, "the recipient fixed its register copy") {
			t.Errorf("history: %+v", ev)
		}
		items, err := outbox.Claim(ctx, w.db, w.now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var claimed bool
		for _, it := range items {
			claimed = claimed || it.ID == failed
			// Put them back, as an attempt that failed on the network would.
			outbox.Record(ctx, w.db, it, outbox.Outcome{Detail: "network", RetryAt: w.now.Add(time.Hour)}, w.now)
		}
		if !claimed {
			t.Error("the deliverer does not take the retried document")
		}
	})
	t.Run("a document the recipient lost is sent again", func(t *testing.T) {
		d, err := outbox.Retry(ctx, w.db, notFound, "", w.now)
		if err != nil || d.Verdict != outbox.Applied || !strings.Contains(d.Detail, "DS_NOT_FOUND") {
			t.Fatalf("%+v %v", d, err)
		}
		if it := w.get(notFound); it.State != outbox.Queued || it.DocStatus != outbox.StateQueued {
			t.Errorf("after retry: %+v", it)
		}
	})
	t.Run("delivered documents are neither retried nor cancelled", func(t *testing.T) {
		for _, act := range []func(context.Context, outbox.Full, int64, string, time.Time) (outbox.Done, error){outbox.Retry, outbox.Cancel} {
			_, err := act(ctx, w.db, delivered, "", w.now)
			var r *outbox.Refused
			if !errors.As(err, &r) || !strings.Contains(err.Error(), "delivered already") {
				t.Errorf("got %v", err)
			}
		}
		if it := w.get(delivered); it.State != outbox.Delivered || it.DocStatus != outbox.StateWaiting {
			t.Errorf("changed: %+v", it)
		}
	})
	t.Run("cancel, once; then no retry, no delivery", func(t *testing.T) {
		d, err := outbox.Cancel(ctx, w.db, fresh, "sent by mistake", w.now)
		if err != nil || d.Verdict != outbox.Applied {
			t.Fatalf("%+v %v", d, err)
		}
		if it := w.get(fresh); it.State != outbox.Cancelled || it.DocStatus != outbox.StateCancelled {
			t.Errorf("after cancel: %+v", it)
		}
		if d, err := outbox.Cancel(ctx, w.db, fresh, "", w.now); err != nil || d.Verdict != outbox.Repeated {
			t.Errorf("cancel again: %+v %v", d, err)
		}
		var r *outbox.Refused
		if _, err := outbox.Retry(ctx, w.db, fresh, "", w.now); !errors.As(err, &r) {
			t.Errorf("retry of a cancelled document: %v", err)
		}
		items, _ := outbox.Claim(ctx, w.db, w.now.Add(24*time.Hour), 10)
		for _, it := range items {
			if it.ID == fresh {
				t.Error("a cancelled document was claimed")
			}
		}
		// A recipient that had it after all (an earlier attempt arrived)
		// still moves it: the record follows the recipient.
		if tr, err := outbox.ApplyStatus(ctx, w.db, peerB, &seos.StatusResponse{DocID: seos.DocumentID{GUID: w.get(fresh).DocumentGUID}, Status: seos.StatusRegistered}, w.now); err != nil || tr.Verdict != outbox.Applied {
			t.Errorf("report about a cancelled document: %+v %v", tr, err)
		}
		if it := w.get(fresh); it.State != outbox.Delivered || it.DocStatus != outbox.StateRegistered {
			t.Errorf("after the report: %+v", it)
		}
	})
	t.Run("an attempt in flight is not raced", func(t *testing.T) {
		id, _ := w.queue(peerC)
		if _, err := w.db.Exec(`UPDATE outbox SET state = 'sending' WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		for _, act := range []func(context.Context, outbox.Full, int64, string, time.Time) (outbox.Done, error){outbox.Retry, outbox.Cancel} {
			if _, err := act(ctx, w.db, id, "", w.now); !errors.Is(err, outbox.ErrInFlight) {
				t.Errorf("got %v", err)
			}
		}
	})
	t.Run("a document whose content was pruned cannot be sent again", func(t *testing.T) {
		id, _ := w.queue(peerC)
		w.attempt(id, outbox.Outcome{Final: true, Detail: "ERR_EXTERNAL"})
		if n, err := outbox.PruneRequests(ctx, w.db, w.now.Add(time.Hour)); err != nil || n == 0 {
			t.Fatalf("prune: %d %v", n, err)
		}
		var r *outbox.Refused
		if _, err := outbox.Retry(ctx, w.db, id, "", w.now); !errors.As(err, &r) || !strings.Contains(err.Error(), "no longer kept") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not a document", func(t *testing.T) {
		id, _, _ := outbox.Enqueue(ctx, w.db, outbox.Entry{Kind: outbox.KindStatusRequest, Recipient: peerB, Document: seos.NewGUID(),
			Request: &outbox.Request{DocID: &seos.DocumentID{GUID: seos.NewGUID()}}}, w.now)
		if _, err := outbox.Cancel(ctx, w.db, id, "", w.now); !errors.Is(err, outbox.ErrNotDocument) {
			t.Errorf("got %v", err)
		}
		if _, err := outbox.Retry(ctx, w.db, 999999, "", w.now); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
	})
}

// RetryPeer makes every later attempt to one participant due now, of any
// kind, and leaves other participants' and failed items alone.
func TestRetryPeer(t *testing.T) {
	ctx := context.Background()
	w := &manualWorld{t: t, db: testkit.DB(t), now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	doc1, _ := w.queue(peerB)
	w.attempt(doc1, outbox.Outcome{Detail: "network", RetryAt: w.now.Add(64 * time.Hour)})
	note, _, err := outbox.Enqueue(ctx, w.db, outbox.Entry{Kind: outbox.KindStatus, Recipient: strings.ToUpper(peerB), Document: seos.NewGUID(),
		Request: &outbox.Request{Status: &seos.StatusResponse{DocID: seos.DocumentID{GUID: seos.NewGUID()}, Status: seos.StatusRegistered}}}, w.now)
	if err != nil {
		t.Fatal(err)
	}
	w.attempt(note, outbox.Outcome{Detail: "network", RetryAt: w.now.Add(2 * time.Hour)})
	failed, _ := w.queue(peerB)
	w.attempt(failed, outbox.Outcome{Final: true, Detail: "attempts exhausted"})
	otherPeer, _ := w.queue(peerC)
	w.attempt(otherPeer, outbox.Outcome{Detail: "network", RetryAt: w.now.Add(time.Hour)})

	w.now = w.now.Add(time.Minute)
	done, err := outbox.RetryPeer(ctx, w.db, peerB, "", w.now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, d := range done {
		got[d.ID] = true
		if d.Verdict != outbox.Repeated || d.Action != outbox.ActionRetryPeer {
			t.Errorf("%+v", d)
		}
	}
	if len(done) != 2 || !got[doc1] || !got[note] {
		t.Fatalf("made due: %+v", done)
	}
	for id, due := range map[int64]bool{doc1: true, note: true, failed: false, otherPeer: false} {
		it := w.get(id)
		if isDue := it.State == outbox.Queued && !it.NextAttemptAt.After(w.now); isDue != due {
			t.Errorf("item %d (%s, %s, next %s): due %v, want %v", id, it.Kind, it.State, it.NextAttemptAt, isDue, due)
		}
	}
	if e := w.lastEvent(note); e.Event != "manual_retry" {
		t.Errorf("history of the notification: %+v", e)
	}
	if again, err := outbox.RetryPeer(ctx, w.db, peerB, "", w.now); err != nil || len(again) != 0 {
		t.Errorf("nothing waits any more, yet: %+v %v", again, err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	w := &manualWorld{t: t, db: testkit.DB(t), now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	a, _ := w.queue(peerB)
	b, _ := w.queue(peerB)
	w.attempt(b, outbox.Outcome{Final: true, Detail: "ERR_EXTERNAL"})
	c, _ := w.queue(peerC)
	w.attempt(c, outbox.Outcome{Final: true, Detail: "ERR_EXTERNAL"})
	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    outbox.Filter
		want []int64
	}{
		{"all, newest first", outbox.Filter{}, []int64{c, b, a}},
		{"failed", outbox.Filter{Delivery: []outbox.Delivery{outbox.Failed}}, []int64{c, b}},
		{"failed to B", outbox.Filter{Delivery: []outbox.Delivery{outbox.Failed}, Peer: strings.ToUpper(peerB)}, []int64{b}},
		{"not tried", outbox.Filter{Attempted: &no}, []int64{a}},
		{"tried", outbox.Filter{Attempted: &yes}, []int64{c, b}},
		{"by document state", outbox.Filter{DocStatus: []outbox.State{outbox.StateQueued}}, []int64{a}},
		{"limit", outbox.Filter{Limit: 1}, []int64{c}},
		{"another kind", outbox.Filter{Kind: outbox.KindStatus}, nil},
	} {
		items, err := outbox.List(ctx, w.db, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || (len(ids) > 1 && ids[len(ids)-1] != tc.want[len(tc.want)-1]) {
			t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
		}
	}
}
