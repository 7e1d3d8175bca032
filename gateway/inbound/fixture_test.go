package inbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// party is a participant of the test exchange.
type party struct {
	entity seos.Entity
	id     *pki.Identity
	status register.Status
}

// world is one node (b) on loopback with a register copy listing others.
type world struct {
	t        *testing.T
	dir      string
	ca       *pki.Authority
	b        party // this node
	a, c     party // active participants
	inactive party
	tempOff  party
	stranger party // certificate from the DAEU CA, not in the register
	db       *sql.DB
	cache    *register.Cache
	pipeline *Pipeline
	reg      *prometheus.Registry
	url      string
	srv      *http.Server
}

var pkiCache struct {
	ca  *pki.Authority
	ids map[string]*pki.Identity
}

func identity(t *testing.T, host string) *pki.Identity {
	t.Helper()
	if pkiCache.ca == nil {
		ca, err := pki.NewAuthority("test DAEU CA")
		if err != nil {
			t.Fatal(err)
		}
		pkiCache.ca, pkiCache.ids = ca, map[string]*pki.Identity{}
	}
	if id := pkiCache.ids[host]; id != nil {
		return id
	}
	id, err := pkiCache.ca.IssueTransport(host, pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	pkiCache.ids[host] = id
	return id
}

func newParty(t *testing.T, n int, host, name string, st register.Status) party {
	guid := strings.ReplaceAll("{0000000N-0000-4000-8000-00000000000N}", "N", string(rune('0'+n)))
	return party{entity: seos.Entity{Identifier: "12345678" + string(rune('0'+n)), AdministrativeBodyName: name, GUID: guid},
		id: identity(t, host), status: st}
}

func (p party) registerEntity() register.Entity {
	return register.Entity{Identifier: p.entity.Identifier, GUID: p.entity.GUID, AdministrativeBodyName: p.entity.AdministrativeBodyName,
		CertificateSN: pki.SerialHex(p.id.Cert), Status: p.status, LastChange: time.Now().UTC().Truncate(time.Second),
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи", URI: "https://x.obmen.local/seos", Status: register.Active, Version: "1"}}}
}

type options struct {
	maxBytes      int64
	maxConcurrent int
	dir           Directory // replaces the cache (fault injection only)
}

func newWorld(t *testing.T, o options) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir()}
	w.b = newParty(t, 1, "b.obmen.local", "Община Б", register.Active)
	w.a = newParty(t, 2, "a.obmen.local", "Министерство А", register.Active)
	w.c = newParty(t, 3, "c.obmen.local", "Агенция В", register.Active)
	w.inactive = newParty(t, 4, "d.obmen.local", "Неактивна", register.Inactive)
	w.tempOff = newParty(t, 5, "e.obmen.local", "Временно спряна", register.TemporarilyInactive)
	w.stranger = newParty(t, 6, "f.obmen.local", "Непозната", register.Active)
	w.ca = pkiCache.ca
	ctx := context.Background()
	var err error
	w.db, err = store.OpenGateway(ctx, filepath.Join(w.dir, "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.db.Close() })
	w.cache = register.NewCache(w.db, clock.System)
	var ents []register.Entity
	for _, p := range []party{w.b, w.a, w.c, w.inactive, w.tempOff} {
		ents = append(ents, p.registerEntity())
	}
	if err := w.cache.Apply(ctx, true, ents, "2026-11-23T10:00:00+02:00"); err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(w.dir, "ca.pem")
	os.WriteFile(caPath, w.ca.CertPEM(), 0o644)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.reg = prometheus.NewRegistry()
	ts, err := trust.New(caPath, nil, false, clock.System, log, nil)
	if err != nil {
		t.Fatal(err)
	}
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
	w.pipeline = &Pipeline{Self: w.b.entity, Dir: dir, Policy: register.Policy{SelfGUID: w.b.entity.GUID},
		Signer: &xmldsig.Signer{Key: w.b.id.Key, Cert: w.b.id.Cert}, DB: w.db, Clock: clock.System, Skew: 10 * time.Minute,
		MaxMessageBytes: o.maxBytes, Log: log, Metrics: NewMetrics(w.reg)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(w.pipeline, "/seos/endpoint", "https://b.obmen.local:4443/seos/endpoint", o.maxConcurrent, log)
	w.srv = NewServer(ln.Addr().String(), ts.ServerTLS(w.b.id), h, Timeouts{Read: time.Minute, Write: time.Minute, Idle: time.Minute}, log)
	go w.srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { w.srv.Close() })
	w.url = "https://" + ln.Addr().String() + "/seos/endpoint"
	return w
}

// client speaks to the endpoint with id's certificate.
func (w *world) client(id *pki.Identity) *http.Client {
	pool := w.ca.Pool()
	cert := id.TLSCertificate()
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, ServerName: "b.obmen.local",
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
	}}}
}

// post sends a raw body and returns the HTTP status and body.
func (w *world) post(id *pki.Identity, body []byte, header ...string) (int, []byte) {
	w.t.Helper()
	req, _ := http.NewRequest("POST", w.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", soap.ContentType)
	req.Header.Set("SOAPAction", `"`+soap.Action+`"`)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.client(id).Do(req)
	if err != nil {
		w.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// submit signs m as `as`, sends it over `tlsID`'s connection and returns the
// parsed, verified reply (nil for an empty SubmitResult).
func (w *world) submit(tlsID *pki.Identity, signed []byte) (*seos.Message, []byte) {
	w.t.Helper()
	env, err := soap.Submit(signed)
	if err != nil {
		w.t.Fatal(err)
	}
	status, body := w.post(tlsID, env)
	if status != 200 {
		w.t.Fatalf("HTTP %d: %s", status, body)
	}
	result, err := soap.ParseSubmitResponse(body)
	if err != nil {
		w.t.Fatalf("reply envelope: %v", err)
	}
	if len(result) == 0 {
		return nil, result
	}
	m, doc, err := seos.Parse(result)
	if err != nil {
		w.t.Fatalf("reply does not parse: %v\n%s", err, result)
	}
	res, err := xmldsig.Verify(doc, xmldsig.Options{})
	if err != nil || !res.Cert.Equal(w.b.id.Cert) {
		w.t.Fatalf("reply not signed by the node: %v", err)
	}
	return m, result
}

func sign(t *testing.T, id *pki.Identity, m *seos.Message) []byte {
	t.Helper()
	doc, err := m.Document()
	if err != nil {
		t.Fatal(err)
	}
	if err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert}).Sign(doc); err != nil {
		t.Fatal(err)
	}
	b, err := seos.WriteCompact(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func registration(from, to seos.Entity, docGUID string) *seos.Message {
	return &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: from, Recipient: to, MessageGUID: seos.NewGUID()},
		Body: seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: seos.Document{
			ID:   seos.DocumentID{Number: &seos.DocumentNumber{Number: "А-17", Date: "2026-11-23"}, GUID: docGUID},
			Kind: "Писмо", About: seos.Str("Относно проверка"),
			Attachments: []seos.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF-1.4 тест"))}},
		}, Comment: "за регистрация"}},
	}
}

func statusRequest(from, to seos.Entity, docGUID string) *seos.Message {
	return &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: from, Recipient: to, MessageGUID: seos.NewGUID()},
		Body:   seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: docGUID}}},
	}
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(query, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func mustParse(t *testing.T, b []byte) *seos.Message {
	m, _, err := seos.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
