package e2e

import (
	"bytes"
	"context"
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
	// flawUnsignedReplies: its DocumentStatusResponses go out unsigned (its
	// Errors are signed: another code path).
	flawUnsignedReplies = "replies unsigned"
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
)

// brokenEndpoint is seosgw's real inbound pipeline behind a switchable flaw.
type brokenEndpoint struct {
	flaw    atomic.Value  // string
	renewed *pki.Identity // flawUnregisteredServerCert's certificate
	foreign *pki.Identity // flawForeignServerCert's certificate
	inner   *inbound.Handler
	signer  *xmldsig.Signer
	self    seos.Entity
	cache   *register.Cache
	harness participant
	url     string
}

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
	ep := &brokenEndpoint{self: e.target.entity, harness: e.harness, url: "https://" + ln.Addr().String() + "/seos/endpoint"}
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
		Signer: ep.signer, DB: db, Clock: clock.System, Skew: 10 * time.Minute, MaxMessageBytes: 64 << 20, Log: log, Metrics: inbound.NewMetrics(reg)}
	ep.inner = inbound.NewHandler(p, "/seos/endpoint", ep.url, 8, log)
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
	tlsConf.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		switch ep.flaw.Load() {
		case flawOptionalClientCert:
			c.ClientAuth = tls.VerifyClientCertIfGiven
		case flawUnregisteredServerCert:
			c.Certificates = []tls.Certificate{ep.renewed.TLSCertificate()}
		case flawForeignServerCert:
			c.Certificates = []tls.Certificate{ep.foreign.TLSCertificate()}
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
	if r.Method != http.MethodPost || flaw == flawNone || flaw == flawAcceptInactive || flaw == flawRefuseAll || flaw == flawOptionalClientCert ||
		flaw == flawUnregisteredServerCert || flaw == flawForeignServerCert {
		ep.inner.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req *seos.Message
	if payload, err := soap.ParseSubmit(body); err == nil {
		req, _, _ = seos.Parse(payload)
	}
	if flaw == flawSkipSignature && ep.acceptUnverified(w, r, body) {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	ep.inner.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if req != nil {
		if changed := ep.spoil(flaw, req, out); changed != nil {
			out = changed
		}
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

// spoil rewrites the pipeline's answer the way the flaw does, or returns nil.
func (ep *brokenEndpoint) spoil(flaw string, req *seos.Message, env []byte) []byte {
	payload, err := soap.ParseSubmitResponse(env)
	if err != nil || len(payload) == 0 {
		return nil
	}
	m, _, err := seos.Parse(payload)
	if err != nil || m.Body.StatusResponse == nil {
		return nil
	}
	sr := m.Body.StatusResponse
	switch {
	case flaw == flawUnsignedReplies:
		return ep.reply(m.Header.Recipient, m.Body, false)
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
	m := seos.NewMessage(ep.self, to, time.Now(), body)
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
// synchronous suite passes; with each flaw, exactly the check made for it
// fails. The asynchronous checks are skipped (the endpoint has no AIS).
func TestConformanceAgainstBrokenEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newConfEnv(t)
	e.seedRegister(t, "https://127.0.0.1:1/placeholder") // corrected below, once the endpoint listens
	regURL := e.serveRegister(t)
	ep := startBrokenEndpoint(t, e)
	setTargetURL(t, e, ep.url)
	cfg, err := conformance.LoadConfig(e.harnessConfig(t, regURL, ""))
	if err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(e.dir, "reports")
	cases := []struct {
		flaw      string
		failed    string
		mentioned string // in the failing check's reason
	}{
		{flawNone, "", ""},
		{flawSkipSignature, conformance.CheckTampered, "is an Error"},
		{flawUnsignedReplies, conformance.CheckRegistration, "valid message signature"},
		{flawAcceptInactive, conformance.CheckInactiveSender, "is an Error"},
		{flawWrongGUID, conformance.CheckRegistration, "DocumentGUID"},
		{flawWrongStatus, conformance.CheckStatusRequest, "DS_CLOSED"},
		{flawRefuseAll, conformance.CheckRegistration, "DocumentStatusResponse"},
		{flawOptionalClientCert, conformance.CheckTLS, "without a client certificate is refused (the endpoint answered HTTP 200)"},
		{flawUnregisteredServerCert, conformance.CheckTLS, "is the participant's CertificateSN in the register"},
		// The chain comes from the harness's own verification error.
		{flawForeignServerCert, conformance.CheckTLS, "chains to the DAEU CA, is valid now and is for TLS servers: x509: certificate signed by unknown authority"},
	}
	for i, tc := range cases {
		name := tc.flaw
		if name == "" {
			name = "no flaw"
		}
		t.Run(name, func(t *testing.T) {
			ep.flaw.Store(tc.flaw)
			rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
				Skip: conformance.AsyncChecks, ReportDir: reports})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			wantVerdict := conformance.Incomplete // the async checks are skipped
			if tc.failed != "" {
				want, wantVerdict = []string{tc.failed}, conformance.Fail
				if c := rep.Check(tc.failed); c != nil && !strings.Contains(c.Reason, tc.mentioned) {
					t.Errorf("%s failed for another reason than expected (%q): %s", tc.failed, tc.mentioned, c.Reason)
				}
			}
			skipped := conformance.AsyncChecks
			if tc.flaw == flawRefuseAll {
				// Everything is refused: what builds on an accepted document
				// is skipped, the refusals are inconclusive.
				want = append(want, conformance.CheckStatusUnknown, conformance.CheckLargeAttachment)
				skipped = []string{conformance.CheckDuplicateDocument, conformance.CheckDuplicateMessage, conformance.CheckStatusRequest,
					conformance.CheckMalformedXML, conformance.CheckSchemaInvalid, conformance.CheckUnsigned, conformance.CheckTampered,
					conformance.CheckWrongCertificate, conformance.CheckInactiveSender, conformance.CheckWrongRecipient,
					conformance.CheckAsyncStatus, conformance.CheckAsyncDocument}
			}
			if tc.flaw == flawUnregisteredServerCert || tc.flaw == flawForeignServerCert {
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

// TestConformanceAsyncTimeout: a participant that never registers the
// document nor sends one fails both asynchronous checks after the async
// timeout, and a notification the harness refuses is named in the report.
func TestConformanceAsyncTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newConfEnv(t)
	e.seedRegister(t, "https://127.0.0.1:1/placeholder")
	regURL := e.serveRegister(t)
	ep := startBrokenEndpoint(t, e)
	setTargetURL(t, e, ep.url)
	cfg, err := conformance.LoadConfig(e.harnessConfig(t, regURL, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeouts.Async = config.Duration(3 * time.Second)
	out := &testkit.SyncBuffer{}
	done := make(chan *conformance.Report, 1)
	go func() {
		rep, err := conformance.Run(context.Background(), conformance.Options{Config: cfg, Participant: e.target.entity.GUID,
			Skip: []string{conformance.CheckLargeAttachment}, ReportDir: filepath.Join(e.dir, "reports"), Out: out})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	// Play a participant that notifies with a broken signature.
	var docGUID string
	testkit.Eventually(t, 30*time.Second, "the harness's instructions", func() bool {
		m := regexp.MustCompile(`DocumentGUID (\{[0-9a-f-]+\})`).FindStringSubmatch(out.String())
		if m != nil {
			docGUID = m[1]
		}
		return m != nil
	})
	m := seos.NewMessage(e.target.entity, e.harness.entity, time.Now(), seos.Body{StatusResponse: &seos.StatusResponse{DocID: seos.DocumentID{GUID: docGUID}, Status: seos.StatusRegistered}})
	signed := testkit.Sign(t, e.target.id, m)
	tampered := bytes.Replace(signed, []byte("DS_REGISTERED"), []byte("DS_REJECTED"), 1)
	reply, _, err := testkit.Submit(context.Background(), testkit.Client(e.target.id, e.tp.Authority.Pool(), "127.0.0.1"), e.harnessURL, tampered)
	if err != nil || reply == nil || reply.Body.Error == nil {
		t.Fatalf("the harness should refuse a tampered notification: %+v %v", reply, err)
	}
	rep := <-done
	checkVerdicts(t, rep, []string{conformance.CheckAsyncStatus, conformance.CheckAsyncDocument}, []string{conformance.CheckLargeAttachment})
	st := rep.Check(conformance.CheckAsyncStatus)
	if st == nil || !strings.Contains(st.Reason, "within 3s") || !strings.Contains(assertionsText(st), "signature_invalid") || len(st.Exchanges) != 1 {
		t.Errorf("async-status should say what the harness refused:\n%s", assertionsText(st))
	}
	if !strings.Contains(out.String(), "send a document for registration to "+e.harness.entity.AdministrativeBodyName) {
		t.Errorf("the operator's instructions:\n%s", out.String())
	}
}
