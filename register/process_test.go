package register_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

const (
	selfGUID   = "{11111111-2222-4333-8444-555555555555}"
	peerGUID   = "{22222222-3333-4444-8555-666666666666}"
	joinerGUID = "{33333333-4444-4555-8666-777777777777}"
)

// serveProcess starts `seosgw register serve` and waits until it listens.
func serveProcess(t *testing.T, bin, addr, db string, p *testPKI) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "register", "serve", "--listen", addr, "--db", db,
		"--tls-cert", p.regCert, "--tls-key", p.regKey, "--client-ca", p.caFile, "--log-format", "text")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				ready <- sc.Text()
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("register serve did not start:\n%s", stderr.String())
	}
	return cmd
}

func writeConfig(t *testing.T, dir string, p *testPKI, registerAddr string) string {
	t.Helper()
	token := filepath.Join(dir, "ais-token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`participant:
  guid: "%s"
  eik: "000695089"
  name: "Министерство на примерите"
tls:
  cert: %s
  key: %s
  ca: %s
register:
  url: "https://%s/service/"
  refresh: 10m
  timeout: 5s
database:
  path: gw.db
ais:
  token_file: %s
`, selfGUID, p.nodeCert, p.nodeKey, p.caFile, registerAddr, token)
	path := filepath.Join(dir, "seosgw.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TestRegisterProcessOutage runs the test register as its own process,
// seeded and changed through the admin CLI, with a node's sync loop in this
// process. The register is killed: the cache keeps answering and the
// failure shows in State and the metrics. It is restarted: the same loop,
// never restarted, heals and picks up what changed meanwhile.
func TestRegisterProcessOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the seosgw binary")
	}
	bin := testkit.Binary(t)
	p := newPKI(t)
	dir := t.TempDir()
	regDB := filepath.Join(dir, "register.db")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("seosgw %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	runFails := func(says string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), says) {
			t.Errorf("seosgw %s: %v %s; want a failure saying %q", strings.Join(args, " "), err, out, says)
		}
	}

	run("register", "admin", "add", "--db", regDB, "--guid", selfGUID, "--eik", "000695089", "--name", "Министерство на примерите",
		"--status", "Active", "--cert", p.nodeCert, "--uri", "https://node.obmen.local:4443/seos/endpoint")
	run("register", "admin", "add", "--db", regDB, "--guid", peerGUID, "--eik", "121212", "--name", "Община Примерно",
		"--status", "Active", "--serial", "4a:1f:00:c3:d2", "--uri", "https://peer.obmen.local:4443/seos")
	out := run("register", "admin", "add", "--db", regDB, "--guid", joinerGUID, "--eik", "131313", "--name", "Нова агенция",
		"--serial", "7B00E1", "--applied", "2026-04-08", "--cert-issued", "2026-04-08")
	if !strings.Contains(out, "deadline:     2026-04-30") {
		t.Errorf("joining case of an application on 2026-04-08 (before Orthodox Easter):\n%s", out)
	}
	runFails("Inactive → Active only through", "register", "admin", "set-status", joinerGUID, "Active", "--db", regDB)

	// JSON export → import into a new register → export gives the same file.
	dump := filepath.Join(dir, "register.json")
	run("register", "admin", "export", "--db", regDB, dump)
	copyDB := filepath.Join(dir, "copy.db")
	if out := run("register", "admin", "import", "--db", copyDB, "--keep-last-change", dump); !strings.Contains(out, "imported 3 participants and 1 joining cases") {
		t.Errorf("register admin import: %s", out)
	}
	if want, err := os.ReadFile(dump); err != nil || run("register", "admin", "export", "--db", copyDB) != string(want) {
		t.Errorf("export → import → export differs (%v)", err)
	}

	addr := testkit.FreeAddr(t)
	srv := serveProcess(t, bin, addr, regDB, p)
	cfgPath := writeConfig(t, dir, p, addr)

	// The operator CLI.
	if out := run("register", "sync", "--config", cfgPath); !strings.Contains(out, "full (GetAllRecords), 3 changed") {
		t.Errorf("register sync:\n%s", out)
	}
	var listed []register.Entity
	if err := json.Unmarshal([]byte(run("register", "list", "--config", cfgPath, "--json")), &listed); err != nil || len(listed) != 3 {
		t.Errorf("register list --json: %d entities, %v", len(listed), err)
	}
	if out := run("register", "show", "--config", cfgPath, "4A1F00C3D2"); !strings.Contains(out, "Община Примерно") || !strings.Contains(out, "May exchange:    yes") {
		t.Errorf("register show SERIAL:\n%s", out)
	}
	if out := run("register", "show", "--config", cfgPath, "131313"); !strings.Contains(out, "no (inactive_participant)") {
		t.Errorf("register show EIK:\n%s", out)
	}

	// The node's sync loop, on the same database file.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenGateway(ctx, cfg.Path(cfg.Database.Path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(logWriter{t}, nil))
	id, err := pki.LoadIdentity(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := trust.New(cfg.Path(cfg.TLS.CA), nil, false, clock.System, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := node.RegisterClient(cfg, id, ts, log)
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clock.System)
	if err != nil {
		t.Fatal(err)
	}
	cache := register.NewCache(db, clock.System)
	s := register.NewSyncer(cache, client, register.SyncOptions{Refresh: 150 * time.Millisecond, FullSync: time.Hour,
		StaleAfter: time.Hour, RetryMin: 20 * time.Millisecond, Log: log, Metrics: m})
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()

	status := func(guid string) register.Status {
		e, err := cache.ByGUID(ctx, guid)
		if err != nil || e == nil {
			t.Fatalf("cache lost %s: %v", guid, err)
		}
		return e.Status
	}
	run("register", "admin", "set-status", "--db", regDB, peerGUID, "TemporarilyInactive")
	testkit.Eventually(t, 10*time.Second, "the incremental sync sees the status change", func() bool { return status(peerGUID) == register.TemporarilyInactive })

	// Kill the register.
	if err := srv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	testkit.Eventually(t, 10*time.Second, "failures recorded", func() bool {
		st, _ := s.State(ctx)
		return st.ConsecutiveFailures >= 2 &&
			metric(t, prom, "seosgw_register_sync_failures_total", map[string]string{"kind": register.KindTransport}) >= 2
	})
	st, _ := s.State(ctx)
	if !strings.Contains(st.LastError, "connection refused") || st.LastSuccess.IsZero() {
		t.Errorf("state during the outage: %+v", st)
	}
	if status(peerGUID) != register.TemporarilyInactive || status(selfGUID) != register.Active {
		t.Error("the cache must keep answering during the outage")
	}
	if err := s.Fresh(ctx); err != nil {
		t.Errorf("within stale_after the copy is still fresh: %v", err)
	}
	if v := metric(t, prom, "seosgw_register_sync_consecutive_failures", nil); v < 2 {
		t.Errorf("consecutive failures gauge %v", v)
	}
	lastSuccess := metric(t, prom, "seosgw_register_last_success_timestamp_seconds", nil)

	// DAEU ends the suspension while its service is down, then restarts it.
	run("register", "admin", "set-status", "--db", regDB, peerGUID, "Active")
	serveProcess(t, bin, addr, regDB, p)
	testkit.Eventually(t, 10*time.Second, "the same loop heals after the restart", func() bool {
		st, _ := s.State(ctx)
		return st.ConsecutiveFailures == 0 && status(peerGUID) == register.Active
	})
	if v := metric(t, prom, "seosgw_register_sync_consecutive_failures", nil); v != 0 {
		t.Errorf("consecutive failures after healing: %v", v)
	}
	if v := metric(t, prom, "seosgw_register_last_success_timestamp_seconds", nil); v <= lastSuccess {
		t.Errorf("last success %v did not move past %v", v, lastSuccess)
	}
	if out := run("register", "list", "--config", cfgPath, "--status", "Active"); !strings.Contains(out, peerGUID) {
		t.Errorf("register list --status Active after healing:\n%s", out)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the sync loop did not stop")
	}
}

// TestRegisterNullAnswersKeepReadiness: a .NET register (testkit's ASMX
// service, run by Mono's ASP.NET behind mutual TLS) says "nothing new" with
// `return null` (<types:GetNewRecordsResponse />, no result accessor).
// `seosgw register sync` takes its full listing, one participant of which
// has a null Guid and is rejected in the output; then a real `seosgw serve`
// follows it for many times register.stale_after and stays ready: every
// answer is an empty listing, the cursor never moves, nothing fails.
// register.refresh 50ms and register.stale_after 2s stand in for 10m and
// hours: a failing sync would turn /readyz red after 40 passes; the test
// waits for 240 and checks readiness every 10, synchronised on the answers
// the register has given, not on the clock.
func TestRegisterNullAnswersKeepReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the seosgw binary")
	}
	bin := testkit.Binary(t)
	p := newPKI(t)
	dir := t.TempDir()
	// As the .NET register holds them: its serial text, Version "1.0", one
	// Contact object, and a second participant with a null Guid and a
	// LastChange never set.
	lastChange := time.Date(2024, 3, 5, 8, 20, 30, 123e6, time.UTC)
	primerno := register.Entity{Identifier: "000695089", GUID: "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}", AdministrativeBodyName: "Община Примерно",
		Contact: register.Contact{Phone: "+359 2 000 0000", EmailAddress: "obshtina@example.bg"}, CertificateSN: "004A1F00C3D2",
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи", URI: "https://primerno.obmen.local:4443/EGovService.svc",
			Status: register.Active, Type: "SEOS", Version: "1.0"}},
		LastChange: lastChange, Status: register.Active}
	broken := register.Entity{Identifier: "0006950890123", ParentGUID: primerno.GUID, AdministrativeBodyName: `Дирекция "Пример" & сие`,
		Contact: primerno.Contact, CertificateSN: "7b00e1", Services: []register.Service{}, Status: register.Inactive}
	dotnet := testkit.StartASMXRegister(t, testkit.RegisterData{Entities: []register.Entity{primerno, broken}, LastChange: lastChange, NullWhenEmpty: true})
	var (
		mu    sync.Mutex
		nulls int
		dates = map[string]bool{}
	)
	url := dotnet.TLS(t, p.register, p.ca.Pool(), func(request []byte) {
		call, err := daeu.DecodeRequest(request, "text/xml; charset=UTF-8")
		if err != nil || call.Op != daeu.GetNewRecords {
			return
		}
		mu.Lock()
		nulls++
		dates[call.Param] = true
		mu.Unlock()
	})
	answered := func() int { mu.Lock(); defer mu.Unlock(); return nulls }

	ops := testkit.FreeAddr(t)
	cfgPath := filepath.Join(dir, "seosgw.yaml")
	token := filepath.Join(dir, "ais-token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`participant: {guid: "%s", eik: "000695089", name: "Министерство на примерите"}
tls: {cert: %s, key: %s, ca: %s}
endpoint: {listen: "%s"}
register: {url: "%s", refresh: 50ms, full_sync: 1h, stale_after: 2s, timeout: 5s}
database: {path: gw.db}
ops: {listen: "%s"}
ais: {listen: "%s", token_file: %s}
log: {level: info, format: json}
`, selfGUID, p.nodeCert, p.nodeKey, p.caFile, testkit.FreeAddr(t), url, ops, testkit.FreeAddr(t), token)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// The operator's sync: the ASMX full listing, one entity rejected.
	out, err := exec.Command(bin, "register", "sync", "--config", cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "full (GetAllRecords), 1 changed, 0 unchanged, 1 rejected, cursor 2024-03-05T10:20:30.123+02:00") ||
		!strings.Contains(string(out), `rejected - Дирекция "Пример" & сие: Guid`) || !strings.Contains(string(out), "marked nothing removed") {
		t.Fatalf("register sync: %v\n%s", err, out)
	}

	// The operator asks the register about a serial in their own notation:
	// it is asked in the register's.
	out, err = exec.Command(bin, "register", "show", "--config", cfgPath, "--ask", "4a:1f:00:c3:d2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "the register answers GetByCertificateSN(004A1F00C3D2): 1 participant(s)") {
		t.Errorf("register show --ask: %v\n%s", err, out)
	}

	node := exec.Command(bin, "serve", "--config", cfgPath)
	node.Dir = dir
	var nodeLog bytes.Buffer
	node.Stdout, node.Stderr = &nodeLog, &nodeLog
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { node.Wait(); close(exited) }()
	t.Cleanup(func() {
		node.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			node.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("seosgw serve:\n%s", nodeLog.String())
		}
	})
	ready := func() (int, string) {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testkit.Eventually(t, 30*time.Second, "the node is ready", func() bool { code, _ := ready(); return code == http.StatusOK })
	for n := 10; n <= 240; n += 10 {
		testkit.Eventually(t, 30*time.Second, fmt.Sprintf("%d null answers", n), func() bool {
			select {
			case <-exited:
				t.Fatalf("seosgw serve exited:\n%s", nodeLog.String())
			default:
			}
			return answered() >= n
		})
		if code, body := ready(); code != http.StatusOK {
			t.Fatalf("after %d null answers /readyz is %d:\n%s", n, code, body)
		}
	}
	mu.Lock()
	if len(dates) != 1 || !dates["2024-03-05T10:20:30.123+02:00"] {
		t.Errorf("GetNewRecords asked with %v; the cursor must stay the full listing's LastChange", dates)
	}
	mu.Unlock()
	resp, err := http.Get("http://" + ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(metrics), "\n") {
		if strings.HasPrefix(line, "seosgw_register_sync_failures_total{") && !strings.HasSuffix(line, " 0") {
			t.Errorf("a sync failed: %s", line)
		}
	}
	if !regexp.MustCompile(`(?m)^seosgw_register_sync_duration_seconds_count\{mode="incremental",result="success"\} (\d{3,})$`).Match(metrics) {
		t.Errorf("fewer than 100 successful incremental syncs counted:\n%s", metrics)
	}
}
