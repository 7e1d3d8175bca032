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
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// checkCtx is a check being run: its record and assertion helpers.
type checkCtx struct {
	s *suite
	*Check
}

// l is a text in the report's language.
func (c *checkCtx) l(en, bg string, args ...any) string { return c.s.lang.pick(en, bg, args...) }

// expect records an assertion: want says what was expected, got what the
// participant did ("" when there is nothing to add). It returns ok.
func (c *checkCtx) expect(ok bool, want, got string) bool {
	c.Assertions = append(c.Assertions, Assertion{OK: ok, Text: want, Got: got})
	return ok
}

// warn records something that looked wrong without failing the check.
func (c *checkCtx) warn(text string) { c.Warnings = append(c.Warnings, text) }

// note records a harmless observation.
func (c *checkCtx) note(text string) { c.Notes = append(c.Notes, text) }

// skip ends a check that cannot run, with the reason.
func (c *checkCtx) skip(reason string) {
	c.Verdict, c.Reason = Skip, reason
}

func (c *checkCtx) failed() *Assertion {
	for i := range c.Assertions {
		if !c.Assertions[i].OK {
			return &c.Assertions[i]
		}
	}
	return nil
}

// failReason is a failed assertion as the summary table shows it.
func (l Lang) failReason(a *Assertion) string {
	if a.Got == "" {
		return l.pick("expected: %s", "очаквано: %s", a.Text)
	}
	return l.pick("expected: %s / got: %s", "очаквано: %s / получено: %s", a.Text, a.Got)
}

// harnessError records a failure of the harness itself inside a check.
func (c *checkCtx) harnessError(err error) {
	c.expect(false, c.l("the harness builds the request", "изпитващата система съставя заявката"), err.Error())
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
	cfg := trust.Harden(&tls.Config{RootCAs: s.roots, ServerName: s.serverName, Time: s.clk.Now})
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
	if err := pki.CheckKey(cs.PeerCertificates[0].PublicKey, 0); err != nil {
		return fmt.Errorf("the participant's server certificate: %w", err)
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

// do sends a request, records the exchange in the check and judges how
// long the answer took.
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
	ex := &Exchange{Label: r.label, Direction: c.l("to the participant", "към участника"), Method: r.method, URL: r.url, SOAPAction: r.action,
		As: s.identityName(r.as), At: s.clk.Now(), Sent: Elide(r.shown), SentBytes: len(r.body)}
	c.Exchanges = append(c.Exchanges, ex)
	resp := &response{ex: ex}
	start := s.clk.Now()
	defer func() {
		took := s.clk.Now().Sub(start)
		ex.DurationMS = took.Milliseconds()
		c.timed(r.label, took, resp.err)
	}()
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

// timing is how an answer's time compares with the limits.
type timing int

const (
	onTime timing = iota
	slow          // longer than timeouts.slow_reply: a warning
	late          // past the client's timeout (timeouts.request): a failure
)

// classifyTiming judges one answer. An answer that arrives after the
// client's timeout fails like one that never came: a peer would have given
// up on it. timedOut says the client gave up waiting.
func classifyTiming(took time.Duration, timedOut bool, slowAfter, timeout time.Duration) timing {
	switch {
	case timedOut || took > timeout:
		return late
	case took > slowAfter:
		return slow
	}
	return onTime
}

// timed records a slow answer as a warning and a late one as a failure.
func (c *checkCtx) timed(label string, took time.Duration, err error) {
	s := c.s
	limit, slowAfter := s.cfg.Timeouts.Request.D(), s.cfg.Timeouts.SlowReply.D()
	timedOut := isTimeout(err)
	switch classifyTiming(took, timedOut, slowAfter, limit) {
	case late:
		got := c.l("%s: the answer took %s", "%s: отговорът дойде след %s", label, s.lang.duration(took))
		if timedOut {
			got = c.l("%s: no answer within %s", "%s: няма отговор в рамките на %s", label, s.lang.duration(limit))
		}
		c.expect(false, c.l("an answer within the client's timeout of %s (timeouts.request)", "отговор в рамките на времето за изчакване на клиента, %s (timeouts.request)",
			s.lang.duration(limit)), got)
	case slow:
		c.warn(c.l("%s: the answer took %s, longer than %s (timeouts.slow_reply)", "%s: отговорът дойде след %s, по-бавно от %s (timeouts.slow_reply)",
			label, s.lang.duration(took), s.lang.duration(slowAfter)))
	}
}

// isTimeout tells a client that gave up waiting from other failures.
func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout())
}

func (s *suite) identityName(id *pki.Identity) string {
	l := s.lang
	switch id {
	case nil:
		return l.pick("no client certificate", "без клиентски сертификат")
	case s.harness:
		return l.pick("test participant, serial %s", "тестовия участник, сериен номер %s", pki.SerialHex(id.Cert))
	case s.inactive:
		return l.pick("inactive identity, serial %s", "неактивния участник, сериен номер %s", pki.SerialHex(id.Cert))
	}
	return l.pick("%s, serial %s", "%s, сериен номер %s", id.Cert.Subject.CommonName, pki.SerialHex(id.Cert))
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
	if rep.parseErr != nil {
		rep.msg = nil
	}
	if rep.msg != nil {
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

// unreadable says why the harness could not read a SEOS message in the
// answer, or "" when it could.
func (c *checkCtx) unreadable(r *reply) string {
	switch {
	case r.err != nil:
		return c.s.lang.technical(c.l("no answer", "няма отговор"), r.err)
	case r.fault != nil:
		return c.l("a SOAP fault (HTTP %d, %s: %s)", "SOAP грешка (HTTP %d, %s: %s)", r.status, r.fault.Code, r.fault.String)
	case r.soapErr != nil:
		return c.s.lang.technical(c.l("HTTP %d, not a SOAP SubmitResponse", "HTTP %d, което не е SOAP SubmitResponse", r.status), r.soapErr)
	case len(bytes.TrimSpace(r.payload)) == 0:
		return c.l("HTTP %d with an empty SubmitResult", "HTTP %d с празен SubmitResult", r.status)
	case r.parseErr != nil:
		return c.s.lang.technical(c.l("a SubmitResult that is not a schema-valid SEOS message", "SubmitResult, който не съдържа валидно по схемата СЕОС съобщение"), r.parseErr)
	}
	return ""
}

// replyWant is what a reply must be. Every check judges every reply it gets
// against it in the same way, so a node cannot sign or address one kind of
// reply correctly and another wrongly without a check failing.
type replyWant struct {
	kind        seos.MessageType // TypeStatusResponse or TypeError
	to          seos.Entity      // who sent the request: the reply's Recipient
	requestGUID string           // the request's MessageGUID; the reply needs one of its own
	docGUID     string           // a DocumentStatusResponse must be about this document
	refusedGUID string           // an Error must name this MessageGUID ("" when the request had none readable)
}

// judge asserts that the answer is a SubmitResponse carrying a SEOS
// message that is schema-valid (seosgw's validator and xmllint), of the
// expected kind, signed by the participant's registered certificate, from
// the participant to the request's sender, with a MessageGUID of its own,
// about the right document (or naming the refused message). It returns the
// message when the check can go on to its own assertions.
func (c *checkCtx) judge(r *reply, w replyWant) *seos.Message {
	if why := c.unreadable(r); why != "" {
		c.expect(false, c.l("a SubmitResponse carrying a schema-valid SEOS message", "SubmitResponse със СЕОС съобщение, валидно по схемата"), why)
		return nil
	}
	if r.status != http.StatusOK {
		c.warn(c.l("the SubmitResponse came with HTTP %d; peers send 200", "SubmitResponse дойде с HTTP %d; другите участници изпращат 200", r.status))
	}
	m := r.msg
	c.expect(true, c.l("a SubmitResponse carrying a SEOS message valid by seosgw's schema validator", "SubmitResponse със СЕОС съобщение, валидно по схемата (валидатор на seosgw)"),
		fmt.Sprintf("HTTP %d, %s", r.status, m.Header.MessageType))
	if r.linted {
		c.expect(r.lintErr == nil, c.l("the reply validates against the SEOS schemas with xmllint", "отговорът е валиден по схемите на СЕОС и според xmllint"), c.s.lang.failure(r.lintErr))
	}
	kindOK := c.expect(m.Header.MessageType == w.kind, c.l("the reply is a %s", "отговорът е %s", w.kind), string(m.Header.MessageType)+errorText(m)+statusText(m))
	c.signedByParticipant(r)
	c.parties(m, w.to)
	c.expect(!seos.EqualGUID(m.Header.MessageGUID, w.requestGUID),
		c.l("the reply has a MessageGUID of its own, not the request's %s", "отговорът има собствен MessageGUID, различен от този на заявката %s", w.requestGUID), m.Header.MessageGUID)
	switch {
	case m.Body.StatusResponse != nil && w.docGUID != "":
		c.expect(seos.EqualGUID(m.Body.StatusResponse.DocID.GUID, w.docGUID),
			c.l("DocID/DocumentGUID is the document's %s", "DocID/DocumentGUID е този на документа, %s", w.docGUID), m.Body.StatusResponse.DocID.GUID)
	case m.Body.Error != nil && w.refusedGUID != "":
		named := deref(m.Body.Error.MessageGUID)
		c.expect(seos.EqualGUID(named, w.refusedGUID),
			c.l("Error/MessageGUID names the refused message %s", "Error/MessageGUID посочва отказаното съобщение %s", w.refusedGUID), orDefault(named, c.l("none", "липсва")))
	}
	if t, err := m.Header.MessageDate.Time(); err == nil {
		if d := t.Sub(c.s.clk.Now()); d > c.s.cfg.ClockSkew.D() || d < -c.s.cfg.ClockSkew.D() {
			c.warn(c.l("the reply's MessageDate %s is %s away from the harness's clock (clock skew?)", "MessageDate на отговора, %s, се разминава с часовника на изпитващата система с %s (разлика в часовниците?)",
				m.Header.MessageDate, d.Round(time.Second)))
		}
	}
	if !kindOK {
		return nil
	}
	return m
}

// signedByParticipant asserts the reply's signature holds and its
// certificate is the participant's registered transport certificate.
func (c *checkCtx) signedByParticipant(r *reply) bool {
	if !c.expect(r.sigErr == nil, c.l("the reply carries a valid message signature (enveloped, C14N 1.0)", "отговорът носи валиден подпис на съобщението (enveloped, C14N 1.0)"),
		orDefault(c.s.lang.failure(r.sigErr), c.l("a valid signature", "валиден подпис"))) {
		return false
	}
	chainErr := c.s.chains(r.signer)
	ok := c.expect(chainErr == nil, c.l("the signing certificate chains to the DAEU CA", "сертификатът на подписа е издаден от удостоверителя на ДАЕУ"),
		orDefault(c.s.lang.failure(chainErr), r.signer.Issuer.String()))
	serial := pki.SerialHex(r.signer)
	return c.expect(c.s.target.HasCertificate(serial), c.l("it is the participant's registered certificate %s", "това е вписаният в регистъра сертификат на участника, %s", c.s.target.CertificateSN),
		serial) && ok
}

func (s *suite) chains(cert *x509.Certificate) error {
	if cert == nil {
		return errNoCertificate
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: s.roots, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// parties asserts Sender = participant and Recipient = to.
func (c *checkCtx) parties(m *seos.Message, to seos.Entity) bool {
	h := m.Header
	ok := c.expect(seos.EqualGUID(h.Sender.GUID, c.s.target.GUID), c.l("Sender is the participant %s", "подател (Sender) е участникът, %s", c.s.target.GUID), h.Sender.GUID)
	ok = c.expect(seos.EqualGUID(h.Recipient.GUID, to.GUID), c.l("Recipient is the sender of the request %s", "получател (Recipient) е подателят на заявката, %s", to.GUID), h.Recipient.GUID) && ok
	if h.Sender.Identifier != c.s.target.Identifier {
		c.warn(c.l("Sender/Identifier is %q, the register lists EIK %q", "Sender/Identifier е %q, а в регистъра ЕИК е %q", h.Sender.Identifier, c.s.target.Identifier))
	}
	return ok
}

// statusReply judges a reply that must be a DocumentStatusResponse about
// docGUID to a request (from to, with requestGUID) and returns its body.
func (c *checkCtx) statusReply(r *reply, to seos.Entity, requestGUID, docGUID string) *seos.StatusResponse {
	m := c.judge(r, replyWant{kind: seos.TypeStatusResponse, to: to, requestGUID: requestGUID, docGUID: docGUID})
	if m == nil {
		return nil
	}
	return m.Body.StatusResponse
}

// refused judges the reply to a message the participant must refuse: a
// signed, schema-valid Error, ERR_EXTERNAL, naming refusedGUID when not ""
// (requestGUID is the MessageGUID the harness put in the request).
func (c *checkCtx) refused(r *reply, sentBy seos.Entity, requestGUID, refusedGUID string) {
	m := c.judge(r, replyWant{kind: seos.TypeError, to: sentBy, requestGUID: requestGUID, refusedGUID: refusedGUID})
	if m == nil {
		return
	}
	e := m.Body.Error
	c.expect(e.Type == seos.ErrExternal, c.l("ErrorType is ERR_EXTERNAL, the sender's fault", "ErrorType е ERR_EXTERNAL, грешка на подателя"), string(e.Type))
	if !strings.HasPrefix(e.Description, "Неуспешен – Грешка при подателя.") {
		c.warn(c.l("ErrorDescription does not start with \"Неуспешен – Грешка при подателя.\" as peers write it", "ErrorDescription не започва с „Неуспешен – Грешка при подателя.“, както го пишат другите участници"))
	}
	c.note(c.l("ErrorDescription: %s", "ErrorDescription: %s", e.Description))
}

// errText is an error's text, or "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
