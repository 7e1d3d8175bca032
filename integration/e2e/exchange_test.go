package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

// gateway is one seosgw process of the exchange tests.
type gateway struct {
	t      testing.TB
	p      participant
	cfg    string
	db     string
	listen string
	ops    string
	api    *ais.Client
	spool  string
	node   *testkit.Proc
	n      int
}

func (g *gateway) url() string { return "https://" + g.listen + "/seos/endpoint" }

func (g *gateway) start() {
	g.t.Helper()
	g.n++
	g.node = testkit.Start(g.t, filepath.Join(filepath.Dir(g.cfg), fmt.Sprintf("%s-%d.log", g.p.entity.Identifier, g.n)), "serve", "--config", g.cfg)
	g.node.WaitTCP(g.t, g.listen)
}

// exchange is two gateways, A and B, each with a register copy listing both.
type exchange struct {
	a, b *gateway
	tp   *pki.TestPKI
}

// newExchange configures A and B; aConfig overrides fields of A's config.
func newExchange(t testing.TB, aConfig map[string]string) *exchange {
	t.Helper()
	return newExchangeWith(t, aConfig, nil)
}

// newExchangeWith is newExchange with fields of B's config overridden too.
func newExchangeWith(t testing.TB, aConfig, bConfig map[string]string) *exchange {
	t.Helper()
	dir := t.TempDir()
	tp, ps := participants(t, dir, "a.obmen.local", "b.obmen.local")
	x := &exchange{tp: tp}
	x.a = newGateway(t, dir, tp, ps["a.obmen.local"], aConfig)
	x.b = newGateway(t, dir, tp, ps["b.obmen.local"], bConfig)
	x.seed(register.Active)
	return x
}

// newGateway configures (does not start) a seosgw node for participant p
// in dir; extra overrides fields of writeConfig's template.
func newGateway(t testing.TB, dir string, tp *pki.TestPKI, p participant, extra map[string]string) *gateway {
	t.Helper()
	g := &gateway{t: t, p: p, listen: testkit.FreeAddr(t), ops: testkit.FreeAddr(t)}
	g.db = filepath.Join(dir, g.p.entity.Identifier+".db")
	g.cfg = filepath.Join(dir, g.p.entity.Identifier+".yaml")
	api := testkit.FreeAddr(t)
	token := g.cfg + ".token"
	g.spool = filepath.Join(dir, g.p.entity.Identifier+"-spool")
	fields := map[string]string{"GUID": g.p.entity.GUID, "EIK": g.p.entity.Identifier, "NAME": g.p.entity.AdministrativeBodyName,
		"CERT": g.p.files.Cert, "KEY": g.p.files.Key, "CA": tp.CACert, "LISTEN": g.listen, "REGISTER": "https://127.0.0.1:1/service/",
		"DB": g.db, "OPS": g.ops, "AIS": api, "TOKEN": token, "SPOOL": g.spool}
	for k, v := range extra {
		fields[k] = v
	}
	writeConfig(t, g.cfg, fields)
	tok, err := ais.ReadToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if g.api, err = ais.NewClient(api, tok); err != nil {
		t.Fatal(err)
	}
	return g
}

// seed writes both register copies; aStatus is A's status in B's copy.
func (x *exchange) seed(aStatus register.Status) {
	ents := func(aSt register.Status) []register.Entity {
		a := x.a.p.registerEntity(x.a.url())
		a.Status = aSt
		return []register.Entity{a, x.b.p.registerEntity(x.b.url())}
	}
	testkit.SeedFile(x.a.t, x.a.db, ents(register.Active)...)
	testkit.SeedFile(x.b.t, x.b.db, ents(aStatus)...)
}

func letter(to string, n int) *ais.Outgoing {
	return &ais.Outgoing{Recipient: to, Kind: "Писмо", About: fmt.Sprintf("Писмо %d", n), Comment: "за регистрация",
		Attachments: []ais.Attachment{{FileName: fmt.Sprintf("писмо-%d.pdf", n), MIMEType: "application/pdf",
			Content: base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%%PDF-1.4 писмо %d", n)))}}}
}

func (g *gateway) send(n int, to *gateway) (int64, string) {
	g.t.Helper()
	q, _, err := g.api.Send(context.Background(), letter(to.p.entity.GUID, n), "")
	if err != nil {
		g.t.Fatalf("send %d: %v", n, err)
	}
	return q.ID, q.DocumentGUID
}

// waitFor polls A's view of a document until cond holds.
func (g *gateway) waitFor(id int64, timeout time.Duration, cond func(*ais.Status) bool) *ais.Status {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, _, err := g.api.Status(context.Background(), id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("document %d: condition not met in %s: %+v %v", id, timeout, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func state(s string) func(*ais.Status) bool {
	return func(st *ais.Status) bool { return st.State == s }
}

func TestExchangeBetweenTwoGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	x := newExchange(t, nil)
	x.a.start()
	x.b.start()
	bdb := testkit.OpenDB(t, x.b.db)

	t.Run("a document and its registration", func(t *testing.T) {
		id, doc := x.a.send(1, x.b)
		x.a.waitFor(id, 20*time.Second, state("waiting_registration"))
		var inboxID int64
		if err := bdb.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&inboxID); err != nil {
			t.Fatalf("not in B's inbox: %v", err)
		}
		if code, body := x.b.post(fmt.Sprintf("/api/v1/inbox/%d/register", inboxID), `{"number":{"number":"Б-1","date":"2026-11-23"}}`); code != 202 {
			t.Fatalf("register: HTTP %d %s", code, body)
		}
		st := x.a.waitFor(id, 20*time.Second, state("registered"))
		if st.PeerNumber == nil || st.PeerNumber.Number != "Б-1" {
			t.Errorf("registration number not carried back: %+v", st)
		}
	})

	// An AIS that only writes files: A's drop reaches B's inbox folder, B's
	// receipt goes back as DS_REGISTERED.
	t.Run("spool folders end to end", func(t *testing.T) {
		doc := seos.NewGUID()
		drop := fmt.Sprintf(`{"recipient": %q, "kind": "Заповед", "documentGuid": %q, "about": "чрез папка", "comment": "от папката",
			"attachments": [{"fileName": "заповед.txt", "mimeType": "text/plain", "file": "zapoved.txt"}]}`, x.b.p.entity.GUID, doc)
		writeFile(t, filepath.Join(x.a.spool, "outbox", "zapoved.txt"), "текст на заповедта")
		writeFile(t, filepath.Join(x.a.spool, "outbox", "z1.json.tmp"), drop)
		if err := os.Rename(filepath.Join(x.a.spool, "outbox", "z1.json.tmp"), filepath.Join(x.a.spool, "outbox", "z1.json")); err != nil {
			t.Fatal(err)
		}
		var inboxID int64
		testkit.Eventually(t, 20*time.Second, "the document in B's inbox", func() bool {
			return bdb.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&inboxID) == nil
		})
		folder := filepath.Join(x.b.spool, "inbox", fmt.Sprintf("%08d", inboxID))
		testkit.Eventually(t, 20*time.Second, "B's inbox folder", func() bool {
			_, err := os.Stat(filepath.Join(folder, "document.json"))
			return err == nil
		})
		receipt := fmt.Sprintf(`{"inboxId": %d, "action": "register", "number": "Б-СП-1", "date": "2026-11-23"}`, inboxID)
		writeFile(t, filepath.Join(x.b.spool, "receipts", "r1.json.tmp"), receipt)
		os.Rename(filepath.Join(x.b.spool, "receipts", "r1.json.tmp"), filepath.Join(x.b.spool, "receipts", "r1.json"))
		adb := testkit.OpenDB(t, x.a.db)
		testkit.Eventually(t, 20*time.Second, "DS_REGISTERED at A", func() bool {
			var st, num string
			adb.QueryRow(`SELECT doc_status, peer_number FROM outbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&st, &num)
			return st == "DS_REGISTERED" && num == "Б-СП-1"
		})
	})

	t.Run("recipient down, then back", func(t *testing.T) {
		x.b.node.Stop(syscall.SIGTERM)
		id, doc := x.a.send(2, x.b)
		st := x.a.waitFor(id, 20*time.Second, func(st *ais.Status) bool { return st.Attempts >= 2 })
		if st.State != "sending" || !strings.Contains(st.Error, "network") {
			t.Errorf("while B is down: %+v", st)
		}
		x.b.start()
		x.a.waitFor(id, 30*time.Second, state("waiting_registration"))
		if c := testkit.CountDocument(t, bdb, doc); c != 1 {
			t.Errorf("B stored document 2 %d times", c)
		}
	})

	t.Run("sender restarted mid-queue", func(t *testing.T) {
		x.b.node.Stop(syscall.SIGTERM)
		var ids []int64
		var docs []string
		for i := 0; i < 5; i++ {
			id, doc := x.a.send(10+i, x.b)
			ids, docs = append(ids, id), append(docs, doc)
		}
		x.a.waitFor(ids[4], 20*time.Second, func(st *ais.Status) bool { return st.Attempts >= 1 })
		x.a.node.Stop(syscall.SIGKILL)
		x.b.start()
		x.a.start()
		for i, id := range ids {
			x.a.waitFor(id, 30*time.Second, state("waiting_registration"))
			if c := testkit.CountDocument(t, bdb, docs[i]); c != 1 {
				t.Errorf("B stored %s %d times", docs[i], c)
			}
		}
	})

	var refused int64
	var refusedDoc string
	t.Run("an Error reply is final", func(t *testing.T) {
		x.b.node.Stop(syscall.SIGTERM)
		x.seed(register.Inactive) // B now sees A as inactive and will refuse it
		x.b.start()
		id, doc := x.a.send(20, x.b)
		refused, refusedDoc = id, doc
		st := x.a.waitFor(id, 20*time.Second, state("failed"))
		if st.Attempts != 1 || !strings.Contains(st.Error, "ERR_EXTERNAL") {
			t.Errorf("after an Error reply: %+v", st)
		}
		// Had it been rescheduled, its retry (retry_first after its
		// attempt) would come before the second attempt of a document
		// sent later to a B that is down: once that one has been
		// retried, the failed one must still have its one attempt.
		x.b.node.Stop(syscall.SIGTERM)
		later, _ := x.a.send(21, x.b)
		x.a.waitFor(later, 20*time.Second, func(st *ais.Status) bool { return st.Attempts >= 2 })
		if st2, _, _ := x.a.api.Status(context.Background(), id); st2.Attempts != 1 || st2.State != "failed" {
			t.Errorf("a failed document was retried: %+v", st2)
		}
	})

	// The operator sends the refused document again once B's register
	// copy lists A as active: same DocumentGUID, the history kept.
	t.Run("a failed document sent again by the operator", func(t *testing.T) {
		if refused == 0 {
			t.Skip("no refused document")
		}
		x.seed(register.Active)
		x.b.start()
		if out, code := testkit.Run(t, "outbox", "list", "--config", x.a.cfg, "--state", "failed"); code != 0 || !strings.Contains(out, refusedDoc) {
			t.Fatalf("outbox list --state failed: %d\n%s", code, out)
		}
		if out, code := testkit.Run(t, "outbox", "retry", "--config", x.a.cfg, "--note", "B lists A as active again", fmt.Sprint(refused)); code != 0 {
			t.Fatalf("outbox retry: %d\n%s", code, out)
		}
		st := x.a.waitFor(refused, 20*time.Second, state("waiting_registration"))
		var events []string
		for _, e := range st.History {
			events = append(events, e.Event)
		}
		if st.DocumentGUID != refusedDoc || !strings.HasPrefix(strings.Join(events, ","), "queued,failed,manual_retry,delivered") {
			t.Errorf("after the retry: %s %v", st.DocumentGUID, events)
		}
		if c := testkit.CountDocument(t, bdb, refusedDoc); c != 1 {
			t.Errorf("B stored the document %d times", c)
		}
		// Delivered now: it cannot be cancelled.
		if out, code := testkit.Run(t, "outbox", "cancel", "--config", x.a.cfg, fmt.Sprint(refused)); code != 1 || !strings.Contains(out, "delivered already") {
			t.Errorf("outbox cancel of a delivered document: %d\n%s", code, out)
		}
	})
}

// post sends a JSON request to the node's AIS API.
func (g *gateway) post(path, body string) (int, string) {
	g.t.Helper()
	return aisPost(g.t, g.api, path, body)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
