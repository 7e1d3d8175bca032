package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/integration/conformance"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/testregister"
)

// Flaws a broken endpoint can have. Each is one bug a real node could
// have, scoped to the one thing it breaks.
const (
	flawNone = ""
	// flawSkipSignature: it never verifies the signature value or digest;
	// it only checks that KeyInfo holds the sender's registered certificate.
	flawSkipSignature = "skips signature checks"
	// flawUnsignedAcks: its answers to registration requests go out
	// unsigned (its other replies are signed: other code paths).
	flawUnsignedAcks = "acknowledgements unsigned"
	// flawUnreadableAcks: it answers registration requests with a
	// SubmitResult that is not XML.
	flawUnreadableAcks = "acknowledgements unreadable"
	// flawUnsignedStatusReplies: its answers to status requests go out unsigned.
	flawUnsignedStatusReplies = "status replies unsigned"
	// flawStatusMisaddressed: its answers to status requests are addressed
	// to itself instead of to the asking participant.
	flawStatusMisaddressed = "status replies misaddressed"
	// flawErrorsMisaddressed: its Errors are signed but addressed to a
	// participant other than the refused message's sender.
	flawErrorsMisaddressed = "errors misaddressed"
	// flawSlowStatus: it takes longer than timeouts.slow_reply to answer
	// status requests; flawLateStatus longer than timeouts.request. Both
	// move the harness's injected clock instead of making the test wait.
	flawSlowStatus = "slow status replies"
	flawLateStatus = "late status replies"
	// flawHangStatus: it never answers status requests; it lets go once
	// the client gives up and closes the connection.
	flawHangStatus = "hangs on status requests"
	// flawAcceptInactive: it takes every register entry as Active.
	flawAcceptInactive = "accepts inactive senders"
	// flawWrongGUID: it acknowledges a new document under a DocumentGUID of
	// its own instead of echoing the sender's.
	flawWrongGUID = "echoes wrong GUIDs"
	// flawWrongStatus: it answers status requests about documents it holds
	// with DS_CLOSED whatever their state.
	flawWrongStatus = "answers the wrong status"
	// flawRefuseAll: its register copy lists the test participant as
	// Inactive, so it refuses everything the harness sends.
	flawRefuseAll = "refuses the test participant"
	// flawOptionalClientCert: its TLS asks for a client certificate but
	// lets a client without one in (the pipeline still refuses the message).
	flawOptionalClientCert = "client certificate optional"
	// flawUnregisteredServerCert: its TLS serves a DAEU certificate for the
	// right host that is not the one the register lists (a renewal not yet
	// registered). Nothing the harness sends may reach it.
	flawUnregisteredServerCert = "serves an unregistered certificate"
	// flawForeignServerCert: its TLS serves a certificate for the right host
	// from a CA other than DAEU's.
	flawForeignServerCert = "serves a foreign certificate"
	// flawCBCSuites: its TLS 1.2 offers only ECDHE-RSA-AES128-SHA (CBC,
	// SHA-1) and no TLS 1.3.
	flawCBCSuites = "offers only CBC suites"
	// flawWeakServerKey: its TLS serves the registered serial for the right
	// host, with a 1024-bit RSA key.
	flawWeakServerKey = "serves a 1024-bit RSA key"
)

// brokenEndpoint is seosgw's real inbound pipeline behind a switchable flaw.
type brokenEndpoint struct {
	flaw    atomic.Value  // string
	renewed *pki.Identity // flawUnregisteredServerCert's certificate
	foreign *pki.Identity // flawForeignServerCert's certificate
	weak    *pki.Identity // flawWeakServerKey's certificate
	inner   *inbound.Handler
	signer  *xmldsig.Signer
	self    seos.Entity
	cache   *register.Cache
	harness participant
	url     string
	clock   *offsetClock // the harness's clock, which the slow flaws move
}

// offsetClock is the system clock plus an offset that a broken endpoint
// moves while it "takes its time", so that reply times are judged without
// the test waiting them out.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// otherParticipant is whom flawErrorsMisaddressed sends its Errors to.
var otherParticipant = seos.Entity{Identifier: "999999999", AdministrativeBodyName: "Друг участник", GUID: "{99999999-9999-4999-8999-999999999999}"}

// Reply times of the slow flaws, against the test harness's timeouts
// (slow_reply 10s, request 30s).
const (
	slowStatusTime = 15 * time.Second
	lateStatusTime = 45 * time.Second
)

// flawDirectory is the endpoint's register copy; with flawAcceptInactive it
// shows everybody Active.
type flawDirectory struct {
	*register.Cache
	ep *brokenEndpoint
}

func (d flawDirectory) ByGUID(ctx context.Context, guid string) (*register.Entity, error) {
	e, err := d.Cache.ByGUID(ctx, guid)
	switch flaw := d.ep.flaw.Load(); {
	case e == nil:
	case flaw == flawAcceptInactive:
		e.Status = register.Active
	case flaw == flawRefuseAll && seos.EqualGUID(e.GUID, d.ep.harness.entity.GUID):
		e.Status = register.Inactive
	}
	return e, err
}

func startBrokenEndpoint(t *testing.T, e *confEnv) *brokenEndpoint {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenDB(t, filepath.Join(e.dir, "broken.db"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := &brokenEndpoint{self: e.target.entity, harness: e.harness, url: "https://" + ln.Addr().String() + "/seos/endpoint", clock: &offsetClock{}}
	ep.flaw.Store(flawNone)
	ep.cache = register.NewCache(db, clock.System)
	in := e.inactive.registerEntity("https://127.0.0.1:1/seos/endpoint")
	in.Status = register.Inactive
	self := e.target.registerEntity(ep.url)
	self.Status = register.Inactive // joining: only the test participant may talk to it
	if err := ep.cache.Apply(ctx, true, []register.Entity{e.harness.registerEntity(e.harnessURL), in, self}, ""); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	ep.signer = &xmldsig.Signer{Key: e.target.id.Key, Cert: e.target.id.Cert}
	p := &inbound.Pipeline{Self: ep.self, Dir: flawDirectory{ep.cache, ep}, Policy: register.Policy{SelfGUID: ep.self.GUID, TestParticipantGUID: e.harness.entity.GUID},
		Identity: e.target.id, DB: db, Clock: clock.System, Skew: 10 * time.Minute, MaxMessageBytes: 64 << 20, Log: log, Metrics: inbound.NewMetrics(reg)}
	ep.inner = inbound.NewHandler(p, "/seos/endpoint", ep.url, inbound.Limits{MaxConcurrent: 8}, log)
	tr, err := trust.New(e.tp.CACert, nil, false, clock.System, log, trust.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	base := tr.ServerTLS(e.target.id)
	tlsConf := base.Clone()
	if ep.renewed, err = e.tp.Authority.IssueTransport(confTargetHost, pki.WithLoopback()); err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewAuthority("not DAEU's CA")
	if err != nil {
		t.Fatal(err)
	}
	if ep.foreign, err = other.IssueTransport(confTargetHost, pki.WithLoopback()); err != nil {
		t.Fatal(err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if ep.weak, err = e.tp.Authority.IssueTransport(confTargetHost, pki.WithLoopback(), pki.WithKey(k), pki.WithSerial(e.target.id.Cert.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	tlsConf.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		switch ep.flaw.Load() {
		case flawOptionalClientCert:
			c.ClientAuth = tls.VerifyClientCertIfGiven
		case flawUnregisteredServerCert:
			c.GetCertificate, c.Certificates = nil, []tls.Certificate{ep.renewed.TLSCertificate()}
		case flawForeignServerCert:
			c.GetCertificate, c.Certificates = nil, []tls.Certificate{ep.foreign.TLSCertificate()}
		case flawCBCSuites:
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
		case flawWeakServerKey:
			c.GetCertificate, c.Certificates = nil, []tls.Certificate{ep.weak.TLSCertificate()}
		}
		return c, nil
	}
	srv := inbound.NewServer(ln.Addr().String(), tlsConf, ep, inbound.Timeouts{Read: time.Minute, Write: time.Minute, Idle: time.Minute}, log)
	go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	t.Cleanup(func() { srv.Close() })
	return ep
}

func (ep *brokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flaw := ep.flaw.Load().(string)
	switch flaw {
	case flawNone, flawAcceptInactive, flawRefuseAll, flawOptionalClientCert, flawUnregisteredServerCert, flawForeignServerCert, flawCBCSuites, flawWeakServerKey:
		ep.inner.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		ep.inner.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req *seos.Message
	if payload, err := soap.ParseSubmit(body); err == nil {
		req, _, _ = seos.Parse(payload)
	}
	statusRequest := req != nil && req.Body.StatusRequest != nil
	switch {
	case flaw == flawSkipSignature && ep.acceptUnverified(w, r, body):
		return
	case flaw == flawHangStatus && statusRequest:
		<-r.Context().Done() // the client gave up
		return
	case flaw == flawSlowStatus && statusRequest:
		ep.clock.Advance(slowStatusTime)
	case flaw == flawLateStatus && statusRequest:
		ep.clock.Advance(lateStatusTime)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	ep.inner.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if changed := ep.spoil(flaw, req, out); changed != nil {
		out = changed
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(out)
}

// acceptUnverified is flawSkipSignature: a registration request whose
// signature does not hold is acknowledged anyway when its KeyInfo
// certificate is the TLS client's and the sender's registered one.
func (ep *brokenEndpoint) acceptUnverified(w http.ResponseWriter, r *http.Request, body []byte) bool {
	payload, err := soap.ParseSubmit(body)
	if err != nil {
		return false
	}
	m, doc, err := seos.Parse(payload)
	if err != nil || m.Body.RegistrationRequest == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	if _, err := xmldsig.Verify(doc, xmldsig.Options{}); err == nil {
		return false // a good signature takes the normal path
	}
	el := doc.FindElement("/Message/Signature/KeyInfo/X509Data/X509Certificate")
	if el == nil {
		return false
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(el.Text()))
	if err != nil {
		return false
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil || !cert.Equal(r.TLS.PeerCertificates[0]) {
		return false
	}
	sender, _ := ep.cache.ByGUID(r.Context(), m.Header.Sender.GUID)
	if sender == nil || !sender.HasCertificate(pki.SerialHex(cert)) {
		return false
	}
	env := ep.reply(m.Header.Sender, seos.Body{StatusResponse: &seos.StatusResponse{DocID: m.Body.RegistrationRequest.Document.ID, Status: seos.StatusWaitRegistration}}, true)
	w.Header().Set("Content-Type", soap.ContentType)
	w.Write(env)
	return true
}

// spoil rewrites the pipeline's answer the way the flaw does, or returns
// nil. req is nil when the request was not a readable message.
func (ep *brokenEndpoint) spoil(flaw string, req *seos.Message, env []byte) []byte {
	payload, err := soap.ParseSubmitResponse(env)
	if err != nil || len(payload) == 0 {
		return nil
	}
	m, _, err := seos.Parse(payload)
	if err != nil {
		return nil
	}
	if m.Body.Error != nil {
		if flaw == flawErrorsMisaddressed {
			return ep.reply(otherParticipant, m.Body, true)
		}
		return nil
	}
	sr := m.Body.StatusResponse
	if sr == nil || req == nil {
		return nil
	}
	switch {
	case flaw == flawUnreadableAcks && req.Body.RegistrationRequest != nil:
		env, _ := soap.SubmitResponse([]byte("OK, received"))
		return env
	case flaw == flawUnsignedAcks && req.Body.RegistrationRequest != nil:
		return ep.reply(m.Header.Recipient, m.Body, false)
	case flaw == flawUnsignedStatusReplies && req.Body.StatusRequest != nil:
		return ep.reply(m.Header.Recipient, m.Body, false)
	case flaw == flawStatusMisaddressed && req.Body.StatusRequest != nil:
		return ep.reply(ep.self, m.Body, true)
	case flaw == flawWrongGUID && req.Body.RegistrationRequest != nil && sr.Status == seos.StatusWaitRegistration:
		sr.DocID.GUID = seos.NewGUID()
		return ep.reply(m.Header.Recipient, m.Body, true)
	case flaw == flawWrongStatus && req.Body.StatusRequest != nil && sr.Status != seos.StatusNotFound:
		sr.Status = seos.StatusClosed
		return ep.reply(m.Header.Recipient, m.Body, true)
	}
	return nil
}

func (ep *brokenEndpoint) reply(to seos.Entity, body seos.Body, signed bool) []byte {
	m := &seos.Message{Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: ep.self, Recipient: to, MessageGUID: seos.NewGUID()}, Body: body}
	doc, err := m.Document()
	if err != nil {
		panic(err)
	}
	if signed {
		if err := ep.signer.Sign(doc); err != nil {
			panic(err)
		}
	}
	b, err := seos.WriteCompact(doc)
	if err != nil {
		panic(err)
	}
	env, err := soap.SubmitResponse(b)
	if err != nil {
		panic(err)
	}
	return env
}

// TestConformanceAgainstBrokenEndpoints: against seosgw's pipeline the
// synchronous suite passes; with each flaw, exactly the checks that get
// the flawed kind of reply fail. The asynchronous checks are skipped (the
// endpoint has no AIS).
func TestConformanceAgainstBrokenEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e, ep, cfg := brokenSetup(t)
	reports := filepath.Join(e.dir, "reports")
	// Every reply is judged alike: a flaw in one kind of reply fails every
	// check that gets such a reply, and no other.
	refusals := []string{conformance.CheckDuplicateMessage, conformance.CheckMalformedXML, conformance.CheckSchemaInvalid, conformance.CheckUnsigned,
		conformance.CheckTampered, conformance.CheckWrongCertificate, conformance.CheckInactiveSender, conformance.CheckWrongRecipient}
	// soap-binding ends with a valid status request.
	statusChecks := []string{conformance.CheckSOAPBinding, conformance.CheckStatusRequest, conformance.CheckStatusUnknown}
	acks := []string{conformance.CheckRegistration, conformance.CheckDuplicateDocument, conformance.CheckLargeAttachment}
	cases := []struct {
		flaw      string
		failed    []string
		mentioned string   // in each failing check's reason
		warned    []string // checks with a slow-reply warning
	}{
		{flawNone, nil, "", nil},
		{flawSkipSignature, []string{conformance.CheckTampered}, "expected: the reply is a MSG_Error / got: MSG_DocumentStatusResponse", nil},
		{flawUnsignedAcks, acks, "expected: the reply carries a valid message signature", nil},
		{flawUnsignedStatusReplies, statusChecks, "expected: the reply carries a valid message signature", nil},
		{flawUnreadableAcks, []string{conformance.CheckRegistration, conformance.CheckLargeAttachment},
			"expected: a SubmitResponse carrying a schema-valid SEOS message / got: a SubmitResult that is not a schema-valid SEOS message", nil},
		{flawStatusMisaddressed, statusChecks, "expected: Recipient is the sender of the request " + e.harness.entity.GUID + " / got: " + e.target.entity.GUID, nil},
		{flawErrorsMisaddressed, refusals, "Recipient is the sender of the request", nil},
		{flawAcceptInactive, []string{conformance.CheckInactiveSender}, "expected: the reply is a MSG_Error", nil},
		{flawWrongGUID, []string{conformance.CheckRegistration, conformance.CheckLargeAttachment}, "expected: DocID/DocumentGUID is the document's", nil},
		{flawWrongStatus, []string{conformance.CheckStatusRequest}, "expected: DocRegStatus is the document's current status DS_WAIT_REGISTRATION / got: DS_CLOSED", nil},
		{flawRefuseAll, []string{conformance.CheckSOAPBinding, conformance.CheckRegistration, conformance.CheckStatusUnknown, conformance.CheckLargeAttachment},
			"expected: the reply is a MSG_DocumentStatusResponse / got: MSG_Error", nil},
		{flawSlowStatus, nil, "", statusChecks},
		{flawLateStatus, statusChecks, "expected: an answer within the client's timeout of 30.0 s (timeouts.request) / got: ", nil},
		{flawOptionalClientCert, []string{conformance.CheckTLS}, "expected: a client without a client certificate is refused / got: the endpoint answered HTTP 200", nil},
		{flawUnregisteredServerCert, []string{conformance.CheckTLS}, "expected: its serial is the participant's CertificateSN in the register", nil},
		// The chain comes from the harness's own verification error.
		{flawForeignServerCert, []string{conformance.CheckTLS},
			"expected: the server certificate chains to the DAEU CA, is valid now and is for TLS servers / got: the certificate is not issued by the DAEU CA (untrusted issuer) (technical detail: x509: certificate signed by unknown authority)", nil},
		// The harness, as every seosgw client, takes TLS 1.2 only with ECDHE
		// and an AEAD cipher, and no RSA key under 2048 bits.
		{flawCBCSuites, []string{conformance.CheckTLS}, "expected: a handshake with the test participant's registered certificate succeeds / got: remote error: tls: handshake failure", nil},
		{flawWeakServerKey, []string{conformance.CheckTLS}, "expected: its key is at least 2048-bit RSA (or ECDSA) / got: the key is shorter than the protocol's floor (technical detail: RSA key of 1024 bits is under the 2048-bit floor", nil},
	}
	for i, tc := range cases {
		name := tc.flaw
		if name == "" {
			name = "no flaw"
		}
		t.Run(name, func(t *testing.T) {
			ep.flaw.Store(tc.flaw)
			rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
				Skip: conformance.AsyncChecks, ReportDir: reports, Lang: conformance.English, Clock: ep.clock})
			if err != nil {
				t.Fatal(err)
			}
			want, wantVerdict := tc.failed, conformance.Incomplete // the async checks are skipped
			if len(want) > 0 {
				wantVerdict = conformance.Fail
			}
			for _, name := range tc.failed {
				if c := rep.Check(name); c != nil && !strings.Contains(c.Reason, tc.mentioned) {
					t.Errorf("%s failed for another reason than expected (%q): %s", name, tc.mentioned, c.Reason)
				}
			}
			skipped := conformance.AsyncChecks
			if tc.flaw == flawUnreadableAcks {
				// What builds on the registration check's document says
				// the reply could not be read, not that it was refused.
				skipped = append([]string{conformance.CheckDuplicateDocument, conformance.CheckDuplicateMessage, conformance.CheckStatusRequest}, refusals[1:]...)
				for _, n := range skipped {
					if c := rep.Check(n); c != nil && !strings.Contains(c.Reason, "the reply to the registration request could not be read (a SubmitResult that is not a schema-valid SEOS message") {
						t.Errorf("%s: %q", n, c.Reason)
					}
				}
				skipped = append(skipped, conformance.AsyncChecks...)
			}
			if tc.flaw == flawRefuseAll {
				// Everything is refused: what builds on an accepted document
				// is skipped, the refusals are inconclusive.
				skipped = []string{conformance.CheckDuplicateDocument, conformance.CheckDuplicateMessage, conformance.CheckStatusRequest,
					conformance.CheckMalformedXML, conformance.CheckSchemaInvalid, conformance.CheckUnsigned, conformance.CheckTampered,
					conformance.CheckWrongCertificate, conformance.CheckInactiveSender, conformance.CheckWrongRecipient,
					conformance.CheckAsyncStatus, conformance.CheckAsyncDocument}
			}
			if tc.flaw == flawUnregisteredServerCert || tc.flaw == flawForeignServerCert || tc.flaw == flawCBCSuites || tc.flaw == flawWeakServerKey {
				// The harness trusts no connection to it: every other
				// check is skipped as needing tls, none fails for it.
				skipped = nil
				for _, n := range conformance.CheckNames {
					if n == conformance.CheckTLS {
						continue
					}
					skipped = append(skipped, n)
					if c := rep.Check(n); c != nil && !contains(conformance.AsyncChecks, n) && !strings.HasPrefix(c.Reason, "needs tls") {
						t.Errorf("%s: %q, want a needs-tls skip", n, c.Reason)
					}
				}
			}
			checkVerdicts(t, rep, want, skipped)
			warnings := 0
			for _, c := range rep.Checks {
				warnings += len(c.Warnings)
				slow := strings.Contains(strings.Join(c.Warnings, "\n"), "longer than 10.0 s (timeouts.slow_reply)")
				if slow != contains(tc.warned, c.Name) {
					t.Errorf("%s: slow-reply warning %v, want %v: %q", c.Name, slow, !slow, c.Warnings)
				}
			}
			if rep.Summary.Warnings != warnings+len(rep.Setup.Warnings) {
				t.Errorf("summary counts %d warnings, the checks hold %d", rep.Summary.Warnings, warnings)
			}
			if c := rep.Check(conformance.CheckTLS); tc.flaw == flawForeignServerCert && c != nil &&
				(len(c.Exchanges) == 0 || !strings.Contains(c.Exchanges[0].Received, "issuer: CN=not DAEU's CA")) {
				t.Errorf("the tls check's report should describe the certificate the harness refused: %+v", c.Exchanges)
			}
			if rep.Verdict != wantVerdict {
				t.Errorf("verdict %s, want %s", rep.Verdict, wantVerdict)
			}
			h, err := conformance.ReadHistory(reports)
			if err != nil || len(h.Runs) != i+1 || h.Runs[i].RunID != rep.RunID || h.Runs[i].Verdict != rep.Verdict {
				t.Errorf("history after run %d: %+v %v", i+1, h, err)
			}
			for _, f := range []string{"report.json", "report.html"} {
				if _, err := os.Stat(filepath.Join(reports, rep.RunID, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	idx, err := os.ReadFile(filepath.Join(reports, "index.html"))
	if err != nil || strings.Count(string(idx), "report.html") != len(cases) {
		t.Errorf("index.html should link %d reports: %v", len(cases), err)
	}

	// A node that never answers fails on the client's timeout (a short one
	// here); the test waits for the harness to give up, not for a sleep.
	t.Run(flawHangStatus, func(t *testing.T) {
		ep.flaw.Store(flawHangStatus)
		short := *cfg
		short.Timeouts.Request, short.Timeouts.SlowReply = config.Duration(time.Second), config.Duration(500*time.Millisecond)
		var skip []string
		for _, n := range conformance.CheckNames {
			if n != conformance.CheckStatusUnknown {
				skip = append(skip, n)
			}
		}
		rep, err := conformance.Run(context.Background(), conformance.Options{Config: &short, Participant: e.target.entity.GUID,
			Skip: skip, ReportDir: filepath.Join(e.dir, "hang"), Lang: conformance.English})
		if err != nil {
			t.Fatal(err)
		}
		checkVerdicts(t, rep, []string{conformance.CheckStatusUnknown}, skip)
		if c := rep.Check(conformance.CheckStatusUnknown); c == nil || !strings.Contains(c.Reason, "an answer within the client's timeout of 1.0 s (timeouts.request) / got: DocumentStatusRequest about an unknown document: no answer within 1.0 s") {
			t.Errorf("reason: %+v", c)
		}
	})

	// The Bulgarian report's "got" column names the failure in Bulgarian
	// before the verifier's English text, which it marks as technical.
	t.Run("bulgarian got column", func(t *testing.T) {
		ep.flaw.Store(flawUnsignedAcks)
		var skip []string
		for _, n := range conformance.CheckNames {
			if n != conformance.CheckTLS && n != conformance.CheckRegistration {
				skip = append(skip, n)
			}
		}
		rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
			Skip: skip, ReportDir: filepath.Join(e.dir, "bg"), Lang: conformance.Bulgarian})
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Check(conformance.CheckRegistration)
		if c == nil || c.Verdict != conformance.Fail {
			t.Fatalf("registration: %+v", c)
		}
		var got []string
		for _, a := range c.Assertions {
			if !a.OK {
				got = append(got, a.Got)
			}
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], "съобщението не е подписано (техническа подробност: signature: the message is not signed") {
			t.Errorf("the failed assertions' got column: %q", got)
		}
	})

	// --pdf: report.pdf beside report.html, printed by Debian's chromium.
	t.Run("pdf", func(t *testing.T) {
		extools.Require(t, conformance.ChromiumCommand)
		ep.flaw.Store(flawNone)
		var skip []string
		for _, n := range conformance.CheckNames {
			if n != conformance.CheckTLS {
				skip = append(skip, n)
			}
		}
		dir := filepath.Join(e.dir, "pdf")
		rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID, Skip: skip, ReportDir: dir,
			PDF: true, TestedBy: "Мария Иванова"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, rep.Files["pdf"]))
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Errorf("report.pdf: %v", err)
		}
		html, _ := os.ReadFile(filepath.Join(dir, rep.Files["html"]))
		if !strings.Contains(string(html), "Мария Иванова") || !strings.Contains(string(html), `href="report.pdf"`) {
			t.Error("report.html should name who tested and link the PDF")
		}
	})

	// --every 1s --until in 1.5 s: two runs, both in the history.
	t.Run("schedule", func(t *testing.T) {
		ep.flaw.Store(flawNone)
		dir := filepath.Join(e.dir, "scheduled")
		var skip []string
		for _, n := range conformance.CheckNames {
			if n != conformance.CheckTLS && n != conformance.CheckStatusUnknown {
				skip = append(skip, n)
			}
		}
		rep, err := conformance.Schedule(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID, Skip: skip, ReportDir: dir},
			time.Second, time.Now().Add(1500*time.Millisecond))
		if err != nil || rep == nil || rep.Verdict != conformance.Incomplete {
			t.Fatalf("scheduled runs: %v %+v", err, rep)
		}
		h, err := conformance.ReadHistory(dir)
		if err != nil || len(h.Runs) != 2 || h.Runs[1].RunID != rep.RunID || !h.Runs[1].StartedAt.After(h.Runs[0].StartedAt.Add(900*time.Millisecond)) {
			t.Errorf("history of the scheduled runs: %+v %v", h, err)
		}
	})
}

// brokenSetup is DAEU's side, a broken endpoint listed in the register,
// and the harness's configuration.
func brokenSetup(t *testing.T) (*confEnv, *brokenEndpoint, *conformance.Config) {
	t.Helper()
	e := newConfEnv(t)
	e.seedRegister(t, "https://127.0.0.1:1/placeholder") // corrected below, once the endpoint listens
	regURL := e.serveRegister(t)
	ep := startBrokenEndpoint(t, e)
	setTargetURL(t, e, ep.url)
	cfg, err := conformance.LoadConfig(e.harnessConfig(t, regURL, ""))
	if err != nil {
		t.Fatal(err)
	}
	return e, ep, cfg
}

// setTargetURL puts the endpoint's real address into the register entry.
func setTargetURL(t *testing.T, e *confEnv, url string) {
	t.Helper()
	reg, err := testregister.Open(context.Background(), e.regDB, testregister.Options{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.UpdateService(context.Background(), e.target.entity.GUID, register.ExchangeServiceGUID, func(s *register.Service) { s.URI = url }); err != nil {
		t.Fatal(err)
	}
}

// notify plays the broken node's AIS registering the harness's document:
// it sends DS_REGISTERED to the test participant, signed or not, addressed
// to it or not, and returns the test participant's answer.
func (ep *brokenEndpoint) notify(t *testing.T, e *confEnv, docGUID string, signed bool, to seos.Entity) *seos.Message {
	t.Helper()
	id := seos.DocumentID{Number: &seos.DocumentNumber{Number: "ОБЩ-77", Date: seos.DateOf(time.Now())}, GUID: docGUID}
	m := &seos.Message{Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()), Sender: ep.self, Recipient: to, MessageGUID: seos.NewGUID()},
		Body: seos.Body{StatusResponse: &seos.StatusResponse{DocID: id, Status: seos.StatusRegistered}}}
	var b []byte
	if signed {
		b = testkit.Sign(t, e.target.id, m)
	} else {
		var err error
		if b, err = m.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	reply, _, err := testkit.Submit(context.Background(), testkit.Client(e.target.id, e.tp.Authority.Pool(), "127.0.0.1"), e.harnessURL, b)
	if err != nil {
		t.Fatalf("the test participant should answer the notification: %v", err)
	}
	return reply
}

// TestConformanceAsyncStatus: the participant's asynchronous DS_REGISTERED
// is judged like every reply: the test participant's own seosgw pipeline
// refuses one that is unsigned or addressed elsewhere, and async-status
// fails at once with the refusal (an Error is final for its sender, so
// the harness does not wait out its timeout); a good one passes.
func TestConformanceAsyncStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e, ep, cfg := brokenSetup(t)
	var skip []string
	for _, n := range conformance.CheckNames {
		if n != conformance.CheckRegistration && n != conformance.CheckAsyncStatus {
			skip = append(skip, n)
		}
	}
	for _, tc := range []struct {
		name   string
		signed bool
		to     seos.Entity
		reason string // of the refusal, in async-status's reason
	}{
		{"signed", true, e.harness.entity, ""},
		{"unsigned", false, e.harness.entity, "signature_invalid"},
		{"misaddressed", true, otherParticipant, "wrong_recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &testkit.SyncBuffer{}
			done := make(chan *conformance.Report, 1)
			go func() {
				rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
					Skip: skip, ReportDir: filepath.Join(e.dir, "reports-async"), Out: out, Lang: conformance.English})
				if err != nil {
					t.Error(err)
				}
				done <- rep
			}()
			docGUID := waitForInstructions(t, out)
			reply := ep.notify(t, e, docGUID, tc.signed, tc.to)
			if (reply != nil) != (tc.reason != "") {
				t.Errorf("the test participant's answer to the notification: %+v", reply)
			}
			rep := <-done
			if tc.reason == "" {
				checkVerdicts(t, rep, nil, skip)
				if c := rep.Check(conformance.CheckAsyncStatus); c == nil || !strings.Contains(assertionsText(c), "No ОБЩ-77") {
					t.Errorf("async-status should show the participant's registration number:\n%s", assertionsText(c))
				}
				return
			}
			checkVerdicts(t, rep, []string{conformance.CheckAsyncStatus}, skip)
			c := rep.Check(conformance.CheckAsyncStatus)
			if c == nil || !strings.Contains(c.Reason, "got: the notification was refused at ") || !strings.Contains(c.Reason, tc.reason) || len(c.Exchanges) != 1 {
				t.Errorf("async-status should name the refusal %s: %q (%d exchanges)", tc.reason, c.Reason, len(c.Exchanges))
			}
		})
	}
}

// waitForInstructions returns the DocumentGUID the harness asks the
// participant's operator to register.
func waitForInstructions(t *testing.T, out *testkit.SyncBuffer) string {
	t.Helper()
	var docGUID string
	testkit.Eventually(t, 60*time.Second, "the harness's instructions", func() bool {
		m := regexp.MustCompile(`DocumentGUID (\{[0-9a-f-]+\})`).FindStringSubmatch(out.String())
		if m != nil {
			docGUID = m[1]
		}
		return m != nil
	})
	return docGUID
}

// TestConformanceAsyncTimeout: a participant that never registers the
// document nor sends one fails both asynchronous checks after the async
// timeout, and the operator is told what to do meanwhile.
func TestConformanceAsyncTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e, _, cfg := brokenSetup(t)
	cfg.Timeouts.Async = config.Duration(3 * time.Second)
	out := &testkit.SyncBuffer{}
	rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
		Skip: []string{conformance.CheckLargeAttachment}, ReportDir: filepath.Join(e.dir, "reports"), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdicts(t, rep, []string{conformance.CheckAsyncStatus, conformance.CheckAsyncDocument}, []string{conformance.CheckLargeAttachment})
	for _, n := range []string{conformance.CheckAsyncStatus, conformance.CheckAsyncDocument} {
		// The report is in Bulgarian unless asked otherwise.
		if c := rep.Check(n); c == nil || !strings.Contains(c.Reason, "получено: нищо прието в рамките на 3.0 с") {
			t.Errorf("%s: %q", n, c.Reason)
		}
	}
	if !strings.Contains(out.String(), "send a document for registration to "+e.harness.entity.AdministrativeBodyName) {
		t.Errorf("the operator's instructions:\n%s", out.String())
	}
}
