package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

type participant struct {
	entity seos.Entity
	id     *pki.Identity
	files  pki.HostFiles
}

func participants(t testing.TB, dir string, hosts ...string) (*pki.TestPKI, map[string]participant) {
	t.Helper()
	tp, err := pki.MakeTestPKI(dir, hosts, pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]participant{}
	for i, h := range hosts {
		files := tp.Hosts[h]
		id, err := pki.LoadIdentity(files.Cert, files.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[h] = participant{id: id, files: files, entity: seos.Entity{
			Identifier: "20000000" + string(rune('1'+i)), AdministrativeBodyName: "Участник " + h, GUID: seos.NewGUID()}}
	}
	return tp, out
}

func (p participant) registerEntity(url string) register.Entity {
	return register.Entity{Identifier: p.entity.Identifier, GUID: p.entity.GUID, AdministrativeBodyName: p.entity.AdministrativeBodyName,
		CertificateSN: pki.SerialHex(p.id.Cert), Status: register.Active, LastChange: time.Now().UTC().Truncate(time.Second),
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен", URI: url, Status: register.Active, Version: "1"}}}
}

// receiver is participant B of a test PKI shared with A: its register
// copy lists both, its configuration is written (fields are what went
// into it), nothing is started.
type receiver struct {
	tp                        *pki.TestPKI
	a, b                      participant
	listen, url, ops, db, cfg string
	fields                    map[string]string
}

func newReceiver(t testing.TB, dir, dbPath string) *receiver {
	t.Helper()
	tp, ps := participants(t, dir, "a.obmen.local", "b.obmen.local")
	r := &receiver{tp: tp, a: ps["a.obmen.local"], b: ps["b.obmen.local"], listen: testkit.FreeAddr(t), ops: testkit.FreeAddr(t), db: dbPath,
		cfg: filepath.Join(dir, "b.yaml")}
	r.url = "https://" + r.listen + "/seos/endpoint"
	testkit.SeedFile(t, dbPath, r.a.registerEntity("https://a.obmen.local/seos"), r.b.registerEntity(r.url))
	r.fields = map[string]string{"GUID": r.b.entity.GUID, "EIK": r.b.entity.Identifier, "NAME": r.b.entity.AdministrativeBodyName,
		"CERT": r.b.files.Cert, "KEY": r.b.files.Key, "CA": tp.CACert, "LISTEN": r.listen, "REGISTER": "https://127.0.0.1:1/service/",
		"DB": dbPath, "OPS": r.ops}
	writeConfig(t, r.cfg, r.fields)
	return r
}

// twin is another node with B's identity: its own configuration file and
// database, fresh ports.
func (r *receiver) twin(t testing.TB, cfg, dbPath string) *receiver {
	t.Helper()
	c := *r
	c.cfg, c.db, c.listen, c.ops = cfg, dbPath, testkit.FreeAddr(t), testkit.FreeAddr(t)
	c.url = "https://" + c.listen + "/seos/endpoint"
	c.fields = map[string]string{}
	for k, v := range r.fields {
		c.fields[k] = v
	}
	c.fields["LISTEN"], c.fields["DB"], c.fields["OPS"], c.fields["AIS"] = c.listen, dbPath, c.ops, ""
	writeConfig(t, cfg, c.fields)
	return &c
}

// start runs `seosgw serve` on r's configuration until it serves. freePort
// only finds a port free when asked; one taken meanwhile by another process
// (any outgoing connection may take it) gets fresh ports and another try.
func (r *receiver) start(t testing.TB, logPath string) *testkit.Proc {
	t.Helper()
	for try := 1; ; try++ {
		p := testkit.Start(t, logPath, "serve", "--config", r.cfg)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(p.Output(), `"msg":"seosgw serving"`) {
			select {
			case <-p.Done():
				out := p.Output()
				if try == 3 || !strings.Contains(out, "address already in use") {
					t.Fatalf("seosgw serve exited:\n%s", out)
				}
				r.listen, r.ops = testkit.FreeAddr(t), testkit.FreeAddr(t)
				r.url = "https://" + r.listen + "/seos/endpoint"
				r.fields["LISTEN"], r.fields["OPS"], r.fields["AIS"] = r.listen, r.ops, ""
				testkit.SeedFile(t, r.db, r.a.registerEntity("https://a.obmen.local/seos"), r.b.registerEntity(r.url))
				writeConfig(t, r.cfg, r.fields)
				p = nil
			default:
			}
			if p == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("seosgw serve not serving after 30s:\n%s", p.Output())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if p != nil {
			return p
		}
	}
}

// TestCrashDuringBurst kills the node with SIGKILL while concurrent submits
// are in flight; after a restart every acknowledged document is stored
// exactly once, with its attachment (kept in a file beside the database)
// whole, no file is left that no row refers to, and resending the rest
// stores each once more at most.
func TestCrashDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	r := newReceiver(t, dir, filepath.Join(dir, "b.db"))
	node := r.start(t, filepath.Join(dir, "b.log"))
	a, b, url, dbPath, cfg := r.a, r.b, r.url, r.db, r.cfg

	client := testkit.Client(a.id, r.tp.Authority.Pool(), "b.obmen.local")
	const docs, workers = 80, 8
	guids := make([]string, docs)
	for i := range guids {
		guids[i] = seos.NewGUID()
	}
	var acked sync.Map
	var ackCount atomic.Int32
	killed := make(chan struct{})
	var once sync.Once
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				m := registrationMsg(a.entity, b.entity, guids[i])
				reply, _, err := testkit.Submit(context.Background(), client, url, testkit.Sign(t, a.id, m))
				if err == nil && reply != nil && reply.Body.StatusResponse != nil && reply.Body.StatusResponse.Status == seos.StatusWaitRegistration {
					acked.Store(guids[i], true)
					if ackCount.Add(1) == 20 {
						once.Do(func() { node.Stop(syscall.SIGKILL); close(killed) })
					}
				}
			}
		}()
	}
	for i := 0; i < docs; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the burst finished before the kill; nothing was tested")
	}
	n := 0
	acked.Range(func(any, any) bool { n++; return true })
	if n >= docs {
		t.Fatalf("all %d documents acknowledged; the kill came too late", docs)
	}
	t.Logf("%d of %d acknowledged before SIGKILL", n, docs)

	// What a kill between writing a file and committing leaves, for sure:
	// a file no row names, and a half-written one.
	files := store.FilesDir(dbPath)
	orphan := filepath.Join(files, "ab", "ab"+strings.Repeat("0", 62))
	halfWritten := filepath.Join(files, "tmp", "w-interrupted")
	for _, f := range []string{orphan, halfWritten} {
		os.MkdirAll(filepath.Dir(f), 0o700)
		if err := os.WriteFile(f, []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	node = r.start(t, filepath.Join(dir, "b2.log"))
	url = r.url
	db := testkit.OpenDB(t, dbPath)
	acked.Range(func(k, _ any) bool {
		if c := testkit.CountDocument(t, db, k.(string)); c != 1 {
			t.Errorf("acknowledged document %s stored %d times", k, c)
		}
		return true
	})
	// The start's sweep left exactly the files rows name, each whole.
	onDisk := map[string]bool{}
	filepath.WalkDir(files, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk[p] = true
		}
		return nil
	})
	named := map[string]bool{}
	rows, err := db.Query(`SELECT file FROM inbox_attachments WHERE file != '' UNION SELECT raw_file FROM message_log WHERE raw_file != ''`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f string
		rows.Scan(&f)
		named[filepath.Join(files, f[:2], f)] = true
	}
	rows.Close()
	for p := range onDisk {
		if !named[p] {
			t.Errorf("file %s is left with no row naming it", p)
		}
	}
	for p := range named {
		if !onDisk[p] {
			t.Errorf("a row names file %s, which is not there", p)
		} else if b, err := os.ReadFile(p); err != nil || fmt.Sprintf("%x", sha256.Sum256(b)) != filepath.Base(p) {
			t.Errorf("file %s is not whole: %v", p, err)
		}
	}
	if n > 0 && testkit.Count(t, db, `SELECT count(*) FROM inbox_attachments WHERE file != ''`) == 0 {
		t.Error("no attachment went to a file: the test does not test files")
	}
	// Some documents may be stored without their acknowledgement reaching
	// us (killed between commit and reply): those too answer "already".
	storedBefore := 0
	for _, g := range guids {
		storedBefore += testkit.CountDocument(t, db, g)
	}
	// Resending everything (as a sender retries with a new MessageGUID)
	// never stores a document twice.
	for _, g := range guids {
		reply, _, err := testkit.Submit(context.Background(), client, url, testkit.Sign(t, a.id, registrationMsg(a.entity, b.entity, g)))
		if err != nil || reply == nil || reply.Body.StatusResponse == nil {
			t.Fatalf("resend %s: %v %+v", g, err, reply)
		}
		st := reply.Body.StatusResponse.Status
		if _, ok := acked.Load(g); ok && st != seos.StatusAlreadyReceived {
			t.Errorf("acknowledged %s: resend answered %s", g, st)
		}
	}
	for _, g := range guids {
		if c := testkit.CountDocument(t, db, g); c != 1 {
			t.Errorf("document %s stored %d times after resending", g, c)
		}
	}
	out, code := testkit.Run(t, "log", "list", "--config", cfg, "--outcome", "already_received", "--limit", "200")
	if code != 0 || strings.Count(out, "MSG_DocumentRegistrationRequest") != storedBefore {
		t.Errorf("log list: exit %d, want %d already_received entries:\n%s", code, storedBefore, out)
	}
	node.Stop(syscall.SIGTERM)
	if !strings.Contains(node.Output(), "seosgw stopped") {
		t.Errorf("no orderly shutdown on SIGTERM:\n%s", node.Output())
	}
}

func registrationMsg(from, to seos.Entity, docGUID string) *seos.Message {
	return &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: from, Recipient: to, MessageGUID: seos.NewGUID()},
		Body: seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: seos.Document{
			ID: seos.DocumentID{GUID: docGUID}, Kind: "Писмо",
			// Large enough to be kept in a file beside the database.
			Attachments: []seos.Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte(strings.Repeat("%PDF ", 60000)))}},
		}, Comment: "тест"}},
	}
}
