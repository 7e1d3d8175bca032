package register_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
	"github.com/seosgw/seosgw/register/testregister"
)

func seed(t *testing.T, reg *testregister.Register) {
	t.Helper()
	ctx := context.Background()
	a := ent(guidA, "000695089", register.Active, "4A1F00C3D2")
	b := ent(guidB, "121212", register.Inactive, "7B00E1")
	b.Services = nil
	if _, err := reg.Add(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add(ctx, b, &testregister.Joining{Applied: t0, CertIssued: t0}); err != nil {
		t.Fatal(err)
	}
}

// TestSyncPicksUpChanges: a full sync first, then GetNewRecords with the
// register's LastChange verbatim picks up changes made through the admin API.
func TestSyncPicksUpChanges(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	reg, url := startRegister(t, p, clk)
	seed(t, reg)
	cache, _ := openCache(t, clk)
	src := &spy{Source: p.client(t, url, p.node, 5*time.Second, 0)}
	s := register.NewSyncer(cache, src, register.SyncOptions{Clock: clk})

	ch, err := s.Sync(ctx, register.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || len(ch.Changes) != 2 {
		t.Fatalf("first sync: %+v", ch)
	}
	cursor := ch.Cursor
	if want := "2026-04-08T12:00:00.002+03:00"; cursor != want { // two changes at one instant, each a later millisecond than the last
		t.Errorf("cursor %q, want the register's LastChange %q", cursor, want)
	}
	// Changes in one second still get distinct, later LastChange values.
	if _, err := reg.SetStatus(ctx, guidA, register.TemporarilyInactive); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RecordVerdict(ctx, guidB, testregister.Pass, "/reports/b.html"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Activate(ctx, guidB, false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	if ch, err = s.Sync(ctx, register.Auto); err != nil {
		t.Fatal(err)
	}
	if ch.Full || len(ch.Changes) != 2 || ch.Unchanged != 0 {
		t.Errorf("incremental sync: %+v", ch)
	}
	if got := src.calls[len(src.calls)-1]; got != "GetNewRecords("+cursor+")" {
		t.Errorf("asked %s; want GetNewRecords with the last LastChange verbatim", got)
	}
	for guid, want := range map[string]register.Status{guidA: register.TemporarilyInactive, guidB: register.Active} {
		if e, _ := cache.ByGUID(ctx, guid); e == nil || e.Status != want {
			t.Errorf("%s: %+v, want %s", guid, e, want)
		}
	}
	// Nothing new: nothing changes.
	if ch, err = s.Sync(ctx, register.Auto); err != nil || len(ch.Changes)+ch.Unchanged != 0 {
		t.Errorf("idle sync: %+v %v", ch, err)
	}
	// The other three operations answer from the same register.
	c := p.client(t, url, p.node, 5*time.Second, 0)
	for name, call := range map[string]func() (*register.Listing, error){
		"GetByGuid":             func() (*register.Listing, error) { return c.GetByGuid(ctx, strings.ToUpper(guidB)) },
		"GetByEntityIdentifier": func() (*register.Listing, error) { return c.GetByEntityIdentifier(ctx, "121212") },
		"GetByCertificateSN":    func() (*register.Listing, error) { return c.GetByCertificateSN(ctx, "7b:00:e1") },
	} {
		l, err := call()
		if err != nil || len(l.Entities) != 1 || l.Entities[0].GUID != guidB || l.Entities[0].Status != register.Active {
			t.Errorf("%s: %+v %v", name, l, err)
		}
	}
}

func TestFullSyncMarksRemovedAndIsDue(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	reg, url := startRegister(t, p, clk)
	seed(t, reg)
	cache, _ := openCache(t, clk)
	src := &spy{Source: p.client(t, url, p.node, 5*time.Second, 0)}
	s := register.NewSyncer(cache, src, register.SyncOptions{Clock: clk, Refresh: time.Minute, FullSync: time.Hour})
	if _, err := s.Sync(ctx, register.Auto); err != nil {
		t.Fatal(err)
	}
	if err := reg.Remove(ctx, guidA); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	ch, err := s.Sync(ctx, register.Auto)
	if err != nil || ch.Full || len(ch.Changes) != 0 {
		t.Fatalf("incremental cannot see a removal: %+v %v", ch, err)
	}
	clk.Advance(time.Minute) // full_sync has passed since the last full sync
	if ch, err = s.Sync(ctx, register.Auto); err != nil || !ch.Full {
		t.Fatalf("want a full sync once full_sync passed: %+v %v", ch, err)
	}
	if len(ch.Changes) != 1 || ch.Changes[0].Kind != register.Removed || ch.Changes[0].GUID != guidA {
		t.Errorf("changes %+v", ch.Changes)
	}
	if e, _ := cache.ByGUID(ctx, guidA); e == nil || !e.Removed {
		t.Errorf("removed participant: %+v", e)
	}
	want := []string{"GetAllRecords", "GetNewRecords(2026-04-08T12:00:00.002+03:00)", "GetAllRecords"}
	if fmt.Sprint(src.calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", src.calls, want)
	}
}

// TestBadAnswersLeaveTheCache: malformed, oversized, stalled, faulting and
// empty answers fail with a clear kind, count in the metrics and change
// nothing in the cache.
func TestBadAnswersLeaveTheCache(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	reg, url := startRegister(t, p, clk)
	seed(t, reg)
	cache, _ := openCache(t, clk)
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clk)
	if err != nil {
		t.Fatal(err)
	}
	good := register.NewSyncer(cache, p.client(t, url, p.node, 5*time.Second, 0), register.SyncOptions{Clock: clk, Metrics: m})
	if _, err := good.Sync(ctx, register.Auto); err != nil {
		t.Fatal(err)
	}
	es, st := snapshot(t, cache)
	full, _ := reg.All(ctx)
	valid := daeu.EncodeResponse(daeu.GetAllRecords, full, nil)
	drain := func(r *http.Request) { io.Copy(io.Discard, r.Body) }
	cases := []struct {
		name, kind, says string
		h                http.HandlerFunc
	}{
		{"malformed", register.KindMalformed, "malformed response", func(w http.ResponseWriter, r *http.Request) {
			w.Write(valid[:len(valid)-40])
		}},
		{"wrong array length", register.KindMalformed, "arrayType says 3 members", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Replace(string(valid), "tns:Entity[2]", "tns:Entity[3]", 1)))
		}},
		{"oversized", register.KindTooLarge, "larger than the configured limit", func(w http.ResponseWriter, r *http.Request) {
			w.Write(append(valid, make([]byte, 64<<10)...))
		}},
		{"stalled", register.KindTimeout, "no answer in time", func(w http.ResponseWriter, r *http.Request) {
			drain(r)
			<-r.Context().Done()
		}},
		{"fault", register.KindFault, "SOAP fault SOAP-ENV:Server", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write(daeu.EncodeFault(daeu.FaultServer, "the register database is unavailable", ""))
		}},
		{"empty full listing", register.KindRefused, "empty full listing", func(w http.ResponseWriter, r *http.Request) {
			w.Write(daeu.EncodeResponse(daeu.GetAllRecords, &register.Listing{LastChange: t0}, nil))
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := register.NewSyncer(cache, p.client(t, stubRegister(t, p, c.h), p.node, 300*time.Millisecond, 32<<10),
				register.SyncOptions{Clock: clk, Metrics: m})
			_, err := bad.Sync(ctx, register.Full)
			if err == nil || register.ErrorKind(err) != c.kind || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v (kind %q); want kind %q saying %q", err, register.ErrorKind(err), c.kind, c.says)
			}
			sameSnapshot(t, cache, es, st)
			if e, _ := cache.ByGUID(ctx, guidA); e == nil || e.Status != register.Active {
				t.Errorf("cache no longer answers: %+v", e)
			}
			now, _ := cache.State(ctx)
			if now.ConsecutiveFailures != i+1 || now.LastError != err.Error() {
				t.Errorf("state %+v", now)
			}
			if v := metric(t, prom, "seosgw_register_sync_failures_total", map[string]string{"kind": c.kind}); v < 1 {
				t.Errorf("failures{kind=%q} = %v", c.kind, v)
			}
			if v := metric(t, prom, "seosgw_register_sync_consecutive_failures", nil); v != float64(i+1) {
				t.Errorf("consecutive failures gauge %v", v)
			}
			if err := good.Fresh(ctx); err != nil {
				t.Errorf("a recent copy must stay fresh through failures: %v", err)
			}
		})
	}
	if _, err := good.Sync(ctx, register.Auto); err != nil {
		t.Fatal(err)
	}
	if v := metric(t, prom, "seosgw_register_sync_consecutive_failures", nil); v != 0 {
		t.Errorf("consecutive failures after recovery: %v", v)
	}
}

// flaky fails, panics, then works, to show the loop survives all of it.
type flaky struct {
	n     atomic.Int32
	inner register.Source
}

func (f *flaky) GetAllRecords(ctx context.Context) (*register.Listing, error) {
	switch f.n.Add(1) {
	case 1, 2:
		return nil, errors.New("connection refused")
	case 3:
		panic("decoder bug")
	}
	return f.inner.GetAllRecords(ctx)
}

func (f *flaky) GetNewRecords(ctx context.Context, since string) (*register.Listing, error) {
	return f.inner.GetNewRecords(ctx, since)
}

type fixed []register.Entity

func (f fixed) GetAllRecords(context.Context) (*register.Listing, error) {
	return &register.Listing{Entities: f, Cursor: "c1"}, nil
}

func (f fixed) GetNewRecords(context.Context, string) (*register.Listing, error) {
	return &register.Listing{Cursor: "c1"}, nil
}

func TestRunRecoversAndLints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cache, _ := openCache(t, clock.System)
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clock.System)
	if err != nil {
		t.Fatal(err)
	}
	if v := metric(t, prom, "seosgw_register_age_seconds", nil); v < 1e300 {
		t.Errorf("age before any sync: %v, want +Inf", v)
	}
	src := &flaky{inner: fixed{ent(guidA, "1", register.Active, "01")}}
	s := register.NewSyncer(cache, src, register.SyncOptions{Refresh: 100 * time.Millisecond, RetryMin: 10 * time.Millisecond, Metrics: m})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the loop syncs after two failures and a panic", func() bool {
		st, _ := s.State(ctx)
		return !st.LastSuccess.IsZero() && st.ConsecutiveFailures == 0
	})
	st, _ := s.State(ctx)
	if st.NextAttempt.IsZero() || st.LastError == "" {
		t.Errorf("state %+v", st)
	}
	if v := metric(t, prom, "seosgw_register_sync_failures_total", map[string]string{"kind": register.KindPanic}); v != 1 {
		t.Errorf("panics counted: %v", v)
	}
	if v := metric(t, prom, "seosgw_register_sync_failures_total", map[string]string{"kind": register.KindOther}); v != 2 {
		t.Errorf("failures counted: %v", v)
	}
	if v := metric(t, prom, "seosgw_register_entities", map[string]string{"status": "Active"}); v != 1 {
		t.Errorf("entities{Active} %v", v)
	}
	if v := metric(t, prom, "seosgw_register_last_success_timestamp_seconds", nil); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success %v", v)
	}
	if v := metric(t, prom, "seosgw_register_age_seconds", nil); v < 0 || v > 60 {
		t.Errorf("age %v", v)
	}
	if v := metric(t, prom, "seosgw_register_sync_duration_seconds", map[string]string{"mode": "full", "result": "failure"}); v != 3 {
		t.Errorf("failed full syncs observed: %v", v)
	}
	problems, err := testutil.CollectAndLint(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestSyncNeutralisesPeerText: what a participant writes in its register
// entry — CR/LF that would forge lines, U+009B (an 8-bit CSI), U+202E
// (right-to-left override) — is stored in the copy as visible escapes, so
// the AIS, the logs, metric labels and every command see it neutralised;
// legitimate Cyrillic text is kept as written.
func TestSyncNeutralisesPeerText(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	reg, url := startRegister(t, p, clk)
	hostile := ent(guidA, "000695089", register.Active, "4A1F00C3D2")
	hostile.AdministrativeBodyName = "Община Хасково\r\nstate: registered\u009b2J\u202eтсил"
	hostile.Contact = register.Contact{Phone: "+359\u202e1", EmailAddress: "a@b.bg\u0085x"}
	hostile.Services[0].Name = "Обмен\u2028fake line"
	plain := ent(guidB, "121212", register.Active, "7B00E1")
	plain.AdministrativeBodyName = "Министерство на примерите — „Отдел“"
	for _, e := range []register.Entity{hostile, plain} {
		if _, err := reg.Add(ctx, e, nil); err != nil {
			t.Fatal(err)
		}
	}
	cache, _ := openCache(t, clk)
	s := register.NewSyncer(cache, p.client(t, url, p.node, 5*time.Second, 0), register.SyncOptions{Clock: clk})
	ch, err := s.Sync(ctx, register.Full)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cache.ByGUID(ctx, guidA)
	if err != nil || a == nil {
		t.Fatalf("hostile entity: %v", err)
	}
	want := `Община Хасково\r\nstate: registered\u009b2J\u202eтсил`
	for _, got := range []struct{ field, got, want string }{
		{"name", a.AdministrativeBodyName, want},
		{"phone", a.Contact.Phone, `+359\u202e1`},
		{"email", a.Contact.EmailAddress, `a@b.bg\u0085x`},
		{"service name", a.Services[0].Name, `Обмен\u2028fake line`},
	} {
		if got.got != got.want {
			t.Errorf("%s stored as %q, want %q", got.field, got.got, got.want)
		}
	}
	for _, c := range ch.Changes {
		if c.GUID == guidA && c.Name != want {
			t.Errorf("the change names %q, want %q", c.Name, want)
		}
	}
	if b, _ := cache.ByGUID(ctx, guidB); b == nil || b.AdministrativeBodyName != plain.AdministrativeBodyName {
		t.Errorf("legitimate name changed: %+v", b)
	}
	// A second sync of the same answer changes nothing: the stored form is stable.
	if ch, err := s.Sync(ctx, register.Full); err != nil || len(ch.Changes) != 0 {
		t.Errorf("second sync: %+v %v", ch, err)
	}
}
