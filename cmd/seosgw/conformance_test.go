package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/testregister"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{strings.NewReader(""), &out, &errb})
	return out.String(), errb.String(), code
}

func TestConformanceRunArguments(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "conformance.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, example, 0o644)
	guid := "{11111111-2222-4333-8444-555555555555}"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conformance", "run"}, "--config FILE and --participant GUID are required"},
		{[]string{"conformance", "run", "--config", cfg}, "are required"},
		{[]string{"conformance", "run", "--config", filepath.Join(dir, "missing.yaml"), "--participant", guid}, "missing.yaml"},
		{[]string{"conformance", "run", "--config", cfg, "--participant", guid, "--skip", "tls,nonsense"}, `unknown check "nonsense"`},
		{[]string{"conformance", "run", "--config", cfg, "--participant", guid, "--every", "6h"}, "--every and --until go together"},
		{[]string{"conformance", "run", "--config", cfg, "--participant", guid, "--every", "soon", "--until", "2026-12-15"}, "give a duration"},
		{[]string{"conformance", "run", "--config", cfg, "--participant", guid, "--async-timeout", "-1m"}, "--async-timeout"},
		{[]string{"conformance", "cases"}, "--register-db FILE"},
	} {
		_, errOut, code := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
	if _, errOut, code := runCmd(t, "conformance"); code != 2 || !strings.Contains(errOut, "run") || !strings.Contains(errOut, "cases") {
		t.Errorf("seosgw conformance: exit %d\n%s", code, errOut)
	}
}

// A run whose setup fails (no certificates at the configured paths) is the
// harness's problem: exit 2, and still a report saying why.
func TestConformanceRunCannotTest(t *testing.T) {
	dir := t.TempDir()
	example, _ := os.ReadFile(filepath.Join("..", "..", "configs", "conformance.example.yaml"))
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, example, 0o644)
	reports := filepath.Join(dir, "reports")
	out, errOut, code := runCmd(t, "conformance", "run", "--config", cfg, "--participant", "{11111111-2222-4333-8444-555555555555}", "--report-dir", reports)
	if code != 2 || !strings.Contains(out, "cannot test") || !strings.Contains(out, "verdict: error") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(reports, "history.json"))
	if err != nil || !strings.Contains(string(b), `"verdict": "error"`) || !strings.Contains(string(b), "ca:") {
		t.Errorf("history.json: %v\n%s", err, b)
	}
}

func TestConformanceCases(t *testing.T) {
	db := filepath.Join(t.TempDir(), "register.db")
	ctx := context.Background()
	reg, err := testregister.Open(ctx, db, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	guid := "{11111111-2222-4333-8444-555555555555}"
	applied, _ := testregister.Date("2026-04-01")
	issued, _ := testregister.Date("2026-04-03")
	if _, err := reg.Add(ctx, register.Entity{GUID: guid, Identifier: "000695089", AdministrativeBodyName: "Община Пример", CertificateSN: "0A1B"},
		&testregister.Joining{Applied: applied, CertIssued: issued}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RecordVerdict(ctx, guid, testregister.Fail, "/reports/r1/report.html"); err != nil {
		t.Fatal(err)
	}
	reg.Close()

	out, errOut, code := runCmd(t, "conformance", "cases", "--register-db", db)
	// 14 working days from Friday 3 April 2026, over Orthodox Easter (10-13 April): 27 April.
	if code != 0 || !strings.Contains(out, guid) || !strings.Contains(out, "2026-04-27") || !strings.Contains(out, "fail ") ||
		!strings.Contains(out, "/reports/r1/report.html") || !strings.Contains(out, "overdue") {
		t.Errorf("cases: exit %d\n%s%s", code, out, errOut)
	}
	holidays := filepath.Join("..", "..", "register", "testregister", "testdata", "holidays-2026.yaml")
	out, _, code = runCmd(t, "conformance", "cases", "--register-db", db, "--holidays", holidays, "--json")
	var cs []struct {
		GUID        string `json:"guid"`
		Deadline    string `json:"deadline"`
		LastVerdict struct {
			Verdict string    `json:"verdict"`
			At      time.Time `json:"at"`
		} `json:"lastVerdict"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 1 || cs[0].LastVerdict.Verdict != "fail" {
		t.Fatalf("cases --json: exit %d\n%s", code, out)
	}
	if cs[0].Deadline != "2026-04-28" { // the decree's day off (14 April) moves it by one
		t.Errorf("deadline with the decree overrides: %s", cs[0].Deadline)
	}
}
