package inbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

func TestRegistrationAcceptedStoredAndAnswered(t *testing.T) {
	w := newWorld(t, options{})
	var seenGUID string
	var seenExpiry time.Time
	w.pipeline.PeerSeen = func(g string, t time.Time) { seenGUID, seenExpiry = g, t }
	doc := seos.NewGUID()
	req := registration(w.a.entity, w.b.entity, doc)
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, req))
	if seenGUID != w.a.entity.GUID || !seenExpiry.Equal(w.a.id.Cert.NotAfter) {
		t.Errorf("peer certificate expiry not reported: %s %v", seenGUID, seenExpiry)
	}
	r := reply.Body.StatusResponse
	if r == nil || r.Status != seos.StatusWaitRegistration {
		t.Fatalf("reply body: %+v", reply.Body)
	}
	if reply.Header.Sender != w.b.entity || reply.Header.Recipient != w.a.entity {
		t.Errorf("sender/recipient not swapped: %+v", reply.Header)
	}
	if r.DocID.GUID != doc || r.DocID.Number == nil || r.DocID.Number.Number != "А-17" {
		t.Errorf("DocID not echoed: %+v", r.DocID)
	}
	it, err := inbox.Find(context.Background(), w.db, w.a.entity.GUID, doc)
	if err != nil {
		t.Fatal(err)
	}
	it, _ = inbox.Get(context.Background(), w.db, it.ID)
	if it.State != inbox.Received || it.Document.Kind != "Писмо" || len(it.Attachments) != 1 || it.Attachments[0].Size != int64(len("%PDF-1.4 тест")) {
		t.Errorf("stored document: %+v", it)
	}
	_, content, _ := inbox.AttachmentContent(context.Background(), w.db, w.files, it.ID, 1)
	if string(content) != "%PDF-1.4 тест" {
		t.Errorf("attachment content %q", content)
	}
	// The log holds the exact request and our reply.
	if n := w.count(`SELECT count(*) FROM message_log WHERE direction='in' AND message_guid=? AND outcome='accepted'`, req.Header.MessageGUID); n != 1 {
		t.Errorf("%d inbound log rows", n)
	}
	if n := w.count(`SELECT count(*) FROM message_log WHERE direction='out' AND reply_to IS NOT NULL`); n != 1 {
		t.Errorf("%d reply log rows", n)
	}
	if v := testutil.ToFloat64(w.pipeline.Metrics.requests.WithLabelValues(string(seos.TypeRegistrationRequest), "accepted")); v != 1 {
		t.Errorf("requests metric %v", v)
	}
}

func TestDuplicatesBothWays(t *testing.T) {
	w := newWorld(t, options{})
	doc := seos.NewGUID()
	first := testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc))
	w.submit(w.a.id, first)

	// The same DocumentGUID in a new message: DS_ALREADY_RECEIVED.
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc)))
	if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusAlreadyReceived {
		t.Fatalf("same document again: %+v", reply.Body)
	}
	// The same message again: an Error naming it.
	reply, _ = w.submit(w.a.id, first)
	assertError(t, reply, seos.ErrExternal, mustParse(t, first).Header.MessageGUID, "вече е получено")
	// Another sender may use the same DocumentGUID: it is a different document.
	reply, _ = w.submit(w.c.id, testkit.Sign(t, w.c.id, registration(w.c.entity, w.b.entity, doc)))
	if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusWaitRegistration {
		t.Fatalf("other sender, same DocumentGUID: %+v", reply.Body)
	}
	if n := w.count(`SELECT count(*) FROM inbox`); n != 2 {
		t.Errorf("%d documents stored, want 2", n)
	}
}

func assertError(t *testing.T, reply *seos.Message, kind seos.ErrorKind, guid, text string) {
	t.Helper()
	e := reply.Body.Error
	if e == nil {
		t.Fatalf("want an Error, got %+v", reply.Body)
	}
	if e.Type != kind {
		t.Errorf("ErrorType %s, want %s (%s)", e.Type, kind, e.Description)
	}
	if guid != "" && (e.MessageGUID == nil || *e.MessageGUID != guid) {
		t.Errorf("Error names %v, want %s", e.MessageGUID, guid)
	}
	prefix := SenderPrefix
	if kind == seos.ErrInternal {
		prefix = ReceiverPrefix
	}
	if !strings.HasPrefix(e.Description, prefix) || !strings.Contains(e.Description, text) {
		t.Errorf("ErrorDescription %q lacks %q", e.Description, text)
	}
}

// Each refusal of the pipeline: a signed Error of the right type naming the
// message, and nothing stored.
func TestRefusals(t *testing.T) {
	w := newWorld(t, options{maxBytes: 256 << 10})
	type tc struct {
		name string
		tls  party
		body func() ([]byte, string) // signed message and its MessageGUID
		text string
		guid bool // whether the Error can name the message
		kind seos.ErrorKind
		wrap func([]byte) []byte
	}
	signedBy := func(signer party, m *seos.Message) func() ([]byte, string) {
		return func() ([]byte, string) { return testkit.Sign(t, signer.id, m), m.Header.MessageGUID }
	}
	reg := func(from party) *seos.Message { return registration(from.entity, w.b.entity, seos.NewGUID()) }
	skewed := reg(w.a)
	skewed.Header.MessageDate = seos.DateTimeOf(time.Now().Add(-2 * time.Hour))
	wrongRecipient := registration(w.a.entity, w.c.entity, seos.NewGUID())
	schemaBad := func() ([]byte, string) {
		m := reg(w.a)
		b := testkit.Sign(t, w.a.id, m)
		return bytes.Replace(b, []byte("<DocKind>Писмо</DocKind>"), []byte(""), 1), m.Header.MessageGUID
	}
	tampered := func() ([]byte, string) {
		m := reg(w.a)
		return bytes.Replace(testkit.Sign(t, w.a.id, m), []byte("Относно проверка"), []byte("Относно промяна"), 1), m.Header.MessageGUID
	}
	unsigned := func() ([]byte, string) {
		m := reg(w.a)
		b, _ := m.Marshal()
		return b, m.Header.MessageGUID
	}
	big := reg(w.a)
	big.Body.RegistrationRequest.Document.Attachments[0].Body = seos.Base64Of(bytes.Repeat([]byte("x"), 300<<10))
	cases := []tc{
		{name: "not well-formed", tls: w.a, body: func() ([]byte, string) { return []byte("<Message><Header>"), "" }, text: "XML", kind: seos.ErrExternal},
		{name: "schema invalid", tls: w.a, body: schemaBad, text: "схемата", guid: true, kind: seos.ErrExternal},
		{name: "wrong recipient", tls: w.a, body: signedBy(w.a, wrongRecipient), text: "Получателят", guid: true, kind: seos.ErrExternal},
		{name: "inactive sender", tls: w.inactive, body: signedBy(w.inactive, reg(w.inactive)), text: "не е активен", guid: true, kind: seos.ErrExternal},
		{name: "temporarily inactive sender", tls: w.tempOff, body: signedBy(w.tempOff, reg(w.tempOff)), text: "временно неактивен", guid: true, kind: seos.ErrExternal},
		{name: "sender not in register", tls: w.a, body: signedBy(w.stranger, reg(w.stranger)), text: "не е вписан", guid: true, kind: seos.ErrExternal},
		{name: "TLS certificate of another participant", tls: w.c, body: signedBy(w.a, reg(w.a)), text: "TLS сертификатът", guid: true, kind: seos.ErrExternal},
		{name: "signed by another participant", tls: w.a, body: signedBy(w.c, reg(w.a)), text: "различен от транспортния", guid: true, kind: seos.ErrExternal},
		{name: "tampered", tls: w.a, body: tampered, text: "подпис", guid: true, kind: seos.ErrExternal},
		{name: "unsigned", tls: w.a, body: unsigned, text: "подпис", guid: true, kind: seos.ErrExternal},
		{name: "clock skew", tls: w.a, body: signedBy(w.a, skewed), text: "clock skew", guid: true, kind: seos.ErrExternal},
		{name: "too large", tls: w.a, body: signedBy(w.a, big), text: "размер", kind: seos.ErrExternal},
		{name: "empty Submit", tls: w.a, body: func() ([]byte, string) { return nil, "" }, text: "не съдържа", kind: seos.ErrExternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docsBefore := w.count(`SELECT count(*) FROM inbox`)
			seenBefore := w.count(`SELECT count(*) FROM message_log WHERE seen = 1`)
			msg, guid := c.body()
			reply, _ := w.submit(c.tls.id, msg)
			want := ""
			if c.guid {
				want = guid
			}
			assertError(t, reply, c.kind, want, c.text)
			if reply.Header.Sender != w.b.entity {
				t.Errorf("Error not from this node: %+v", reply.Header.Sender)
			}
			if w.count(`SELECT count(*) FROM inbox`) != docsBefore || w.count(`SELECT count(*) FROM message_log WHERE seen = 1`) != seenBefore {
				t.Error("a refused message was stored")
			}
			if guid != "" && c.guid && w.count(`SELECT count(*) FROM message_log WHERE message_guid = ? AND outcome = 'refused'`, guid) != 1 {
				t.Error("refusal not in the message log")
			}
		})
	}
	if v := testutil.ToFloat64(w.pipeline.Metrics.signatureFailures.WithLabelValues("digest")); v < 1 {
		t.Error("signature failure not counted")
	}
	if problems, err := testutil.GatherAndLint(w.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

func TestStatusRequests(t *testing.T) {
	w := newWorld(t, options{})
	doc := seos.NewGUID()
	w.submit(w.a.id, testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc)))
	cases := []struct {
		name string
		from party
		doc  string
		want seos.DocStatus
	}{
		{"known document", w.a, doc, seos.StatusWaitRegistration},
		{"unknown document", w.a, seos.NewGUID(), seos.StatusNotFound},
		{"someone else's document", w.c, doc, seos.StatusNotFound},
		{"GUID in other case", w.a, strings.ToUpper(doc), seos.StatusWaitRegistration},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, _ := w.submit(c.from.id, testkit.Sign(t, c.from.id, statusRequest(c.from.entity, w.b.entity, c.doc)))
			if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != c.want {
				t.Fatalf("got %+v", reply.Body)
			}
		})
	}
	// Once the AIS registers it, the number goes out with DS_REGISTERED.
	w.db.Exec(`UPDATE inbox SET state = 'registered', reg_number = '94-00-12', reg_date = '2026-11-24'`)
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, statusRequest(w.a.entity, w.b.entity, doc)))
	r := reply.Body.StatusResponse
	if r.Status != seos.StatusRegistered || r.DocID.Number == nil || r.DocID.Number.Number != "94-00-12" {
		t.Errorf("registered status: %+v %+v", r, r.DocID.Number)
	}
}

func TestPeerNotificationsApplyToSentDocuments(t *testing.T) {
	w := newWorld(t, options{})
	doc, sentMsg := seos.NewGUID(), seos.NewGUID()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := w.db.Exec(`INSERT INTO outbox (kind, recipient_guid_key, recipient_guid, document_guid_key, document_guid, request_json, state,
		next_attempt_at, last_message_guid, created_at, updated_at, doc_status)
		VALUES ('registration', ?, ?, ?, ?, '{}', 'delivered', ?, ?, ?, ?, 'DS_WAIT_REGISTRATION')`,
		seos.CanonicalGUID(w.a.entity.GUID), w.a.entity.GUID, seos.CanonicalGUID(doc), doc, now, sentMsg, now, now); err != nil {
		t.Fatal(err)
	}
	notify := func(status seos.DocStatus, docGUID string) *seos.Message {
		return seos.NewMessage(w.a.entity, w.b.entity, time.Now(), seos.Body{StatusResponse: &seos.StatusResponse{Status: status,
			DocID: seos.DocumentID{Number: &seos.DocumentNumber{Number: "МЕУ-5", Date: "2026-11-24"}, GUID: docGUID}}})
	}
	reply, raw := w.submit(w.a.id, testkit.Sign(t, w.a.id, notify(seos.StatusRegistered, doc)))
	if reply != nil || len(raw) != 0 {
		t.Fatalf("a notification gets an empty SubmitResult, got %s", raw)
	}
	var status, number string
	w.db.QueryRow(`SELECT doc_status, peer_number FROM outbox`).Scan(&status, &number)
	if status != "DS_REGISTERED" || number != "МЕУ-5" {
		t.Errorf("outbox after notification: %s %s", status, number)
	}
	// About a document we never sent to them: an Error.
	n := notify(seos.StatusRegistered, seos.NewGUID())
	reply, _ = w.submit(w.a.id, testkit.Sign(t, w.a.id, n))
	assertError(t, reply, seos.ErrExternal, n.Header.MessageGUID, "не е изпращан")
	// A peer's Error about our message fails a waiting document for good;
	// one it has registered keeps its registration, the Error an event.
	waitingDoc, waitingMsg := seos.NewGUID(), seos.NewGUID()
	if _, err := w.db.Exec(`INSERT INTO outbox (kind, recipient_guid_key, recipient_guid, document_guid_key, document_guid, request_json, state,
		next_attempt_at, last_message_guid, created_at, updated_at, doc_status)
		VALUES ('registration', ?, ?, ?, ?, '{}', 'delivered', ?, ?, ?, ?, 'DS_WAIT_REGISTRATION')`,
		seos.CanonicalGUID(w.a.entity.GUID), w.a.entity.GUID, seos.CanonicalGUID(waitingDoc), waitingDoc, now, waitingMsg, now, now); err != nil {
		t.Fatal(err)
	}
	for _, about := range []string{sentMsg, waitingMsg} {
		e := seos.NewMessage(w.a.entity, w.b.entity, time.Now(), seos.Body{Error: &seos.ErrorBody{MessageGUID: seos.Str(strings.ToUpper(about)), Type: seos.ErrExternal, Description: SenderPrefix + " Лош формат."}})
		if reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, e)); reply != nil {
			t.Fatalf("Error notification answered with %+v", reply.Body)
		}
	}
	var state, lastErr string
	w.db.QueryRow(`SELECT state, doc_status, peer_number FROM outbox WHERE document_guid = ?`, doc).Scan(&state, &status, &number)
	if state != "delivered" || status != "DS_REGISTERED" || number != "МЕУ-5" {
		t.Errorf("registered document after a peer Error: %s %s %s", state, status, number)
	}
	if n := w.count(`SELECT count(*) FROM outbox_events WHERE event = 'peer_error_not_applied'`); n != 1 {
		t.Errorf("%d peer_error_not_applied events", n)
	}
	w.db.QueryRow(`SELECT state, last_error FROM outbox WHERE document_guid = ?`, waitingDoc).Scan(&state, &lastErr)
	if state != "failed" || !strings.Contains(lastErr, "Лош формат") {
		t.Errorf("waiting document after peer Error: %s %q", state, lastErr)
	}
}

func TestNotSOAPGetsAFault(t *testing.T) {
	w := newWorld(t, options{})
	status, body := w.post(w.a.id, []byte("hello"))
	if status != 500 || !bytes.Contains(body, []byte("<faultcode>s:Client</faultcode>")) {
		t.Errorf("plain text: %d %s", status, body)
	}
	env, _ := soap.Submit([]byte("<x/>"))
	status, body = w.post(w.a.id, env, "SOAPAction", `"urn:other"`)
	if status != 500 || !bytes.Contains(body, []byte("unknown SOAPAction")) {
		t.Errorf("wrong action: %d %s", status, body)
	}
	status, body = w.post(w.a.id, env, "Content-Type", "application/soap+xml; charset=utf-8")
	if status != 500 || !bytes.Contains(body, []byte("VersionMismatch")) {
		t.Errorf("SOAP 1.2: %d %s", status, body)
	}
	resp, err := w.client(w.a.id).Get(w.url + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(b.String(), `location="https://b.obmen.local:4443/seos/endpoint"`) {
		t.Errorf("WSDL: %d %.300s", resp.StatusCode, b.String())
	}
}

func TestClientWithoutTrustedCertificateCannotConnect(t *testing.T) {
	w := newWorld(t, options{})
	c := &tls.Config{RootCAs: w.ca.CA.Pool(), ServerName: "b.obmen.local"}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(w.url, "/seos/endpoint"), "https://"), c)
	if err == nil {
		// TLS 1.3 reports the missing certificate on first read.
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /seos/endpoint?wsdl HTTP/1.1\r\nHost: b\r\n\r\n")
		_, err = bufio.NewReader(conn).ReadString('\n')
		conn.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate got an answer")
	}
}

// slowDirectory panics: the recovery turns it into ERR_INTERNAL.
type panicky struct{ Directory }

func (panicky) ByGUID(context.Context, string) (*register.Entity, error) {
	panic("boom: /srv/secret/path")
}

func TestPanicBecomesInternalError(t *testing.T) {
	w := newWorld(t, options{})
	w.pipeline.Dir = panicky{w.cache}
	m := registration(w.a.entity, w.b.entity, seos.NewGUID())
	reply, raw := w.submit(w.a.id, testkit.Sign(t, w.a.id, m))
	assertError(t, reply, seos.ErrInternal, m.Header.MessageGUID, "Вътрешна грешка")
	if bytes.Contains(raw, []byte("secret")) || bytes.Contains(raw, []byte("goroutine")) {
		t.Error("internals leaked to the peer")
	}
}

func TestDatabaseFailureIsOurFault(t *testing.T) {
	w := newWorld(t, options{})
	if _, err := w.db.Exec(`DROP TABLE inbox_attachments`); err != nil {
		t.Fatal(err)
	}
	m := registration(w.a.entity, w.b.entity, seos.NewGUID())
	reply, raw := w.submit(w.a.id, testkit.Sign(t, w.a.id, m))
	assertError(t, reply, seos.ErrInternal, m.Header.MessageGUID, "не може да бъде съхранено")
	if bytes.Contains(raw, []byte("inbox_attachments")) {
		t.Error("SQL details leaked to the peer")
	}
	if w.count(`SELECT count(*) FROM inbox`)+w.count(`SELECT count(*) FROM message_log WHERE seen = 1`) != 0 {
		t.Error("half a document stored")
	}
}

// stall opens a request whose body never arrives, as id, and waits until
// it holds a slot.
func (w *world) stall(id *pki.Identity, inFlight int) net.Conn {
	w.t.Helper()
	host := strings.TrimPrefix(strings.TrimSuffix(w.url, "/seos/endpoint"), "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: w.ca.CA.Pool(), ServerName: "b.obmen.local", Certificates: []tls.Certificate{id.TLSCertificate()}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /seos/endpoint HTTP/1.1\r\nHost: b\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<s:Envelope")
	testkit.Eventually(w.t, 10*time.Second, "the stalled request holds a slot", func() bool { return w.handler.InFlight() == inFlight })
	return conn
}

// With every slot taken by requests whose body never arrives, the next one
// is turned away with 503 instead of queueing forever; one peer may hold
// only its share of the slots, so another peer still gets one.
func TestConcurrencyCaps(t *testing.T) {
	submit := func(w *world, p party) int {
		env, _ := soap.Submit(testkit.Sign(t, p.id, registration(p.entity, w.b.entity, seos.NewGUID())))
		status, _ := w.post(p.id, env)
		return status
	}
	t.Run("endpoint", func(t *testing.T) {
		w := newWorld(t, options{maxConcurrent: 1})
		w.stall(w.a.id, 1)
		if status := submit(w, w.c); status != 503 {
			t.Errorf("second request: HTTP %d, want 503", status)
		}
		if testutil.ToFloat64(w.pipeline.Metrics.rejectedBusy.WithLabelValues("endpoint")) != 1 {
			t.Error("busy rejection not counted")
		}
	})
	t.Run("per peer", func(t *testing.T) {
		w := newWorld(t, options{maxConcurrent: 3, limits: Limits{PerPeer: 2}})
		w.stall(w.a.id, 1)
		w.stall(w.a.id, 2)
		if status := submit(w, w.a); status != 503 {
			t.Errorf("a third request of the same peer: HTTP %d, want 503", status)
		}
		if testutil.ToFloat64(w.pipeline.Metrics.rejectedBusy.WithLabelValues("peer")) != 1 {
			t.Error("per-peer rejection not counted")
		}
		if status := submit(w, w.c); status != 200 {
			t.Errorf("another peer while the first holds its share: HTTP %d, want 200", status)
		}
	})
}

// Replies to a peer configured for SHA-1 are signed with rsa-sha1.
func TestRepliesUseThePeersDigest(t *testing.T) {
	w := newWorld(t, options{})
	w.pipeline.Hash = func(guid string) xmldsig.Hash {
		if seos.EqualGUID(guid, w.a.entity.GUID) {
			return xmldsig.SHA1
		}
		return xmldsig.SHA256
	}
	for _, c := range []struct {
		from party
		want string
	}{{w.a, xmldsig.RSASHA1}, {w.c, xmldsig.RSASHA256}} {
		_, raw := w.submit(c.from.id, testkit.Sign(t, c.from.id, registration(c.from.entity, w.b.entity, seos.NewGUID())))
		_, doc, err := seos.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		res, err := xmldsig.Verify(doc, xmldsig.Options{})
		if err != nil || res.SignatureMethod != c.want {
			t.Errorf("reply to %s signed with %v (%v), want %s", c.from.entity.GUID, res, err, c.want)
		}
	}
}

// While we are inactive in the register, refusals are our fault.
func TestWeAreInactive(t *testing.T) {
	w := newWorld(t, options{})
	ents := []register.Entity{w.a.reg, w.b.reg}
	ents[1].Status = register.Inactive
	if err := w.cache.Apply(context.Background(), true, ents, "c2"); err != nil {
		t.Fatal(err)
	}
	m := registration(w.a.entity, w.b.entity, seos.NewGUID())
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, m))
	assertError(t, reply, seos.ErrInternal, m.Header.MessageGUID, "не е активен")
}

// A document without files as the deployed .NET node sends it (an empty
// DocAttachmentList) is accepted as having no attachments, counted and logged
// at info. A refused one, though it parsed with the same quirk, is neither
// counted nor logged: the metric counts accepted messages.
func TestEmptyAttachmentListAccepted(t *testing.T) {
	tolerated := func(w *world) float64 {
		return testutil.ToFloat64(w.pipeline.Metrics.tolerated.WithLabelValues(string(seos.QuirkEmptyAttachmentList)))
	}
	for _, c := range []struct {
		name     string
		to       func(w *world) seos.Entity // the message's recipient
		tamper   func(signed string) string
		accepted bool
	}{
		{name: "accepted", to: func(w *world) seos.Entity { return w.b.entity }, accepted: true},
		{name: "wrong recipient", to: func(w *world) seos.Entity { return w.c.entity }},
		{name: "signature does not verify", to: func(w *world) seos.Entity { return w.b.entity },
			tamper: func(s string) string {
				return strings.Replace(s, "за регистрация", "за регистрациЯ", 1)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, options{})
			logs := &testkit.SyncBuffer{}
			w.pipeline.Log = slog.New(slog.NewJSONHandler(logs, nil))
			m := registration(w.a.entity, c.to(w), seos.NewGUID())
			unsigned, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s := string(unsigned)
			start, end := strings.Index(s, "<DocAttachmentList>"), strings.Index(s, "</DocAttachmentList>")+len("</DocAttachmentList>")
			parsed, doc, err := seos.Parse([]byte(s[:start] + "<DocAttachmentList/>" + s[end:]))
			if err != nil || len(parsed.Tolerated) != 1 {
				t.Fatalf("the quirk did not parse as tolerated: %v %v", parsed, err)
			}
			if err := (&xmldsig.Signer{Key: w.a.id.Key, Cert: w.a.id.Cert}).Sign(doc); err != nil {
				t.Fatal(err)
			}
			signed, _ := seos.WriteCompact(doc)
			if c.tamper != nil {
				signed = []byte(c.tamper(string(signed)))
			}
			reply, _ := w.submit(w.a.id, signed)
			logged := strings.Contains(logs.String(), `"quirk":"empty_attachment_list"`)
			if !c.accepted {
				if reply.Body.Error == nil {
					t.Fatalf("not refused: %+v", reply.Body)
				}
				if v := tolerated(w); v != 0 || logged {
					t.Errorf("a refused message counted (%v) or logged (%v) as tolerated:\n%s", v, logged, logs)
				}
				return
			}
			if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusWaitRegistration {
				t.Fatalf("not accepted: %+v", reply.Body)
			}
			it, err := inbox.Find(context.Background(), w.db, w.a.entity.GUID, parsed.Body.RegistrationRequest.Document.ID.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if it, _ = inbox.Get(context.Background(), w.db, it.ID); len(it.Attachments) != 0 {
				t.Errorf("stored %d attachments", len(it.Attachments))
			}
			if v := tolerated(w); v != 1 {
				t.Errorf("tolerated metric %v, want 1", v)
			}
			if !logged || !strings.Contains(logs.String(), `"level":"INFO","msg":"tolerated a production peer's schema departure"`) {
				t.Errorf("no info line for the tolerated quirk:\n%s", logs)
			}
		})
	}
}

// TestRegistrationWaitsForTheJudge: with an acceptance policy the document
// is stored checking and the judge is woken instead of the AIS bridge; the
// reply and a status request both say DS_WAIT_REGISTRATION, and a resend is
// still DS_ALREADY_RECEIVED.
func TestRegistrationWaitsForTheJudge(t *testing.T) {
	w := newWorld(t, options{})
	var judged, received []int64
	w.pipeline.Judge = func(id int64) { judged = append(judged, id) }
	w.pipeline.Received = func(id int64) { received = append(received, id) }
	doc := seos.NewGUID()
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc)))
	if r := reply.Body.StatusResponse; r == nil || r.Status != seos.StatusWaitRegistration {
		t.Fatalf("reply: %+v", reply.Body)
	}
	it, err := inbox.Find(context.Background(), w.db, w.a.entity.GUID, doc)
	if err != nil || it.State != inbox.Checking {
		t.Fatalf("stored %+v (%v), want checking", it, err)
	}
	if len(judged) != 1 || judged[0] != it.ID || len(received) != 0 {
		t.Errorf("judge woken for %v, AIS bridge for %v", judged, received)
	}
	reply, _ = w.submit(w.a.id, testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc)))
	if r := reply.Body.StatusResponse; r == nil || r.Status != seos.StatusAlreadyReceived {
		t.Errorf("resent: %+v", reply.Body)
	}
	ask := seos.NewMessage(w.a.entity, w.b.entity, time.Now(), seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: doc}}})
	reply, _ = w.submit(w.a.id, testkit.Sign(t, w.a.id, ask))
	if r := reply.Body.StatusResponse; r == nil || r.Status != seos.StatusWaitRegistration {
		t.Errorf("status while checking: %+v", reply.Body)
	}
}

// The same message, and the same document in different messages, arriving
// at once: the database's constraints decide, one is accepted and every
// other gets the answer it would have got arriving later.
func TestDuplicatesAtOnce(t *testing.T) {
	w := newWorld(t, options{})
	const n = 8
	type answer struct {
		m   *seos.Message
		err error
	}
	all := func(bodies [][]byte) []answer {
		out := make([]answer, len(bodies))
		var wg sync.WaitGroup
		for i, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, _, err := testkit.Submit(context.Background(), w.client(w.a.id), w.url, b)
				out[i] = answer{m, err}
			}()
		}
		wg.Wait()
		return out
	}

	same := testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, seos.NewGUID()))
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = same
	}
	var accepted, refused int
	for _, a := range all(bodies) {
		switch {
		case a.err != nil || a.m == nil:
			t.Fatalf("submit: %v", a.err)
		case a.m.Body.StatusResponse != nil && a.m.Body.StatusResponse.Status == seos.StatusWaitRegistration:
			accepted++
		case a.m.Body.Error != nil && strings.Contains(a.m.Body.Error.Description, "вече е получено"):
			refused++
		default:
			t.Errorf("same message: %+v", a.m.Body)
		}
	}
	if accepted != 1 || refused != n-1 {
		t.Errorf("same message %d times: %d accepted, %d refused", n, accepted, refused)
	}

	doc := seos.NewGUID()
	for i := range bodies {
		bodies[i] = testkit.Sign(t, w.a.id, registration(w.a.entity, w.b.entity, doc))
	}
	accepted, refused = 0, 0
	for _, a := range all(bodies) {
		switch {
		case a.err != nil || a.m == nil || a.m.Body.StatusResponse == nil:
			t.Fatalf("same document: %v %+v", a.err, a.m)
		case a.m.Body.StatusResponse.Status == seos.StatusWaitRegistration:
			accepted++
		case a.m.Body.StatusResponse.Status == seos.StatusAlreadyReceived:
			refused++
		default:
			t.Errorf("same document: %+v", a.m.Body.StatusResponse)
		}
	}
	if accepted != 1 || refused != n-1 {
		t.Errorf("same document %d times: %d accepted, %d already received", n, accepted, refused)
	}
	if c := w.count(`SELECT count(*) FROM inbox`); c != 2 {
		t.Errorf("%d documents stored, want 2", c)
	}
}
