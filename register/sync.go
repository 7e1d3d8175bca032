package register

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

// SyncOptions tune the sync loop; zero values take the defaults.
type SyncOptions struct {
	Refresh    time.Duration // GetNewRecords period; default 10m
	FullSync   time.Duration // GetAllRecords period; default 24h
	StaleAfter time.Duration // Fresh fails past this; default 24h
	// RetryMin is the wait after a first failure; it doubles with each
	// further failure up to Refresh. Default 10s.
	RetryMin time.Duration
	// OnSuccess, when set, is called after each successful sync (the
	// network checks re-probe then); it must not block.
	OnSuccess func()
	Clock     clock.Clock
	Log       *slog.Logger
	Metrics   *Metrics // nil = none
}

// Mode chooses the operation of a sync.
type Mode int

const (
	// Auto runs GetAllRecords when none was applied yet or full_sync has
	// passed since the last one, GetNewRecords(cursor) otherwise.
	Auto Mode = iota
	// Full always runs GetAllRecords.
	Full
)

// Syncer keeps a Cache in step with the register. Run is the background
// loop; Sync is one sync, for the CLI and tests.
type Syncer struct {
	cache *Cache
	src   Source
	opt   SyncOptions
	log   *slog.Logger

	mu      sync.Mutex    // one sync at a time
	next    atomic.Int64  // Unix nanoseconds of the loop's next attempt
	kick    chan struct{} // SyncNow
	running atomic.Bool
	// fullFailures counts full syncs failed in a row; it paces their
	// retries while incremental syncs keep succeeding.
	fullFailures atomic.Int32
}

// NewSyncer syncs cache from src.
func NewSyncer(cache *Cache, src Source, opt SyncOptions) *Syncer {
	if opt.Refresh <= 0 {
		opt.Refresh = 10 * time.Minute
	}
	if opt.FullSync <= 0 {
		opt.FullSync = 24 * time.Hour
	}
	if opt.StaleAfter <= 0 {
		opt.StaleAfter = 24 * time.Hour
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = 10 * time.Second
	}
	if opt.RetryMin > opt.Refresh {
		opt.RetryMin = opt.Refresh
	}
	if opt.Clock == nil {
		opt.Clock = cache.clk
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	opt.Metrics.watch(cache, opt.FullSync)
	return &Syncer{cache: cache, src: src, opt: opt, log: opt.Log, kick: make(chan struct{}, 1)}
}

// Run syncs until ctx ends: at once, then every Refresh, with a full sync
// every FullSync. A failure never stops it: it keeps the cache as it is,
// records the failure (register_sync, metrics, log) and retries with a
// doubling backoff capped at Refresh, so an outage heals by itself.
func (s *Syncer) Run(ctx context.Context) error {
	s.running.Store(true)
	defer func() { s.running.Store(false); s.next.Store(0) }()
	s.loadMetrics(ctx)
	failures := 0
	for {
		_, err := s.Sync(ctx, Auto)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		if err != nil {
			failures++
			wait = s.backoff(failures)
		} else {
			failures = 0
			wait = s.untilDue(ctx)
		}
		s.next.Store(s.opt.Clock.Now().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-s.kick:
			t.Stop()
		}
	}
}

// SyncNow makes a running loop sync at once instead of waiting.
func (s *Syncer) SyncNow() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// backoff is RetryMin·2^(n-1), capped at Refresh, with ±10% jitter so that
// many nodes do not retry the register in step.
func (s *Syncer) backoff(n int) time.Duration {
	d := s.opt.RetryMin
	for i := 1; i < n && d < s.opt.Refresh; i++ {
		d *= 2
	}
	d = min(d, s.opt.Refresh)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// untilDue is the wait to the next incremental or full sync, whichever
// comes first. A full sync that is overdue because it keeps failing is
// retried with the failure backoff, not at once.
func (s *Syncer) untilDue(ctx context.Context) time.Duration {
	wait := s.opt.Refresh
	if st, err := s.cache.State(ctx); err == nil && !st.LastFull.IsZero() {
		if d := st.LastFull.Add(s.opt.FullSync).Sub(s.opt.Clock.Now()); d < wait {
			wait = max(d, 0)
		}
	}
	if n := s.fullFailures.Load(); wait == 0 && n > 0 {
		wait = s.backoff(int(n))
	}
	return wait
}

func (s *Syncer) fullDue(st SyncState) bool {
	return st.LastFull.IsZero() || st.Cursor == "" || !s.opt.Clock.Now().Before(st.LastFull.Add(s.opt.FullSync))
}

// Sync runs one sync and applies it atomically. On failure the cache is
// unchanged and the failure is recorded.
//
// In Auto mode, when a due full sync fails and the copy has a cursor, the
// same pass falls back to GetNewRecords: a full listing that keeps failing
// (too large, refused as empty) must not freeze the copy. The full sync
// stays overdue (SyncState.FullSyncOverdue, seosgw_register_full_sync_overdue)
// and is retried with the failure backoff. Full mode never falls back.
func (s *Syncer) Sync(ctx context.Context, mode Mode) (*Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	st, err := s.cache.State(ctx)
	if err != nil {
		return nil, s.failed(ctx, mode == Full, time.Since(start), &kindError{KindStore, err})
	}
	if mode != Full && !s.fullDue(st) {
		return s.attempt(ctx, false, st.Cursor)
	}
	ch, err := s.attempt(ctx, true, st.Cursor)
	if err == nil {
		s.fullFailures.Store(0)
		return ch, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	n := s.fullFailures.Add(1)
	if mode == Full || st.Cursor == "" {
		return nil, err
	}
	s.log.WarnContext(ctx, "register full sync failed; keeping the copy current with GetNewRecords, the full sync stays overdue",
		"kind", ErrorKind(err), "error", err, "full_sync_failures", n, "last_full", st.LastFull)
	return s.attempt(ctx, false, st.Cursor)
}

// attempt runs one operation (GetAllRecords when full, else
// GetNewRecords(cursor)), applies it and records the outcome.
func (s *Syncer) attempt(ctx context.Context, full bool, cursor string) (*Changes, error) {
	start := time.Now()
	ch, err := s.syncOnce(ctx, full, cursor)
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // shutting down, not a register failure
		}
		return nil, s.failed(ctx, full, elapsed, err)
	}
	modeLabel := modeName(full)
	s.opt.Metrics.observe(modeLabel, "success", elapsed)
	s.opt.Metrics.succeeded()
	s.opt.Metrics.setLastSuccess(s.opt.Clock.Now())
	s.updateCounts(ctx)
	counts := map[ChangeKind]int{}
	for _, c := range ch.Changes {
		counts[c.Kind]++
	}
	s.report(ctx, ch)
	if s.opt.OnSuccess != nil {
		s.opt.OnSuccess()
	}
	s.log.InfoContext(ctx, "register synced", "mode", modeLabel, "added", counts[Added], "updated", counts[Updated],
		"removed", counts[Removed], "restored", counts[Restored], "unchanged", ch.Unchanged, "rejected", len(ch.Rejected),
		"cursor", ch.Cursor, "duration_seconds", elapsed.Seconds())
	return ch, nil
}

// failed records a failed attempt and returns err.
func (s *Syncer) failed(ctx context.Context, full bool, elapsed time.Duration, err error) error {
	s.opt.Metrics.observe(modeName(full), "failure", elapsed)
	s.recordFailure(ctx, modeName(full), err)
	return err
}

func modeName(full bool) string {
	if full {
		return "full"
	}
	return "incremental"
}

func (s *Syncer) syncOnce(ctx context.Context, full bool, cursor string) (ch *Changes, err error) {
	defer func() {
		// A bug in decoding one odd answer must not kill the node's only
		// register loop; it becomes a failure like any other.
		if r := recover(); r != nil {
			ch, err = nil, &kindError{KindPanic, fmt.Errorf("register sync panicked: %v", r)}
		}
	}()
	var l *Listing
	if full {
		l, err = s.src.GetAllRecords(ctx)
	} else {
		l, err = s.src.GetNewRecords(ctx, cursor)
	}
	if err != nil {
		return nil, err
	}
	if full && len(l.Entities) == 0 {
		// One bad answer must not turn every peer into "removed".
		counts, err := s.cache.Counts(ctx)
		if err != nil {
			return nil, &kindError{KindStore, err}
		}
		listed := 0
		for st, n := range counts {
			if st != ListRemoved {
				listed += n
			}
		}
		if listed > 0 {
			return nil, &kindError{KindRefused, fmt.Errorf("register returned an empty full listing (%d entities rejected) while the copy holds %d participants; keeping the copy",
				len(l.Rejected), listed)}
		}
	}
	// No LastChange in the answer keeps the cursor in force; a copy that
	// has none yet starts from when the register answered.
	next := l.Cursor
	if next == "" && cursor == "" {
		next = l.AnsweredCursor
	}
	ch, err = s.cache.ApplyListing(ctx, full, l, next)
	if err != nil {
		return nil, &kindError{KindStore, err}
	}
	return ch, nil
}

// report logs and counts what an applied answer could not take as it was:
// rejected entities (each by Guid, field and value) and unset values.
func (s *Syncer) report(ctx context.Context, ch *Changes) {
	for _, r := range ch.Rejected {
		s.opt.Metrics.rejected(r.Field)
		s.log.WarnContext(ctx, "register entity rejected; the rest of the answer applied", "guid", textsafe.Field(r.GUID), "name", textsafe.Field(r.Name),
			"index", r.Index, "field", r.Field, "path", r.Path, "value", textsafe.Field(r.Value), "error", r.Err, "kept_last_good_copy", r.Kept)
	}
	if ch.RemovalsSkipped {
		s.log.WarnContext(ctx, "register full listing had an entity without a Guid among the rejected; nothing marked removed this time")
	}
	for _, w := range ch.Warnings {
		s.log.WarnContext(ctx, "register value unset; read as no value", "guid", textsafe.Field(w.GUID), "name", textsafe.Field(w.Name), "field", w.Field,
			"value", textsafe.Field(w.Value), "msg", w.Msg)
	}
	for _, c := range ch.Certificates {
		s.opt.Metrics.certificateChanged()
		s.log.InfoContext(ctx, "a participant's transport certificate changed in the register", "guid", c.GUID, "name", c.Name,
			"from_serial", c.From, "to_serial", c.To)
	}
}

func (s *Syncer) recordFailure(ctx context.Context, mode string, err error) {
	kind := ErrorKind(err)
	if rerr := s.cache.RecordFailure(ctx, err); rerr != nil {
		s.log.ErrorContext(ctx, "register sync failure not recorded", "error", rerr)
	}
	st, _ := s.cache.State(ctx)
	s.opt.Metrics.failed(kind, st.ConsecutiveFailures)
	attrs := []any{"mode", mode, "kind", kind, "error", err, "consecutive_failures", st.ConsecutiveFailures}
	if !st.LastSuccess.IsZero() {
		attrs = append(attrs, "serving_copy_age_seconds", s.opt.Clock.Now().Sub(st.LastSuccess).Seconds())
	}
	s.log.WarnContext(ctx, "register sync failed; serving from the local copy", attrs...)
}

func (s *Syncer) updateCounts(ctx context.Context) {
	if s.opt.Metrics == nil {
		return
	}
	counts, err := s.cache.Counts(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "register metrics: count entities", "error", err)
		return
	}
	s.opt.Metrics.setCounts(counts)
}

// loadMetrics starts the gauges from what the database already holds.
func (s *Syncer) loadMetrics(ctx context.Context) {
	if s.opt.Metrics == nil {
		return
	}
	if st, err := s.cache.State(ctx); err == nil {
		s.opt.Metrics.setLastSuccess(st.LastSuccess)
		s.opt.Metrics.consecutive.Set(float64(st.ConsecutiveFailures))
	}
	s.updateCounts(ctx)
}

// State is the recorded sync state, whether the full sync is overdue and,
// while Run runs, the next attempt.
func (s *Syncer) State(ctx context.Context) (SyncState, error) {
	st, err := s.cache.State(ctx)
	st.FullSyncOverdue = err == nil && fullSyncOverdue(st, s.opt.FullSync, s.opt.Clock.Now())
	if ns := s.next.Load(); ns != 0 && s.running.Load() {
		st.NextAttempt = time.Unix(0, ns)
	}
	return st, err
}

// Age is the time since the last successful sync (ok false: never).
func (s *Syncer) Age(ctx context.Context) (time.Duration, bool, error) { return s.cache.Age(ctx) }

// Fresh returns nil while the copy is within StaleAfter, else why not.
func (s *Syncer) Fresh(ctx context.Context) error { return s.cache.Fresh(ctx, s.opt.StaleAfter) }
