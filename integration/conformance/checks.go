package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register/daeu"
)

// title says in one line what a check asserts.
func (s *suite) title(name string) string {
	switch name {
	case CheckTLS:
		return "Mutual TLS: a client certificate is required; the server certificate chains to the DAEU CA, has the register's CertificateSN and the endpoint's host name"
	case CheckSOAPBinding:
		return "SOAP 1.1 binding: a wrong SOAPAction, a body that is not XML and XML that is not a SOAP envelope each get a SOAP fault with HTTP 500, and the endpoint keeps answering"
	case CheckWSDL:
		return "GET ?wsdl returns a WSDL of the SEOS endpoint: the Submit operation with its SOAPAction over SOAP 1.1 and a soap:address (the registered URL, else a note)"
	case CheckRegistration:
		return "A valid DocumentRegistrationRequest gets a signed, schema-valid DS_WAIT_REGISTRATION from the participant's registered certificate, DocID echoed, Sender/Recipient swapped"
	case CheckDuplicateDocument:
		return "The same DocumentGUID in a new message gets DS_ALREADY_RECEIVED"
	case CheckDuplicateMessage:
		return "A repeated MessageGUID gets a signed Error, ERR_EXTERNAL, naming it"
	case CheckStatusRequest:
		return "A DocumentStatusRequest about the registration check's document gets its current status (DS_WAIT_REGISTRATION until the participant registers it)"
	case CheckStatusUnknown:
		return "A DocumentStatusRequest about an unknown document gets DS_NOT_FOUND"
	case CheckMalformedXML:
		return "A message that is not well-formed XML gets a signed Error, ERR_EXTERNAL"
	case CheckSchemaInvalid:
		return "A signed message that breaks the schema gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckUnsigned:
		return "An unsigned message gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckTampered:
		return "A message changed after signing gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckWrongCertificate:
		return "A message signed with a certificate other than the sender's registered one gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckInactiveSender:
		return "A message from an Inactive participant (signed and sent over TLS with its own registered certificate) gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckWrongRecipient:
		return "A message for another recipient gets a signed Error, ERR_EXTERNAL, naming its MessageGUID"
	case CheckLargeAttachment:
		return fmt.Sprintf("A DocumentRegistrationRequest with a %d MiB attachment is accepted (DS_WAIT_REGISTRATION)", int64(s.cfg.LargeAttachment)>>20)
	case CheckAsyncStatus:
		return "The participant later sends DS_REGISTERED (with its registration number or URI) or DS_REJECTED (with a reason) about the registration check's document"
	case CheckAsyncDocument:
		return "The participant sends a DocumentRegistrationRequest to the test participant, and answers the test participant's DS_REGISTERED notification with an empty SubmitResult"
	}
	return name
}

// ---- tls

func (s *suite) checkTLS(ctx context.Context, c *checkCtx) {
	u, _ := url.Parse(s.targetURL)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	if problem := c.serverCertificate(ctx, addr); problem != "" {
		// Every other check talks to the participant over this connection;
		// they are skipped rather than all failing for this one reason.
		s.tlsProblem = problem
	}
	c.tlsRefused(ctx, addr, u, nil, "without a client certificate")
	untrusted, err := untrustedIdentity()
	if err != nil {
		c.harnessError(err)
	} else {
		c.tlsRefused(ctx, addr, u, untrusted, "with a client certificate from a CA other than DAEU's")
	}
}

// serverCertificate shakes hands as the test participant, trusting the
// participant's server as a peer would (serverTLS), and judges its
// certificate piece by piece: the chain, the registered serial, the host
// name. When the harness refuses the certificate, the chain the server
// sent comes from the verification error, so the report still says what
// is wrong with it. It returns "" when the participant can be trusted,
// else why not.
func (c *checkCtx) serverCertificate(ctx context.Context, addr string) string {
	s := c.s
	ex := &Exchange{Label: "TLS handshake as the test participant", Direction: "to participant", Method: "TLS", URL: addr, As: s.identityName(s.harness), At: s.clk.Now()}
	c.Exchanges = append(c.Exchanges, ex)
	start := time.Now()
	conn, err := s.dialTLS(ctx, addr, s.harness)
	ex.DurationMS = time.Since(start).Milliseconds()
	var chain []*x509.Certificate
	var unverified *tls.CertificateVerificationError
	switch {
	case err == nil:
		st := conn.ConnectionState()
		conn.Close()
		chain = st.PeerCertificates
		c.expect(true, "a handshake with the test participant's registered certificate succeeds (TLS %s, %s)", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	case errors.As(err, &unverified) && len(unverified.UnverifiedCertificates) > 0:
		ex.Error = err.Error()
		chain = unverified.UnverifiedCertificates
	default:
		ex.Error = err.Error()
		c.expect(false, "a handshake with the test participant's registered certificate succeeds%s", errSuffix(err))
		return "the handshake as the test participant failed (see the tls check)"
	}
	cert := chain[0]
	ex.Received = describeCert(cert)
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	_, verr := cert.Verify(x509.VerifyOptions{Roots: s.roots, Intermediates: inter, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	ok := c.expect(verr == nil, "the server certificate (%s) chains to the DAEU CA, is valid now and is for TLS servers%s", cert.Subject.CommonName, errSuffix(verr))
	serial := pki.SerialHex(cert)
	ok = c.expect(s.target.HasCertificate(serial), "its serial %s is the participant's CertificateSN in the register (%s)", serial, s.target.CertificateSN) && ok
	herr := cert.VerifyHostname(s.serverName)
	ok = c.expect(herr == nil, "it is issued for the endpoint's host %s%s", s.serverName, errSuffix(herr)) && ok
	if unverified != nil {
		// Whatever the pieces above say, the harness's TLS refused it.
		ok = c.expect(false, "the harness's TLS client, verifying as a peer does, accepts the server certificate: %v", unverified.Err) && ok
	}
	if left := cert.NotAfter.Sub(s.clk.Now()); left > 0 && left < 30*24*time.Hour {
		c.note("the server certificate expires in %d days (%s)", int(left.Hours()/24), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if !ok {
		return "the participant's server certificate is not trusted (see the tls check)"
	}
	return ""
}

// tlsRefused asserts that the endpoint does not serve a client presenting
// id (nil: no certificate). Under TLS 1.3 the server's refusal reaches the
// client only after its side of the handshake, so a request is sent and
// must get no HTTP answer.
func (c *checkCtx) tlsRefused(ctx context.Context, addr string, u *url.URL, id *pki.Identity, how string) {
	s := c.s
	ex := &Exchange{Label: "TLS handshake " + how, Direction: "to participant", Method: "TLS", URL: addr, As: s.identityName(id), At: s.clk.Now()}
	if id != nil {
		ex.As = "a certificate of a CA other than DAEU's (made by the harness)"
	}
	c.Exchanges = append(c.Exchanges, ex)
	start := time.Now()
	defer func() { ex.DurationMS = time.Since(start).Milliseconds() }()
	conn, err := s.dialTLS(ctx, addr, id)
	var unverified *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unverified):
		// The harness, not the participant, ended this handshake.
		ex.Error = err.Error()
		c.note("whether a client %s is refused was not tested: the harness does not trust the server certificate", how)
		return
	case err != nil:
		ex.Error = err.Error()
		c.expect(true, "a client %s is refused in the handshake (%v)", how, err)
		return
	}
	defer conn.Close()
	wait := min(s.cfg.Timeouts.Request.D(), 20*time.Second)
	conn.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(conn, "GET %s?wsdl HTTP/1.1\r\nHost: %s\r\nUser-Agent: seosgw-conformance\r\nConnection: close\r\n\r\n", u.EscapedPath(), u.Host)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	var ne net.Error
	switch {
	case err != nil && errors.As(err, &ne) && ne.Timeout():
		ex.Error = err.Error()
		c.expect(false, "a client %s is refused (the endpoint neither answered nor closed the connection within %s)", how, wait)
	case err != nil:
		ex.Error = err.Error()
		c.expect(true, "a client %s is refused: the connection ends after the handshake (%v)", how, err)
	default:
		resp.Body.Close()
		ex.HTTPStatus = resp.StatusCode
		c.expect(false, "a client %s is refused (the endpoint answered HTTP %d)", how, resp.StatusCode)
	}
}

// dialTLS connects to the participant presenting id, verifying its server
// as serverTLS does; the serial is for the caller to judge.
func (s *suite) dialTLS(ctx context.Context, addr string, id *pki.Identity) (*tls.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: s.cfg.Timeouts.Request.D()}, Config: s.serverTLS(id)}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Request.D())
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return conn.(*tls.Conn), nil
}

// untrustedIdentity is a transport-like certificate from a CA of the
// harness's own, which no participant may trust.
func untrustedIdentity() (*pki.Identity, error) {
	ca, err := pki.NewAuthority("seosgw conformance: untrusted CA", pki.WithKeyBits(2048))
	if err != nil {
		return nil, err
	}
	return ca.IssueTransport("untrusted.conformance.invalid", pki.WithKeyBits(2048))
}

func describeCert(c *x509.Certificate) string {
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Sprintf("subject: %s\nissuer: %s\nserial: %s\nvalid: %s to %s\nnames: %s", c.Subject, c.Issuer, pki.SerialHex(c),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), strings.Join(names, ", "))
}

// ---- soap-binding

func (s *suite) checkSOAPBinding(ctx context.Context, c *checkCtx) {
	msg, err := sign(s.statusRequest(seos.NewGUID()), s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	env, _ := soap.Submit(msg)
	c.soapFault(c.do(ctx, request{label: "a Submit with a wrong SOAPAction", as: s.harness, action: `"http://services.egov.bg/messaging/IEGovService/NoSuchOperation"`, body: env}), "a wrong SOAPAction")
	c.soapFault(c.do(ctx, request{label: "a body that is not XML", as: s.harness, body: []byte("this is not a SOAP message\n")}), "a body that is not XML")
	notEnvelope := []byte(`<?xml version="1.0" encoding="utf-8"?><Submit xmlns="http://services.egov.bg/messaging/"><request>not in a SOAP envelope</request></Submit>`)
	c.soapFault(c.do(ctx, request{label: "XML that is not a SOAP envelope", as: s.harness, body: notEnvelope}), "XML that is not a SOAP envelope")

	after, err := sign(s.statusRequest(seos.NewGUID()), s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, "a valid Submit afterwards", s.harness, after)
	c.expect(r.err == nil && r.fault == nil && r.soapErr == nil, "the endpoint still answers a valid Submit afterwards (HTTP %d%s)", r.status, errSuffix(firstErr(r.err, faultErr(r.fault), r.soapErr)))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func faultErr(f *soap.Fault) error {
	if f == nil {
		return nil
	}
	return f
}

func (c *checkCtx) soapFault(r *response, what string) {
	if !c.expect(r.err == nil, "%s gets an answer%s", what, errSuffix(r.err)) {
		return
	}
	_, err := soap.ParseSubmitResponse(r.body)
	var f *soap.Fault
	if !c.expect(errors.As(err, &f), "%s gets a SOAP fault (HTTP %d: %s)", what, r.status, daeu.Snippet(r.body, 160)) {
		return
	}
	c.expect(r.status == http.StatusInternalServerError, "the fault (%s: %s) comes with HTTP 500, as SOAP 1.1 requires (got %d)", f.Code, f.String, r.status)
}

// ---- wsdl

const (
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsWSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
)

// checkWSDL: the WSDL must describe the endpoint (Submit, its SOAPAction,
// SOAP 1.1). Its soap:address is only noted when it differs from the
// registered URL: peers take the address from the register, never from the
// WSDL, and a .NET node behind a VPN or reverse proxy publishes its own
// machine name there, so failing on it would fail working nodes.
func (s *suite) checkWSDL(ctx context.Context, c *checkCtx) {
	u, _ := url.Parse(s.targetURL)
	u.RawQuery = "wsdl"
	r := c.do(ctx, request{label: "GET ?wsdl", as: s.harness, method: http.MethodGet, url: u.String()})
	if !c.expect(r.err == nil && r.status == http.StatusOK, "GET %s answers HTTP 200 (got %d%s)", u, r.status, errSuffix(r.err)) {
		return
	}
	roots, ok := c.wsdlDocs(ctx, u, r.body)
	if !ok {
		return
	}
	var submitOp, binding, action, address string
	for _, root := range roots {
		for _, pt := range kids(root, nsWSDL, "portType") {
			for _, op := range kids(pt, nsWSDL, "operation") {
				if op.SelectAttrValue("name", "") == "Submit" {
					submitOp = pt.SelectAttrValue("name", "")
				}
			}
		}
		for _, b := range kids(root, nsWSDL, "binding") {
			if len(kids(b, nsWSDLSOAP, "binding")) == 0 {
				continue // a SOAP 1.2 or other binding
			}
			for _, op := range kids(b, nsWSDL, "operation") {
				if op.SelectAttrValue("name", "") != "Submit" {
					continue
				}
				binding = b.SelectAttrValue("name", "")
				for _, so := range kids(op, nsWSDLSOAP, "operation") {
					action = so.SelectAttrValue("soapAction", "")
				}
			}
		}
		for _, svc := range kids(root, nsWSDL, "service") {
			for _, port := range kids(svc, nsWSDL, "port") {
				for _, a := range kids(port, nsWSDLSOAP, "address") {
					if address == "" {
						address = a.SelectAttrValue("location", "")
					}
				}
			}
		}
	}
	c.expect(submitOp != "", "a portType declares the Submit operation")
	if c.expect(binding != "", "a SOAP 1.1 binding binds Submit") {
		c.expect(action == soap.Action, "its soapAction is %s (got %q)", soap.Action, action)
	}
	if !c.expect(address != "", "a service port has a SOAP 1.1 soap:address") {
		return
	}
	if sameURL(address, s.registeredURL) {
		c.expect(true, "soap:address is the registered URL %s", address)
	} else {
		c.note("soap:address is %s, the register lists %s; peers use the register's URL, so this is not a failure", address, s.registeredURL)
	}
}

// wsdlDocs parses the WSDL and the WSDLs it imports (one level, as WCF splits them).
func (c *checkCtx) wsdlDocs(ctx context.Context, base *url.URL, body []byte) ([]*etree.Element, bool) {
	doc, err := xmldoc.Parse(body)
	if !c.expect(err == nil, "the answer is well-formed XML%s", errSuffix(err)) {
		return nil, false
	}
	root := doc.Root()
	if !c.expect(root.Tag == "definitions" && root.NamespaceURI() == nsWSDL, "its root is wsdl:definitions (got {%s}%s)", root.NamespaceURI(), root.Tag) {
		return nil, false
	}
	c.expect(root.SelectAttrValue("targetNamespace", "") == soap.ServiceNS, "its targetNamespace is %s (got %q)", soap.ServiceNS, root.SelectAttrValue("targetNamespace", ""))
	roots := []*etree.Element{root}
	for _, imp := range kids(root, nsWSDL, "import") {
		loc := imp.SelectAttrValue("location", "")
		ref, err := base.Parse(loc)
		if loc == "" || err != nil {
			continue
		}
		r := c.do(ctx, request{label: "GET imported WSDL", as: c.s.harness, method: http.MethodGet, url: ref.String()})
		if !c.expect(r.err == nil && r.status == http.StatusOK, "the imported WSDL %s is served (HTTP %d%s)", ref, r.status, errSuffix(r.err)) {
			continue
		}
		if d, err := xmldoc.Parse(r.body); c.expect(err == nil, "the imported WSDL is well-formed XML%s", errSuffix(err)) {
			roots = append(roots, d.Root())
		}
	}
	return roots, true
}

func kids(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, k := range e.ChildElements() {
		if k.Tag == local && k.NamespaceURI() == ns {
			out = append(out, k)
		}
	}
	return out
}

// ---- registration and its follow-ups

// regAbout tells the participant's registry clerk what to do with the document.
const regAbout = "Тестов документ от ДАЕУ (изпитване за съответствие): моля, регистрирайте го или го откажете в деловодната система"

func (s *suite) checkRegistration(ctx context.Context, c *checkCtx) {
	m := s.registration(regAbout, "Изпитване за съответствие на ДАЕУ: регистрирайте документа, за да завърши проверката на асинхронния отговор.")
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	doc := &sentDocument{msg: m, signed: signed, docGUID: m.Body.RegistrationRequest.Document.ID.GUID}
	r := c.submit(ctx, "DocumentRegistrationRequest", s.harness, signed)
	if r.msg != nil {
		if sr := r.msg.Body.StatusResponse; sr != nil && sr.Status == seos.StatusWaitRegistration {
			doc.accepted = true
			s.reg = doc
			if err := s.trackRegistration(ctx, doc); err != nil {
				c.note("the harness could not track the document for the async-status check: %v", err)
			}
		}
	}
	if !c.answered(r) || !c.schemaValid(r) {
		return
	}
	c.signedByParticipant(r)
	c.parties(r, s.self, true)
	c.expect(!seos.EqualGUID(r.msg.Header.MessageGUID, m.Header.MessageGUID), "the reply has a MessageGUID of its own (%s)", r.msg.Header.MessageGUID)
	if sr := c.statusReply(r, doc.docGUID); sr != nil {
		c.expect(sr.Status == seos.StatusWaitRegistration, "DocRegStatus is DS_WAIT_REGISTRATION (got %s)", sr.Status)
	}
	if t, err := r.msg.Header.MessageDate.Time(); err == nil {
		if d := t.Sub(s.clk.Now()); d > s.cfg.ClockSkew.D() || d < -s.cfg.ClockSkew.D() {
			c.note("the reply's MessageDate %s is %s away from the harness's clock (clock skew?)", r.msg.Header.MessageDate, d.Round(time.Second))
		}
	}
}

// needRegistration skips checks that build on the registration check's document.
func (s *suite) needRegistration(c *checkCtx) bool {
	if s.reg == nil {
		c.skip("needs the registration check's document, which the participant did not acknowledge with DS_WAIT_REGISTRATION")
		return false
	}
	return true
}

// readable asserts an answer the check can judge: a SubmitResponse with a
// SEOS message that parses. xmllint's opinion is a note here; the
// registration check asserts it.
func (c *checkCtx) readable(r *reply) bool {
	if !c.answered(r) {
		return false
	}
	if !c.expect(r.parseErr == nil, "the reply is a schema-valid SEOS message%s", errSuffix(r.parseErr)) {
		return false
	}
	if r.linted && r.lintErr != nil {
		c.note("xmllint finds the reply schema-invalid: %v", r.lintErr)
	}
	return true
}

func (s *suite) checkDuplicateDocument(ctx context.Context, c *checkCtx) {
	if !s.needRegistration(c) {
		return
	}
	m := seos.NewMessage(s.self, s.targetEntity, s.clk.Now(), s.reg.msg.Body)
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, "the same document in a new message", s.harness, signed)
	if !c.readable(r) {
		return
	}
	if sr := c.statusReply(r, s.reg.docGUID); sr != nil {
		c.expect(sr.Status == seos.StatusAlreadyReceived, "DocRegStatus is DS_ALREADY_RECEIVED (got %s)", sr.Status)
	}
	c.signatureNote(r)
	c.parties(r, s.self, false)
}

func (s *suite) checkDuplicateMessage(ctx context.Context, c *checkCtx) {
	if !s.needRegistration(c) {
		return
	}
	// A new document under the registration's MessageGUID: an endpoint that
	// dedupes documents but not messages would accept it.
	m := s.registration("Тестов документ с повторен идентификатор на съобщение: трябва да бъде отказан", "повторен MessageGUID")
	m.Header.MessageGUID = s.reg.msg.Header.MessageGUID
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	c.refused(c.submit(ctx, "a new document under an already used MessageGUID", s.harness, signed), s.self, m.Header.MessageGUID)
}

func (s *suite) checkStatusRequest(ctx context.Context, c *checkCtx) {
	if !s.needRegistration(c) {
		return
	}
	signed, err := sign(s.statusRequest(s.reg.docGUID), s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, "DocumentStatusRequest about the registered document", s.harness, signed)
	if !c.readable(r) {
		return
	}
	if sr := c.statusReply(r, s.reg.docGUID); sr != nil {
		want := s.knownStatus(ctx)
		c.expect(sr.Status == want, "DocRegStatus is the document's current status %s (got %s)", want, sr.Status)
	}
	c.signatureNote(r)
	c.parties(r, s.self, false)
}

func (s *suite) checkStatusUnknown(ctx context.Context, c *checkCtx) {
	unknown := seos.NewGUID()
	signed, err := sign(s.statusRequest(unknown), s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, "DocumentStatusRequest about an unknown document", s.harness, signed)
	if !c.readable(r) {
		return
	}
	if sr := c.statusReply(r, unknown); sr != nil {
		c.expect(sr.Status == seos.StatusNotFound, "DocRegStatus is DS_NOT_FOUND (got %s)", sr.Status)
	}
	c.signatureNote(r)
	c.parties(r, s.self, false)
}

// ---- refusals

// baseline skips a refusal check when the participant refused the valid
// registration request too: a participant that refuses the test
// participant altogether would otherwise pass every refusal check.
func (s *suite) baseline(c *checkCtx) bool {
	if s.reg == nil && !s.skipped(CheckRegistration) {
		c.skip("inconclusive: the participant did not accept the valid registration request either (see the registration check), so a refusal here proves nothing")
		return false
	}
	return true
}

const refusedAbout = "Тестов документ от ДАЕУ, който трябва да бъде отказан"

func (s *suite) checkMalformed(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "неправилен XML")
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	bad := bytes.Replace(signed, []byte("</Header>"), []byte("</Headr>"), 1)
	// The MessageGUID is not readable once the XML breaks, so it is not required.
	c.refused(c.submit(ctx, "a message with a mismatched end tag", s.harness, bad), s.self, "")
}

func (s *suite) checkSchemaInvalid(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "нарушава схемата")
	doc, err := m.Document()
	if err != nil {
		c.harnessError(err)
		return
	}
	kind := doc.FindElement("//Document/DocKind")
	extra := etree.NewElement("DocColour")
	extra.SetText("червен")
	kind.Parent().InsertChildAt(kind.Index()+1, extra)
	signed, err := signDoc(doc, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	var se *seos.SchemaError
	if _, _, err := seos.Parse(signed); !errors.As(err, &se) {
		c.harnessError(fmt.Errorf("the schema-invalid message passes the harness's own validator (%v)", err))
		return
	}
	c.refused(c.submit(ctx, "a signed message with an element the schema does not allow (Document/DocColour)", s.harness, signed), s.self, m.Header.MessageGUID)
}

func (s *suite) checkUnsigned(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "без подпис")
	b, err := m.Marshal()
	if err != nil {
		c.harnessError(err)
		return
	}
	c.refused(c.submit(ctx, "an unsigned message", s.harness, b), s.self, m.Header.MessageGUID)
}

func (s *suite) checkTampered(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "подписано съдържание")
	doc, err := m.Document()
	if err != nil {
		c.harnessError(err)
		return
	}
	if err := (&xmldsig.Signer{Key: s.harness.Key, Cert: s.harness.Cert, Hash: xmldsig.SHA256}).Sign(doc); err != nil {
		c.harnessError(err)
		return
	}
	doc.FindElement("//DocumentRegistrationRequest/Comment").SetText("променено след подписването")
	b, err := seos.WriteCompact(doc)
	if err != nil {
		c.harnessError(err)
		return
	}
	c.refused(c.submit(ctx, "a signed message whose Comment was changed after signing", s.harness, b), s.self, m.Header.MessageGUID)
}

func (s *suite) checkWrongCertificate(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "подписано с чужд сертификат")
	signed, err := sign(m, s.wrongID)
	if err != nil {
		c.harnessError(err)
		return
	}
	what := "wrong_certificate"
	if s.wrongIsInactive {
		what = "the inactive identity's"
	}
	c.note("signed with %s certificate, serial %s; sent over TLS as the test participant", what, pki.SerialHex(s.wrongID.Cert))
	c.refused(c.submit(ctx, "a message from the test participant signed with another DAEU certificate", s.harness, signed), s.self, m.Header.MessageGUID)
}

func (s *suite) checkInactiveSender(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "от неактивен участник")
	m.Header.Sender = s.inactiveEntity
	m.Body.RegistrationRequest.Document.Correspondents[0].Name = s.inactiveEntity.AdministrativeBodyName
	signed, err := sign(m, s.inactive)
	if err != nil {
		c.harnessError(err)
		return
	}
	c.refused(c.submit(ctx, "a message from the Inactive participant, signed and sent with its registered certificate", s.inactive, signed), s.inactiveEntity, m.Header.MessageGUID)
}

func (s *suite) checkWrongRecipient(ctx context.Context, c *checkCtx) {
	if !s.baseline(c) {
		return
	}
	m := s.registration(refusedAbout, "за друг получател")
	m.Header.Recipient = seos.Entity{Identifier: "000000000", AdministrativeBodyName: "Несъществуващ получател (изпитване на ДАЕУ)", GUID: seos.NewGUID()}
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	c.refused(c.submit(ctx, "a message addressed to another participant", s.harness, signed), s.self, m.Header.MessageGUID)
}

// ---- large-attachment

func (s *suite) checkLargeAttachment(ctx context.Context, c *checkCtx) {
	size := int(s.cfg.LargeAttachment)
	m := s.registration("Тестов документ с голям файл от ДАЕУ: не е нужно да се регистрира", "голямо приложение", largeAttachment(size))
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, fmt.Sprintf("DocumentRegistrationRequest with a %d MiB attachment", size>>20), s.harness, signed)
	c.note("the request is %d bytes (%.1f MiB); the answer took %d ms", len(signed), float64(len(signed))/(1<<20), r.ex.DurationMS)
	if !c.readable(r) {
		return
	}
	sr := r.msg.Body.StatusResponse
	if !c.expect(sr != nil, "the reply is a DocumentStatusResponse (got %s%s)", r.msg.Header.MessageType, errorText(r.msg)) {
		return
	}
	c.expect(sr.Status == seos.StatusWaitRegistration, "the document is accepted: DS_WAIT_REGISTRATION (got %s)", sr.Status)
	if docGUID := m.Body.RegistrationRequest.Document.ID.GUID; !seos.EqualGUID(sr.DocID.GUID, docGUID) {
		c.note("the reply's DocID is %s, the document's is %s; the registration check asserts the echo", sr.DocID.GUID, docGUID)
	}
	c.signatureNote(r)
	c.parties(r, s.self, false)
}

// knownStatus is the registration document's status as far as the harness
// knows: DS_WAIT_REGISTRATION until the participant notified another.
func (s *suite) knownStatus(ctx context.Context) seos.DocStatus {
	if st := s.notifiedStatus(ctx); st != "" {
		return st
	}
	return seos.StatusWaitRegistration
}
