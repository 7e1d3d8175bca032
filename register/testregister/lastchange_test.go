package testregister

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// TestLastChangeKeepsMilliseconds: a change at 10:00:00.123 (in a register
// opened that very millisecond, so it takes .124) is listed with its
// milliseconds, and GetNewRecords with that LastChange verbatim finds a
// change 4 ms later, not the first one again.
func TestLastChangeKeepsMilliseconds(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 4, 9, 7, 0, 0, 123e6, time.UTC))
	r := open(t, clk, nil)
	if _, err := r.Add(ctx, participant(gC, "333", register.Active), nil); err != nil {
		t.Fatal(err)
	}
	all, err := r.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer := string(daeu.EncodeResponse(daeu.GetAllRecords, all, nil))
	if !strings.Contains(answer, "<LastChange xsi:type=\"xsd:dateTime\">2026-04-09T10:00:00.124+03:00</LastChange><Status") {
		t.Fatalf("the entity's LastChange lost its milliseconds:\n%s", answer)
	}
	l, err := daeu.DecodeResponse(daeu.GetAllRecords, []byte(answer), "", nil)
	if err != nil || l.Cursor != "2026-04-09T10:00:00.124+03:00" {
		t.Fatalf("cursor %q, %v", l.Cursor, err)
	}
	clk.Advance(5 * time.Millisecond)
	if _, err := r.SetStatus(ctx, gC, register.TemporarilyInactive); err != nil {
		t.Fatal(err)
	}
	since, err := daeu.ParseDateTime(l.Cursor, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := r.Since(ctx, since)
	if err != nil || len(next.Entities) != 1 || next.Entities[0].Status != register.TemporarilyInactive ||
		!next.LastChange.Equal(time.Date(2026, 4, 9, 7, 0, 0, 128e6, time.UTC)) {
		t.Errorf("GetNewRecords(%s) = %+v, %v", l.Cursor, next, err)
	}
	if none, _ := r.Since(ctx, next.LastChange); len(none.Entities) != 0 {
		t.Errorf("GetNewRecords(latest) lists %d entities", len(none.Entities))
	}
}

// TestMigrationToMilliseconds: a register database from before 0002 (Unix
// seconds) keeps its times.
func TestMigrationToMilliseconds(t *testing.T) {
	ctx := context.Background()
	only1 := fstest.MapFS{}
	for _, name := range []string{"migrations/0001_register.up.sql", "migrations/0001_register.down.sql"} {
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		only1[name] = &fstest.MapFile{Data: b}
	}
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := store.Open(ctx, path, only1, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := db.ExecContext(ctx, `INSERT INTO register_meta (id, last_change) VALUES (1, ?)`, when.Unix()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO entities (guid_key, guid, eik, name, status, last_change) VALUES (?, ?, '333', 'Old', 'Active', ?)`,
		strings.ToLower(gC), gC, when.Unix()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r, err := Open(ctx, path, Options{Clock: clock.NewManual(when.Add(time.Hour)), Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e, err := r.Get(ctx, gC)
	if err != nil || !e.LastChange.Equal(when) {
		t.Fatalf("after the migration: %+v, %v; want LastChange %v", e, err, when)
	}
	if l, err := r.All(ctx); err != nil || !l.LastChange.Equal(when) {
		t.Errorf("register LastChange %+v, %v; want %v", l, err, when)
	}
}
