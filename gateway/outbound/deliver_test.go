package outbound

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// net is A (sender, the deliverer under test) and B (recipient) on
// loopback. B is either the real inbound endpoint or a deliberately broken
// peer that answers with what the test says.
type testNet struct {
	t        *testing.T
	ca       *pki.Authority
	a, b, x  *pki.Identity // x: a third participant, signs forged replies
	aEnt     seos.Entity
	bEnt     seos.Entity
	dbA      *sql.DB
	d        *Deliverer
	reg      *prometheus.Registry
	bURL     string
	bLn      net.Listener
	log      *slog.Logger
	entities []register.Entity
}

func newNet(t *testing.T) *testNet {
	t.Helper()
	p := testkit.SharedPKI(t)
	n := &testNet{t: t, ca: p.CA, a: p.Host(t, "a.obmen.local"), b: p.Host(t, "b.obmen.local"), x: p.Host(t, "x.obmen.local"),
		log: slog.New(slog.DiscardHandler)}
	n.aEnt = seos.Entity{Identifier: "000000001", AdministrativeBodyName: "А", GUID: "{aaaaaaaa-0000-4000-8000-000000000001}"}
	n.bEnt = seos.Entity{Identifier: "000000002", AdministrativeBodyName: "Б", GUID: "{bbbbbbbb-0000-4000-8000-000000000002}"}
	var err error
	if n.bLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n.bURL = "https://" + n.bLn.Addr().String() + "/seos/endpoint"
	n.entities = []register.Entity{entity(n.aEnt, n.a, "https://a.invalid/seos"), entity(n.bEnt, n.b, n.bURL)}
	n.dbA = testkit.DB(t)
	cache := testkit.Seed(t, n.dbA, nil, n.entities...)
	n.reg = prometheus.NewRegistry()
	n.d = &Deliverer{DB: n.dbA, Dir: cache, Policy: register.Policy{SelfGUID: n.aEnt.GUID}, Self: n.aEnt, Identity: n.a, Trust: p.Trust(t),
		Clock: clock.System, Log: n.log, Metrics: NewMetrics(n.reg), Schedule: Schedule{First: 200 * time.Millisecond, Retries: 3},
		Workers: 2, Timeout: 10 * time.Second, MaxReply: 16 << 20, StatusAfter: time.Hour, Poll: time.Second}
	return n
}

// entity is a participant's register entry with id's certificate and its
// endpoint at url.
func entity(e seos.Entity, id *pki.Identity, url string) register.Entity {
	return testkit.NewParty(register.Entity{Identifier: e.Identifier, GUID: e.GUID, AdministrativeBodyName: e.AdministrativeBodyName,
		LastChange: time.Now().UTC().Truncate(time.Second)}, id).At(url, register.Active)
}

// serveRealB runs B's real endpoint (the inbound pipeline) on the listener.
func (n *testNet) serveRealB() (*sql.DB, func()) {
	n.t.Helper()
	db := testkit.OpenDB(n.t, filepath.Join(n.t.TempDir(), "b.db"))
	cache := testkit.Seed(n.t, db, nil, n.entities...)
	ts := testkit.SharedPKI(n.t).Trust(n.t)
	p := &inbound.Pipeline{Self: n.bEnt, Dir: cache, Policy: register.Policy{SelfGUID: n.bEnt.GUID},
		Identity: n.b, DB: db, Clock: clock.System, Skew: 10 * time.Minute,
		MaxMessageBytes: 64 << 20, Log: n.log, Metrics: inbound.NewMetrics(prometheus.NewRegistry())}
	srv := inbound.NewServer("", ts.ServerTLS(n.b), inbound.NewHandler(p, "/seos/endpoint", n.bURL, inbound.Limits{MaxConcurrent: 4}, n.log),
		inbound.Timeouts{Read: time.Minute, Write: time.Minute, Idle: time.Minute}, n.log)
	ln := n.listener()
	go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	return db, func() { srv.Close(); db.Close() }
}

// listener re-opens B's port (a stopped server closed it).
func (n *testNet) listener() net.Listener {
	if n.bLn != nil {
		ln := n.bLn
		n.bLn = nil
		return ln
	}
	var ln net.Listener
	testkit.Eventually(n.t, time.Second, "B's port free again", func() bool {
		var err error
		ln, err = net.Listen("tcp", strings.TrimSuffix(strings.TrimPrefix(n.bURL, "https://"), "/seos/endpoint"))
		return err == nil
	})
	return ln
}

// serveBroken answers every Submit with reply(request message).
func (n *testNet) serveBroken(serverID *pki.Identity, reply func(req *seos.Message) []byte) func() {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		payload, _ := soap.ParseSubmit(body)
		m, _, _ := seos.Parse(payload)
		env, _ := soap.SubmitResponse(reply(m))
		w.Header().Set("Content-Type", soap.ContentType)
		w.Write(env)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverID.TLSCertificate()}, ClientAuth: tls.RequireAnyClientCert}}
	ln := n.listener()
	go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	return func() { srv.Close() }
}

func (n *testNet) answer(req *seos.Message, signer *pki.Identity, from seos.Entity, body seos.Body) []byte {
	m := seos.NewMessage(from, req.Header.Sender, time.Now(), body)
	doc, err := m.Document()
	if err != nil {
		n.t.Error(err)
		return nil
	}
	if signer != nil {
		(&xmldsig.Signer{Key: signer.Key, Cert: signer.Cert}).Sign(doc)
	}
	b, _ := seos.WriteCompact(doc)
	return b
}

func (n *testNet) enqueue(doc string) int64 {
	n.t.Helper()
	d := &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо",
		Attachments: []seos.Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF"))}}}
	id, _, err := outbox.Enqueue(context.Background(), n.dbA, outbox.Entry{Kind: outbox.KindRegistration, Recipient: n.bEnt.GUID, Document: doc, Request: &outbox.Request{Document: d, Comment: "тест"}}, time.Now())
	if err != nil {
		n.t.Fatal(err)
	}
	return id
}

// runUntil runs the deliverer until cond holds for item id or time runs out.
func (n *testNet) runUntil(id int64, timeout time.Duration, cond func(*outbox.Item) bool) *outbox.Item {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(timeout)
	for {
		it, err := outbox.Get(context.Background(), n.dbA, id)
		if err != nil {
			n.t.Fatal(err)
		}
		if cond(it) {
			return it
		}
		if time.Now().After(deadline) {
			ev, _ := outbox.Events(context.Background(), n.dbA, id)
			n.t.Fatalf("item %d did not reach the expected state: %+v\nhistory: %+v", id, it, ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func delivered(it *outbox.Item) bool { return it.State == outbox.Delivered }
func failed(it *outbox.Item) bool    { return it.State == outbox.Failed }

func TestDeliversToRealEndpoint(t *testing.T) {
	n := newNet(t)
	dbB, stop := n.serveRealB()
	defer stop()
	doc := seos.NewGUID()
	it := n.runUntil(n.enqueue(doc), 20*time.Second, delivered)
	if it.DocStatus != outbox.StateWaiting || it.Attempts != 1 || it.LastMessageGUID == "" {
		t.Errorf("delivered item: %+v", it)
	}
	var count int
	dbB.QueryRow(`SELECT count(*) FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&count)
	if count != 1 {
		t.Errorf("B stored the document %d times", count)
	}
	var logged int
	n.dbA.QueryRow(`SELECT count(*) FROM message_log WHERE document_guid = ?`, doc).Scan(&logged)
	if logged != 2 {
		t.Errorf("%d log entries, want the request and the reply", logged)
	}
	if v := testutil.ToFloat64(n.d.Metrics.attempts.WithLabelValues("registration", "delivered")); v != 1 {
		t.Errorf("attempt metric %v", v)
	}
	if problems, err := testutil.GatherAndLint(n.reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestRetriesUntilRecipientIsBack(t *testing.T) {
	n := newNet(t)
	n.bLn.Close() // B is down
	n.bLn = nil
	id := n.enqueue(seos.NewGUID())
	n.runUntil(id, 10*time.Second, func(it *outbox.Item) bool { return it.Attempts >= 2 && it.State == outbox.Queued })
	_, stop := n.serveRealB()
	defer stop()
	it := n.runUntil(id, 20*time.Second, delivered)
	ev, _ := outbox.Events(context.Background(), n.dbA, id)
	retries := 0
	for _, e := range ev {
		if e.Event == "retry" {
			retries++
			if !strings.Contains(e.Detail, "network") {
				t.Errorf("retry without the cause: %s", e.Detail)
			}
		}
	}
	if retries < 2 || it.Attempts != retries+1 {
		t.Errorf("%d retries, %d attempts", retries, it.Attempts)
	}
}

func TestGivesUpAfterTheSchedule(t *testing.T) {
	n := newNet(t)
	n.bLn.Close()
	n.bLn = nil
	n.d.Schedule = Schedule{First: 10 * time.Millisecond, Retries: 2}
	it := n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, failed)
	if it.Attempts != 3 || !strings.Contains(it.LastError, "gave up after 3 attempts") || it.DocStatus != "failed" {
		t.Errorf("exhausted item: %+v", it)
	}
}

func TestScheduleIsTheProtocols(t *testing.T) {
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
		16 * time.Hour, 32 * time.Hour, 64 * time.Hour, 128 * time.Hour}
	for i, w := range want {
		if got := DefaultSchedule.Delay(i + 1); got != w {
			t.Errorf("delay after attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if DefaultSchedule.Retries != len(want) {
		t.Errorf("%d retries", DefaultSchedule.Retries)
	}
}

func TestErrorReplyIsFinal(t *testing.T) {
	n := newNet(t)
	stop := n.serveBroken(n.b, func(req *seos.Message) []byte {
		return n.answer(req, n.b, n.bEnt, seos.Body{Error: &seos.ErrorBody{MessageGUID: seos.Str(req.Header.MessageGUID), Type: seos.ErrExternal,
			Description: "Неуспешен – Грешка при подателя. Не харесваме документа."}})
	})
	defer stop()
	it := n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, failed)
	if it.Attempts != 1 || !strings.Contains(it.LastError, "Не харесваме") {
		t.Errorf("Error reply: %+v", it)
	}
}

// A reply is believed only when the recipient signed it with its
// registered certificate, from itself to us, about our document.
func TestRepliesThatAreNotBelieved(t *testing.T) {
	cases := []struct {
		name   string
		server func(n *testNet) *pki.Identity
		reply  func(n *testNet, req *seos.Message) []byte
		want   string
	}{
		{"unsigned", func(n *testNet) *pki.Identity { return n.b }, func(n *testNet, req *seos.Message) []byte {
			return n.answer(req, nil, n.bEnt, wait(req))
		}, "not signed"},
		{"signed by someone else", func(n *testNet) *pki.Identity { return n.b }, func(n *testNet, req *seos.Message) []byte {
			return n.answer(req, n.x, n.bEnt, wait(req))
		}, "signed with certificate"},
		{"from another participant", func(n *testNet) *pki.Identity { return n.b }, func(n *testNet, req *seos.Message) []byte {
			return n.answer(req, n.b, n.aEnt, wait(req))
		}, "it is from"},
		{"about another document", func(n *testNet) *pki.Identity { return n.b }, func(n *testNet, req *seos.Message) []byte {
			b := wait(req)
			b.StatusResponse.DocID.GUID = seos.NewGUID()
			return n.answer(req, n.b, n.bEnt, b)
		}, "about document"},
		{"server certificate not the recipient's", func(n *testNet) *pki.Identity { return n.x }, func(n *testNet, req *seos.Message) []byte {
			return n.answer(req, n.x, n.bEnt, wait(req))
		}, "register serial"},
		{"not XML", func(n *testNet) *pki.Identity { return n.b }, func(n *testNet, req *seos.Message) []byte { return []byte("OK") }, "not believed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNet(t)
			n.d.Schedule = Schedule{First: time.Hour, Retries: 3}
			stop := n.serveBroken(c.server(n), func(req *seos.Message) []byte { return c.reply(n, req) })
			defer stop()
			it := n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, func(it *outbox.Item) bool { return it.Attempts == 1 && it.State == outbox.Queued })
			if it.DocStatus == outbox.StateWaiting || !strings.Contains(it.LastError, c.want) {
				t.Errorf("reply believed or wrong reason: %+v", it)
			}
		})
	}
}

func wait(req *seos.Message) seos.Body {
	return seos.Body{StatusResponse: &seos.StatusResponse{DocID: req.Body.RegistrationRequest.Document.ID, Status: seos.StatusWaitRegistration}}
}

func TestRecipientThatMayNotExchange(t *testing.T) {
	n := newNet(t)
	n.entities[1].Status = register.Inactive
	register.NewCache(n.dbA, clock.System).Apply(context.Background(), true, n.entities, "c2")
	it := n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, failed)
	if !strings.Contains(it.LastError, "inactive") {
		t.Errorf("inactive recipient: %+v", it)
	}
	n.entities[1].Status = register.TemporarilyInactive
	register.NewCache(n.dbA, clock.System).Apply(context.Background(), true, n.entities, "c3")
	it = n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, func(it *outbox.Item) bool { return it.Attempts == 1 && it.State == outbox.Queued })
	if !strings.Contains(it.LastError, "temporarily") {
		t.Errorf("temporarily inactive recipient is retried: %+v", it)
	}
}

// A delivered document waiting registration too long is asked about, and
// the answer lands on the document.
func TestAsksAboutDocumentsWaitingTooLong(t *testing.T) {
	n := newNet(t)
	dbB, stop := n.serveRealB()
	defer stop()
	doc := seos.NewGUID()
	id := n.enqueue(doc)
	n.runUntil(id, 20*time.Second, delivered)
	dbB.Exec(`UPDATE inbox SET state = 'registered', reg_number = 'Б-77', reg_date = '2026-11-25'`)
	n.d.StatusAfter, n.d.Poll = time.Millisecond, 50*time.Millisecond
	it := n.runUntil(id, 20*time.Second, func(it *outbox.Item) bool { return it.DocStatus == outbox.StateRegistered })
	if it.PeerNumber != "Б-77" || it.StatusAskedAt.IsZero() {
		t.Errorf("after the status request: %+v", it)
	}
}

// A proxy's error page or a busy peer is a network failure: retried.
func TestNonSOAPAnswersAreRetried(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
	}{{502, "<html><body>Bad Gateway</body></html>"}, {503, "busy, retry later\n"}, {200, "<html>login</html>"}} {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			n := newNet(t)
			n.d.Schedule = Schedule{First: time.Hour, Retries: 3}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{n.b.TLSCertificate()}}}
			ln := n.listener()
			go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
			defer srv.Close()
			it := n.runUntil(n.enqueue(seos.NewGUID()), 10*time.Second, func(it *outbox.Item) bool { return it.Attempts == 1 && it.State == outbox.Queued })
			if !strings.Contains(it.LastError, fmt.Sprintf("HTTP %d", c.status)) {
				t.Errorf("last error %q", it.LastError)
			}
		})
	}
}

// The recipient's DS_REGISTERED can arrive while our attempt is still in
// flight; the acknowledgement recorded after it must not turn it back.
func TestLateAcknowledgementKeepsLaterStatus(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	doc := seos.NewGUID()
	id := n.enqueue(doc)
	items, err := outbox.Claim(ctx, n.dbA, time.Now(), 1)
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	reg := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc, Number: &seos.DocumentNumber{Number: "Б-9", Date: "2026-11-23"}}, Status: seos.StatusRegistered}
	if _, err := outbox.ApplyStatus(ctx, n.dbA, n.bEnt.GUID, reg, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Record(ctx, n.dbA, items[0], outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	wait := &seos.StatusResponse{DocID: seos.DocumentID{GUID: doc}, Status: seos.StatusWaitRegistration}
	outbox.ApplyStatus(ctx, n.dbA, n.bEnt.GUID, wait, time.Now())
	it, _ := outbox.Get(ctx, n.dbA, id)
	if it.DocStatus != outbox.StateRegistered || it.PeerNumber != "Б-9" || it.State != outbox.Delivered {
		t.Errorf("after a late acknowledgement: %+v", it)
	}
}

// An item stuck in "sending" (its outcome could not be recorded) goes back
// to the queue once it is older than the longest attempt.
func TestStuckSendingIsRecovered(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	id := n.enqueue(seos.NewGUID())
	t0 := time.Now()
	if _, err := outbox.Claim(ctx, n.dbA, t0, 1); err != nil {
		t.Fatal(err)
	}
	if k, _ := outbox.Recover(ctx, n.dbA, t0.Add(time.Minute), t0.Add(-time.Second)); k != 0 {
		t.Error("an attempt still in flight was taken back")
	}
	if k, _ := outbox.Recover(ctx, n.dbA, t0.Add(5*time.Minute), t0.Add(time.Minute)); k != 1 {
		t.Error("a stuck attempt was not taken back")
	}
	if it, _ := outbox.Get(ctx, n.dbA, id); it.State != outbox.Queued || it.Attempts != 1 {
		t.Errorf("recovered item: %+v", it)
	}
}
