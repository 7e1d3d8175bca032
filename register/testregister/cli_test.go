package testregister

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/register"
)

// TestOpenExisting: readers of the register never create it; a wrong path
// says so instead of reading as an empty register.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "register.db")
	if _, err := Open(ctx, path, Options{Existing: true}); !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), path) {
		t.Errorf("missing database: %v; want ErrNoDatabase naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open with Existing created %s (%v)", path, err)
	}
	r, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, participant(gA, "111", register.Inactive), &Joining{Applied: day("2026-04-01"), CertIssued: day("2026-04-03")}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The decree's day off (14 April) moves the deadline by one.
	holidays := filepath.Join("testdata", "holidays-2026.yaml")
	for hol, want := range map[string]string{"": "2026-04-27", holidays: "2026-04-28"} {
		r, err := OpenWithHolidays(ctx, path, hol, Options{Existing: true})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Case(ctx, gA)
		r.Close()
		if err != nil || c == nil || formatDate(c.Deadline) != want {
			t.Errorf("holidays %q: case %+v %v; want deadline %s", hol, c, err, want)
		}
	}
	if _, err := OpenWithHolidays(ctx, path, "no-such-holidays.yaml", Options{}); err == nil || !strings.Contains(err.Error(), "holidays") {
		t.Errorf("a missing holidays file: %v", err)
	}
}

func TestTransportCertFromFile(t *testing.T) {
	ca, err := pki.NewAuthority("Test DAEU CA", pki.WithKeyBits(2048))
	if err != nil {
		t.Fatal(err)
	}
	// Issued at 23:30 UTC on 2 April: already 3 April in Sofia.
	notBefore := time.Date(2026, 4, 2, 23, 30, 0, 0, time.UTC)
	id, err := ca.IssueTransport("node.obmen.local", pki.WithKeyBits(2048), pki.WithValidity(notBefore, notBefore.AddDate(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	certFile, _, err := id.WriteFiles(t.TempDir(), "node")
	if err != nil {
		t.Fatal(err)
	}
	serial, issued, err := TransportCertFromFile(certFile)
	if err != nil || serial != pki.SerialHex(id.Cert) || !issued.Equal(day("2026-04-03")) {
		t.Errorf("TransportCertFromFile = %s, %s, %v; want %s, 2026-04-03", serial, issued, err, pki.SerialHex(id.Cert))
	}
	if _, _, err := TransportCertFromFile(filepath.Join(t.TempDir(), "none.pem")); err == nil {
		t.Error("a missing file: no error")
	}
	if s := ExchangeService("https://x.obmen.local/seos"); s.GUID != register.ExchangeServiceGUID || s.Status != register.Active || s.URI != "https://x.obmen.local/seos" {
		t.Errorf("ExchangeService: %+v", s)
	}
}

// TestExportFile: the file is replaced whole; a failed export leaves the
// previous file as it was and no temporary file behind.
func TestExportFile(t *testing.T) {
	ctx := context.Background()
	r := filled(t, clock.NewManual(time.Date(2026, 4, 9, 10, 0, 0, 0, time.UTC)))
	dir := t.TempDir()
	path := filepath.Join(dir, "register.json")
	if err := os.WriteFile(path, []byte("previous export\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.ExportFile(cancelled, path); err == nil {
		t.Fatal("an export that cannot read the register succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != "previous export\n" {
		t.Errorf("a failed export changed the file: %q", b)
	}
	if err := r.ExportFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := r.Export(ctx, &want); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, want.Bytes()) {
		t.Errorf("exported file differs from Export")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestCaseViews: one view of a joining case for both CLIs, with the last
// verdict and the number of runs.
func TestCaseViews(t *testing.T) {
	ctx := context.Background()
	r := filled(t, clock.NewManual(time.Date(2026, 4, 9, 10, 0, 0, 0, time.UTC)))
	cs, err := r.Cases(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCasesJSON(&b, cs); err != nil {
		t.Fatal(err)
	}
	var views []CaseView
	if err := json.Unmarshal(b.Bytes(), &views); err != nil || len(views) != len(cs) {
		t.Fatalf("%v\n%s", err, b.String())
	}
	var activated *CaseView
	for i := range views {
		if views[i].GUID == gA {
			activated = &views[i]
		}
	}
	if activated == nil || activated.Runs != 2 || activated.LastVerdict == nil || activated.LastVerdict.Verdict != Pass ||
		len(activated.Verdicts) != 2 || activated.State != CaseActivated || activated.Deadline == "" || activated.WorkingDaysLeft == nil {
		t.Errorf("activated case: %+v", activated)
	}
	b.Reset()
	if err := WriteCases(&b, cs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WORKING DAYS LEFT", "pass ", "(2 runs)", "/r/2.html", "- (activated)", "- (certificate not issued)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteCasesJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no cases: %q %v", b.String(), err)
	}
}
