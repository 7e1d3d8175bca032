package inbound

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// party is a participant of the test exchange.
type party struct {
	entity seos.Entity     // as message headers name it
	id     *pki.Identity   // its transport certificate
	reg    register.Entity // its register entry
}

// world is one node (b) on loopback with a register copy listing others.
type world struct {
	t        testing.TB
	dir      string
	ca       *testkit.PKI
	b        party // this node
	a, c     party // active participants
	inactive party
	tempOff  party
	stranger party // certificate from the DAEU CA, not in the register
	db       *sql.DB
	files    *blob.Store
	cache    *register.Cache
	pipeline *Pipeline
	handler  *Handler
	reg      *prometheus.Registry
	url      string
	srv      *http.Server
}

func newParty(t testing.TB, n int, host, name string, st register.Status) party {
	e := testkit.Participant(n, "12345678"+strconv.Itoa(n), name)
	e.Status = st
	p := testkit.NewParty(e, testkit.SharedPKI(t).Host(t, host))
	return party{entity: p.Node(), id: p.ID, reg: p.Entity}
}

type options struct {
	maxBytes      int64
	maxConcurrent int
	limits        Limits    // the handler's (maxConcurrent aside)
	dir           Directory // replaces the cache (fault injection only)
}

func newWorld(t testing.TB, o options) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir()}
	w.b = newParty(t, 1, "b.obmen.local", "Община Б", register.Active)
	w.a = newParty(t, 2, "a.obmen.local", "Министерство А", register.Active)
	w.c = newParty(t, 3, "c.obmen.local", "Агенция В", register.Active)
	w.inactive = newParty(t, 4, "d.obmen.local", "Неактивна", register.Inactive)
	w.tempOff = newParty(t, 5, "e.obmen.local", "Временно спряна", register.TemporarilyInactive)
	w.stranger = newParty(t, 6, "f.obmen.local", "Непозната", register.Active)
	w.ca = testkit.SharedPKI(t)
	w.db = testkit.DB(t)
	w.cache = testkit.Seed(t, w.db, nil, w.b.reg, w.a.reg, w.c.reg, w.inactive.reg, w.tempOff.reg)
	log := slog.New(slog.DiscardHandler)
	w.reg = prometheus.NewRegistry()
	ts := w.ca.Trust(t)
	if o.maxBytes == 0 {
		o.maxBytes = 64 << 20
	}
	if o.maxConcurrent == 0 {
		o.maxConcurrent = 8
	}
	var dir Directory = w.cache
	if o.dir != nil {
		dir = o.dir
	}
	files, err := blob.Open(filepath.Join(w.dir, "gw.files"))
	if err != nil {
		t.Fatal(err)
	}
	w.files = files
	commit := store.NewCommitter(w.db, 64)
	t.Cleanup(commit.Close)
	w.pipeline = &Pipeline{Self: w.b.entity, Dir: dir, Policy: register.Policy{SelfGUID: w.b.entity.GUID},
		Identity: w.b.id, DB: w.db, Files: files, Commit: commit, Clock: clock.System, Skew: 10 * time.Minute,
		MaxMessageBytes: o.maxBytes, Log: log, Metrics: NewMetrics(w.reg)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := o.limits
	lim.MaxConcurrent = o.maxConcurrent
	w.handler = NewHandler(w.pipeline, "/seos/endpoint", "https://b.obmen.local:4443/seos/endpoint", lim, log)
	w.srv = NewServer(ln.Addr().String(), RegisterOnly(ts.ServerTLS(w.b.id), w.cache, w.pipeline.Metrics, log), w.handler,
		Timeouts{Read: time.Minute, Write: time.Minute, Idle: time.Minute}, log)
	go w.srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { w.srv.Close() })
	w.url = "https://" + ln.Addr().String() + "/seos/endpoint"
	return w
}

// client speaks to the endpoint with id's certificate.
func (w *world) client(id *pki.Identity) *http.Client { return w.ca.Client(id, "b.obmen.local") }

// post sends a raw body and returns the HTTP status and body.
func (w *world) post(id *pki.Identity, body []byte, header ...string) (int, []byte) {
	w.t.Helper()
	status, b, err := testkit.Post(context.Background(), w.client(id), w.url, body, header...)
	if err != nil {
		w.t.Fatalf("POST: %v", err)
	}
	return status, b
}

// submit sends a signed message over tlsID's connection and returns the
// parsed reply, verified as the node's (nil for an empty SubmitResult),
// with its text.
func (w *world) submit(tlsID *pki.Identity, signed []byte) (*seos.Message, []byte) {
	w.t.Helper()
	m, result, err := testkit.Submit(context.Background(), w.client(tlsID), w.url, signed)
	if err != nil {
		w.t.Fatalf("submit: %v\n%s", err, result)
	}
	if m == nil {
		return nil, result
	}
	_, doc, err := seos.Parse(result)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := xmldsig.Verify(doc, xmldsig.Options{})
	if err != nil || !res.Cert.Equal(w.b.id.Cert) {
		w.t.Fatalf("reply not signed by the node: %v", err)
	}
	return m, result
}

func registration(from, to seos.Entity, docGUID string) *seos.Message {
	return seos.NewMessage(from, to, time.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: seos.Document{
		ID:   seos.DocumentID{Number: &seos.DocumentNumber{Number: "А-17", Date: "2026-11-23"}, GUID: docGUID},
		Kind: "Писмо", About: seos.Str("Относно проверка"),
		Attachments: []seos.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF-1.4 тест"))}},
	}, Comment: "за регистрация"}})
}

func statusRequest(from, to seos.Entity, docGUID string) *seos.Message {
	return seos.NewMessage(from, to, time.Now(), seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: docGUID}}})
}

func (w *world) count(query string, args ...any) int { return testkit.Count(w.t, w.db, query, args...) }

func mustParse(t testing.TB, b []byte) *seos.Message {
	m, _, err := seos.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
