package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/spool"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// policyExchange is A and B over SEOS, B judging what it receives by the
// test rules (acceptancetest.RulesYAML) with a real clamd and a test
// qualified provider whose CRLs are served on loopback.
type policyExchange struct {
	*exchange
	t     *testing.T
	pki   *acceptancetest.PKI
	gate  *acceptancetest.CRLGate
	rules string
}

func newPolicyExchange(t *testing.T) *policyExchange {
	t.Helper()
	return newPolicyExchangeWith(t, nil)
}

// newPolicyExchangeWith is newPolicyExchange whose rules let persons sign
// too, and with more of B's config fields from bFields (given the provider
// before B is configured).
func newPolicyExchangeWith(t *testing.T, bFields func(*policyExchange) map[string]string, persons ...string) *policyExchange {
	t.Helper()
	p := &policyExchange{t: t, pki: acceptancetest.NewPKI(t)}
	p.gate = p.pki.NewCRLGate(t)
	clamd := acceptancetest.StartClamd(t)
	// A CRL download may wait a minute: the crash test catches documents
	// while theirs hang; nothing else waits on a slow one.
	p.rules = acceptancetest.WriteRules(t, t.TempDir(), p.pki, clamd, "60s", persons...)
	fields := map[string]string{"ACCEPTANCE": fmt.Sprintf("acceptance: {rules: %q, timeout: 3m}", p.rules)}
	if bFields != nil {
		for k, v := range bFields(p) {
			fields[k] = v
		}
	}
	p.exchange = newExchangeWith(t, nil, fields)
	return p
}

// signer issues a certificate of A's author (NTRBG-<A's EIK>) whose CRL is
// at crlURL ("" for the provider's own server).
func (p *policyExchange) signer(name, crlURL string) *acceptancetest.Cert {
	return p.pki.Issue(p.t, acceptancetest.SignerSpec{Name: name, OrgID: "NTRBG-" + p.a.p.entity.Identifier, CRLURL: crlURL})
}

// signed is a letter as a text file with its author's detached CAdES
// signature, as A's AIS attaches them.
func (p *policyExchange) signed(signer *acceptancetest.Cert, name, text string) []ais.Attachment {
	sig := acceptancetest.SignCMS(p.t, p.pki, signer, []byte(text), acceptancetest.CMSOptions{Extra: []string{"-cades"}})
	return []ais.Attachment{
		{FileName: name, MIMEType: "text/plain", Content: base64.StdEncoding.EncodeToString([]byte(text))},
		{FileName: name + ".p7s", MIMEType: "application/pkcs7-signature", Content: base64.StdEncoding.EncodeToString(sig)},
	}
}

// send posts a document to A's AIS API for B and waits until B has it;
// it returns A's id, the DocumentGUID and B's inbox id.
func (p *policyExchange) send(kind, about string, atts []ais.Attachment) (int64, string, int64) {
	p.t.Helper()
	q, _, err := p.a.api.Send(context.Background(), &ais.Outgoing{Recipient: p.b.p.entity.GUID, Kind: kind, About: about,
		Comment: "за регистрация", Attachments: atts}, "")
	if err != nil {
		p.t.Fatalf("send: %v", err)
	}
	p.a.waitFor(q.ID, 30*time.Second, func(st *ais.Status) bool { return st.State != "queued" && st.State != "sending" })
	bdb := testkit.OpenDB(p.t, p.b.db)
	var inboxID int64
	if err := bdb.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(q.DocumentGUID)).Scan(&inboxID); err != nil {
		p.t.Fatalf("not in B's inbox: %v", err)
	}
	return q.ID, q.DocumentGUID, inboxID
}

// received reads a document of B's inbox through B's AIS API: nil, with
// the HTTP status, when the API does not show it.
func (p *policyExchange) received(id int64) (doc *ais.ReceivedDocument, code int) {
	p.t.Helper()
	code, body := aisGet(p.t, p.b.api, fmt.Sprintf("/api/v1/inbox/%d", id))
	if code != 200 {
		return nil, code
	}
	doc = &ais.ReceivedDocument{}
	if err := json.Unmarshal([]byte(body), doc); err != nil {
		p.t.Fatalf("B's inbox item %d: %v: %s", id, err, body)
	}
	return doc, code
}

func findCheck(a *ais.Acceptance, rule string) *acceptance.Check {
	for i := range a.Checks {
		if a.Checks[i].Rule == rule {
			return &a.Checks[i]
		}
	}
	return nil
}

// bilingual reports whether a text to the sender has its Cyrillic line and
// the Latin transliteration of it.
func bilingual(s, cyrillic, latin string) bool {
	lines := strings.Split(s, "\n")
	return len(lines) == 2 && strings.Contains(lines[0], cyrillic) && strings.Contains(lines[1], latin)
}

// TestAcceptancePolicyBetweenTwoGateways: B's policy judges what A sends
// over SEOS, after B has answered DS_WAIT_REGISTRATION; refusals reach A as
// DS_REJECTED with the reasons in Cyrillic and Latin, a held document goes
// to B's clerk, whose registration brings A the bilingual receipt.
func TestAcceptancePolicyBetweenTwoGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	p := newPolicyExchange(t)
	author := p.signer("Иван Петров", "")
	revoked := p.signer("Петър Стоянов", "")
	p.pki.Revoke(t, revoked) // before B fetches the list: it must not have it cached without
	unreachable := p.signer("Мария Георгиева", acceptancetest.UnreachableURL(t, "/issuing.crl"))
	p.a.start()
	p.b.start()
	wanted := "Желая потвърждаване за получаването на изпратеното електронно изявление."
	var eicarInbox, heldInbox int64

	t.Run("a non-registrable kind is rejected with the bilingual reason", func(t *testing.T) {
		id, _, inboxID := p.send("Честитка", wanted, p.signed(author, "честитка.txt", "Честит празник!"))
		st := p.a.waitFor(id, time.Minute, state("rejected"))
		if !bilingual(st.Rejection, `Отказ от регистрация: документи от вида "Честитка" не подлежат на регистрация (честитки и поздравления).`,
			`Otkaz ot registratsia: dokumenti ot vida "Chestitka" ne podlezhat na registratsia (chestitki i pozdravlenia).`) {
			t.Errorf("A was told: %q", st.Rejection)
		}
		doc, _ := p.received(inboxID)
		if doc == nil || doc.State != "rejected" || doc.Acceptance == nil || doc.Acceptance.Outcome != acceptance.Reject || doc.RejectionReason != st.Rejection {
			t.Errorf("B's clerk sees %+v", doc)
		}
	})

	t.Run("an EICAR attachment is rejected, never offered as clean", func(t *testing.T) {
		id, _, inboxID := p.send("Писмо", wanted, p.signed(author, "писмо.txt", acceptancetest.EICAR))
		eicarInbox = inboxID
		st := p.a.waitFor(id, time.Minute, state("rejected"))
		if !bilingual(st.Rejection, "писмо.txt: файлът съдържа вирус или зловреден код ("+acceptancetest.EICARSignature+")", "pismo.txt: faylat sadarzha virus") {
			t.Errorf("A was told: %q", st.Rejection)
		}
		doc, _ := p.received(inboxID)
		if c := findCheck(doc.Acceptance, "virus"); doc.State != "rejected" || c == nil || c.Status != acceptance.Fail {
			t.Errorf("B's verdict: %+v", doc.Acceptance)
		}
		if code, body := aisGet(t, p.b.api, fmt.Sprintf("/api/v1/inbox/%d/attachments/1", inboxID)); code != 409 || !strings.Contains(body, acceptancetest.EICARSignature) {
			t.Errorf("the infected file was handed out: %d %s", code, body)
		}
		code, body := aisGet(t, p.b.api, "/api/v1/inbox?state=received")
		if code != 200 || strings.Contains(body, fmt.Sprintf(`"id":%d,`, inboxID)) {
			t.Errorf("listed as received: %s", body)
		}
	})

	t.Run("a revoked signer is rejected as revoked", func(t *testing.T) {
		id, _, inboxID := p.send("Писмо", wanted, p.signed(revoked, "писмо.txt", "Писмо"))
		st := p.a.waitFor(id, time.Minute, state("rejected"))
		if !bilingual(st.Rejection, "е прекратен (revoked)", "e prekraten (revoked)") {
			t.Errorf("A was told: %q", st.Rejection)
		}
		doc, _ := p.received(inboxID)
		if c := findCheck(doc.Acceptance, "signature.revocation"); c == nil || c.Status != acceptance.Fail || !strings.Contains(c.Reason.EN, "revoked since") {
			t.Errorf("B's revocation check: %+v", c)
		}
	})

	t.Run("an unreachable CRL is never revoked: held for the clerk, whose registration brings the receipt", func(t *testing.T) {
		id, _, inboxID := p.send("Писмо", wanted, p.signed(unreachable, "писмо.txt", "Писмо до агенцията"))
		heldInbox = inboxID
		var doc *ais.ReceivedDocument
		testkit.Eventually(t, time.Minute, "B's verdict", func() bool {
			doc, _ = p.received(inboxID)
			return doc != nil
		})
		c := findCheck(doc.Acceptance, "signature.revocation")
		if !doc.NeedsReview || doc.Acceptance.Outcome != acceptance.Hold || c == nil || c.Status != acceptance.Unknown || strings.Contains(c.Reason.EN, "revoked since") {
			t.Fatalf("B holds %+v; revocation %+v", doc, c)
		}
		if adv := findCheck(doc.Acceptance, "requisite.receipt_confirmation"); adv == nil || adv.Mode != acceptance.Advise || adv.Status != acceptance.Pass {
			t.Errorf("the advise-only requisite: %+v", adv)
		}
		if st, _, _ := p.a.api.Status(context.Background(), id); st.State != "waiting_registration" {
			t.Errorf("A's document is %s while B's clerk decides", st.State)
		}
		folder := filepath.Join(p.b.spool, spool.Inbox, spool.FolderName(inboxID))
		testkit.Eventually(t, 30*time.Second, "the held document in B's spool", func() bool {
			_, err := os.Stat(filepath.Join(folder, spool.DocumentFile))
			return err == nil
		})
		b, _ := os.ReadFile(filepath.Join(folder, spool.DocumentFile))
		if !strings.Contains(string(b), `"needsReview": true`) || !strings.Contains(string(b), `"outcome": "hold"`) {
			t.Errorf("the spool's document.json lacks the verdict:\n%s", b)
		}

		if code, body := p.b.post(fmt.Sprintf("/api/v1/inbox/%d/register", inboxID), `{"number":{"number":"Б-17","date":"2026-11-24"}}`); code != 202 {
			t.Fatalf("register: HTTP %d %s", code, body)
		}
		st := p.a.waitFor(id, time.Minute, state("registered"))
		if !bilingual(st.Receipt, "Потвърждаваме получаването на Вашия електронен документ на ", "Potvarzhdavame poluchavaneto na Vashia elektronen dokument na ") ||
			!strings.Contains(st.Receipt, "рег. № Б-17 от 24.11.2026.\n") || !strings.HasSuffix(st.Receipt, "reg. № Б-17 ot 24.11.2026.") {
			t.Errorf("A's receipt: %q", st.Receipt)
		}
		out, code := testkit.Run(t, "status", "--config", p.a.cfg, strconv.FormatInt(id, 10))
		if code != 0 || !strings.Contains(out, "Receipt:") || !strings.Contains(out, "Potvarzhdavame") {
			t.Errorf("seosgw status at A: exit %d\n%s", code, out)
		}
	})

	t.Run("log show tells the verdict", func(t *testing.T) {
		bdb := testkit.OpenDB(t, p.b.db)
		var logID int64
		if err := bdb.QueryRow(`SELECT log_id FROM inbox WHERE id = ?`, eicarInbox).Scan(&logID); err != nil {
			t.Fatal(err)
		}
		out, code := testkit.Run(t, "log", "show", "--config", p.b.cfg, strconv.FormatInt(logID, 10))
		if code != 0 || !strings.Contains(out, fmt.Sprintf("inbox:           %d (rejected)", eicarInbox)) || !strings.Contains(out, "acceptance:      reject") ||
			!strings.Contains(grepLines(out, "virus"), "fail") || !strings.Contains(out, acceptancetest.EICARSignature) {
			t.Errorf("log show %d: exit %d\n%s", logID, code, out)
		}
		out, code = testkit.Run(t, "log", "show", "--config", p.b.cfg, "--lang", "latin", strconv.FormatInt(logID, 10))
		if code != 0 || !strings.Contains(out, "faylat sadarzha virus") {
			t.Errorf("log show --lang latin: exit %d\n%s", code, out)
		}
	})

	// Only what the policy let through reached B's AIS folder.
	entries, _ := os.ReadDir(filepath.Join(p.b.spool, spool.Inbox))
	for _, e := range entries {
		if e.Name() != spool.FolderName(heldInbox) {
			t.Errorf("B's spool inbox holds %s; only the held document %d was let through", e.Name(), heldInbox)
		}
	}
	metrics := getText(t, "http://"+p.b.ops+"/metrics")
	for _, want := range []string{"seosgw_acceptance_documents_waiting 0", "seosgw_acceptance_documents_held 0", "seosgw_acceptance_scanner_up 1",
		`seosgw_acceptance_verdicts_total{outcome="reject"} 3`, `seosgw_acceptance_verdicts_total{outcome="hold"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("B's metrics lack %s:\n%s", want, grepLines(metrics, "seosgw_acceptance_"))
		}
	}
	if r := getText(t, "http://"+p.b.ops+"/readyz"); !strings.Contains(r, "ok   scanner") {
		t.Errorf("readiness: %s", r)
	}
}

// TestAcceptanceCrashWhileChecking: B is killed (SIGKILL) while documents
// wait for their verdict — their signer's CRL server hangs — and after the
// restart every one is judged, once, and reaches B's AIS.
func TestAcceptanceCrashWhileChecking(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	p := newPolicyExchange(t)
	slow := p.signer("Иван Петров", p.gate.URL)
	p.a.start()
	p.b.start()
	const n = 3
	ids, docs := make([]int64, n), make([]string, n)
	for i := range n {
		ids[i], docs[i], _ = p.send("Писмо", "Желая потвърждаване.", p.signed(slow, fmt.Sprintf("писмо-%d.txt", i), fmt.Sprintf("Писмо %d", i)))
		if st, _, _ := p.a.api.Status(context.Background(), ids[i]); st.State != "waiting_registration" {
			t.Fatalf("A's document %d: %s", i, st.State)
		}
	}
	select {
	case <-p.gate.Arrived:
	case <-time.After(time.Minute):
		t.Fatal("B never asked for the CRL")
	}
	if m := getText(t, "http://"+p.b.ops+"/metrics"); !strings.Contains(m, fmt.Sprintf("seosgw_acceptance_documents_waiting %d", n)) {
		t.Fatalf("before the kill: %s", grepLines(m, "seosgw_acceptance_documents"))
	}
	p.b.node.Stop(syscall.SIGKILL)
	bdb := testkit.OpenDB(t, p.b.db)
	if c := testkit.Count(t, bdb, `SELECT count(*) FROM inbox WHERE state = 'checking'`); c != n {
		t.Fatalf("%d documents checking after the kill, want %d", c, n)
	}

	p.gate.Open()
	p.b.start()
	testkit.Eventually(t, 2*time.Minute, "every document judged after the restart", func() bool {
		return testkit.Count(t, bdb, `SELECT count(*) FROM inbox WHERE state = 'received'`) == n
	})
	for i, g := range docs {
		if c := testkit.CountDocument(t, bdb, g); c != 1 {
			t.Errorf("document %d stored %d times", i, c)
		}
	}
	code, body := aisGet(t, p.b.api, "/api/v1/inbox?state=received")
	var list ais.InboxList
	json.Unmarshal([]byte(body), &list)
	if code != 200 || len(list.Items) != n {
		t.Fatalf("B's AIS sees %d documents: %s", len(list.Items), body)
	}
	for _, it := range list.Items {
		if it.Acceptance == nil || it.Acceptance.Outcome != acceptance.Accept || it.NeedsReview {
			t.Errorf("document %d: %+v", it.ID, it.Acceptance)
		}
	}
	if c := testkit.Count(t, bdb, `SELECT count(*) FROM outbox`); c != 0 {
		t.Errorf("%d notifications queued for accepted documents", c)
	}
}

// TestBadRulesStopTheStart: a rules file that does not validate stops
// `seosgw serve` before it listens, naming the config field and the rule.
func TestBadRulesStopTheStart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "acceptance.yaml")
	os.WriteFile(rules, []byte(strings.NewReplacer("%CA%", dir, "%CLAMD%", "clamd-host", "%REVOCATION_TIMEOUT%", "10s", "%PERSONS%", "").Replace(acceptancetest.RulesYAML)), 0o644)
	r := newReceiver(t, dir, filepath.Join(dir, "b.db"))
	r.fields["ACCEPTANCE"] = fmt.Sprintf("acceptance: {rules: %q}", rules)
	writeConfig(t, r.cfg, r.fields)
	out, code := testkit.Run(t, "serve", "--config", r.cfg)
	if code == 0 || !strings.Contains(out, "acceptance.rules") || !strings.Contains(out, "virus.clamd") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
