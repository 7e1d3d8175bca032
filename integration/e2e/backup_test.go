package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestBackupUnderLoadAndRestore backs up a serving node while a peer keeps
// submitting documents, then restores the backup into a second gateway
// with the same identity, which answers DocumentStatusRequests for every
// document acknowledged before the backup began. On the way: restore
// refuses the running node's database and works once the node was killed;
// the start log and /metrics name the build; a rotated AIS token works at
// once.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	r := newReceiver(t, dir, filepath.Join(dir, "b", "b.db"))
	node := r.start(t, filepath.Join(dir, "b.log"))
	a, b, url, cfg := r.a, r.b, r.url, r.cfg

	// The build is named in the start log and in /metrics.
	if out := node.Output(); !strings.Contains(out, `"version":"`) || !strings.Contains(out, `"go":"go1.`) {
		t.Errorf("the start log line does not name the build:\n%s", out)
	}
	if m := getText(t, "http://"+r.ops+"/metrics"); !strings.Contains(m, "seosgw_build_info{goversion=\"go1.") {
		t.Errorf("/metrics has no seosgw_build_info")
	}

	// A peer submits documents without pause, 4 at a time.
	client := testkit.Client(a.id, r.tp.Authority.Pool(), "b.obmen.local")
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				doc := seos.NewGUID()
				reply, _, err := testkit.Submit(context.Background(), client, url, testkit.Sign(t, a.id, registrationMsg(a.entity, b.entity, doc)))
				if err == nil && reply != nil && reply.Body.StatusResponse != nil && reply.Body.StatusResponse.Status == seos.StatusWaitRegistration {
					mu.Lock()
					acked = append(acked, doc)
					mu.Unlock()
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	ackedNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}
	testkit.Eventually(t, 60*time.Second, "30 acknowledged documents", func() bool { return len(ackedNow()) >= 30 })

	before := ackedNow() // committed before their reply, so before the backup begins
	dest := filepath.Join(dir, "backups", "b-1")
	os.MkdirAll(filepath.Dir(dest), 0o700)
	bkOut, bkCode := testkit.Run(t, "backup", "--config", cfg, dest)
	during := len(ackedNow()) - len(before)
	if bkCode != 0 {
		t.Fatalf("backup: exit %d\n%s", bkCode, bkOut)
	}
	for _, want := range []string{"integrity ok", "schema version", "inbox", "message_log", "backup:          " + dest} {
		if !strings.Contains(bkOut, want) {
			t.Errorf("backup output lacks %q:\n%s", want, bkOut)
		}
	}
	t.Logf("%d documents acknowledged before the backup, %d while it ran", len(before), during)

	// The AIS token rotated on disk works at once, the old one no longer.
	token := cfg + ".token"
	old, _ := os.ReadFile(token)
	os.WriteFile(token+".new", []byte("rotated-token-0123456789\n"), 0o600)
	os.Rename(token+".new", token)
	aisURL := "http://" + aisAddr(t, cfg) + "/api/v1/inbox?limit=1"
	if code := apiStatus(t, aisURL, "rotated-token-0123456789"); code != 200 {
		t.Errorf("the rotated token: HTTP %d, want 200", code)
	}
	if code := apiStatus(t, aisURL, strings.TrimSpace(string(old))); code != 401 {
		t.Errorf("the old token after rotation: HTTP %d, want 401", code)
	}

	// Restore refuses the database of the running node.
	if out, code := testkit.Run(t, "restore", "--config", cfg, dest); code == 0 || !strings.Contains(out, "in use by a running seosgw") {
		t.Errorf("restore over the running node: exit %d\n%s", code, out)
	}
	close(stop)
	wg.Wait()
	// Killed, it holds nothing: restore works, keeping the old database aside.
	node.Stop(syscall.SIGKILL)
	if out, code := testkit.Run(t, "restore", "--config", cfg, dest); code != 0 || !strings.Contains(out, "replaced database kept as") {
		t.Errorf("restore after SIGKILL: exit %d\n%s", code, out)
	}

	// A second gateway, same identity, its own folder: restored from the backup.
	db2 := filepath.Join(dir, "b2", "seosgw.db")
	r2 := r.twin(t, filepath.Join(dir, "b2.yaml"), db2)
	if out, code := testkit.Run(t, "restore", "--config", r2.cfg, dest); code != 0 || !strings.Contains(out, "restored:        "+db2) {
		t.Fatalf("restore into the second gateway: exit %d\n%s", code, out)
	}
	if out, code := testkit.Run(t, "migrate", "status", "--config", r2.cfg); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate status after restore: exit %d\n%s", code, out)
	}
	node2 := r2.start(t, filepath.Join(dir, "b2.log"))
	url2 := r2.url
	ask := func(doc string) seos.DocStatus {
		t.Helper()
		m := &seos.Message{Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: a.entity, Recipient: b.entity, MessageGUID: seos.NewGUID()},
			Body: seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: doc}}}}
		reply, _, err := testkit.Submit(context.Background(), client, url2, testkit.Sign(t, a.id, m))
		if err != nil || reply == nil || reply.Body.StatusResponse == nil {
			t.Fatalf("status request for %s: %v %+v", doc, err, reply)
		}
		return reply.Body.StatusResponse.Status
	}
	for _, doc := range before {
		if st := ask(doc); st != seos.StatusWaitRegistration {
			t.Errorf("document %s, acknowledged before the backup: the restored gateway answers %s", doc, st)
		}
	}
	if st := ask(seos.NewGUID()); st != seos.StatusNotFound {
		t.Errorf("a document never sent: %s, want %s", st, seos.StatusNotFound)
	}
	node2.Stop(syscall.SIGTERM)
}

// A database a newer seosgw upgraded is refused at start, saying so, and
// migrate status says the same.
func TestServeRefusesNewerDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	rc := newReceiver(t, dir, filepath.Join(dir, "b.db"))
	cfg := rc.cfg
	db := testkit.OpenDB(t, rc.db)
	if _, err := db.Exec(`UPDATE schema_migrations SET version = ?`, store.GatewayLatest()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := fmt.Sprintf("schema version %d, newer than this seosgw knows (%d)", store.GatewayLatest()+1, store.GatewayLatest())
	if out, code := testkit.Run(t, "serve", "--config", cfg); code != 1 || !strings.Contains(out, want) {
		t.Errorf("serve: exit %d, want 1 saying %q:\n%s", code, want, out)
	}
	if out, code := testkit.Run(t, "migrate", "status", "--config", cfg); code != 1 || !strings.Contains(out, "NEWER than this seosgw") {
		t.Errorf("migrate status: exit %d\n%s", code, out)
	}
	if out, code := testkit.Run(t, "migrate", "up", "--config", cfg); code != 1 || !strings.Contains(out, want) {
		t.Errorf("migrate up: exit %d\n%s", code, out)
	}
}

func apiStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// aisAddr reads ais.listen back from a config writeConfig wrote.
func aisAddr(t *testing.T, cfg string) string {
	t.Helper()
	b, _ := os.ReadFile(cfg)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, `ais: {listen: "`); ok {
			return rest[:strings.Index(rest, `"`)]
		}
	}
	t.Fatalf("no ais.listen in %s", cfg)
	return ""
}
