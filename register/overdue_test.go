package register_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// brokenFull is a register whose full listing can be broken while its
// incremental listing keeps working.
type brokenFull struct {
	mu       sync.Mutex
	entities []register.Entity
	cursor   int
	fullErr  func() (*register.Listing, error) // nil: full listings work
	calls    []string
}

func (b *brokenFull) GetAllRecords(context.Context) (*register.Listing, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "GetAllRecords")
	if b.fullErr != nil {
		return b.fullErr()
	}
	return &register.Listing{Entities: append([]register.Entity{}, b.entities...), Cursor: fmt.Sprint(b.cursor)}, nil
}

func (b *brokenFull) GetNewRecords(_ context.Context, since string) (*register.Listing, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "GetNewRecords("+since+")")
	var changed []register.Entity
	if since != fmt.Sprint(b.cursor) {
		changed = append(changed, b.entities...) // a fake: everything since any older cursor
	}
	return &register.Listing{Entities: changed, Cursor: fmt.Sprint(b.cursor)}, nil
}

func (b *brokenFull) set(st register.Status, fullErr func() (*register.Listing, error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entities[0].Status = st
	b.cursor++
	b.fullErr = fullErr
}

func (b *brokenFull) reset() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	b.calls = nil
	return c
}

// TestFullSyncFailureFallsBack: once full_sync has passed, a register whose
// full listing keeps failing (too large, or refused as empty) no longer
// freezes the copy: the same pass falls back to GetNewRecords, the full
// sync stays overdue (State, metric, state text) and it recovers when the
// full listing works again.
func TestFullSyncFailureFallsBack(t *testing.T) {
	cases := []struct {
		name, kind string
		fullErr    func() (*register.Listing, error)
	}{
		{"too large", register.KindTooLarge, func() (*register.Listing, error) {
			return nil, &daeu.MalformedError{Op: daeu.GetAllRecords, Msg: "more than 64 MiB", Err: daeu.ErrTooLarge}
		}},
		{"empty listing refused", register.KindRefused, func() (*register.Listing, error) {
			return &register.Listing{Cursor: "999"}, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewManual(t0)
			cache, _ := openCache(t, clk)
			prom := prometheus.NewRegistry()
			m, err := register.NewMetrics(prom, clk)
			if err != nil {
				t.Fatal(err)
			}
			src := &brokenFull{entities: []register.Entity{ent(guidA, "1", register.Active, "01")}, cursor: 1}
			s := register.NewSyncer(cache, src, register.SyncOptions{Clock: clk, Refresh: time.Minute, FullSync: time.Hour, Metrics: m})
			if _, err := s.Sync(ctx, register.Auto); err != nil {
				t.Fatal(err)
			}
			src.reset()

			// Past full_sync, the full listing breaks and the register changes.
			clk.Advance(time.Hour)
			src.set(register.TemporarilyInactive, c.fullErr)
			ch, err := s.Sync(ctx, register.Auto)
			if err != nil {
				t.Fatalf("the pass should fall back to GetNewRecords: %v", err)
			}
			if ch.Full || len(ch.Changes) != 1 || ch.Changes[0].After != register.TemporarilyInactive {
				t.Errorf("changes %+v", ch)
			}
			if calls := fmt.Sprint(src.reset()); calls != "[GetAllRecords GetNewRecords(1)]" {
				t.Errorf("calls %s", calls)
			}
			if e, _ := cache.ByGUID(ctx, guidA); e == nil || e.Status != register.TemporarilyInactive {
				t.Errorf("the copy froze: %+v", e)
			}
			st, err := s.State(ctx)
			if err != nil || !st.FullSyncOverdue || st.ConsecutiveFailures != 0 || st.LastError == "" {
				t.Errorf("state %+v %v; want the full sync overdue and its failure recorded", st, err)
			}
			if v := metric(t, prom, "seosgw_register_full_sync_overdue", nil); v != 1 {
				t.Errorf("seosgw_register_full_sync_overdue %v, want 1", v)
			}
			if v := metric(t, prom, "seosgw_register_sync_failures_total", map[string]string{"kind": c.kind}); v != 1 {
				t.Errorf("failures{kind=%q} %v", c.kind, v)
			}
			var b strings.Builder
			if err := register.WriteState(&b, st); err != nil || !strings.Contains(b.String(), "full sync overdue") {
				t.Errorf("state text does not say so: %q %v", b.String(), err)
			}

			// Every later pass still gets the changes.
			clk.Advance(time.Minute)
			src.set(register.Active, c.fullErr)
			if ch, err := s.Sync(ctx, register.Auto); err != nil || len(ch.Changes) != 1 {
				t.Fatalf("second pass: %+v %v", ch, err)
			}
			// --full does not fall back: it is asked for a full listing.
			if _, err := s.Sync(ctx, register.Full); err == nil || register.ErrorKind(err) != c.kind {
				t.Errorf("Full mode: %v, want the full listing's failure", err)
			}
			src.reset()

			// The full listing works again: the next pass is full, the
			// overdue flag clears.
			src.set(register.Active, nil)
			if ch, err := s.Sync(ctx, register.Auto); err != nil || !ch.Full {
				t.Fatalf("recovered pass: %+v %v", ch, err)
			}
			if st, _ := s.State(ctx); st.FullSyncOverdue {
				t.Errorf("still overdue after a full sync: %+v", st)
			}
			if v := metric(t, prom, "seosgw_register_full_sync_overdue", nil); v != 0 {
				t.Errorf("seosgw_register_full_sync_overdue %v after recovery", v)
			}
		})
	}
}

// TestRunKeepsFollowingWhileFullFails: the background loop keeps the copy
// current while the full listing fails, and retries the full listing with
// the failure backoff rather than in a tight loop: each pass schedules the
// next one RetryMin (±10%) or more ahead, never at once.
func TestRunKeepsFollowingWhileFullFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewManual(t0) // still while the loop runs: NextAttempt minus now is the loop's wait
	cache, _ := openCache(t, clk)
	src := &brokenFull{entities: []register.Entity{ent(guidA, "1", register.Active, "01")}, cursor: 1}
	s := register.NewSyncer(cache, src, register.SyncOptions{Refresh: 200 * time.Millisecond, FullSync: time.Nanosecond,
		RetryMin: 100 * time.Millisecond, Clock: clk})
	if _, err := s.Sync(ctx, register.Auto); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // every pass from now on is due for a full sync
	src.set(register.TemporarilyInactive, func() (*register.Listing, error) { return &register.Listing{}, nil })
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the loop applies the incremental change", func() bool {
		e, _ := cache.ByGUID(ctx, guidA)
		return e != nil && e.Status == register.TemporarilyInactive
	})
	var st register.SyncState
	testkit.Eventually(t, 5*time.Second, "the loop schedules its next pass", func() bool {
		st, _ = s.State(ctx)
		return !st.NextAttempt.IsZero()
	})
	cancel()
	<-done
	if wait := st.NextAttempt.Sub(clk.Now()); wait < 90*time.Millisecond || wait > 220*time.Millisecond {
		t.Errorf("the next pass after a failed full listing waits %s; want the backoff (100ms..200ms ±10%%), not a spin", wait)
	}
	if !st.FullSyncOverdue {
		t.Errorf("full sync not reported overdue: %+v", st)
	}
}

// TestMetricsFollowTheDatabase: a sync run by another process (here,
// another connection to the same file) shows in the node's metrics, as it
// does in /readyz, which reads the database.
func TestMetricsFollowTheDatabase(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	cache, db := openCache(t, clk)
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clk)
	if err != nil {
		t.Fatal(err)
	}
	register.NewSyncer(cache, fixed{}, register.SyncOptions{Clock: clk, Metrics: m}) // the node's; it has not synced
	if v := metric(t, prom, "seosgw_register_age_seconds", nil); v < 1e300 {
		t.Errorf("age before any sync: %v, want +Inf", v)
	}
	other := register.NewCache(otherConnection(t, db), clk) // `seosgw register sync`
	if err := other.Apply(ctx, true, []register.Entity{ent(guidA, "1", register.Active, "01"), ent(guidB, "2", register.Inactive, "02")}, "c1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	if v := metric(t, prom, "seosgw_register_age_seconds", nil); v != 300 {
		t.Errorf("age %v, want 300 from the other process's sync", v)
	}
	if err := cache.Fresh(ctx, time.Hour); err != nil {
		t.Errorf("readiness and metrics disagree: %v", err)
	}
	if v := metric(t, prom, "seosgw_register_last_success_timestamp_seconds", nil); v != float64(t0.Unix()) {
		t.Errorf("last success %v", v)
	}
	if v := metric(t, prom, "seosgw_register_entities", map[string]string{"status": "Inactive"}); v != 1 {
		t.Errorf("entities{Inactive} %v", v)
	}
	if err := other.RecordFailure(ctx, fmt.Errorf("connection refused")); err != nil {
		t.Fatal(err)
	}
	if v := metric(t, prom, "seosgw_register_sync_consecutive_failures", nil); v != 1 {
		t.Errorf("consecutive failures %v", v)
	}
}

func TestCacheLookup(t *testing.T) {
	ctx := context.Background()
	c, _ := openCache(t, clock.NewManual(t0))
	a := ent(guidA, "000695089", register.Active, "4A1F00C3D2")
	b := ent(guidB, "121212", register.Inactive, "121212") // a serial that reads as b's own EIK
	cc := ent(guidC, "121212", register.Active, "")
	if err := c.Apply(ctx, true, []register.Entity{a, b, cc}, "c1"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		guidA:                                    guidA,
		"AAAAAAAA-0000-4000-8000-000000000001":   guidA,
		"{dddddddd-0000-4000-8000-000000000004}": "",
		"000695089":                              guidA,
		"4a:1f:00:c3:d2":                         guidA,
		"121212":                                 guidB + "," + guidC, // by EIK and by serial, each once
		"nothing":                                "",
		"  ":                                     "",
	} {
		es, err := c.Lookup(ctx, key)
		if err != nil || guids(es) != want {
			t.Errorf("Lookup(%q) = %s, %v; want %s", key, guids(es), err, want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]register.Status{"Active": register.Active, " Inactive ": register.Inactive,
		"TemporarilyInactive": register.TemporarilyInactive, "active": "", "removed": ""} {
		got, err := register.ParseStatus(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseStatus(%q) = %q, %v", in, got, err)
		}
	}
}

// otherConnection opens db's file again, as another process would.
func otherConnection(t *testing.T, db *sql.DB) *sql.DB {
	t.Helper()
	var seq int
	var name, path string
	if err := db.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &path); err != nil {
		t.Fatal(err)
	}
	other, err := store.OpenGateway(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}
