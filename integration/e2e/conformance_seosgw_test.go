package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/conformance"
	"github.com/seosgw/seosgw/register/testregister"
)

// TestConformanceAgainstSeosgw runs DAEU's joining test the way DAEU runs
// it: a test register, the joining participant's seosgw node and the
// harness, each a seosgw process. The test plays the participant's AIS: it
// registers the harness's document and sends one to the test participant
// while the harness waits. Every check passes, the verdict goes onto the
// joining case and `conformance cases` shows it.
func TestConformanceAgainstSeosgw(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newConfEnv(t)
	nodeListen, regAddr, ops, api := testkit.FreeAddr(t), testkit.FreeAddr(t), testkit.FreeAddr(t), testkit.FreeAddr(t)
	nodeURL := "https://" + nodeListen + "/seos/endpoint"
	e.seedRegister(t, nodeURL)
	regFiles := e.tp.Hosts[confRegisterHost]
	reg := testkit.Start(t, filepath.Join(e.dir, "register.log"), "register", "serve", "--listen", regAddr, "--db", e.regDB,
		"--tls-cert", regFiles.Cert, "--tls-key", regFiles.Key, "--client-ca", e.tp.CACert)
	reg.WaitTCP(t, regAddr)
	regURL := "https://" + regAddr + "/service/"

	nodeCfg := filepath.Join(e.dir, "node.yaml")
	writeConfig(t, nodeCfg, map[string]string{"GUID": e.target.entity.GUID, "EIK": e.target.entity.Identifier, "NAME": e.target.entity.AdministrativeBodyName,
		"CERT": e.target.files.Cert, "KEY": e.target.files.Key, "CA": e.tp.CACert, "LISTEN": nodeListen, "REGISTER": regURL,
		"DB": filepath.Join(e.dir, "node.db"), "OPS": ops, "AIS": api, "TEST": e.harness.entity.GUID})
	node := testkit.Start(t, filepath.Join(e.dir, "node.log"), "serve", "--config", nodeCfg)
	node.WaitTCP(t, nodeListen)
	testkit.Eventually(t, 30*time.Second, "the node's register copy", func() bool {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	token, err := ais.ReadToken(nodeCfg + ".token")
	if err != nil {
		t.Fatal(err)
	}
	aisClient, err := ais.NewClient(api, token)
	if err != nil {
		t.Fatal(err)
	}

	hcfg := e.harnessConfig(t, regURL, fmt.Sprintf("joining: {register_db: %q}\n", e.regDB))
	reports := filepath.Join(e.dir, "reports")
	harnessLog := filepath.Join(e.dir, "harness.out")
	harness := testkit.Start(t, harnessLog, "conformance", "run", "--config", hcfg, "--participant", e.target.entity.GUID,
		"--report-dir", reports, "--record", "--async-timeout", "60s")

	// The participant's AIS: register the test document once the harness
	// says which, and send the test participant a document.
	var docGUID string
	re := regexp.MustCompile(`DocumentGUID (\{[0-9a-fA-F-]+\})`)
	testkit.Eventually(t, 60*time.Second, "the harness's instructions", func() bool {
		select {
		case <-harness.Done():
			t.Fatalf("the harness ended before waiting:\n%s", harness.Output())
		default:
		}
		if m := re.FindStringSubmatch(harness.Output()); m != nil {
			docGUID = m[1]
			return true
		}
		return false
	})
	inboxID := nodeInboxID(t, aisClient, docGUID)
	if code, body := aisPost(t, aisClient, fmt.Sprintf("/api/v1/inbox/%d/register", inboxID),
		fmt.Sprintf(`{"number":{"number":"ОБЩ-%d","date":%q}}`, inboxID, time.Now().Format("2006-01-02"))); code != http.StatusAccepted {
		t.Fatalf("register the test document: HTTP %d %s", code, body)
	}
	if _, _, err := aisClient.Send(context.Background(), letter(e.harness.entity.GUID, 1), ""); err != nil {
		t.Fatalf("send to the test participant: %v", err)
	}

	select {
	case <-harness.Done():
	case <-time.After(90 * time.Second):
		t.Fatalf("the harness did not finish:\n%s", harness.Output())
	}
	out := harness.Output()
	if code := harness.ExitCode(); code != 0 {
		t.Errorf("conformance run: exit %d, want 0:\n%s", code, out)
	}
	h, err := conformance.ReadHistory(reports)
	if err != nil || len(h.Runs) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	}
	rep, err := conformance.ReadReport(filepath.Join(reports, h.Runs[0].JSON))
	if err != nil {
		t.Fatal(err)
	}
	checkVerdicts(t, rep, nil, nil)
	if rep.Verdict != conformance.Pass || rep.Setup.Entry == nil || !seos.EqualGUID(rep.Setup.Entry.GUID, e.target.entity.GUID) {
		t.Errorf("verdict %s, register entry %+v", rep.Verdict, rep.Setup.Entry)
	}
	if st := rep.Check(conformance.CheckAsyncStatus); st != nil && !strings.Contains(assertionsText(st), fmt.Sprintf("ОБЩ-%d", inboxID)) {
		t.Errorf("async-status does not show the participant's registration number:\n%s", assertionsText(st))
	}
	if !strings.HasPrefix(rep.Recorded, "резултатът „успешно“ е вписан") || rep.Joining == nil || rep.Joining.Deadline == "" {
		t.Errorf("verdict not recorded on the joining case: %q %+v", rep.Recorded, rep.Joining)
	}
	html, err := os.ReadFile(filepath.Join(reports, h.Runs[0].Report))
	if err != nil {
		t.Fatal(err)
	}
	// The report DAEU files: in Bulgarian, with the harness's build (its
	// commit too where the build stamped one: GOFLAGS may say -buildvcs=false).
	for _, want := range []string{"Протокол от изпитване за съответствие", e.target.entity.GUID, rep.Setup.Entry.CertificateSN, "base64 characters elided",
		"DS_WAIT_REGISTRATION", "seosgw conformance, " + rep.Harness.Text(conformance.Bulgarian), "Изпитването проведе", "прочетени в "} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if rep.Lang != conformance.Bulgarian || rep.Harness.Go == "" || rep.Setup.RegisterReadAt.IsZero() || strings.Contains(string(html), "`") {
		t.Errorf("report: language %s, harness %+v, register read at %s, or a markdown backtick", rep.Lang, rep.Harness, rep.Setup.RegisterReadAt)
	}
	if len(html) > 4<<20 {
		t.Errorf("report.html is %d bytes: the 8 MiB attachment was not elided", len(html))
	}

	// The joining case shows the verdict; activation stays the admin's.
	out, code := testkit.Run(t, "conformance", "cases", "--register-db", e.regDB, "--json")
	var cases []testregister.CaseView
	if code != 0 || json.Unmarshal([]byte(out), &cases) != nil || len(cases) != 1 {
		t.Fatalf("conformance cases: exit %d\n%s", code, out)
	}
	c := cases[0]
	if c.LastVerdict == nil || c.LastVerdict.Verdict != "pass" || !strings.HasSuffix(c.LastVerdict.Report, "report.html") ||
		c.Deadline == "" || c.WorkingDaysLeft == nil || c.Status != "Inactive" {
		t.Errorf("case after the run: %+v", c)
	}
	if out, code := testkit.Run(t, "conformance", "cases", "--register-db", e.regDB); code != 0 || !strings.Contains(out, e.target.entity.GUID) || !strings.Contains(out, "pass ") {
		t.Errorf("conformance cases table: exit %d\n%s", code, out)
	}
	if out, code := testkit.Run(t, "register", "admin", "activate", e.target.entity.GUID, "--db", e.regDB); code != 0 || !strings.Contains(out, "Active") {
		t.Errorf("activate after a passing verdict: exit %d\n%s", code, out)
	}
}

// nodeInboxID finds a received document in the node's inbox.
func nodeInboxID(t *testing.T, c *ais.Client, docGUID string) int64 {
	t.Helper()
	var id int64
	testkit.Eventually(t, 30*time.Second, "the test document in the node's inbox", func() bool {
		req, _ := http.NewRequest("GET", c.BaseURL+"/api/v1/inbox?state=received", nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var l ais.InboxList
		if json.NewDecoder(resp.Body).Decode(&l) != nil {
			return false
		}
		for _, it := range l.Items {
			if seos.EqualGUID(it.DocumentGUID, docGUID) {
				id = it.ID
				return true
			}
		}
		return false
	})
	return id
}

func aisPost(t testing.TB, c *ais.Client, path, body string) (int, string) {
	t.Helper()
	return aisDo(t, c, "POST", path, body)
}

// aisGet reads from a node's AIS API as the AIS does.
func aisGet(t *testing.T, c *ais.Client, path string) (int, string) {
	t.Helper()
	return aisDo(t, c, "GET", path, "")
}

func aisDo(t testing.TB, c *ais.Client, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.BaseURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
