package register_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

const (
	guidA = "{aaaaaaaa-0000-4000-8000-000000000001}"
	guidB = "{bbbbbbbb-0000-4000-8000-000000000002}"
	guidC = "{cccccccc-0000-4000-8000-000000000003}"
)

var t0 = time.Date(2026, 4, 8, 9, 0, 0, 0, time.UTC)

func openCache(t *testing.T, clk clock.Clock) (*register.Cache, *sql.DB) {
	t.Helper()
	db := testkit.DB(t)
	return register.NewCache(db, clk), db
}

func ent(guid, eik string, st register.Status, serial string) register.Entity {
	return register.Entity{
		Identifier: eik, GUID: guid, AdministrativeBodyName: "Body " + eik,
		Contact: register.Contact{Phone: "+359 2 1", EmailAddress: eik + "@example.bg"}, CertificateSN: serial,
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен", URI: "https://" + eik + ".obmen.local:4443/seos",
			Status: register.Active, Type: "SEOS", Version: "1"}},
		LastChange: t0.Add(-time.Hour), Status: st,
	}
}

// snapshot is everything the cache holds, for "unchanged" checks.
func snapshot(t *testing.T, c *register.Cache) ([]*register.Entity, register.SyncState) {
	t.Helper()
	es, err := c.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.LastError, st.LastErrorAt, st.ConsecutiveFailures = "", time.Time{}, 0 // failures are recorded, not data
	return es, st
}

func sameSnapshot(t *testing.T, c *register.Cache, es []*register.Entity, st register.SyncState) {
	t.Helper()
	es2, st2 := snapshot(t, c)
	if !reflect.DeepEqual(es, es2) {
		t.Errorf("cache entities changed:\nbefore %+v\nafter  %+v", es, es2)
	}
	if !reflect.DeepEqual(st, st2) {
		t.Errorf("sync state changed:\nbefore %+v\nafter  %+v", st, st2)
	}
}

func guids(es []*register.Entity) string {
	var s []string
	for _, e := range es {
		s = append(s, e.GUID)
	}
	return strings.Join(s, ",")
}

func TestCacheLookups(t *testing.T) {
	ctx := context.Background()
	c, _ := openCache(t, clock.NewManual(t0))
	a := ent(guidA, "000695089", register.Active, "00:9f:2d")
	b := ent(guidB, "121212", register.Inactive, "7B00E1")
	cc := ent(guidC, "121212", register.TemporarilyInactive, "")
	cc.ParentGUID = guidB
	if err := c.Apply(ctx, true, []register.Entity{a, b, cc}, "2026-04-08T11:00:00+03:00"); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{guidA, strings.ToUpper(guidA), strings.Trim(guidA, "{}"), " " + guidA + " "} {
		e, err := c.ByGUID(ctx, g)
		if err != nil || e == nil || e.GUID != guidA {
			t.Errorf("ByGUID(%q) = %+v, %v", g, e, err)
		}
	}
	if e, err := c.ByGUID(ctx, "{dddddddd-0000-4000-8000-000000000004}"); e != nil || err != nil {
		t.Errorf("unknown GUID: %+v, %v; want nil, nil", e, err)
	}
	got, _ := c.ByGUID(ctx, guidA)
	want := a // CertificateSN as the register wrote it ("00:9f:2d"), for asking it back
	if !got.LastChange.Equal(want.LastChange) {
		t.Errorf("LastChange %v", got.LastChange)
	}
	got.LastChange, want.LastChange = time.Time{}, time.Time{}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("stored entity\n got %+v\nwant %+v", *got, want)
	}
	if es, _ := c.ByEIK(ctx, "121212"); guids(es) != guidB+","+guidC {
		t.Errorf("ByEIK: %s", guids(es))
	}
	for _, serial := range []string{"9F2D", "009f2d", "9f:2d", "00 9F 2D"} {
		if es, _ := c.BySerial(ctx, serial); guids(es) != guidA {
			t.Errorf("BySerial(%q): %s", serial, guids(es))
		}
	}
	if es, _ := c.BySerial(ctx, ""); len(es) != 0 {
		t.Errorf("empty serial matched %s", guids(es))
	}
	for st, want := range map[register.Status]string{"": guidA + "," + guidB + "," + guidC, register.Active: guidA,
		register.Inactive: guidB, register.TemporarilyInactive: guidC, register.ListRemoved: ""} {
		if es, _ := c.List(ctx, st); guids(es) != want {
			t.Errorf("List(%q) = %s, want %s", st, guids(es), want)
		}
	}
}

func TestCacheFullListingMarksRemoved(t *testing.T) {
	ctx := context.Background()
	c, _ := openCache(t, clock.NewManual(t0))
	a, b := ent(guidA, "1", register.Active, "01"), ent(guidB, "2", register.Active, "02")
	if err := c.Apply(ctx, true, []register.Entity{a, b}, "c1"); err != nil {
		t.Fatal(err)
	}
	ch, err := c.ApplyChanges(ctx, true, []register.Entity{a}, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Changes) != 1 || ch.Changes[0].Kind != register.Removed || ch.Changes[0].GUID != guidB || ch.Unchanged != 1 {
		t.Errorf("changes %+v", ch)
	}
	e, _ := c.ByGUID(ctx, guidB)
	if e == nil || !e.Removed {
		t.Fatalf("removed entity: %+v (kept and marked, not deleted)", e)
	}
	if d := (register.Policy{SelfGUID: guidA}).MayExchange(&a, e); d.Reason != register.ReasonRemoved {
		t.Errorf("policy on a removed peer: %+v", d)
	}
	if es, _ := c.List(ctx, register.Active); guids(es) != guidA {
		t.Errorf("List(Active) lists a removed entity: %s", guids(es))
	}
	if es, _ := c.List(ctx, register.ListRemoved); guids(es) != guidB {
		t.Errorf("List(removed) = %s", guids(es))
	}
	if n, _ := c.Counts(ctx); n[register.Active] != 1 || n[register.ListRemoved] != 1 {
		t.Errorf("counts %v", n)
	}
	// Listed again: restored.
	ch, err = c.ApplyChanges(ctx, false, []register.Entity{b}, "c3")
	if err != nil || len(ch.Changes) != 1 || ch.Changes[0].Kind != register.Restored {
		t.Fatalf("restore: %+v %v", ch, err)
	}
	if e, _ := c.ByGUID(ctx, guidB); e.Removed {
		t.Error("still removed")
	}
}

func TestCacheIncremental(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	c, _ := openCache(t, clk)
	a, b := ent(guidA, "1", register.Active, "01"), ent(guidB, "2", register.Inactive, "02")
	if err := c.Apply(ctx, true, []register.Entity{a, b}, "c1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	b.Status = register.Active
	ch, err := c.ApplyChanges(ctx, false, []register.Entity{b, ent(guidC, "3", register.Active, "")}, "c2")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[register.ChangeKind]int{}
	for _, x := range ch.Changes {
		kinds[x.Kind]++
		if x.Kind == register.Updated && (x.Before != register.Inactive || x.After != register.Active) {
			t.Errorf("update %+v", x)
		}
	}
	if kinds[register.Updated] != 1 || kinds[register.Added] != 1 || ch.Full || ch.Cursor != "c2" {
		t.Errorf("changes %+v", ch)
	}
	if e, _ := c.ByGUID(ctx, guidA); e == nil || e.Removed {
		t.Error("an incremental listing must not remove what it does not mention")
	}
	st, _ := c.State(ctx)
	if !st.LastFull.Equal(t0) || !st.LastIncremental.Equal(t0.Add(time.Minute)) || !st.LastSuccess.Equal(t0.Add(time.Minute)) {
		t.Errorf("state %+v", st)
	}
	// No cursor in an answer keeps the one in force; an unchanged entity is reported as such.
	ch, err = c.ApplyChanges(ctx, false, []register.Entity{b}, "")
	if err != nil || ch.Cursor != "c2" || len(ch.Changes) != 0 || ch.Unchanged != 1 {
		t.Errorf("%+v %v", ch, err)
	}
}

// TestCacheApplyIsAtomic makes the database refuse one row in the middle of
// a listing: nothing of it may be applied, not even the removals or cursor.
func TestCacheApplyIsAtomic(t *testing.T) {
	ctx := context.Background()
	c, db := openCache(t, clock.NewManual(t0))
	a, b := ent(guidA, "1", register.Active, "01"), ent(guidB, "2", register.Active, "02")
	if err := c.Apply(ctx, true, []register.Entity{a, b}, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON register_entities WHEN NEW.eik = 'boom'
		BEGIN SELECT RAISE(ABORT, 'disk says no'); END`); err != nil {
		t.Fatal(err)
	}
	es, st := snapshot(t, c)
	a2 := a
	a2.Status = register.TemporarilyInactive
	for name, listing := range map[string][]register.Entity{
		"store fails mid-way": {a2, ent(guidC, "boom", register.Active, "")},
		"entity without GUID": {a2, ent("", "3", register.Active, "")},
		"GUID twice":          {a2, ent(strings.ToUpper(guidA), "1", register.Active, "")},
	} {
		if err := c.Apply(ctx, true, listing, "c2"); err == nil {
			t.Errorf("%s: applied", name)
		}
		sameSnapshot(t, c, es, st)
	}
}

func TestCacheFreshnessAndFailures(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	c, _ := openCache(t, clk)
	if err := c.Fresh(ctx, 24*time.Hour); err == nil || !strings.Contains(err.Error(), "never synced") {
		t.Errorf("fresh before any sync: %v", err)
	}
	if _, ok, _ := c.Age(ctx); ok {
		t.Error("age before any sync")
	}
	if err := c.Apply(ctx, true, []register.Entity{ent(guidA, "1", register.Active, "")}, "c1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(23 * time.Hour)
	if err := c.Fresh(ctx, 24*time.Hour); err != nil {
		t.Errorf("23h old copy: %v", err)
	}
	for i := 1; i <= 2; i++ {
		if err := c.RecordFailure(ctx, errString("connection refused")); err != nil {
			t.Fatal(err)
		}
		st, _ := c.State(ctx)
		if st.ConsecutiveFailures != i || st.LastError != "connection refused" || !st.LastErrorAt.Equal(clk.Now()) {
			t.Errorf("after failure %d: %+v", i, st)
		}
	}
	clk.Advance(2 * time.Hour)
	if age, ok, _ := c.Age(ctx); !ok || age != 25*time.Hour {
		t.Errorf("age %s", age)
	}
	err := c.Fresh(ctx, 24*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("25h old copy: %v", err)
	}
	if e, _ := c.ByGUID(ctx, guidA); e == nil {
		t.Error("a stale copy must still answer")
	}
	if err := c.Apply(ctx, false, nil, "c2"); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.State(ctx); st.ConsecutiveFailures != 0 || st.LastError != "connection refused" || st.Cursor != "c2" {
		t.Errorf("after recovery: %+v (the last error stays for the record)", st)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestCacheFromOlderCopies: a gateway database from before migration 0013
// and the text Version (serials stored normalised, versions as JSON
// numbers) reads as before, and the first sync with the same register data
// reports no change beyond the register's own serial text.
func TestCacheFromOlderCopies(t *testing.T) {
	ctx := context.Background()
	old := fstest.MapFS{}
	dir := filepath.Join("..", "gateway", "store", "migrations")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() < "0013" {
			b, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			old["migrations/"+f.Name()] = &fstest.MapFile{Data: b}
		}
	}
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := store.Open(ctx, path, old, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO register_entities (guid_key, guid, eik, name, phone, email, certificate_sn, status, last_change, services_json, synced_at)
		VALUES (?, ?, '1', 'Body 1', '+359 2 1', '1@example.bg', '9F2D', 'Active', ?, ?, ?)`, guidA, guidA, t0.Add(-time.Hour).Format(time.RFC3339Nano),
		`[{"guid":"`+register.ExchangeServiceGUID+`","name":"Обмен","uri":"https://1.obmen.local:4443/seos","status":"Active","type":"SEOS","version":1}]`,
		t0.Format(time.RFC3339Nano))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = store.OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := register.NewCache(db, clock.NewManual(t0))
	e, err := c.ByGUID(ctx, guidA)
	if err != nil || e == nil || e.CertificateSN != "9F2D" || e.Services[0].Version != "1" {
		t.Fatalf("migrated entity %+v, %v", e, err)
	}
	same := ent(guidA, "1", register.Active, "9F2D")
	if ch, err := c.ApplyChanges(ctx, false, []register.Entity{same}, ""); err != nil || ch.Unchanged != 1 || len(ch.Changes) != 0 {
		t.Errorf("same data after the upgrade: %+v, %v; want unchanged", ch, err)
	}
	same.CertificateSN = "009f2d" // the register's own text arrives
	if ch, err := c.ApplyChanges(ctx, false, []register.Entity{same}, ""); err != nil || len(ch.Changes) != 1 {
		t.Errorf("the register's serial text: %+v, %v", ch, err)
	}
	if es, _ := c.BySerial(ctx, "9f:2d"); len(es) != 1 || es[0].CertificateSN != "009f2d" {
		t.Errorf("BySerial after: %+v", es)
	}
}

func TestVersionJSON(t *testing.T) {
	for in, want := range map[string]register.Version{`"1.0"`: "1.0", `1`: "1", `2.50`: "2.50", `""`: "", `"v7"`: "v7"} {
		var v register.Version
		if err := json.Unmarshal([]byte(in), &v); err != nil || v != want {
			t.Errorf("%s: %q, %v; want %q", in, v, err, want)
		}
	}
	var v register.Version
	if err := json.Unmarshal([]byte(`{"a":1}`), &v); err == nil {
		t.Error("an object accepted as a version")
	}
}

// Lookups are remembered for a moment, but a sync through any Cache on the
// same database is seen at once, and what a caller changes in a returned
// entity is not remembered.
func TestCacheRemembersUntilASync(t *testing.T) {
	ctx := context.Background()
	c, db := openCache(t, clock.NewManual(t0))
	if err := c.Apply(ctx, true, []register.Entity{ent(guidA, "1", register.Active, "0A1B")}, "c1"); err != nil {
		t.Fatal(err)
	}
	e, err := c.ByGUID(ctx, guidA)
	if err != nil || e == nil || e.Status != register.Active {
		t.Fatalf("lookup: %+v, %v", e, err)
	}
	e.Status, e.Services[0].URI = register.Inactive, "https://changed"
	if again, _ := c.ByGUID(ctx, guidA); again.Status != register.Active || again.Services[0].URI == "https://changed" {
		t.Errorf("a caller's change was remembered: %+v", again)
	}
	if es, _ := c.BySerial(ctx, "0a1b"); len(es) != 1 {
		t.Fatalf("by serial: %d", len(es))
	}
	other := register.NewCache(db, clock.NewManual(t0))
	if err := other.Apply(ctx, true, []register.Entity{ent(guidA, "1", register.Inactive, "0C")}, "c2"); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.ByGUID(ctx, guidA); e.Status != register.Inactive {
		t.Errorf("after another cache's sync: %+v", e)
	}
	if es, _ := c.BySerial(ctx, "0a1b"); len(es) != 0 {
		t.Errorf("the old serial still finds %d", len(es))
	}
}

// A participant's serial changing is recorded with when the copy saw it;
// the same serial in another notation, or a new participant, is no change.
func TestCertificateChanges(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	c, _ := openCache(t, clk)
	if err := c.Apply(ctx, true, []register.Entity{ent(guidA, "1", register.Active, "0A1B"), ent(guidB, "2", register.Active, "")}, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.LastCertificateChange(ctx, guidA); ok || err != nil {
		t.Errorf("a first listing is no change: %v %v", ok, err)
	}
	clk.Advance(time.Hour)
	ch, err := c.ApplyChanges(ctx, false, []register.Entity{ent(guidA, "1", register.Active, "000A1B"), ent(guidB, "2", register.Active, "77")}, "")
	if err != nil || len(ch.Certificates) != 0 {
		t.Errorf("another notation, or a first serial: %+v %v", ch.Certificates, err)
	}
	clk.Advance(time.Hour)
	ch, err = c.ApplyChanges(ctx, false, []register.Entity{ent(guidA, "1", register.Active, "0C2D")}, "")
	if err != nil || len(ch.Certificates) != 1 || ch.Certificates[0].From != "000A1B" || ch.Certificates[0].To != "0C2D" {
		t.Fatalf("renewal: %+v %v", ch.Certificates, err)
	}
	var out strings.Builder
	register.WriteChanges(&out, ch)
	if !strings.Contains(out.String(), "renewed  "+guidA+" Body 1: transport certificate 000A1B -> 0C2D") {
		t.Errorf("sync output:\n%s", out.String())
	}
	got, ok, err := c.LastCertificateChange(ctx, strings.ToUpper(guidA))
	if err != nil || !ok || got.To != "0C2D" || !got.SeenAt.Equal(clk.Now()) {
		t.Errorf("last change: %+v %v %v", got, ok, err)
	}
}
