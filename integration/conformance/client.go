package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// checkCtx is a check being run: its record and assertion helpers.
type checkCtx struct {
	s *suite
	*Check
}

// expect records an assertion and returns whether it held.
func (c *checkCtx) expect(ok bool, format string, args ...any) bool {
	c.Assertions = append(c.Assertions, Assertion{OK: ok, Text: fmt.Sprintf(format, args...)})
	return ok
}

func (c *checkCtx) note(format string, args ...any) {
	c.Notes = append(c.Notes, fmt.Sprintf(format, args...))
}

// skip ends a check that cannot run, with the reason.
func (c *checkCtx) skip(format string, args ...any) {
	c.Verdict, c.Reason = Skip, fmt.Sprintf(format, args...)
}

func (c *checkCtx) failed() *Assertion {
	for i := range c.Assertions {
		if !c.Assertions[i].OK {
			return &c.Assertions[i]
		}
	}
	return nil
}

// harnessError records a failure of the harness itself inside a check.
func (c *checkCtx) harnessError(err error) {
	c.expect(false, "the harness could not build the request: %v", err)
}

// client returns the HTTP client that presents id (nil: no certificate).
// It trusts the participant's server only as a peer would: the chain to
// the DAEU CA at the harness's clock, the registered host name, and the
// serial the register lists (serverTLS). The tls check judges the same
// certificate piece by piece; when it fails, the checks that need this
// connection are skipped rather than all failing alike.
func (s *suite) client(id *pki.Identity) *http.Client {
	key := any(id)
	if id == nil {
		key = "none"
	}
	if c, ok := s.clients.Load(key); ok {
		return c.(*http.Client)
	}
	cfg := s.serverTLS(id)
	cfg.VerifyConnection = s.registeredServer
	timeout := s.cfg.Timeouts.Request.D()
	c := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // the SEOS network is not behind an Internet proxy
			DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     cfg,
			TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	actual, _ := s.clients.LoadOrStore(key, c)
	return actual.(*http.Client)
}

// serverTLS is the TLS of a connection to the participant presenting id
// (nil: none): its certificate must chain to the DAEU CA at the harness's
// clock and carry the registered host name.
func (s *suite) serverTLS(id *pki.Identity) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: s.roots, ServerName: s.serverName, Time: s.clk.Now}
	if id != nil {
		cfg.Certificates = []tls.Certificate{id.TLSCertificate()}
	}
	return cfg
}

// registeredServer refuses a server certificate other than the one the
// register lists for the participant (crypto/tls has checked the chain).
func (s *suite) registeredServer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the participant presented no server certificate")
	}
	if serial := pki.SerialHex(cs.PeerCertificates[0]); !s.target.HasCertificate(serial) {
		return fmt.Errorf("the participant's server certificate has serial %s, the register lists %s", serial, s.target.CertificateSN)
	}
	return nil
}

func (s *suite) closeClients() {
	s.clients.Range(func(_, v any) bool {
		v.(*http.Client).CloseIdleConnections()
		return true
	})
}

// maxAnswer bounds what the harness reads of an answer.
const maxAnswer = 64 << 20

// request is one HTTP request to the participant.
type request struct {
	label       string
	as          *pki.Identity // TLS client certificate; nil for none
	method      string        // default POST
	url         string        // default the target
	action      string        // SOAPAction; default the protocol's
	contentType string        // default text/xml; charset=utf-8
	body        []byte        // what goes on the wire
	shown       []byte        // what the report shows as sent (default body)
}

// response is what came back.
type response struct {
	ex     *Exchange
	status int
	body   []byte
	err    error // transport failure
}

// do sends a request and records the exchange in the check.
func (c *checkCtx) do(ctx context.Context, r request) *response {
	s := c.s
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.url == "" {
		r.url = s.targetURL
	}
	if r.action == "" && r.method == http.MethodPost {
		r.action = `"` + soap.Action + `"`
	}
	if r.contentType == "" && r.method == http.MethodPost {
		r.contentType = soap.ContentType
	}
	if r.shown == nil {
		r.shown = r.body
	}
	ex := &Exchange{Label: r.label, Direction: "to participant", Method: r.method, URL: r.url, SOAPAction: r.action,
		As: s.identityName(r.as), At: s.clk.Now(), Sent: Elide(r.shown), SentBytes: len(r.body)}
	c.Exchanges = append(c.Exchanges, ex)
	resp := &response{ex: ex}
	start := time.Now()
	defer func() { ex.DurationMS = time.Since(start).Milliseconds() }()
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, rd)
	if err != nil {
		resp.err, ex.Error = err, err.Error()
		return resp
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.action != "" {
		req.Header.Set("SOAPAction", r.action)
	}
	req.Header.Set("User-Agent", "seosgw-conformance")
	hr, err := s.client(r.as).Do(req)
	if err != nil {
		resp.err, ex.Error = err, err.Error()
		return resp
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hr.Body, maxAnswer+1))
	resp.status, resp.body = hr.StatusCode, b
	ex.HTTPStatus, ex.ReceivedBytes = hr.StatusCode, len(b)
	if err != nil {
		resp.err, ex.Error = fmt.Errorf("reading the answer: %w", err), err.Error()
	}
	if len(b) > maxAnswer {
		resp.err = fmt.Errorf("answer larger than %d MiB", maxAnswer>>20)
		ex.Error = resp.err.Error()
	}
	ex.Received = Elide(b)
	return resp
}

func (s *suite) identityName(id *pki.Identity) string {
	switch id {
	case nil:
		return "no client certificate"
	case s.harness:
		return "test participant, serial " + pki.SerialHex(id.Cert)
	case s.inactive:
		return "inactive identity, serial " + pki.SerialHex(id.Cert)
	}
	return id.Cert.Subject.CommonName + ", serial " + pki.SerialHex(id.Cert)
}

// reply is a SEOS answer as the harness read it.
type reply struct {
	*response
	fault    *soap.Fault
	soapErr  error  // the answer is not a SubmitResponse
	payload  []byte // SubmitResult
	msg      *seos.Message
	doc      *etree.Document
	parseErr error // payload is not a schema-valid SEOS message
	lintErr  error // xmllint's verdict; nil when it passed or did not run
	linted   bool
	sigErr   error
	signer   *x509.Certificate
}

// submit sends a signed message in a Submit envelope and reads the answer.
func (c *checkCtx) submit(ctx context.Context, label string, as *pki.Identity, message []byte) *reply {
	env, err := soap.Submit(message)
	if err != nil {
		c.harnessError(err)
		return &reply{response: &response{err: err, ex: &Exchange{}}}
	}
	return c.s.read(ctx, c.do(ctx, request{label: label, as: as, body: env, shown: message}))
}

// read unwraps and judges an answer; it asserts nothing.
func (s *suite) read(ctx context.Context, r *response) *reply {
	rep := &reply{response: r}
	if r.err != nil {
		return rep
	}
	payload, err := soap.ParseSubmitResponse(r.body)
	if errors.As(err, &rep.fault) {
		return rep
	}
	if err != nil {
		rep.soapErr = err
		return rep
	}
	rep.payload = payload
	if len(payload) > 0 {
		r.ex.Received = Elide(payload) // the message is what people want to read
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return rep
	}
	rep.msg, rep.doc, rep.parseErr = seos.Parse(payload)
	if rep.doc != nil && rep.parseErr == nil {
		if s.validator != nil {
			rep.linted, rep.lintErr = true, s.validator.validate(ctx, payload)
		}
		res, err := xmldsig.Verify(rep.doc, xmldsig.Options{Now: s.clk.Now})
		if err != nil {
			rep.sigErr = err
		} else {
			rep.signer = res.Cert
		}
	}
	return rep
}

// answered asserts that a SubmitResponse carrying a SEOS message came back.
func (c *checkCtx) answered(r *reply) bool {
	switch {
	case r.err != nil:
		return c.expect(false, "the participant answered: %v", r.err)
	case r.fault != nil:
		return c.expect(false, "the answer is a SubmitResponse, not a SOAP fault (HTTP %d, %s: %s)", r.status, r.fault.Code, r.fault.String)
	case r.soapErr != nil:
		return c.expect(false, "the answer is a SOAP SubmitResponse (HTTP %d): %v", r.status, r.soapErr)
	case len(bytes.TrimSpace(r.payload)) == 0:
		return c.expect(false, "SubmitResult carries a SEOS message (HTTP %d, it is empty)", r.status)
	}
	if r.status != http.StatusOK {
		c.note("the SubmitResponse came with HTTP %d; peers send 200", r.status)
	}
	return c.expect(true, "HTTP %d with a SubmitResponse carrying a message", r.status)
}

// schemaValid asserts the reply parsed and validated.
func (c *checkCtx) schemaValid(r *reply) bool {
	if !c.expect(r.parseErr == nil, "the reply is a schema-valid SEOS message (seosgw validator)%s", errSuffix(r.parseErr)) {
		return false
	}
	if r.linted {
		return c.expect(r.lintErr == nil, "the reply validates against the SEOS schemas with xmllint%s", errSuffix(r.lintErr))
	}
	return true
}

// signedByParticipant asserts the reply's signature holds and its
// certificate is the participant's registered transport certificate.
func (c *checkCtx) signedByParticipant(r *reply) bool {
	if !c.expect(r.sigErr == nil, "the reply carries a valid message signature (enveloped, C14N 1.0)%s", errSuffix(r.sigErr)) {
		return false
	}
	ok := c.expect(c.s.chains(r.signer) == nil, "the signing certificate chains to the DAEU CA%s", errSuffix(c.s.chains(r.signer)))
	serial := pki.SerialHex(r.signer)
	return c.expect(c.s.target.HasCertificate(serial), "it is the participant's registered certificate (serial %s, register %s)", serial, c.s.target.CertificateSN) && ok
}

// signatureNote records the reply's signature as an observation: the
// registration and refusal checks assert signatures, the others keep their
// verdict to the one property they test.
func (c *checkCtx) signatureNote(r *reply) {
	switch {
	case r.msg == nil:
	case r.sigErr != nil:
		c.note("the reply's signature does not hold (%v); the registration check asserts reply signatures", r.sigErr)
	case !c.s.target.HasCertificate(pki.SerialHex(r.signer)):
		c.note("the reply is signed with certificate %s, not the registered %s", pki.SerialHex(r.signer), c.s.target.CertificateSN)
	}
}

func (s *suite) chains(cert *x509.Certificate) error {
	if cert == nil {
		return errors.New("no certificate")
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: s.roots, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// parties asserts (or notes) Sender = participant and Recipient = to.
func (c *checkCtx) parties(r *reply, to seos.Entity, assert bool) bool {
	h := r.msg.Header
	from := seos.EqualGUID(h.Sender.GUID, c.s.target.GUID)
	rcpt := seos.EqualGUID(h.Recipient.GUID, to.GUID)
	if !assert {
		if !from || !rcpt {
			c.note("the reply is from %s to %s; expected from the participant %s to %s", h.Sender.GUID, h.Recipient.GUID, c.s.target.GUID, to.GUID)
		}
		return true
	}
	ok := c.expect(from, "Sender is the participant (%s; got %s)", c.s.target.GUID, h.Sender.GUID)
	ok = c.expect(rcpt, "Recipient is the sender of the request (%s; got %s)", to.GUID, h.Recipient.GUID) && ok
	if h.Sender.Identifier != c.s.target.Identifier {
		c.note("Sender/Identifier is %q, the register lists EIK %q", h.Sender.Identifier, c.s.target.Identifier)
	}
	return ok
}

// statusReply asserts a DocumentStatusResponse about docGUID and returns it.
func (c *checkCtx) statusReply(r *reply, docGUID string) *seos.StatusResponse {
	sr := r.msg.Body.StatusResponse
	if !c.expect(sr != nil, "the reply is a DocumentStatusResponse (got %s%s)", r.msg.Header.MessageType, errorText(r.msg)) {
		return nil
	}
	c.expect(seos.EqualGUID(sr.DocID.GUID, docGUID), "DocID/DocumentGUID is the document's (%s; got %s)", docGUID, sr.DocID.GUID)
	return sr
}

// refused asserts the reply to a message the participant must refuse: a
// signed, schema-valid Error, ERR_EXTERNAL, naming messageGUID when not "".
func (c *checkCtx) refused(r *reply, sentBy seos.Entity, messageGUID string) {
	if !c.answered(r) || !c.schemaValid(r) {
		return
	}
	e := r.msg.Body.Error
	if !c.expect(e != nil, "the reply is an Error (got %s%s)", r.msg.Header.MessageType, statusText(r.msg)) {
		return
	}
	c.signedByParticipant(r)
	c.expect(e.Type == seos.ErrExternal, "ErrorType is ERR_EXTERNAL, the sender's fault (got %s)", e.Type)
	named := ""
	if e.MessageGUID != nil {
		named = *e.MessageGUID
	}
	if messageGUID != "" {
		c.expect(seos.EqualGUID(named, messageGUID), "Error/MessageGUID names the refused message (%s; got %q)", messageGUID, named)
	}
	c.parties(r, sentBy, false)
	if !strings.HasPrefix(e.Description, "Неуспешен – Грешка при подателя.") {
		c.note("ErrorDescription does not start with \"Неуспешен – Грешка при подателя.\" as peers write it")
	}
	c.note("ErrorDescription: %s", e.Description)
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func errorText(m *seos.Message) string {
	if e := m.Body.Error; e != nil {
		return fmt.Sprintf(": %s %s", e.Type, e.Description)
	}
	return ""
}

func statusText(m *seos.Message) string {
	if s := m.Body.StatusResponse; s != nil {
		return ": " + string(s.Status)
	}
	return ""
}
