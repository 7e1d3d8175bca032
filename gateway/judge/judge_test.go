package judge_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/judge"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// world is a gateway database, a real clamd, a qualified-provider-like PKI
// with its CRL server, and the test rules (acceptancetest.RulesYAML).
type world struct {
	t        *testing.T
	db       *sql.DB
	pki      *acceptancetest.PKI
	policy   *acceptance.Policy
	reg      *prometheus.Registry
	metrics  *judge.Metrics
	sender   seos.Entity
	self     seos.Entity
	mu       sync.Mutex
	received []int64 // what the judge handed to the AIS (the spool's hook)
	queued   int     // notifications it queued
}

func newWorld(t *testing.T, revocationTimeout string) *world {
	t.Helper()
	w := &world{t: t, db: testkit.DB(t), pki: acceptancetest.NewPKI(t), reg: prometheus.NewRegistry()}
	sender := testkit.Participant(2, "000695089", "Министерство А")
	self := testkit.Participant(3, "121857413", "Агенция Б")
	w.sender, w.self = sender.Node(), self.Node()
	clamd := acceptancetest.StartClamd(t)
	var err error
	w.policy, err = acceptance.Load(acceptancetest.WriteRules(t, t.TempDir(), w.pki, clamd, revocationTimeout),
		acceptance.WithRegistry(w.reg), acceptance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if w.metrics, err = judge.NewMetrics(w.reg, w.db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) judge() *judge.Judge {
	return &judge.Judge{DB: w.db, Policy: w.policy, Self: w.self, Clock: clock.System, Log: slog.New(slog.DiscardHandler),
		Metrics: w.metrics, Workers: 2, Timeout: time.Minute, Poll: time.Hour,
		Received: func(id int64) { w.mu.Lock(); w.received = append(w.received, id); w.mu.Unlock() },
		Queued:   func() { w.mu.Lock(); w.queued++; w.mu.Unlock() }}
}

// run runs a judge until the returned stop is called; stop waits for it.
func (w *world) run(j *judge.Judge) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				w.t.Errorf("judge: %v", err)
			}
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// signedText is a letter as a text file with its author's detached CAdES
// signature beside it.
func (w *world) signedText(signer *acceptancetest.Cert, name, text string) []seos.Attachment {
	sig := acceptancetest.SignCMS(w.t, w.pki, signer, []byte(text), acceptancetest.CMSOptions{Extra: []string{"-cades"}})
	return []seos.Attachment{
		{FileName: name, MIMEType: "text/plain", Body: seos.Base64Of([]byte(text))},
		{FileName: name + ".p7s", MIMEType: "application/pkcs7-signature", Body: seos.Base64Of(sig)},
	}
}

func doc(kind, about string, atts []seos.Attachment) seos.Document {
	d := seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: kind, Attachments: atts}
	if about != "" {
		d.About = seos.Str(about)
	}
	return d
}

func (w *world) item(id int64) *inbox.Item {
	w.t.Helper()
	it, err := inbox.Get(context.Background(), w.db, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return it
}

func (w *world) judged(id int64) *inbox.Item {
	w.t.Helper()
	var it *inbox.Item
	testkit.Eventually(w.t, time.Minute, "a verdict", func() bool {
		it = w.item(id)
		return it.State != inbox.Checking
	})
	return it
}

// check finds a verdict's check of a rule (and subject, when given).
func check(v *acceptance.Verdict, rule, subject string) *acceptance.Check {
	for i := range v.Checks {
		if v.Checks[i].Rule == rule && (subject == "" || v.Checks[i].Subject == subject) {
			return &v.Checks[i]
		}
	}
	return nil
}

// TestVerdicts: each outcome lands where the issue says — accept and hold
// in the AIS's inbox (hold marked for review), reject refused with a
// DS_REJECTED whose reason is in Cyrillic and Latin — with every check
// kept, an advise rule shown without deciding, and a CRL that cannot be
// fetched never taken for a revocation.
func TestVerdicts(t *testing.T) {
	w := newWorld(t, "10s")
	ok := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089"})
	revoked := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Петър Стоянов", OrgID: "NTRBG-000695089"})
	w.pki.Revoke(t, revoked)
	unreachable := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Мария Георгиева", OrgID: "NTRBG-000695089",
		CRLURL: acceptancetest.UnreachableURL(t, "/issuing.crl")})
	wanted := "Желая потвърждаване за получаването."

	type want struct {
		outcome acceptance.Outcome
		state   inbox.State
		rule    string // a check that must be there…
		subject string
		status  acceptance.Status // … with this status
		mode    acceptance.Mode
		text    string // in its English reason
	}
	cases := []struct {
		name string
		doc  seos.Document
		want want
	}{
		{"a signed letter", doc("Писмо", wanted, w.signedText(ok, "писмо.txt", "Писмо до агенцията")),
			want{acceptance.Accept, inbox.Received, "signature.revocation", "писмо.txt", acceptance.Pass, acceptance.Enforce, "not revoked"}},
		{"an advise rule fails and decides nothing", doc("Писмо", "", w.signedText(ok, "писмо.txt", "Писмо без искане")),
			want{acceptance.Accept, inbox.Received, "requisite.receipt_confirmation", "", acceptance.Fail, acceptance.Advise, ""}},
		{"an unknown kind is held", doc("Бележка", wanted, w.signedText(ok, "бележка.txt", "Бележка")),
			want{acceptance.Hold, inbox.Received, "kind", "", acceptance.Unknown, acceptance.Enforce, ""}},
		{"a non-registrable kind is refused", doc("Честитка", wanted, w.signedText(ok, "честитка.txt", "Честит празник")),
			want{acceptance.Reject, inbox.Rejected, "kind", "", acceptance.Fail, acceptance.Enforce, ""}},
		{"a virus is refused", doc("Писмо", wanted, w.signedText(ok, "eicar.txt", acceptancetest.EICAR)),
			want{acceptance.Reject, inbox.Rejected, "virus", "eicar.txt", acceptance.Fail, acceptance.Enforce, acceptancetest.EICARSignature}},
		{"a revoked signer is refused", doc("Писмо", wanted, w.signedText(revoked, "писмо.txt", "Писмо от отменен подпис")),
			want{acceptance.Reject, inbox.Rejected, "signature.revocation", "писмо.txt", acceptance.Fail, acceptance.Enforce, "revoked"}},
		{"a CRL that cannot be fetched is unknown, held", doc("Писмо", wanted, w.signedText(unreachable, "писмо.txt", "Писмо")),
			want{acceptance.Hold, inbox.Received, "signature.revocation", "писмо.txt", acceptance.Unknown, acceptance.Enforce, ""}},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		ids[i] = testkit.ReceiveIn(t, w.db, w.sender, c.doc, time.Now(), inbox.Checking)
	}
	if n := gauge(t, w.reg, "seosgw_acceptance_documents_waiting"); n != float64(len(cases)) {
		t.Errorf("waiting for a verdict: %v, want %d", n, len(cases))
	}
	j := w.judge()
	w.run(j)
	j.Arrived(ids[0])
	held, rejected := 0, 0
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := w.judged(ids[i])
			v := it.Verdict
			if v == nil || v.Outcome != c.want.outcome || it.State != c.want.state {
				t.Fatalf("state %s, verdict %+v; want %s, %s", it.State, v, c.want.state, c.want.outcome)
			}
			if it.NeedsReview != (c.want.outcome == acceptance.Hold) {
				t.Errorf("needsReview %v", it.NeedsReview)
			}
			ch := check(v, c.want.rule, c.want.subject)
			if ch == nil || ch.Status != c.want.status || ch.Mode != c.want.mode || !strings.Contains(ch.Reason.EN, c.want.text) {
				t.Errorf("check %s: %+v; want %s, %s, %q", c.want.rule, ch, c.want.status, c.want.mode, c.want.text)
			}
			for _, ch := range v.Checks {
				if strings.Contains(ch.Reason.EN, "revoked since") && c.want.status != acceptance.Fail {
					t.Errorf("called revoked: %+v", ch)
				}
			}
			switch c.want.outcome {
			case acceptance.Hold:
				held++
			case acceptance.Reject:
				rejected++
				if it.RejectionReason != v.RejectionReason() || !strings.HasPrefix(it.RejectionReason, "Отказ от регистрация: ") ||
					!strings.Contains(it.RejectionReason, "\nOtkaz ot registratsia: ") {
					t.Errorf("rejection reason %q", it.RejectionReason)
				}
				sent := statusesFor(t, w.db, it.ID)
				if len(sent) != 1 || sent[0].Status != seos.StatusRejected || seos.CanonicalGUID(sent[0].DocID.GUID) != seos.CanonicalGUID(it.DocumentGUID) ||
					sent[0].RejectionReason == nil || *sent[0].RejectionReason != it.RejectionReason {
					t.Errorf("queued to the sender: %+v", sent)
				}
				return
			}
			if sent := statusesFor(t, w.db, it.ID); len(sent) != 0 {
				t.Errorf("a notification was queued for a document the AIS has: %+v", sent)
			}
		})
	}
	w.mu.Lock()
	if len(w.received) != len(cases)-rejected || w.queued != rejected {
		t.Errorf("handed %d documents to the AIS and queued %d notifications; want %d and %d", len(w.received), w.queued, len(cases)-rejected, rejected)
	}
	w.mu.Unlock()
	if n := gauge(t, w.reg, "seosgw_acceptance_documents_held"); n != float64(held) {
		t.Errorf("held documents: %v, want %d", n, held)
	}
	if n := gauge(t, w.reg, "seosgw_acceptance_documents_waiting"); n != 0 {
		t.Errorf("still waiting: %v", n)
	}
}

// statusesFor are the status notifications queued about a received document.
func statusesFor(t *testing.T, db *sql.DB, inboxID int64) []*seos.StatusResponse {
	t.Helper()
	var out []*seos.StatusResponse
	for _, it := range testkit.OutboxItems(t, db, outbox.KindStatus) {
		if it.InboxID == inboxID {
			out = append(out, it.Request.Status)
		}
	}
	return out
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestStopMidCheck: a judge stopped while a document's checks wait (its
// signer's CRL server hangs) records nothing — the cancelled checks are no
// verdict — and the next judge, as after a restart, judges it once.
func TestStopMidCheck(t *testing.T) {
	w := newWorld(t, "5m")
	gate := w.pki.NewCRLGate(t)
	signer := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089", CRLURL: gate.URL})
	id := testkit.ReceiveIn(t, w.db, w.sender, doc("Писмо", "Желая потвърждаване.", w.signedText(signer, "писмо.txt", "Писмо")), time.Now(), inbox.Checking)

	stop := w.run(w.judge())
	select {
	case <-gate.Arrived:
	case <-time.After(time.Minute):
		t.Fatal("the judge never asked for the CRL")
	}
	stop()
	if it := w.item(id); it.State != inbox.Checking || it.Verdict != nil {
		t.Fatalf("after a stop mid-check: %s, %+v", it.State, it.Verdict)
	}
	if n := gauge(t, w.reg, "seosgw_acceptance_documents_waiting"); n != 1 {
		t.Errorf("waiting: %v", n)
	}
	if at := gauge(t, w.reg, "seosgw_acceptance_oldest_waiting_timestamp_seconds"); at != float64(w.item(id).ReceivedAt.UnixNano())/1e9 {
		t.Errorf("oldest waiting since %v, want %v", at, w.item(id).ReceivedAt)
	}

	gate.Open()
	w.run(w.judge()) // nobody wakes it: it starts with what was left checking
	it := w.judged(id)
	if it.Verdict.Outcome != acceptance.Accept || it.State != inbox.Received {
		t.Errorf("after the restart: %s, %s", it.State, it.Verdict.Summary())
	}
	if rc := check(it.Verdict, "signature.revocation", "писмо.txt"); rc == nil || rc.Status != acceptance.Pass {
		t.Errorf("revocation: %+v", rc)
	}
}

// Attachments the endpoint kept in the file store (large ones) are judged
// from their files as those kept in rows are: the signature over the
// letter holds, and a judge without the file store says it cannot read
// them rather than judging an empty file.
func TestAttachmentsInFiles(t *testing.T) {
	w := newWorld(t, "10s")
	signer := w.pki.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089"})
	files, err := blob.Open(filepath.Join(t.TempDir(), "gw.files"))
	if err != nil {
		t.Fatal(err)
	}
	atts := w.signedText(signer, "писмо.txt", "Писмо до агенцията, "+strings.Repeat("дълго ", 40000))
	for i := range atts {
		b, err := atts[i].Body.Decode()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := files.PutBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		atts[i].Body, atts[i].Stored = "", &seos.StoredBody{Size: int64(len(b)), Blob: ref}
	}
	id := testkit.ReceiveIn(t, w.db, w.sender, doc("Писмо", "Желая потвърждаване за получаването.", atts), time.Now(), inbox.Checking)
	if _, err := inbox.OpenAttachment(context.Background(), w.db, nil, id, 1); err == nil || !strings.Contains(err.Error(), "no file store is open") {
		t.Errorf("without the file store: %v", err)
	}
	j := w.judge()
	j.Files = files
	w.run(j)
	it := w.judged(id)
	if it.State != inbox.Received || it.Verdict == nil || it.Verdict.Outcome != acceptance.Accept {
		t.Fatalf("judged %s: %+v", it.State, it.Verdict)
	}
	if ch := check(it.Verdict, "signature.revocation", "писмо.txt"); ch == nil || ch.Status != acceptance.Pass {
		t.Errorf("the letter's signature, read from its file: %+v", ch)
	}
}
