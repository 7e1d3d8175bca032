package outbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

func TestQueueLifecycleAndRetention(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := &seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо"}
	id, created, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc.ID.GUID, Request: &outbox.Request{Document: doc}, Key: "k1"}, t0)
	if err != nil || !created {
		t.Fatal(err)
	}
	if again, created, _ := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc.ID.GUID, Request: &outbox.Request{Document: doc}, Key: "k1"}, t0); created || again != id {
		t.Errorf("idempotency key: %d %v", again, created)
	}
	// Due times compare as text: sub-second times must still order right.
	if items, _ := outbox.Claim(ctx, db, t0.Add(-500*time.Millisecond), 5); len(items) != 0 {
		t.Error("claimed before it was due")
	}
	items, err := outbox.Claim(ctx, db, t0.Add(500*time.Millisecond), 5)
	if err != nil || len(items) != 1 || items[0].Attempts != 1 || items[0].State != outbox.Sending {
		t.Fatalf("claim: %+v %v", items, err)
	}
	if err := outbox.Record(ctx, db, items[0], outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration), MessageGUID: "{M}"}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := outbox.PruneRequests(ctx, db, t0); err != nil || n != 0 {
		t.Errorf("pruned a request before the retention period: %d %v", n, err)
	}
	if n, err := outbox.PruneRequests(ctx, db, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
	it, err := outbox.Get(ctx, db, id)
	if err != nil || it.Request.Document != nil || it.DocStatus != outbox.StateWaiting || it.LastMessageGUID != "{m}" {
		t.Errorf("after pruning: %+v %v", it, err)
	}
	ev, _ := outbox.Events(ctx, db, id)
	if len(ev) != 2 || ev[0].Event != "queued" || ev[1].Event != "delivered" {
		t.Errorf("history: %+v", ev)
	}
}

// TestByKey: the one idempotency lookup, and what the request hash does.
func TestByKey(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := seos.NewGUID()
	id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc,
		Request: &outbox.Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}, Key: "k1", Hash: "h1"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	legacy, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc, Request: &outbox.Request{},
		Key: "old"}, t0) // queued before requests were hashed
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, hash string
		found           bool
		id              int64
		conflict        bool
	}{
		{"no such key", "k2", "h1", false, 0, false},
		{"same request", "k1", "h1", true, id, false},
		{"another request under the key", "k1", "h2", false, 0, true},
		{"the caller cannot say", "k1", "", true, id, false},
		{"an item without a hash", "old", "h9", true, legacy, false},
	}
	for _, c := range cases {
		k, found, err := outbox.ByKey(ctx, db, c.key, c.hash)
		var kc *outbox.KeyConflict
		if found != c.found || k.ID != c.id || errors.As(err, &kc) != c.conflict || (err != nil) != c.conflict {
			t.Errorf("%s: %+v %v %v", c.name, k, found, err)
		}
		if c.conflict && (kc.ID != id || kc.DocumentGUID != doc) {
			t.Errorf("%s: the conflict names %+v", c.name, kc.Keyed)
		}
	}
	// Enqueue under a taken key: the first item, or the conflict.
	if again, created, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: doc,
		Request: &outbox.Request{}, Key: "k1", Hash: "h1"}, t0); err != nil || created || again != id {
		t.Errorf("repeat: %d %v %v", again, created, err)
	}
	var kc *outbox.KeyConflict
	if _, created, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "{B}", Document: seos.NewGUID(),
		Request: &outbox.Request{}, Key: "k1", Hash: "h2"}, t0); created || !errors.As(err, &kc) {
		t.Errorf("a different request under a taken key: %v %v", created, err)
	}
}

func TestFindRegistration(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc, other := "{ABCDEF01-0000-4000-8000-000000000001}", seos.NewGUID()
	enqueue := func(kind outbox.Kind, to, guid string) int64 {
		id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: kind, Recipient: to, Document: guid, Request: &outbox.Request{}}, t0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	enqueue(outbox.KindStatusRequest, "{B}", doc) // not a registration
	first := enqueue(outbox.KindRegistration, "{B}", doc)
	enqueue(outbox.KindRegistration, "{B}", doc)
	toC := enqueue(outbox.KindRegistration, "{C}", doc)
	enqueue(outbox.KindRegistration, "{B}", other)
	for _, c := range []struct {
		to, doc string
		want    int64
	}{
		{"{B}", doc, first},
		{"{b}", strings.ToLower(doc), first}, // GUIDs compare case-insensitively
		{"{C}", doc, toC},
		{"{D}", doc, 0},
		{"{B}", seos.NewGUID(), 0},
	} {
		k, found, err := outbox.FindRegistration(ctx, db, c.to, c.doc)
		if err != nil || found != (c.want != 0) || k.ID != c.want || (found && k.DocumentGUID != doc) {
			t.Errorf("%s %s: %+v %v %v, want %d", c.to, c.doc, k, found, err, c.want)
		}
	}
}

// TestRecord: what an attempt's outcome does to an item, by kind and by
// what the recipient had said before.
func TestRecord(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	retryAt := t0.Add(15 * time.Minute)
	cases := []struct {
		name      string
		kind      outbox.Kind
		before    outbox.State // the document's state when the outcome is recorded
		outcome   outbox.Outcome
		state     outbox.Delivery
		doc       outbox.State
		event     string
		lastError string
		message   string // last_message_guid after
	}{
		{"acknowledged, waiting", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration), MessageGUID: "{M1}", Detail: "ok"},
			outbox.Delivered, outbox.StateWaiting, "delivered", "", "{m1}"},
		{"acknowledged, already received", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusAlreadyReceived), MessageGUID: "{M1}"},
			outbox.Delivered, outbox.StateAlreadyReceived, "delivered", "", "{m1}"},
		{"acknowledged after the recipient registered it", outbox.KindRegistration, outbox.StateRegistered,
			outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration), MessageGUID: "{M1}"},
			outbox.Delivered, outbox.StateRegistered, "delivered", "", "{m1}"},
		{"acknowledgement with a later status: the caller applies it", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusRegistered), MessageGUID: "{M1}"},
			outbox.Delivered, outbox.StateQueued, "delivered", "", "{m1}"},
		{"given up", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{Final: true, MessageGUID: "{M2}", Detail: "ERR_EXTERNAL: refused"},
			outbox.Failed, outbox.StateFailed, "failed", "ERR_EXTERNAL: refused", "{m2}"},
		{"given up after the recipient registered it", outbox.KindRegistration, outbox.StateRegistered,
			outbox.Outcome{Final: true, Detail: "attempts exhausted"},
			outbox.Failed, outbox.StateRegistered, "failed", "attempts exhausted", "{m0}"},
		{"retry", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{RetryAt: retryAt, MessageGUID: "{M3}", Detail: "network: timeout"},
			outbox.Queued, outbox.StateQueued, "retry", "network: timeout", "{m3}"},
		{"retry before a message was built", outbox.KindRegistration, outbox.StateQueued,
			outbox.Outcome{RetryAt: retryAt, Detail: "register lookup failed"},
			outbox.Queued, outbox.StateQueued, "retry", "register lookup failed", "{m0}"},
		{"status notification delivered", outbox.KindStatus, outbox.StateNone,
			outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration), MessageGUID: "{M1}"},
			outbox.Delivered, outbox.StateNone, "delivered", "", "{m1}"},
		{"status notification given up", outbox.KindStatus, outbox.StateNone,
			outbox.Outcome{Final: true, Detail: "ERR_INTERNAL: down"},
			outbox.Failed, outbox.StateNone, "failed", "ERR_INTERNAL: down", "{m0}"},
	}
	ctx, db := context.Background(), testkit.DB(t) // one item per case
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := seos.NewGUID()
			id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: c.kind, Recipient: "{B}", Document: doc, Request: &outbox.Request{}}, t0)
			if err != nil {
				t.Fatal(err)
			}
			items, err := outbox.Claim(ctx, db, t0, 1)
			if err != nil || len(items) != 1 {
				t.Fatalf("claim: %v %v", items, err)
			}
			// What an earlier attempt and the recipient left on the row.
			if _, err := db.Exec(`UPDATE outbox SET doc_status = ?, last_message_guid = '{m0}' WHERE id = ?`, c.before, id); err != nil {
				t.Fatal(err)
			}
			if err := outbox.Record(ctx, db, items[0], c.outcome, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			it, err := outbox.Get(ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			ev, _ := outbox.Events(ctx, db, id)
			last := ev[len(ev)-1]
			if it.State != c.state || it.DocStatus != c.doc || last.Event != c.event || it.LastError != c.lastError || it.LastMessageGUID != c.message {
				t.Errorf("state %s, doc %q, event %s, error %q, message %s; want %s, %q, %s, %q, %s",
					it.State, it.DocStatus, last.Event, it.LastError, it.LastMessageGUID, c.state, c.doc, c.event, c.lastError, c.message)
			}
			if c.state == outbox.Queued && (!it.NextAttemptAt.Equal(retryAt) || !strings.Contains(last.Detail, "attempt 1: "+c.outcome.Detail)) {
				t.Errorf("retry: next %v, history %q", it.NextAttemptAt, last.Detail)
			}
		})
	}
}

// TestRegistrationByMail: a document sent by e-mail is handed to the mail
// queue at once: never claimed for SEOS delivery, never asked about, found
// again by its address and DocumentGUID.
func TestRegistrationByMail(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := seos.NewGUID()
	id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: "Ivan@Example.BG", Document: doc,
		Request: &outbox.Request{Document: &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо"}}, MailID: 7}, t0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := outbox.Get(ctx, db, id)
	if err != nil || it.MailID != 7 || it.State != outbox.Delivered || it.DocStatus != outbox.StateNone {
		t.Fatalf("%+v %v", it, err)
	}
	if items, err := outbox.Claim(ctx, db, t0.Add(time.Hour), 5); err != nil || len(items) != 0 {
		t.Errorf("claimed for SEOS: %+v %v", items, err)
	}
	if items, err := outbox.AwaitingStatus(ctx, db, t0.Add(30*24*time.Hour), t0.Add(30*24*time.Hour)); err != nil || len(items) != 0 {
		t.Errorf("asked about over SEOS: %+v %v", items, err)
	}
	if k, ok, err := outbox.FindRegistration(ctx, db, "ivan@example.bg", doc); err != nil || !ok || k.ID != id {
		t.Errorf("by address and document: %+v %v %v", k, ok, err)
	}
	if _, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindStatus, Recipient: "ivan@example.bg", Document: doc,
		Request: &outbox.Request{}, MailID: 8}, t0); err == nil {
		t.Error("a status notification queued by e-mail")
	}
}
