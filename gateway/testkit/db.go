package testkit

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

// DB is a new gateway database in the test's folder, closed after it.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	return OpenDB(t, filepath.Join(t.TempDir(), "gw.db"))
}

// OpenDB opens (creating) the gateway database at path until the test ends.
func OpenDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := store.OpenGateway(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Seed replaces the register copy in db with ents (a full sync) and
// returns the cache, at clk (the system clock when nil).
func Seed(t testing.TB, db *sql.DB, clk clock.Clock, ents ...register.Entity) *register.Cache {
	t.Helper()
	if clk == nil {
		clk = clock.System
	}
	cache := register.NewCache(db, clk)
	if err := cache.Apply(context.Background(), true, ents, "2026-11-23T10:00:00+02:00"); err != nil {
		t.Fatal(err)
	}
	return cache
}

// SeedFile fills the register copy of the node database at path, as a
// sync would, for a node that cannot reach a register in the test.
func SeedFile(t testing.TB, path string, ents ...register.Entity) {
	t.Helper()
	db, err := store.OpenGateway(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	Seed(t, db, nil, ents...)
}

// Receive stores a registration request as the inbound pipeline does (the
// message log entry, then the inbox) and returns its inbox id.
func Receive(t testing.TB, db *sql.DB, from seos.Entity, doc seos.Document, at time.Time) int64 {
	t.Helper()
	return ReceiveIn(t, db, from, doc, at, inbox.Received)
}

// ReceiveIn is Receive in a given arrival state: inbox.Checking, as the
// pipeline stores documents an acceptance policy judges first.
func ReceiveIn(t testing.TB, db *sql.DB, from seos.Entity, doc seos.Document, at time.Time, state inbox.State) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := store.InTx(ctx, db, func(tx *sql.Tx) error {
		msgGUID := seos.NewGUID()
		logID, err := msglog.Insert(ctx, tx, &msglog.Entry{Direction: msglog.In, At: at, PeerGUID: from.GUID,
			MessageType: string(seos.TypeRegistrationRequest), MessageGUID: msgGUID, DocumentGUID: doc.ID.GUID, Outcome: "accepted", Raw: []byte("<x/>")})
		if err != nil {
			return err
		}
		id, err = inbox.Add(ctx, tx, from, msgGUID, &seos.RegistrationRequest{Document: doc, Comment: "за регистрация"}, logID, at, state)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// OutboxItems are the outbox items of a kind, oldest first.
func OutboxItems(t testing.TB, db *sql.DB, kind outbox.Kind) []*outbox.Item {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM outbox WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	var out []*outbox.Item
	for _, id := range ids {
		it, err := outbox.Get(context.Background(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
	return out
}

// Count is the one number a query returns.
func Count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// CountDocument is how many times a node's inbox holds a DocumentGUID.
func CountDocument(t testing.TB, db *sql.DB, guid string) int {
	t.Helper()
	return Count(t, db, `SELECT count(*) FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(guid))
}

// Attempt makes one delivery attempt of outbox item id at now, as the
// deliverer does (claim, then record), with outcome o: the item is claimed
// ahead of any other due item. A retry without RetryAt is due 15 minutes
// later.
func Attempt(t testing.TB, db *sql.DB, id int64, o outbox.Outcome, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Exec(`UPDATE outbox SET next_attempt_at = ? WHERE id = ?`, store.FormatTime(now.AddDate(-10, 0, 0)), id); err != nil {
		t.Fatal(err)
	}
	items, err := outbox.Claim(ctx, db, now, 1)
	if err != nil || len(items) != 1 || items[0].ID != id {
		t.Fatalf("claim %d: %+v %v", id, items, err)
	}
	if o.RetryAt.IsZero() && !o.Delivered && !o.Final {
		o.RetryAt = now.Add(15 * time.Minute)
	}
	if err := outbox.Record(ctx, db, items[0], o, now); err != nil {
		t.Fatal(err)
	}
}
