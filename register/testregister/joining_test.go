package testregister

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/workdays"
	"github.com/seosgw/seosgw/register"
)

const (
	gA = "{aaaaaaaa-0000-4000-8000-000000000001}"
	gB = "{bbbbbbbb-0000-4000-8000-000000000002}"
	gC = "{cccccccc-0000-4000-8000-000000000003}"
)

func day(s string) time.Time {
	d, err := Date(s)
	if err != nil {
		panic(err)
	}
	return d
}

func open(t *testing.T, clk clock.Clock, cal *workdays.Calendar) *Register {
	t.Helper()
	r, err := Open(context.Background(), filepath.Join(t.TempDir(), "register.db"), Options{Clock: clk, Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func participant(guid, eik string, st register.Status) register.Entity {
	return register.Entity{GUID: guid, Identifier: eik, AdministrativeBodyName: "Агенция " + eik, Status: st, CertificateSN: "0a:" + eik,
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен", URI: "https://" + eik + ".obmen.local:4443/seos", Status: register.Active, Version: "1"}}}
}

// TestDeadlineUsesTheCalendar: 14 working days on the Bulgarian calendar,
// counted from the later of the application and the certificate's issue.
func TestDeadlineUsesTheCalendar(t *testing.T) {
	overrides, err := workdays.LoadOverrides(filepath.Join("testdata", "holidays-2026.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plain := open(t, clock.NewManual(time.Now()), nil)
	decreed := open(t, clock.NewManual(time.Now()), workdays.New(overrides))
	cases := []struct {
		name            string
		r               *Register
		applied, issued string
		want            string
	}{
		// Orthodox Easter 2026 is 12 April: Good Friday 10th to Easter Monday 13th are off.
		// Without them the deadline would be 2026-04-28.
		{"application before Easter", plain, "2026-04-08", "2026-04-08", "2026-04-30"},
		{"certificate issued later", plain, "2026-04-08", "2026-04-20", "2026-05-12"}, // 1 May and 6 May are holidays
		{"certificate issued earlier", plain, "2026-04-20", "2026-04-08", "2026-05-12"},
		{"decree: an extra day off", decreed, "2026-04-08", "2026-04-08", "2026-05-04"},
		{"decree: a working Saturday", decreed, "2026-05-04", "2026-05-04", "2026-05-22"},
		{"same without decree", plain, "2026-05-04", "2026-05-04", "2026-05-26"}, // 24 May is a Sunday: off on Monday 25th
		{"24 May on a Sunday moves to Monday", plain, "2026-05-20", "2026-05-20", "2026-06-10"},
		{"certificate not issued", plain, "2026-04-08", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var issued time.Time
			if c.issued != "" {
				issued = day(c.issued)
			}
			got := formatDate(c.r.Deadline(day(c.applied), issued))
			if got != c.want {
				t.Errorf("deadline %q, want %q", got, c.want)
			}
		})
	}
}

func TestJoiningCaseLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)) // Thursday after the application
	r := open(t, clk, nil)
	if _, err := r.Add(ctx, participant(gA, "111", register.Inactive), &Joining{Applied: day("2026-04-08")}); err != nil {
		t.Fatal(err)
	}
	c, err := r.Case(ctx, gA)
	if err != nil || c == nil || c.State != CaseOpen || !c.Deadline.IsZero() {
		t.Fatalf("case before the certificate: %+v %v", c, err)
	}
	if _, err := r.SetCertificate(ctx, gA, "0BAD", day("2026-04-08")); err != nil {
		t.Fatal(err)
	}
	c, _ = r.Case(ctx, gA)
	if formatDate(c.Deadline) != "2026-04-30" || c.WorkingDaysLeft != 13 {
		t.Errorf("deadline %s, %d working days left on Thursday 9 April (want 2026-04-30, 13)", formatDate(c.Deadline), c.WorkingDaysLeft)
	}
	clk.Set(time.Date(2026, 5, 4, 7, 0, 0, 0, time.UTC))
	if c, _ = r.Case(ctx, gA); c.WorkingDaysLeft != -1 {
		t.Errorf("on 4 May: %d working days left, want -1 (overdue)", c.WorkingDaysLeft)
	}

	// No activation without a passing verdict.
	if _, err := r.Activate(ctx, gA, false); err == nil || !strings.Contains(err.Error(), "no test verdict") {
		t.Errorf("activate without verdict: %v", err)
	}
	if _, err := r.RecordVerdict(ctx, gA, Fail, "/reports/1.html"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Activate(ctx, gA, false); err == nil || !strings.Contains(err.Error(), "latest verdict is fail") {
		t.Errorf("activate after a failed test: %v", err)
	}
	if _, err := r.RecordVerdict(ctx, gA, "maybe", ""); err == nil {
		t.Error("verdict \"maybe\" accepted")
	}
	c, err = r.RecordVerdict(ctx, gA, Pass, "/reports/2.html")
	if err != nil || len(c.Verdicts) != 2 || c.Verdicts[0].Verdict != Fail || c.Verdicts[1].Report != "/reports/2.html" || !c.Passed() {
		t.Fatalf("verdict history %+v %v", c, err)
	}
	before, _ := r.Get(ctx, gA)
	e, err := r.Activate(ctx, gA, false)
	if err != nil || e.Status != register.Active {
		t.Fatalf("activate: %+v %v", e, err)
	}
	if !e.LastChange.After(before.LastChange) {
		t.Error("activation did not bump LastChange")
	}
	if c, _ = r.Case(ctx, gA); c.State != CaseActivated || c.ClosedAt.IsZero() {
		t.Errorf("case after activation: %+v", c)
	}
	if cs, _ := r.Cases(ctx, true); len(cs) != 0 {
		t.Errorf("open cases after activation: %+v", cs)
	}
	if _, err := r.RecordVerdict(ctx, gA, Pass, ""); err == nil {
		t.Error("verdict recorded without an open case")
	}
}

// TestNoBackDoorToActive: set-status, add and import cannot make Active a
// participant that is Inactive or joining; activate can, with a verdict or --force.
func TestNoBackDoorToActive(t *testing.T) {
	ctx := context.Background()
	r := open(t, clock.NewManual(time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)), nil)
	if _, err := r.Add(ctx, participant(gA, "111", register.Active), &Joining{Applied: day("2026-04-08")}); !errors.Is(err, ErrActivation) {
		t.Errorf("add Active with a joining case: %v", err)
	}
	if _, err := r.Add(ctx, participant(gA, "111", register.Inactive), &Joining{Applied: day("2026-04-08")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, participant(gB, "222", register.Inactive), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, participant(gC, "333", register.Active), nil); err != nil { // seeding a live peer
		t.Fatal(err)
	}
	for _, step := range []struct {
		guid string
		to   register.Status
		ok   bool
	}{
		{gA, register.Active, false},              // joining
		{gA, register.TemporarilyInactive, false}, // would lead to Active next
		{gB, register.Active, false},              // Inactive, no case
		{gB, register.TemporarilyInactive, false},
		{gC, register.TemporarilyInactive, true}, // suspension of a live participant
		{gC, register.Active, true},              // and its end
		{gC, register.Inactive, true},
		{gC, register.Active, false},
	} {
		_, err := r.SetStatus(ctx, step.guid, step.to)
		if (err == nil) != step.ok {
			t.Errorf("set-status %s %s: %v", step.guid, step.to, err)
		}
	}
	// Import: the file would make A and B Active.
	var dump strings.Builder
	if err := r.Export(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	activeAll := strings.ReplaceAll(dump.String(), `"status": "Inactive"`, `"status": "Active"`)
	if _, err := r.Import(ctx, strings.NewReader(activeAll), ImportOptions{}); !errors.Is(err, ErrActivation) {
		t.Errorf("import as a back door: %v", err)
	}
	if e, _ := r.Get(ctx, gA); e.Status != register.Inactive {
		t.Errorf("refused import changed A: %s", e.Status)
	}
	// activate: B has no case, so only --force; A needs its verdict.
	if _, err := r.Activate(ctx, gB, false); err == nil || !strings.Contains(err.Error(), "no open joining case") {
		t.Errorf("activate without case: %v", err)
	}
	if e, err := r.Activate(ctx, gB, true); err != nil || e.Status != register.Active {
		t.Errorf("activate --force: %+v %v", e, err)
	}
	if _, err := r.Import(ctx, strings.NewReader(activeAll), ImportOptions{Force: true}); err != nil {
		t.Errorf("import --force: %v", err)
	}
}

func TestChangesBumpLastChange(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)) // the clock stands still
	r := open(t, clk, nil)
	if _, err := r.Add(ctx, participant(gC, "333", register.Active), nil); err != nil {
		t.Fatal(err)
	}
	changes := []func() (*register.Entity, error){
		func() (*register.Entity, error) { return r.SetStatus(ctx, gC, register.TemporarilyInactive) },
		func() (*register.Entity, error) { return r.SetCertificate(ctx, gC, "ff:01", time.Time{}) },
		func() (*register.Entity, error) {
			return r.UpdateService(ctx, gC, "", func(s *register.Service) { s.URI = "https://new.obmen.local/seos" })
		},
		func() (*register.Entity, error) {
			return r.UpdateService(ctx, gC, "{00000000-0000-4000-8000-00000000000f}", func(s *register.Service) { s.Name = "other" })
		},
		func() (*register.Entity, error) {
			return r.RemoveService(ctx, gC, "{00000000-0000-4000-8000-00000000000F}")
		},
	}
	prev, _ := r.Get(ctx, gC)
	for i, change := range changes {
		e, err := change()
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		if !e.LastChange.After(prev.LastChange) {
			t.Errorf("change %d: LastChange %s not after %s", i, e.LastChange, prev.LastChange)
		}
		since, _ := r.Since(ctx, prev.LastChange)
		if len(since.Entities) != 1 || !since.LastChange.Equal(e.LastChange) {
			t.Errorf("change %d: GetNewRecords(previous LastChange) = %+v", i, since)
		}
		prev = e
	}
	if prev.CertificateSN != "FF01" || len(prev.Services) != 1 || prev.Services[0].URI != "https://new.obmen.local/seos" {
		t.Errorf("after the changes: %+v", prev)
	}
	if _, err := r.SetCertificate(ctx, gC, "not hex", time.Time{}); err == nil {
		t.Error("serial \"not hex\" accepted")
	}
}
