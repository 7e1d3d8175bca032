package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/conformance"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/testregister"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
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
		{[]string{"conformance", "run", "--config", cfg, "--participant", guid, "--lang", "de"}, `--lang: "de" is not a report language`},
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

// --pdf needs Debian's chromium; without it the run does not start, and
// the error says how to get it.
func TestConformanceRunPDFNeedsChromium(t *testing.T) {
	dir := t.TempDir()
	example, _ := os.ReadFile(filepath.Join("..", "..", "configs", "conformance.example.yaml"))
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, example, 0o644)
	t.Setenv("PATH", t.TempDir())
	_, errOut, code := runCmd(t, "conformance", "run", "--config", cfg, "--participant", "{11111111-2222-4333-8444-555555555555}", "--pdf",
		"--report-dir", filepath.Join(dir, "reports"))
	if code != 2 || !strings.Contains(errOut, "--pdf") || !strings.Contains(errOut, "apt-get install chromium") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "reports")); err == nil {
		t.Error("a run started without the means to print its PDF")
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

// harnessEnv is a PKI, a test register served in this process listing the
// harness's two identities and a joining participant, and a harness
// configuration in a folder of its own (cfg/), the register database in
// another (db/).
type harnessEnv struct {
	dir, config, regDB, participant string
}

func newHarnessEnv(t *testing.T) *harnessEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	hosts := []string{"daeu-test.obmen.local", "daeu-inactive.obmen.local", "participant.obmen.local", "register.obmen.local"}
	tp, err := pki.MakeTestPKI(filepath.Join(dir, "pki"), hosts, pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	serial := func(host string) string {
		certs, err := pki.LoadCertificates(tp.Hosts[host].Cert)
		if err != nil {
			t.Fatal(err)
		}
		return pki.SerialHex(certs[0])
	}
	e := &harnessEnv{dir: dir, config: filepath.Join(dir, "cfg", "conformance.yaml"), regDB: filepath.Join(dir, "db", "register.db"),
		participant: "{33333333-4444-4555-8666-777777777777}"}
	harnessGUID, inactiveGUID := "{11111111-2222-4333-8444-555555555555}", "{22222222-3333-4444-8555-666666666666}"
	listenURL := "https://127.0.0.1:1/seos/endpoint"
	reg, err := testregister.Open(ctx, e.regDB, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		e    register.Entity
		join *testregister.Joining
	}{
		{register.Entity{GUID: harnessGUID, Identifier: "177394200", AdministrativeBodyName: "ДАЕУ – тестов участник", Status: register.Active,
			CertificateSN: serial(hosts[0]), Services: []register.Service{testregister.ExchangeService(listenURL)}}, nil},
		{register.Entity{GUID: inactiveGUID, Identifier: "177394200", AdministrativeBodyName: "ДАЕУ – неактивен", Status: register.Inactive,
			CertificateSN: serial(hosts[1])}, nil},
		{register.Entity{GUID: e.participant, Identifier: "000695089", AdministrativeBodyName: "Община Пример", Status: register.Inactive,
			CertificateSN: serial(hosts[2]), Services: []register.Service{testregister.ExchangeService("https://127.0.0.1:1/seos/endpoint")}},
			&testregister.Joining{Applied: time.Now().AddDate(0, 0, -2), CertIssued: time.Now().AddDate(0, 0, -1)}},
	} {
		if _, err := reg.Add(ctx, x.e, x.join); err != nil {
			t.Fatal(err)
		}
	}
	srvCtx, cancel := context.WithCancel(ctx)
	addr, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() {
		done <- reg.Serve(srvCtx, testregister.ServeConfig{Listen: "127.0.0.1:0", CertFile: tp.Hosts[hosts[3]].Cert, KeyFile: tp.Hosts[hosts[3]].Key,
			ClientCAFile: tp.CACert}, func(a net.Addr) { addr <- a })
	}()
	t.Cleanup(func() { cancel(); <-done; reg.Close() })
	var regURL string
	select {
	case a := <-addr:
		regURL = "https://" + a.String() + "/service/"
	case err := <-done:
		t.Fatal(err)
	}
	y := fmt.Sprintf(`test_participant: {guid: "%s", eik: "177394200", name: "ДАЕУ – тестов участник", cert: "%s", key: "%s"}
inactive_participant: {guid: "%s", eik: "177394200", name: "ДАЕУ – неактивен", cert: "%s", key: "%s"}
ca: "%s"
register: {url: "%s", timeout: 10s}
listen: {address: "127.0.0.1:0", public_url: "%s"}
schema_validator: "off"
report_dir: reports
`, harnessGUID, tp.Hosts[hosts[0]].Cert, tp.Hosts[hosts[0]].Key, inactiveGUID, tp.Hosts[hosts[1]].Cert, tp.Hosts[hosts[1]].Key,
		tp.CACert, regURL, listenURL)
	if err := os.MkdirAll(filepath.Dir(e.config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the harness with every check skipped: the setup (register
// look-ups, the joining case) and the reports still happen.
func (e *harnessEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, append([]string{"conformance", "run", "--config", e.config, "--participant", e.participant,
		"--skip", strings.Join(conformance.CheckNames, ",")}, args...)...)
}

// TestConformanceRegisterDBFlag: --register-db is a path from the working
// folder, like --report-dir, not from the config file's folder; and a path
// where no register is fails clearly instead of creating an empty one.
func TestConformanceRegisterDBFlag(t *testing.T) {
	e := newHarnessEnv(t)
	t.Chdir(filepath.Dir(e.regDB))
	reports := filepath.Join(e.dir, "reports")
	out, errOut, code := e.run(t, "--register-db", filepath.Base(e.regDB), "--report-dir", reports)
	if code != 3 { // nothing failed, every check skipped: incomplete
		t.Fatalf("exit %d, want 3:\n%s%s", code, out, errOut)
	}
	h, err := conformance.ReadHistory(reports)
	if err != nil || len(h.Runs) != 1 {
		t.Fatalf("history %+v %v", h, err)
	}
	rep, err := conformance.ReadReport(filepath.Join(reports, h.Runs[0].JSON))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joining == nil || rep.Joining.State != "open" || rep.Joining.Deadline == "" {
		t.Errorf("the report does not show the joining case from --register-db: %+v", rep.Joining)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.config), filepath.Base(e.regDB))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a register was created beside the config file (%v)", err)
	}

	out, errOut, code = e.run(t, "--register-db", "missing.db", "--report-dir", reports)
	if code != 2 || !strings.Contains(out+errOut, "does not exist") || !strings.Contains(out+errOut, filepath.Join(filepath.Dir(e.regDB), "missing.db")) {
		t.Errorf("a missing --register-db: exit %d, want 2 saying where nothing exists:\n%s%s", code, out, errOut)
	}
	for _, d := range []string{filepath.Dir(e.regDB), filepath.Dir(e.config)} {
		if _, err := os.Stat(filepath.Join(d, "missing.db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing.db was created in %s (%v)", d, err)
		}
	}
	if _, errOut, code := runCmd(t, "conformance", "cases", "--register-db", "missing.db"); code == 0 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("conformance cases of a missing register: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat("missing.db"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("conformance cases created missing.db (%v)", err)
	}
}

// TestConformanceRunReportNotWritten: a run whose report or history could
// not be written exits 2 whatever its verdict.
func TestConformanceRunReportNotWritten(t *testing.T) {
	e := newHarnessEnv(t)
	reports := filepath.Join(e.dir, "reports")
	if err := os.MkdirAll(filepath.Join(reports, "history.json"), 0o755); err != nil { // unreadable as a history
		t.Fatal(err)
	}
	out, errOut, code := e.run(t, "--report-dir", reports)
	if code != 2 || !strings.Contains(errOut, "history.json") {
		t.Errorf("exit %d, want 2 naming history.json:\n%s%s", code, out, errOut)
	}
}
