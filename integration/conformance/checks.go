package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
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
	l := s.lang
	switch name {
	case CheckTLS:
		return l.pick("Mutual TLS: a client certificate is required; the server certificate chains to the DAEU CA, has the register's CertificateSN and the endpoint's host name",
			"Двустранен TLS: изисква се клиентски сертификат; сървърният сертификат е издаден от удостоверителя на ДАЕУ, има вписания в регистъра CertificateSN и името на хоста на точката за достъп")
	case CheckSOAPBinding:
		return l.pick("SOAP 1.1 binding: a wrong SOAPAction, a body that is not XML and XML that is not a SOAP envelope each get a SOAP fault with HTTP 500, and the endpoint keeps answering",
			"SOAP 1.1: грешен SOAPAction, тяло, което не е XML, и XML, което не е SOAP плик, получават SOAP грешка с HTTP 500, а точката за достъп продължава да отговаря")
	case CheckWSDL:
		return l.pick("GET ?wsdl returns a WSDL of the SEOS endpoint: the Submit operation with its SOAPAction over SOAP 1.1 and a soap:address (the registered URL, else a note)",
			"GET ?wsdl връща WSDL на точката за достъп на СЕОС: операцията Submit с нейния SOAPAction по SOAP 1.1 и soap:address (вписаният адрес, иначе бележка)")
	case CheckRegistration:
		return l.pick("A valid DocumentRegistrationRequest gets a signed, schema-valid DS_WAIT_REGISTRATION from the participant's registered certificate, DocID echoed, Sender/Recipient swapped",
			"Валидна DocumentRegistrationRequest получава подписан, валиден по схемата DS_WAIT_REGISTRATION с вписания сертификат на участника, със същия DocID и разменени Sender/Recipient")
	case CheckDuplicateDocument:
		return l.pick("The same DocumentGUID in a new message gets DS_ALREADY_RECEIVED", "Същият DocumentGUID в ново съобщение получава DS_ALREADY_RECEIVED")
	case CheckDuplicateMessage:
		return l.pick("A repeated MessageGUID gets a signed Error, ERR_EXTERNAL, naming it", "Повторен MessageGUID получава подписано Error, ERR_EXTERNAL, което го посочва")
	case CheckStatusRequest:
		return l.pick("A DocumentStatusRequest about the registration check's document gets its current status (DS_WAIT_REGISTRATION until the participant registers it)",
			"DocumentStatusRequest за документа от проверката за регистрация получава текущото му състояние (DS_WAIT_REGISTRATION, докато участникът не го регистрира)")
	case CheckStatusUnknown:
		return l.pick("A DocumentStatusRequest about an unknown document gets DS_NOT_FOUND", "DocumentStatusRequest за непознат документ получава DS_NOT_FOUND")
	case CheckMalformedXML:
		return l.pick("A message that is not well-formed XML gets a signed Error, ERR_EXTERNAL", "Съобщение, което не е добре оформен XML (well-formed), получава подписано Error, ERR_EXTERNAL")
	case CheckSchemaInvalid:
		return l.pick("A signed message that breaks the schema gets a signed Error, ERR_EXTERNAL, naming its MessageGUID",
			"Подписано съобщение, което нарушава схемата, получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckUnsigned:
		return l.pick("An unsigned message gets a signed Error, ERR_EXTERNAL, naming its MessageGUID", "Неподписано съобщение получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckTampered:
		return l.pick("A message changed after signing gets a signed Error, ERR_EXTERNAL, naming its MessageGUID",
			"Съобщение, променено след подписването, получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckWrongCertificate:
		return l.pick("A message signed with a certificate other than the sender's registered one gets a signed Error, ERR_EXTERNAL, naming its MessageGUID",
			"Съобщение, подписано със сертификат, различен от вписания за подателя, получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckInactiveSender:
		return l.pick("A message from an Inactive participant (signed and sent over TLS with its own registered certificate) gets a signed Error, ERR_EXTERNAL, naming its MessageGUID",
			"Съобщение от неактивен участник (подписано и изпратено по TLS с неговия вписан сертификат) получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckWrongRecipient:
		return l.pick("A message for another recipient gets a signed Error, ERR_EXTERNAL, naming its MessageGUID",
			"Съобщение до друг получател получава подписано Error, ERR_EXTERNAL, което посочва неговия MessageGUID")
	case CheckLargeAttachment:
		return l.pick("A DocumentRegistrationRequest with a %d MiB attachment is accepted (DS_WAIT_REGISTRATION)",
			"DocumentRegistrationRequest с приложение от %d MiB се приема (DS_WAIT_REGISTRATION)", int64(s.cfg.LargeAttachment)>>20)
	case CheckAsyncStatus:
		return l.pick("The participant later sends DS_REGISTERED (with its registration number or URI) or DS_REJECTED (with a reason) about the registration check's document",
			"По-късно участникът изпраща DS_REGISTERED (с регистрационния си номер или URI) или DS_REJECTED (с причина) за документа от проверката за регистрация")
	case CheckAsyncDocument:
		return l.pick("The participant sends a DocumentRegistrationRequest to the test participant, and answers the test participant's DS_REGISTERED notification with an empty SubmitResult",
			"Участникът изпраща DocumentRegistrationRequest до тестовия участник и отговаря на уведомлението DS_REGISTERED от тестовия участник с празен SubmitResult")
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
	c.tlsRefused(ctx, addr, u, nil, c.l("without a client certificate", "без клиентски сертификат"))
	untrusted, err := untrustedIdentity()
	if err != nil {
		c.harnessError(err)
	} else {
		c.tlsRefused(ctx, addr, u, untrusted, c.l("with a client certificate from a CA other than DAEU's", "с клиентски сертификат от удостоверител, различен от този на ДАЕУ"))
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
	ex := &Exchange{Label: c.l("TLS handshake as the test participant", "TLS връзка като тестовия участник"), Direction: c.l("to the participant", "към участника"),
		Method: "TLS", URL: addr, As: s.identityName(s.harness), At: s.clk.Now()}
	c.Exchanges = append(c.Exchanges, ex)
	start := s.clk.Now()
	conn, err := s.dialTLS(ctx, addr, s.harness)
	ex.DurationMS = s.clk.Now().Sub(start).Milliseconds()
	var chain []*x509.Certificate
	var unverified *tls.CertificateVerificationError
	handshake := c.l("a handshake with the test participant's registered certificate succeeds", "TLS връзката с вписания сертификат на тестовия участник успява")
	switch {
	case err == nil:
		st := conn.ConnectionState()
		conn.Close()
		chain = st.PeerCertificates
		c.expect(true, handshake, fmt.Sprintf("TLS %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)))
	case errors.As(err, &unverified) && len(unverified.UnverifiedCertificates) > 0:
		ex.Error = err.Error()
		chain = unverified.UnverifiedCertificates
	default:
		ex.Error = err.Error()
		c.expect(false, handshake, err.Error())
		return c.l("the handshake as the test participant failed (see the tls check)", "TLS връзката като тестовия участник не успя (вижте проверката tls)")
	}
	cert := chain[0]
	ex.Received = describeCert(cert)
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	_, verr := cert.Verify(x509.VerifyOptions{Roots: s.roots, Intermediates: inter, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	ok := c.expect(verr == nil, c.l("the server certificate chains to the DAEU CA, is valid now and is for TLS servers", "сървърният сертификат е издаден от удостоверителя на ДАЕУ, валиден е сега и е за TLS сървър"),
		orDefault(s.lang.failure(verr), cert.Subject.CommonName))
	serial := pki.SerialHex(cert)
	ok = c.expect(s.target.HasCertificate(serial), c.l("its serial is the participant's CertificateSN in the register, %s", "серийният му номер е вписаният в регистъра CertificateSN на участника, %s", s.target.CertificateSN),
		serial) && ok
	herr := cert.VerifyHostname(s.serverName)
	ok = c.expect(herr == nil, c.l("it is issued for the endpoint's host %s", "издаден е за хоста на точката за достъп, %s", s.serverName),
		orDefault(s.lang.failure(herr), strings.Join(cert.DNSNames, ", "))) && ok
	kerr := pki.CheckKey(cert.PublicKey, 0)
	ok = c.expect(kerr == nil, c.l("its key is at least %d-bit RSA (or ECDSA)", "ключът му е RSA с поне %d бита (или ECDSA)", pki.DefaultMinRSABits),
		orDefault(s.lang.failure(kerr), keyText(cert))) && ok
	if unverified != nil {
		// Whatever the pieces above say, the harness's TLS refused it.
		ok = c.expect(false, c.l("the harness's TLS client, verifying as a peer does, accepts the server certificate", "TLS клиентът на изпитващата система, проверяващ като другите участници, приема сървърния сертификат"),
			s.lang.failure(unverified.Err)) && ok
	}
	if left := cert.NotAfter.Sub(s.clk.Now()); left > 0 && left < 30*24*time.Hour {
		c.warn(c.l("the server certificate expires in %d days (%s)", "сървърният сертификат изтича след %d дни (%s)", int(left.Hours()/24), s.lang.when(cert.NotAfter)))
	}
	if !ok {
		return c.l("the participant's server certificate is not trusted (see the tls check)", "сървърният сертификат на участника не е доверен (вижте проверката tls)")
	}
	return ""
}

// tlsRefused asserts that the endpoint does not serve a client presenting
// id (nil: no certificate). Under TLS 1.3 the server's refusal reaches the
// client only after its side of the handshake, so a request is sent and
// must get no HTTP answer.
func (c *checkCtx) tlsRefused(ctx context.Context, addr string, u *url.URL, id *pki.Identity, how string) {
	s := c.s
	ex := &Exchange{Label: c.l("TLS handshake %s", "TLS връзка %s", how), Direction: c.l("to the participant", "към участника"), Method: "TLS", URL: addr,
		As: s.identityName(id), At: s.clk.Now()}
	if id != nil {
		ex.As = c.l("a certificate of a CA other than DAEU's (made by the harness)", "сертификат от удостоверител, различен от ДАЕУ (създаден от изпитващата система)")
	}
	c.Exchanges = append(c.Exchanges, ex)
	start := s.clk.Now()
	defer func() { ex.DurationMS = s.clk.Now().Sub(start).Milliseconds() }()
	want := c.l("a client %s is refused", "клиент %s е отказан", how)
	conn, err := s.dialTLS(ctx, addr, id)
	var unverified *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unverified):
		// The harness, not the participant, ended this handshake.
		ex.Error = err.Error()
		c.warn(c.l("whether a client %s is refused was not tested: the harness does not trust the server certificate", "не е проверено дали клиент %s се отказва: изпитващата система не се доверява на сървърния сертификат", how))
		return
	case err != nil:
		ex.Error = err.Error()
		c.expect(true, want, c.l("refused in the handshake: %v", "отказан при TLS връзката: %v", err))
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
		c.expect(false, want, c.l("the endpoint neither answered nor closed the connection within %s", "точката за достъп нито отговори, нито затвори връзката в рамките на %s", s.lang.duration(wait)))
	case err != nil:
		ex.Error = err.Error()
		c.expect(true, want, c.l("the connection ends after the handshake (%v)", "връзката се прекратява след TLS договарянето (%v)", err))
	default:
		resp.Body.Close()
		ex.HTTPStatus = resp.StatusCode
		c.expect(false, want, c.l("the endpoint answered HTTP %d", "точката за достъп отговори с HTTP %d", resp.StatusCode))
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

// keyText names a certificate's key type and size.
func keyText(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
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
	for _, tc := range []struct {
		what   string
		action string
		body   []byte
	}{
		{c.l("a Submit with a wrong SOAPAction", "Submit с грешен SOAPAction"), `"http://services.egov.bg/messaging/IEGovService/NoSuchOperation"`, env},
		{c.l("a body that is not XML", "тяло, което не е XML"), "", []byte("this is not a SOAP message\n")},
		{c.l("XML that is not a SOAP envelope", "XML, което не е SOAP плик"), "",
			[]byte(`<?xml version="1.0" encoding="utf-8"?><Submit xmlns="http://services.egov.bg/messaging/"><request>not in a SOAP envelope</request></Submit>`)},
	} {
		c.soapFault(c.do(ctx, request{label: tc.what, as: s.harness, action: tc.action, body: tc.body}), tc.what)
	}

	m := s.statusRequest(seos.NewGUID())
	after, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	// The endpoint still answers, and its answer is judged like any other.
	r := c.submit(ctx, c.l("a valid Submit afterwards (DocumentStatusRequest)", "валиден Submit след това (DocumentStatusRequest)"), s.harness, after)
	c.statusReply(r, s.self, m.Header.MessageGUID, m.Body.StatusRequest.DocID.GUID)
}

func (c *checkCtx) soapFault(r *response, what string) {
	if !c.expect(r.err == nil, c.l("%s gets an answer", "%s получава отговор", what), errText(r.err)) {
		return
	}
	_, err := soap.ParseSubmitResponse(r.body)
	var f *soap.Fault
	if !c.expect(errors.As(err, &f), c.l("%s gets a SOAP fault", "%s получава SOAP грешка (fault)", what), fmt.Sprintf("HTTP %d: %s", r.status, daeu.Snippet(r.body, 160))) {
		return
	}
	c.expect(r.status == http.StatusInternalServerError, c.l("the fault comes with HTTP 500, as SOAP 1.1 requires", "грешката идва с HTTP 500, както изисква SOAP 1.1"),
		fmt.Sprintf("HTTP %d, %s: %s", r.status, f.Code, f.String))
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
	if !c.expect(r.err == nil && r.status == http.StatusOK, c.l("GET %s answers HTTP 200", "GET %s отговаря с HTTP 200", u), httpText(r)) {
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
	none := c.l("none", "липсва")
	c.expect(submitOp != "", c.l("a portType declares the Submit operation", "portType обявява операцията Submit"), orDefault(submitOp, none))
	if c.expect(binding != "", c.l("a SOAP 1.1 binding binds Submit", "SOAP 1.1 binding свързва Submit"), orDefault(binding, none)) {
		c.expect(action == soap.Action, c.l("its soapAction is %s", "неговият soapAction е %s", soap.Action), orDefault(action, none))
	}
	if !c.expect(address != "", c.l("a service port has a SOAP 1.1 soap:address", "порт на услугата има SOAP 1.1 soap:address"), orDefault(address, none)) {
		return
	}
	if sameURL(address, s.registeredURL) {
		c.expect(true, c.l("soap:address is the registered URL", "soap:address е вписаният в регистъра адрес"), address)
	} else {
		c.note(c.l("soap:address is %s, the register lists %s; peers use the register's URL, so this is not a failure",
			"soap:address е %s, а в регистъра е вписан %s; другите участници ползват адреса от регистъра, затова това не е грешка", address, s.registeredURL))
	}
}

// httpText says how a plain HTTP request went.
func httpText(r *response) string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

// wsdlDocs parses the WSDL and the WSDLs it imports (one level, as WCF splits them).
func (c *checkCtx) wsdlDocs(ctx context.Context, base *url.URL, body []byte) ([]*etree.Element, bool) {
	doc, err := xmldoc.Parse(body)
	if !c.expect(err == nil, c.l("the answer is well-formed XML", "отговорът е добре оформен XML"), errText(err)) {
		return nil, false
	}
	root := doc.Root()
	if !c.expect(root.Tag == "definitions" && root.NamespaceURI() == nsWSDL, c.l("its root is wsdl:definitions", "коренът му е wsdl:definitions"),
		fmt.Sprintf("{%s}%s", root.NamespaceURI(), root.Tag)) {
		return nil, false
	}
	tns := root.SelectAttrValue("targetNamespace", "")
	c.expect(tns == soap.ServiceNS, c.l("its targetNamespace is %s", "неговото targetNamespace е %s", soap.ServiceNS), tns)
	roots := []*etree.Element{root}
	for _, imp := range kids(root, nsWSDL, "import") {
		loc := imp.SelectAttrValue("location", "")
		ref, err := base.Parse(loc)
		if loc == "" || err != nil {
			continue
		}
		r := c.do(ctx, request{label: c.l("GET imported WSDL", "GET на внесения WSDL"), as: c.s.harness, method: http.MethodGet, url: ref.String()})
		if !c.expect(r.err == nil && r.status == http.StatusOK, c.l("the imported WSDL %s is served", "внесеният WSDL %s е достъпен", ref), httpText(r)) {
			continue
		}
		if d, err := xmldoc.Parse(r.body); c.expect(err == nil, c.l("the imported WSDL is well-formed XML", "внесеният WSDL е добре оформен XML"), errText(err)) {
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
	if why := c.unreadable(r); why != "" {
		s.regUnreadable = why
	}
	if r.msg != nil {
		if sr := r.msg.Body.StatusResponse; sr != nil && sr.Status == seos.StatusWaitRegistration {
			doc.accepted = true
			s.reg = doc
			if err := s.trackRegistration(ctx, doc); err != nil {
				c.warn(c.l("the harness could not track the document for the async-status check: %v", "изпитващата система не можа да проследи документа за проверката async-status: %v", err))
			}
		}
	}
	if sr := c.statusReply(r, s.self, m.Header.MessageGUID, doc.docGUID); sr != nil {
		c.expect(sr.Status == seos.StatusWaitRegistration, c.l("DocRegStatus is DS_WAIT_REGISTRATION", "DocRegStatus е DS_WAIT_REGISTRATION"), string(sr.Status))
	}
}

// regMissing says why there is no registration check's document to build on.
func (s *suite) regMissing() string {
	if s.regUnreadable != "" {
		return s.lang.pick("the reply to the registration request could not be read (%s)", "отговорът на заявката за регистрация не можа да бъде прочетен (%s)", s.regUnreadable)
	}
	return s.lang.pick("the participant did not acknowledge the registration request with DS_WAIT_REGISTRATION",
		"участникът не потвърди заявката за регистрация с DS_WAIT_REGISTRATION")
}

// needRegistration skips checks that build on the registration check's document.
func (s *suite) needRegistration(c *checkCtx) bool {
	if s.reg == nil {
		c.skip(c.l("needs the registration check's document: %s", "нужен е документът от проверката за регистрация: %s", s.regMissing()))
		return false
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
	r := c.submit(ctx, c.l("the same document in a new message", "същият документ в ново съобщение"), s.harness, signed)
	if sr := c.statusReply(r, s.self, m.Header.MessageGUID, s.reg.docGUID); sr != nil {
		c.expect(sr.Status == seos.StatusAlreadyReceived, c.l("DocRegStatus is DS_ALREADY_RECEIVED", "DocRegStatus е DS_ALREADY_RECEIVED"), string(sr.Status))
	}
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
	r := c.submit(ctx, c.l("a new document under an already used MessageGUID", "нов документ с вече използван MessageGUID"), s.harness, signed)
	c.refused(r, s.self, m.Header.MessageGUID, m.Header.MessageGUID)
}

func (s *suite) checkStatusRequest(ctx context.Context, c *checkCtx) {
	if !s.needRegistration(c) {
		return
	}
	m := s.statusRequest(s.reg.docGUID)
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, c.l("DocumentStatusRequest about the registered document", "DocumentStatusRequest за изпратения документ"), s.harness, signed)
	if sr := c.statusReply(r, s.self, m.Header.MessageGUID, s.reg.docGUID); sr != nil {
		want := s.knownStatus(ctx)
		c.expect(sr.Status == want, c.l("DocRegStatus is the document's current status %s", "DocRegStatus е текущото състояние на документа, %s", want), string(sr.Status))
	}
}

func (s *suite) checkStatusUnknown(ctx context.Context, c *checkCtx) {
	unknown := seos.NewGUID()
	m := s.statusRequest(unknown)
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, c.l("DocumentStatusRequest about an unknown document", "DocumentStatusRequest за непознат документ"), s.harness, signed)
	if sr := c.statusReply(r, s.self, m.Header.MessageGUID, unknown); sr != nil {
		c.expect(sr.Status == seos.StatusNotFound, c.l("DocRegStatus is DS_NOT_FOUND", "DocRegStatus е DS_NOT_FOUND"), string(sr.Status))
	}
}

// ---- refusals

// baseline skips a refusal check when the participant refused the valid
// registration request too: a participant that refuses the test
// participant altogether would otherwise pass every refusal check.
func (s *suite) baseline(c *checkCtx) bool {
	if s.reg == nil && !s.skipped(CheckRegistration) {
		c.skip(c.l("inconclusive: %s, so a refusal here proves nothing (see the registration check)",
			"без извод: %s, затова отказ тук не доказва нищо (вижте проверката registration)", s.regMissing()))
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
	r := c.submit(ctx, c.l("a message with a mismatched end tag", "съобщение с несъответстващ затварящ таг"), s.harness, bad)
	c.refused(r, s.self, m.Header.MessageGUID, "")
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
	r := c.submit(ctx, c.l("a signed message with an element the schema does not allow (Document/DocColour)", "подписано съобщение с елемент, който схемата не допуска (Document/DocColour)"), s.harness, signed)
	c.refused(r, s.self, m.Header.MessageGUID, m.Header.MessageGUID)
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
	c.refused(c.submit(ctx, c.l("an unsigned message", "неподписано съобщение"), s.harness, b), s.self, m.Header.MessageGUID, m.Header.MessageGUID)
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
	r := c.submit(ctx, c.l("a signed message whose Comment was changed after signing", "подписано съобщение, чийто Comment е променен след подписването"), s.harness, b)
	c.refused(r, s.self, m.Header.MessageGUID, m.Header.MessageGUID)
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
	what := c.l("wrong_certificate", "сертификата от wrong_certificate")
	if s.wrongIsInactive {
		what = c.l("the inactive identity's certificate", "сертификата на неактивния участник")
	}
	c.note(c.l("signed with %s, serial %s; sent over TLS as the test participant", "подписано с %s, сериен номер %s; изпратено по TLS като тестовия участник", what, pki.SerialHex(s.wrongID.Cert)))
	r := c.submit(ctx, c.l("a message from the test participant signed with another DAEU certificate", "съобщение от тестовия участник, подписано с друг сертификат от ДАЕУ"), s.harness, signed)
	c.refused(r, s.self, m.Header.MessageGUID, m.Header.MessageGUID)
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
	r := c.submit(ctx, c.l("a message from the Inactive participant, signed and sent with its registered certificate", "съобщение от неактивния участник, подписано и изпратено с неговия вписан сертификат"), s.inactive, signed)
	c.refused(r, s.inactiveEntity, m.Header.MessageGUID, m.Header.MessageGUID)
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
	r := c.submit(ctx, c.l("a message addressed to another participant", "съобщение, адресирано до друг участник"), s.harness, signed)
	c.refused(r, s.self, m.Header.MessageGUID, m.Header.MessageGUID)
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
	r := c.submit(ctx, c.l("DocumentRegistrationRequest with a %d MiB attachment", "DocumentRegistrationRequest с приложение от %d MiB", size>>20), s.harness, signed)
	c.note(c.l("the request is %d bytes (%.1f MiB); the answer took %s", "заявката е %d байта (%.1f MiB); отговорът дойде след %s",
		len(signed), float64(len(signed))/(1<<20), s.lang.duration(time.Duration(r.ex.DurationMS)*time.Millisecond)))
	if sr := c.statusReply(r, s.self, m.Header.MessageGUID, m.Body.RegistrationRequest.Document.ID.GUID); sr != nil {
		c.expect(sr.Status == seos.StatusWaitRegistration, c.l("the document is accepted: DS_WAIT_REGISTRATION", "документът е приет: DS_WAIT_REGISTRATION"), string(sr.Status))
	}
}

// knownStatus is the registration document's status as far as the harness
// knows: DS_WAIT_REGISTRATION until the participant notified another.
func (s *suite) knownStatus(ctx context.Context) seos.DocStatus {
	if st := s.notifiedStatus(ctx); st != "" {
		return st
	}
	return seos.StatusWaitRegistration
}
