package register_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// fifty is a register of 50 participants, the 17th with a .NET serial.
func fifty() []register.Entity {
	es := make([]register.Entity, 50)
	for i := range es {
		es[i] = ent(fmt.Sprintf("{aaaaaaaa-0000-4000-8000-%012d}", i+1), fmt.Sprintf("%09d", 100000+i), register.Active, fmt.Sprintf("%04X", 0x1000+i))
	}
	es[16].CertificateSN = "00a1b2c3"
	return es
}

// answering serves a register over real mutual TLS whose answer is set by
// the returned function: a listing in the test register's form, or (l nil)
// the text given. date, if not "", is its HTTP Date.
func answering(t *testing.T, p *testPKI, date string) (set func(l *register.Listing, text ...string) []byte, url string) {
	t.Helper()
	var answer atomic.Pointer[[]byte]
	set = func(l *register.Listing, text ...string) []byte {
		var b []byte
		if l != nil {
			b = daeu.EncodeResponse(daeu.GetAllRecords, l, nil)
		} else {
			b = []byte(strings.Join(text, ""))
		}
		answer.Store(&b)
		return b
	}
	url = stubRegister(t, p, func(w http.ResponseWriter, r *http.Request) {
		if date != "" {
			w.Header().Set("Date", date)
		}
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
		w.Write(*answer.Load())
	})
	return set, url
}

// TestSyncOneMalformedOfFifty: over real mutual TLS, a full listing of 50
// whose 17th entity has an unreadable LastChange applies the other 49 in
// one transaction; the 17th keeps its last good copy (not updated, not
// removed) and is reported by Guid, field and value in the log, the metric
// and the sync output. When the register mends it, it applies.
func TestSyncOneMalformedOfFifty(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	es := fifty()
	serve, url := answering(t, p, "")
	cache, _ := openCache(t, clk)
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clk)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := register.NewSyncer(cache, p.client(t, url, p.node, 5*time.Second, 0), register.SyncOptions{Clock: clk, Metrics: m,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})

	serve(&register.Listing{Entities: es, Cursor: "2026-04-08T12:00:00+03:00"})
	if ch, err := s.Sync(ctx, register.Full); err != nil || len(ch.Changes) != 50 || len(ch.Rejected) != 0 {
		t.Fatalf("first sync: %+v %v", ch, err)
	}
	before, _ := cache.ByGUID(ctx, es[16].GUID)
	if before.CertificateSN != "00a1b2c3" {
		t.Errorf("serial %q: the register's own text must be kept", before.CertificateSN)
	}

	// Every participant changes; the 17th arrives with a date no parser takes.
	changed := fifty()
	for i := range changed {
		changed[i].Status = register.TemporarilyInactive
		changed[i].LastChange = t0
	}
	bad := "<Guid xsi:type=\"xsd:string\">" + es[16].GUID + "</Guid>"
	// The 17th's LastChange is the first after its Guid.
	s17 := string(serve(&register.Listing{Entities: changed, Cursor: "2026-04-08T12:10:00+03:00"}))
	at := strings.Index(s17, bad)
	lc := strings.Index(s17[at:], `<LastChange xsi:type="xsd:dateTime">`) + at
	end := strings.Index(s17[lc:], "</LastChange>") + lc
	serve(nil, s17[:lc]+`<LastChange xsi:type="xsd:dateTime">08.04.2026 12:00`+s17[end:])

	clk.Advance(time.Minute)
	ch, err := s.Sync(ctx, register.Full)
	if err != nil {
		t.Fatalf("one bad entity failed the sync: %v", err)
	}
	if len(ch.Changes) != 49 || ch.Cursor != "2026-04-08T12:10:00+03:00" || len(ch.Rejected) != 1 {
		t.Fatalf("changes %d, rejected %d, cursor %q; want 49, 1 and the new cursor", len(ch.Changes), len(ch.Rejected), ch.Cursor)
	}
	r := ch.Rejected[0]
	if r.GUID != es[16].GUID || r.Field != "LastChange" || r.Value != "08.04.2026 12:00" || !r.Kept || r.Index != 17 {
		t.Errorf("rejection %+v", r)
	}
	for i, e := range es {
		got, err := cache.ByGUID(ctx, e.GUID)
		if err != nil || got == nil || got.Removed {
			t.Fatalf("entity %d: %+v %v", i+1, got, err)
		}
		want := register.TemporarilyInactive
		if i == 16 {
			want = register.Active // the last good copy
			if !got.LastChange.Equal(before.LastChange) {
				t.Errorf("the 17th's copy changed: %+v", got)
			}
		}
		if got.Status != want {
			t.Errorf("entity %d is %s, want %s", i+1, got.Status, want)
		}
	}
	if v := metric(t, prom, "seosgw_register_records_rejected_total", map[string]string{"field": "LastChange"}); v != 1 {
		t.Errorf("seosgw_register_records_rejected_total{field=LastChange} = %v", v)
	}
	if v := metric(t, prom, "seosgw_register_records_rejected_total", map[string]string{"field": "Guid"}); v != 0 {
		t.Errorf("seosgw_register_records_rejected_total{field=Guid} = %v, want a zero series", v)
	}
	for _, want := range []string{"register entity rejected", "guid=" + es[16].GUID, "field=LastChange", `value="08.04.2026 12:00"`, "kept_last_good_copy=true"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	var out strings.Builder
	if err := register.WriteChanges(&out, ch); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"49 changed, 0 unchanged, 1 rejected", "rejected " + es[16].GUID + " Body 000100016: LastChange \"08.04.2026 12:00\"",
		"the copy keeps its last good version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("sync output lacks %q:\n%s", want, out.String())
		}
	}

	// The register mends the record: it applies like any change.
	serve(&register.Listing{Entities: changed, Cursor: "2026-04-08T12:20:00+03:00"})
	if ch, err := s.Sync(ctx, register.Full); err != nil || len(ch.Changes) != 1 || ch.Changes[0].GUID != es[16].GUID || len(ch.Rejected) != 0 {
		t.Fatalf("mended: %+v %v", ch, err)
	}
}

// TestSyncUnsetLastChange: .NET's unset DateTime keeps the entity, warns
// naming it, and leaves the cursor: the one in force, or for a first sync
// the register's own time of answering.
func TestSyncUnsetLastChange(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	set, url := answering(t, p, "Wed, 08 Apr 2026 09:00:10 GMT")
	cache, _ := openCache(t, clk)
	var logs bytes.Buffer
	s := register.NewSyncer(cache, p.client(t, url, p.node, 5*time.Second, 0), register.SyncOptions{Clock: clk,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	a := ent(guidA, "000695089", register.Active, "01")
	a.LastChange = time.Time{}
	unset := strings.ReplaceAll(string(daeu.EncodeResponse(daeu.GetAllRecords, &register.Listing{Entities: []register.Entity{a}}, nil)),
		"<LastChange xsi:type=\"xsd:dateTime\"></LastChange>", "<LastChange xsi:type=\"xsd:dateTime\">0001-01-01T00:00:00</LastChange>")
	set(nil, unset)
	ch, err := s.Sync(ctx, register.Full)
	if err != nil {
		t.Fatal(err)
	}
	// The Date header less the call's duration and a second, in whole seconds.
	if !strings.HasPrefix(ch.Cursor, "2026-04-08T12:00:0") || ch.Cursor > "2026-04-08T12:00:09+03:00" {
		t.Errorf("first cursor %q; want from the register's Date, a little before 12:00:10 Sofia", ch.Cursor)
	}
	if len(ch.Warnings) != 2 || ch.Warnings[0].GUID != guidA || ch.Warnings[0].Name != "Body 000695089" {
		t.Errorf("warnings %+v; want one naming the participant and one for the answer", ch.Warnings)
	}
	if e, _ := cache.ByGUID(ctx, guidA); e == nil || !e.LastChange.IsZero() {
		t.Errorf("entity %+v; want kept without a time of change", e)
	}
	if !strings.Contains(logs.String(), "guid="+guidA) || !strings.Contains(logs.String(), "0001-01-01T00:00:00") {
		t.Errorf("log does not name the participant and the value:\n%s", logs.String())
	}
	first := ch.Cursor
	clk.Advance(time.Minute)
	if ch, err = s.Sync(ctx, register.Auto); err != nil || ch.Cursor != first {
		t.Errorf("second sync: cursor %q (%v); want %q kept", ch.Cursor, err, first)
	}
}
