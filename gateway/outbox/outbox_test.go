package outbox

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

func TestQueueLifecycleAndRetention(t *testing.T) {
	ctx, db := context.Background(), openDB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := &seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо"}
	id, created, err := Enqueue(ctx, db, KindRegistration, "{B}", doc.ID.GUID, 0, &Request{Document: doc}, "k1", t0)
	if err != nil || !created {
		t.Fatal(err)
	}
	if again, created, _ := Enqueue(ctx, db, KindRegistration, "{B}", doc.ID.GUID, 0, &Request{Document: doc}, "k1", t0); created || again != id {
		t.Errorf("idempotency key: %d %v", again, created)
	}
	// Due times compare as text: sub-second times must still order right.
	if items, _ := Claim(ctx, db, t0.Add(-500*time.Millisecond), 5); len(items) != 0 {
		t.Error("claimed before it was due")
	}
	items, err := Claim(ctx, db, t0.Add(500*time.Millisecond), 5)
	if err != nil || len(items) != 1 || items[0].Attempts != 1 || items[0].State != Sending {
		t.Fatalf("claim: %+v %v", items, err)
	}
	if err := Record(ctx, db, items[0], Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration), MessageGUID: "{M}"}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := PruneRequests(ctx, db, t0); err != nil || n != 0 {
		t.Errorf("pruned a request before the retention period: %d %v", n, err)
	}
	if n, err := PruneRequests(ctx, db, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
	it, err := Get(ctx, db, id)
	if err != nil || it.Request.Document != nil || it.DocStatus != StateWaiting || it.LastMessageGUID != "{m}" {
		t.Errorf("after pruning: %+v %v", it, err)
	}
	ev, _ := Events(ctx, db, id)
	if len(ev) != 2 || ev[0].Event != "queued" || ev[1].Event != "delivered" {
		t.Errorf("history: %+v", ev)
	}
}

// openDB is a gateway database in the test's folder, closed after it.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := store.OpenGateway(context.Background(), filepath.Join(t.TempDir(), "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
