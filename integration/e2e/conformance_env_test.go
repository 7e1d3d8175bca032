package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/conformance"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/testregister"
)

// Host names of the conformance tests' PKI.
const (
	confHarnessHost  = "daeu-test.obmen.local"
	confInactiveHost = "daeu-inactive.obmen.local"
	confTargetHost   = "participant.obmen.local"
	confRegisterHost = "register.obmen.local"
)

// confEnv is DAEU's side of a joining test: a PKI, the test participant,
// an Inactive identity, the participant under test, and a test register
// database listing them (the participant Inactive, with a joining case).
type confEnv struct {
	dir                       string
	tp                        *pki.TestPKI
	harness, inactive, target participant
	regDB                     string
	harnessURL                string // the harness's listener as registered
	harnessListen             string
}

func newConfEnv(t *testing.T) *confEnv {
	t.Helper()
	dir := t.TempDir()
	tp, ps := participants(t, dir, confHarnessHost, confInactiveHost, confTargetHost, confRegisterHost)
	e := &confEnv{dir: dir, tp: tp, harness: ps[confHarnessHost], inactive: ps[confInactiveHost], target: ps[confTargetHost],
		regDB: filepath.Join(dir, "register.db"), harnessListen: testkit.FreeAddr(t)}
	e.harness.entity.AdministrativeBodyName = "ДАЕУ – тестов участник"
	e.inactive.entity.AdministrativeBodyName = "ДАЕУ – неактивен участник"
	e.target.entity.AdministrativeBodyName = "Община Тестово (присъединяване)"
	e.harnessURL = "https://" + e.harnessListen + "/seos/endpoint"
	return e
}

// seedRegister enters the three participants; the participant under test
// gets its joining case and targetURL as its endpoint.
func (e *confEnv) seedRegister(t *testing.T, targetURL string) {
	t.Helper()
	ctx := context.Background()
	reg, err := testregister.Open(ctx, e.regDB, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	h := e.harness.registerEntity(e.harnessURL)
	in := e.inactive.registerEntity("https://127.0.0.1:1/seos/endpoint")
	in.Status = register.Inactive
	tg := e.target.registerEntity(targetURL)
	tg.Status = register.Inactive
	today := time.Now()
	for _, x := range []struct {
		ent  register.Entity
		join *testregister.Joining
	}{{h, nil}, {in, nil}, {tg, &testregister.Joining{Applied: today.AddDate(0, 0, -3), CertIssued: today.AddDate(0, 0, -2)}}} {
		if _, err := reg.Add(ctx, x.ent, x.join); err != nil {
			t.Fatal(err)
		}
	}
}

// serveRegister runs the test register in this process until the test ends.
func (e *confEnv) serveRegister(t *testing.T) string {
	t.Helper()
	reg, err := testregister.Open(context.Background(), e.regDB, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	files := e.tp.Hosts[confRegisterHost]
	addr := testkit.Serve(t, func(ctx context.Context, ready func(net.Addr)) error {
		return reg.Serve(ctx, testregister.ServeConfig{Listen: "127.0.0.1:0", CertFile: files.Cert, KeyFile: files.Key, ClientCAFile: e.tp.CACert}, ready)
	})
	return "https://" + addr.String() + "/service/"
}

// harnessConfig writes the harness's configuration file.
func (e *confEnv) harnessConfig(t *testing.T, registerURL string, extra string) string {
	t.Helper()
	path := filepath.Join(e.dir, fmt.Sprintf("conformance-%d.yaml", time.Now().UnixNano()))
	y := fmt.Sprintf(`test_participant: {guid: "%s", eik: "%s", name: "%s", cert: "%s", key: "%s"}
inactive_participant: {guid: "%s", eik: "%s", name: "%s", cert: "%s", key: "%s"}
ca: "%s"
register: {url: "%s", timeout: 10s}
listen: {address: "%s", public_url: "%s"}
timeouts: {request: 30s, slow_reply: 10s, async: 60s}
large_attachment: 8MiB
schema_validator: auto
report_dir: reports
%s`, e.harness.entity.GUID, e.harness.entity.Identifier, e.harness.entity.AdministrativeBodyName, e.harness.files.Cert, e.harness.files.Key,
		e.inactive.entity.GUID, e.inactive.entity.Identifier, e.inactive.entity.AdministrativeBodyName, e.inactive.files.Cert, e.inactive.files.Key,
		e.tp.CACert, registerURL, e.harnessListen, e.harnessURL, extra)
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkVerdicts requires exactly the failed checks in wantFailed, and
// every other check to pass unless skipped on purpose.
func checkVerdicts(t *testing.T, rep *conformance.Report, wantFailed []string, skipped []string) {
	t.Helper()
	if rep.Error != "" {
		t.Fatalf("the harness could not test: %s", rep.Error)
	}
	if len(rep.Checks) != len(conformance.CheckNames) {
		t.Errorf("report has %d checks, want %d", len(rep.Checks), len(conformance.CheckNames))
	}
	for _, c := range rep.Checks {
		want := conformance.Pass
		switch {
		case contains(wantFailed, c.Name):
			want = conformance.Fail
		case contains(skipped, c.Name):
			want = conformance.Skip
		}
		if c.Verdict != want {
			t.Errorf("check %s: %s (%s), want %s\n%s", c.Name, c.Verdict, c.Reason, want, assertionsText(c))
		}
	}
}

func assertionsText(c *conformance.Check) string {
	var b strings.Builder
	for _, a := range c.Assertions {
		mark := "ok  "
		if !a.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "    %s %s", mark, a.Text)
		if a.Got != "" {
			fmt.Fprintf(&b, " (got: %s)", a.Got)
		}
		b.WriteString("\n")
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "    note %s\n", n)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
