package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
)

// The peer zoo: messages shaped as the real producers SEOS meets write
// them (testdata/zoo/<producer>/, each folder's README says where the shape
// comes from), signed at test time by that producer's signer — the .NET
// peer's sign-node for the deployed node, xmlsec1 (libxml2's C14N, as PHP's
// DOM and Java/C nodes) for the others — sent over mutual TLS to a running
// seosgw, which must accept each; every reply must verify in the .NET peer.
// The deployed node's and the PHP client's messages travel in the SOAP
// request their producer writes; the Java shapes, whose SOAP stack is not
// known, in seosgw's own.

const zooDir = "testdata/zoo"

// zooMessage is one golden template and how its producer sends it.
type zooMessage struct {
	producer string // folder and participant
	file     string
	sign     string   // "sign-node sha1", "sign-node sha256" or "xmlsec1"
	date     string   // MessageDate layout the producer writes
	envelope envelope // the SOAP request it travels in
	reply    seos.MessageType
	doc      func(z *zoo) string // the DocumentGUID it is about
}

const (
	dotnetDate = "2006-01-02T15:04:05.0000000-07:00" // .NET DateTime.Now: 7 fractional digits and the offset
	phpDate    = "2006-01-02T15:04:05.000-07:00"     // Carbon 'Y-m-d\TH:i:s.vP'
	javaDate   = "2006-01-02T15:04:05.000-07:00"
)

// zooShape is what each producer's signed messages must show, so that a
// change of signer cannot quietly turn the zoo into our own shape.
var zooShape = map[string][]string{
	"dotnet-node": {`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"`,
		`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`, `</X509Certificate><X509Certificate>`, `<X509IssuerSerial><X509IssuerName>CN=`},
	"php-pdoi": {`xmlns:ns2="http://ereg.egov.bg/segment/0009-000001" xmlns:ns3="http://www.w3.org/2000/09/xmldsig#"`, `<Version>1</Version>`,
		`<ds:Signature xmlns:ds=`, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`, `<ds:X509Certificate>`},
	"java": {`<ns2:Message xmlns:ns2="http://schemas.egov.bg/messaging/v1"`, `X509Certificate>`},
}

// envelope is a producer's SOAP request around the signed message.
type envelope int

const (
	ourEnvelope envelope = iota // seosgw's own (soap.Submit)
	wcfEnvelope                 // the deployed node's WCF client
	phpEnvelope                 // the PHP client's concatenated string
)

type zoo struct {
	t         *testing.T
	dir       string
	tp        *pki.TestPKI
	gw        *gateway
	producers map[string]participant
	pfx       map[string]string
	docs      map[string]string // DocumentGUIDs by name, shared between steps
}

func TestPeerZoo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	extools.DotnetPeer(t)
	extools.Require(t, "xmlsec1")
	z := newZoo(t)
	var msgs []zooMessage
	for _, h := range []string{"sha1", "sha256"} {
		// Each hash gets its own documents, so every step is a first.
		reg, sent, nofiles := "node-"+h, "ours-"+h, "node-nofiles-"+h
		msgs = append(msgs,
			zooMessage{producer: "dotnet-node", file: "registration.xml", sign: "sign-node " + h, date: dotnetDate, envelope: wcfEnvelope, reply: seos.TypeStatusResponse, doc: z.newDoc(reg)},
			zooMessage{producer: "dotnet-node", file: "registration-no-files.xml", sign: "sign-node " + h, date: dotnetDate, envelope: wcfEnvelope, reply: seos.TypeStatusResponse, doc: z.newDoc(nofiles)},
			zooMessage{producer: "dotnet-node", file: "status-request.xml", sign: "sign-node " + h, date: dotnetDate, envelope: wcfEnvelope, reply: seos.TypeStatusResponse, doc: z.doc(reg)},
			zooMessage{producer: "dotnet-node", file: "status-response.xml", sign: "sign-node " + h, date: dotnetDate, envelope: wcfEnvelope, doc: z.sentTo("dotnet-node", sent)},
			zooMessage{producer: "dotnet-node", file: "error.xml", sign: "sign-node " + h, date: dotnetDate, envelope: wcfEnvelope, doc: z.doc(reg)},
		)
	}
	msgs = append(msgs,
		zooMessage{producer: "php-pdoi", file: "registration.xml", sign: "xmlsec1", date: phpDate, envelope: phpEnvelope, reply: seos.TypeStatusResponse, doc: z.newDoc("php")},
		zooMessage{producer: "java", file: "registration.xml", sign: "xmlsec1", date: javaDate, reply: seos.TypeStatusResponse, doc: z.newDoc("java")},
		zooMessage{producer: "java", file: "status-request.xml", sign: "xmlsec1", date: javaDate, reply: seos.TypeStatusResponse, doc: z.doc("java")},
	)
	for i, m := range msgs {
		t.Run(fmt.Sprintf("%s/%s/%s", m.producer, strings.TrimSuffix(m.file, ".xml"), strings.ReplaceAll(m.sign, " ", "-")), func(t *testing.T) {
			p := z.producers[m.producer]
			fill := strings.NewReplacer("${MESSAGE_DATE}", time.Now().In(clock.Sofia).Format(m.date), "${MESSAGE_GUID}", seos.NewGUID(),
				"${SENDER_EIK}", p.entity.Identifier, "${SENDER_NAME}", p.entity.AdministrativeBodyName, "${SENDER_GUID}", p.entity.GUID,
				"${RECIPIENT_EIK}", z.gw.p.entity.Identifier, "${RECIPIENT_NAME}", z.gw.p.entity.AdministrativeBodyName, "${RECIPIENT_GUID}", z.gw.p.entity.GUID,
				"${DOCUMENT_GUID}", m.doc(z), "${ABOUT_GUID}", seos.NewGUID())
			tmpl, err := os.ReadFile(filepath.Join(zooDir, m.producer, m.file))
			if err != nil {
				t.Fatal(err)
			}
			unsigned := filepath.Join(z.dir, fmt.Sprintf("zoo-%02d-unsigned.xml", i))
			if err := os.WriteFile(unsigned, []byte(fill.Replace(string(tmpl))), 0o644); err != nil {
				t.Fatal(err)
			}
			signed := z.sign(m, unsigned)
			for _, want := range zooShape[m.producer] {
				if !bytes.Contains(signed, []byte(want)) {
					t.Fatalf("the producer's signed message lacks %q: the zoo would not test its shape\n%s", want, signed)
				}
			}
			reply := z.post(p, signed, m.envelope)
			if m.reply == "" {
				if len(reply) != 0 {
					t.Fatalf("a notification is answered with an empty SubmitResult; got %s", reply)
				}
				return
			}
			got, _, err := seos.Parse(reply)
			if err != nil {
				t.Fatalf("reply: %v\n%s", err, reply)
			}
			if got.Header.MessageType != m.reply {
				t.Fatalf("not accepted: %s %+v", got.Header.MessageType, got.Body.Error)
			}
			if st := got.Body.StatusResponse; st != nil && st.Status != seos.StatusWaitRegistration {
				t.Errorf("status %s, want DS_WAIT_REGISTRATION", st.Status)
			}
			file := filepath.Join(z.dir, fmt.Sprintf("zoo-%02d-reply.xml", i))
			os.WriteFile(file, reply, 0o644)
			v := extools.Peer(t, "verify", file)
			if !v.OK() || pki.NormalizeSerial(strings.TrimPrefix(strings.TrimSpace(v.Stdout), "OK ")) != pki.SerialHex(z.gw.p.id.Cert) {
				t.Errorf("the .NET peer does not verify the reply: %s %s", v.Stdout, v.Stderr)
			}
		})
	}

	// What the zoo left in the gateway: every registration in the inbox
	// (those without files with none), the node's DS_REGISTERED on our
	// document with its number, and the tolerated empty lists counted.
	db := testkit.OpenDB(t, z.gw.db)
	for name, doc := range z.docs {
		if strings.HasPrefix(name, "ours-") {
			var status, number, delivery string
			db.QueryRow(`SELECT doc_status, peer_number, state FROM outbox WHERE document_guid_key = ?`, seos.CanonicalGUID(doc)).Scan(&status, &number, &delivery)
			if status != "DS_REGISTERED" || !strings.HasPrefix(number, "ДАЕУ-1234") || delivery == "failed" {
				t.Errorf("%s: our document after the node's DS_REGISTERED: %q %q %q", name, status, number, delivery)
			}
			continue
		}
		var files int
		if err := db.QueryRow(`SELECT count(a.idx) FROM inbox i LEFT JOIN inbox_attachments a ON a.inbox_id = i.id WHERE i.document_guid_key = ?`,
			seos.CanonicalGUID(doc)).Scan(&files); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[strings.Contains(name, "nofiles")]; testkit.CountDocument(t, db, doc) != 1 || files != want {
			t.Errorf("%s: %d stored, %d attachments (want %d)", name, testkit.CountDocument(t, db, doc), files, want)
		}
	}
	if m := z.metrics(); !strings.Contains(m, `seosgw_inbound_tolerated_total{quirk="empty_attachment_list"} 2`) {
		t.Errorf("tolerated quirks not counted:\n%s", grepLines(m, "seosgw_inbound_tolerated_total"))
	}
}

func newZoo(t *testing.T) *zoo {
	dir := t.TempDir()
	hosts := []string{"gw.obmen.local", "dotnet-node.obmen.local", "php-pdoi.obmen.local", "java.obmen.local"}
	tp, ps := participants(t, dir, hosts...)
	z := &zoo{t: t, dir: dir, tp: tp, producers: map[string]participant{}, pfx: map[string]string{}, docs: map[string]string{}}
	for _, h := range hosts[1:] {
		z.producers[strings.TrimSuffix(h, ".obmen.local")] = ps[h]
	}
	// The PHP client's test sender GUID is upper case; the register's
	// copy keeps it as the client writes it.
	php := z.producers["php-pdoi"]
	php.entity.GUID = strings.ToUpper(php.entity.GUID)
	php.entity.AdministrativeBodyName = "Платформа за достъп до обществена информация"
	z.producers["php-pdoi"] = php
	node := z.producers["dotnet-node"]
	z.pfx["dotnet-node"] = filepath.Join(dir, "dotnet-node.pfx")
	extools.PKCS12(t, node.files.Cert, node.files.Key, z.pfx["dotnet-node"], "test")

	z.gw = newGateway(t, dir, tp, ps["gw.obmen.local"], nil)
	ents := []register.Entity{z.gw.p.registerEntity(z.gw.url())}
	for _, p := range z.producers {
		ents = append(ents, p.registerEntity("https://127.0.0.1:1/seos/endpoint")) // unreachable: our documents to them wait
	}
	testkit.SeedFile(t, z.gw.db, ents...)
	z.gw.start()
	return z
}

// newDoc names a new DocumentGUID; doc refers to one named before.
func (z *zoo) newDoc(name string) func(*zoo) string {
	return func(z *zoo) string {
		z.docs[name] = seos.NewGUID()
		return z.docs[name]
	}
}

func (z *zoo) doc(name string) func(*zoo) string {
	return func(z *zoo) string { return z.docs[name] }
}

// sentTo queues a document of ours to a producer through the AIS API, so
// that the producer's status notification is about something we sent.
func (z *zoo) sentTo(producer, name string) func(*zoo) string {
	return func(z *zoo) string {
		q, _, err := z.gw.api.Send(context.Background(), &ais.Outgoing{Recipient: z.producers[producer].entity.GUID, Kind: "Писмо",
			About: "до " + producer, Comment: "за регистрация"}, "")
		if err != nil {
			z.t.Fatal(err)
		}
		z.docs[name] = q.DocumentGUID
		return q.DocumentGUID
	}
}

func (z *zoo) sign(m zooMessage, unsigned string) []byte {
	z.t.Helper()
	if verb, hash, ok := strings.Cut(m.sign, " "); ok {
		r := extools.Peer(z.t, verb, unsigned, z.pfx[m.producer], "test", hash)
		if !r.OK() {
			z.t.Fatalf(".NET %s: %s %s", m.sign, r.Stdout, r.Stderr)
		}
		return []byte(r.Stdout)
	}
	p := z.producers[m.producer]
	out := unsigned + ".signed"
	r := extools.Run(z.t, nil, extools.Require(z.t, "xmlsec1"), "--sign", "--privkey-pem", p.files.Key+","+p.files.Cert, "--output", out, unsigned)
	if !r.OK() {
		z.t.Fatalf("xmlsec1 sign: %s", r.Stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		z.t.Fatal(err)
	}
	return b
}

// post sends a signed message in the producer's SOAP request and returns
// the SubmitResult.
func (z *zoo) post(p participant, signed []byte, env envelope) []byte {
	z.t.Helper()
	body, header := zooRequest(z.t, signed, env)
	if env == wcfEnvelope && !bytes.Contains(body, []byte(`<request>&lt;?xml version="1.0" encoding="utf-8"?&gt;&lt;Message xmlns:xsi="`)) {
		z.t.Fatalf("not the WCF client's request (quotes as written, < and > escaped):\n%.300s", body)
	}
	req, _ := http.NewRequest("POST", z.gw.url(), bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := testkit.Client(p.id, z.tp.Authority.Pool(), "gw.obmen.local").Do(req)
	if err != nil {
		z.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	result, err := soap.ParseSubmitResponse(raw)
	if err != nil || resp.StatusCode != 200 {
		z.t.Fatalf("HTTP %d: %v\n%s", resp.StatusCode, err, raw)
	}
	return result
}

// zooRequest is the body and headers a producer posts.
//
// The deployed node calls Submit through a WCF client generated from the
// endpoint WSDL (edelivery2022 seos/EDelivery.SEOS, "Service References/
// EGovEndpoint/Reference.cs": ServiceContract namespace
// http://services.egov.bg/messaging/, Action …/IEGovService/Submit, no
// XmlSerializerFormat, so DataContractSerializer) over basicHttpBinding with
// transport security and a client certificate (EDelivery.SEOSPostService
// Web.config, binding "EGovService"): SOAP 1.1, text encoding, UTF-8. That
// writes no XML declaration, the envelope as s:, the wrapper with its default
// namespace and the message text escaped by WCF's UTF-8 text writer (&, <, >
// and control characters but tab and line feed; quotes stay), sent with the
// quoted SOAPAction and Expect: 100-continue.
//
// The PHP client concatenates its envelope, escapes only < and > and drops
// line ends, and sends Content-Type: text/xml without a charset or SOAPAction.
func zooRequest(t *testing.T, signed []byte, env envelope) ([]byte, map[string]string) {
	t.Helper()
	const open = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Submit xmlns="http://services.egov.bg/messaging/"><request>`
	const closing = `</request></Submit></s:Body></s:Envelope>`
	switch env {
	case wcfEnvelope:
		return []byte(open + wcfEscape(string(signed)) + closing),
			map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `"http://services.egov.bg/messaging/IEGovService/Submit"`, "Expect": "100-continue"}
	case phpEnvelope:
		escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;", "\n", "", "\r", "").Replace(string(signed))
		return []byte(open + escaped + closing), map[string]string{"Content-Type": "text/xml"}
	}
	body, err := soap.Submit(signed)
	if err != nil {
		t.Fatal(err)
	}
	return body, map[string]string{"Content-Type": soap.ContentType, "SOAPAction": `"` + soap.Action + `"`}
}

// wcfEscape escapes element text as WCF's XmlUTF8TextWriter does: &, < and
// >, and every control character but tab and line feed as a character
// reference (&#xD; for a carriage return); quotes are written as they are.
func wcfEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < 0x20 && r != '\t' && r != '\n':
			fmt.Fprintf(&b, "&#x%X;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (z *zoo) metrics() string { return getText(z.t, "http://"+z.gw.ops+"/metrics") }

// getText GETs a loopback URL (a node's ops listener).
func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestWCFEscape(t *testing.T) {
	for in, want := range map[string]string{
		`<a x="1">'q' & b</a>`: `&lt;a x="1"&gt;'q' &amp; b&lt;/a&gt;`,
		"line\r\nend\ttab":     "line&#xD;\nend\ttab",
		"\x01кирилица":         "&#x1;кирилица",
	} {
		if got := wcfEscape(in); got != want {
			t.Errorf("wcfEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
