package testregister

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/register"
)

// filled makes a register with every kind of record: a live participant,
// a joining one with verdicts, an activated case and a withdrawn one.
func filled(t *testing.T, clk *clock.Manual) *Register {
	t.Helper()
	ctx := context.Background()
	r := open(t, clk, nil)
	live := participant(gC, "333", register.Active)
	live.ParentGUID = gA
	live.Contact = register.Contact{Phone: "+359 2 949 20 40", Fax: "-", EmailAddress: "x@example.bg"}
	steps := []error{
		func() error { _, err := r.Add(ctx, live, nil); return err }(),
		func() error {
			_, err := r.Add(ctx, participant(gA, "111", register.Inactive), &Joining{Applied: day("2026-04-08"), CertIssued: day("2026-04-09")})
			return err
		}(),
		func() error { _, err := r.RecordVerdict(ctx, gA, Fail, "/r/1.html"); return err }(),
		func() error {
			clk.Advance(time.Hour)
			_, err := r.RecordVerdict(ctx, gA, Pass, "/r/2.html")
			return err
		}(),
		func() error { _, err := r.Activate(ctx, gA, false); return err }(),
		func() error {
			_, err := r.Add(ctx, participant(gB, "222", register.Inactive), &Joining{Applied: day("2026-03-02")})
			return err
		}(),
		r.WithdrawCase(ctx, gB),
		func() error { _, err := r.OpenCase(ctx, gB, Joining{Applied: day("2026-04-20")}); return err }(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return r
}

func export(t *testing.T, r *Register) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Export(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 4, 20, 7, 0, 0, 0, time.UTC))
	first := export(t, filled(t, clk))

	restored := open(t, clk, nil)
	res, err := restored.Import(ctx, bytes.NewReader(first), ImportOptions{KeepLastChange: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entities != 3 || res.Cases != 3 {
		t.Errorf("imported %+v", res)
	}
	if second := export(t, restored); !bytes.Equal(first, second) {
		t.Errorf("export → import → export differs:\n%s\n---\n%s", first, second)
	}
	var d Dump
	if err := json.Unmarshal(first, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Cases) != 3 || len(d.Cases[0].Verdicts) != 2 || d.Entities[2].Contact.Phone != "+359 2 949 20 40" {
		t.Errorf("dump %+v", d)
	}
	c, _ := restored.Case(ctx, gB)
	if c.State != CaseOpen || formatDate(c.AppliedOn) != "2026-04-20" {
		t.Errorf("B's open case after restore: %+v", c)
	}

	// Without --keep-last-change every imported participant is a change now.
	clk.Advance(time.Hour)
	merged := open(t, clk, nil)
	if _, err := merged.Import(ctx, bytes.NewReader(first), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	since, _ := merged.Since(ctx, clk.Now().Add(-time.Second))
	if len(since.Entities) != 3 {
		t.Errorf("GetNewRecords after an import sees %d participants, want 3", len(since.Entities))
	}
}

func TestImportRefusesBadFilesWhole(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 4, 20, 7, 0, 0, 0, time.UTC))
	r := filled(t, clk)
	good := string(export(t, r))
	before := export(t, r)
	cases := map[string]string{
		"not JSON":       "entities: []",
		"unknown field":  strings.Replace(good, `"format"`, `"colour": 1, "format"`, 1),
		"wrong format":   strings.Replace(good, DumpFormat, "something/2", 1),
		"bad status":     strings.Replace(good, `"status": "Active"`, `"status": "Live"`, 1),
		"bad GUID":       strings.Replace(good, `"guid": "{cccccccc-0000-4000-8000-000000000003}"`, `"guid": "cccc"`, 1),
		"GUID twice":     strings.Replace(good, `{aaaaaaaa-0000-4000-8000-000000000001}`, `{CCCCCCCC-0000-4000-8000-000000000003}`, 2),
		"bad case date":  strings.Replace(good, `"appliedOn": "2026-04-08"`, `"appliedOn": "08.04.2026"`, 1),
		"bad verdict":    strings.Replace(good, `"verdict": "fail"`, `"verdict": "meh"`, 1),
		"removed flag":   strings.Replace(good, `"status": "Active"`, `"status": "Active", "removed": true`, 1),
		"two open cases": strings.Replace(good, `"state": "withdrawn"`, `"state": "open"`, 1),
		"unknown case GUID": strings.Replace(good, `"guid": "{bbbbbbbb-0000-4000-8000-000000000002}",
      "state"`, `"guid": "{dddddddd-0000-4000-8000-000000000004}",
      "state"`, 1),
	}
	for name, doc := range cases {
		if doc == good {
			t.Fatalf("%s: test bug, the file is unchanged", name)
		}
		if _, err := r.Import(ctx, strings.NewReader(doc), ImportOptions{Force: true}); err == nil {
			t.Errorf("%s: imported", name)
		}
		if after := export(t, r); !bytes.Equal(before, after) {
			t.Errorf("%s: a refused import changed the register", name)
		}
	}
}
