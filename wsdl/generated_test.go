package wsdl_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"
	"github.com/seosgw/seosgw/wsdl/endpoint"
	"github.com/seosgw/seosgw/wsdl/registry"
)

const nsMessaging = "http://services.egov.bg/messaging/"

// The generated endpoint client puts PROTOCOL.md §2's shape on the wire: the
// Submit wrapper in the messaging namespace, the SEOS message as the escaped
// text of request, and SubmitResult read back as text.
func TestGeneratedEndpointClientWire(t *testing.T) {
	const msg = `<?xml version="1.0" encoding="utf-8"?><Message xmlns="http://schemas.egov.bg/messaging/v1">&amp; „кирилица“</Message>`
	const reply = `<Message xmlns="http://schemas.egov.bg/messaging/v1"><Status>OK</Status></Message>`

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gowsdl sends the action without the quotes SOAP 1.1 asks for; WCF and
		// seosgw accept both.
		if got := strings.Trim(r.Header.Get("SOAPAction"), `"`); got != nsMessaging+"IEGovService/Submit" {
			t.Errorf("SOAPAction = %q", r.Header.Get("SOAPAction"))
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
			t.Errorf("Content-Type = %q, want text/xml", ct)
		}
		body, _ := io.ReadAll(r.Body)
		doc := parseXML(t, "request", body)
		env := doc.Root()
		if env.Tag != "Envelope" || env.NamespaceURI() != "http://schemas.xmlsoap.org/soap/envelope/" {
			t.Fatalf("root is {%s}%s, want a SOAP 1.1 Envelope", env.NamespaceURI(), env.Tag)
		}
		req := doc.FindElement("/Envelope/Body/Submit/request")
		if req == nil {
			t.Fatalf("no Body/Submit/request in %s", body)
		}
		if ns := req.Parent().NamespaceURI(); ns != nsMessaging {
			t.Errorf("Submit namespace = %q, want %q", ns, nsMessaging)
		}
		if ns := req.NamespaceURI(); ns != nsMessaging {
			t.Errorf("request namespace = %q, want %q (elementFormDefault qualified)", ns, nsMessaging)
		}
		if req.Text() != msg {
			t.Errorf("request text = %q, want the message as text", req.Text())
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		// What a WCF peer answers.
		io.WriteString(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`+
			`<SubmitResponse xmlns="http://services.egov.bg/messaging/"><SubmitResult>`+
			strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(reply)+
			`</SubmitResult></SubmitResponse></s:Body></s:Envelope>`)
	}))
	defer srv.Close()

	client := endpoint.NewIEGovService(soap.NewClient(srv.URL, soap.WithTimeout(10*time.Second)))
	m := msg
	resp, err := client.SubmitContext(context.Background(), &endpoint.Submit{Request: &m})
	if err != nil {
		t.Fatal(err)
	}
	if resp.SubmitResult == nil || *resp.SubmitResult != reply {
		t.Errorf("SubmitResult = %v, want %q", resp.SubmitResult, reply)
	}
}

// The generated register types read one encoded array item, as the register's
// NuSOAP server writes it, except for the arrays (see registry/doc.go).
func TestGeneratedRegistryTypesReadEncodedItem(t *testing.T) {
	const item = `<item xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:tns="uri:egovmsg" xsi:type="tns:Entity">` +
		`<EntityIdentifier xsi:type="xsd:string">000695089</EntityIdentifier>` +
		`<Guid xsi:type="xsd:string">{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}</Guid>` +
		`<ParentGuid xsi:nil="true" xsi:type="xsd:string"/>` +
		`<AdministrativeBodyName xsi:type="xsd:string">Община Примерно</AdministrativeBodyName>` +
		`<Contact xsi:type="tns:Contact"><Phone xsi:type="xsd:string">+359 2 000 0000</Phone><Fax xsi:type="xsd:string"></Fax><EmailAddress xsi:type="xsd:string">obshtina@example.bg</EmailAddress></Contact>` +
		`<CertificateSN xsi:type="xsd:string">4A1F00C3</CertificateSN>` +
		`<Services xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="tns:Service[1]"><item xsi:type="tns:Service"><Guid xsi:type="xsd:string">{7060efa8-f1fa-4938-8b2b-12a78c86988f}</Guid></item></Services>` +
		`<LastChange xsi:type="xsd:dateTime">2024-03-05T10:20:30+02:00</LastChange>` +
		`<Status xsi:type="xsd:string">Active</Status></item>`
	var e registry.Entity
	if err := xml.Unmarshal([]byte(item), &e); err != nil {
		t.Fatal(err)
	}
	if e.EntityIdentifier != "000695089" || e.AdministrativeBodyName != "Община Примерно" ||
		e.CertificateSN != "4A1F00C3" || e.Status != "Active" || e.ParentGuid != "" {
		t.Errorf("scalars: %+v", e)
	}
	if e.Contact == nil || e.Contact.EmailAddress != "obshtina@example.bg" {
		t.Errorf("Contact = %+v", e.Contact)
	}
	if want := time.Date(2024, 3, 5, 8, 20, 30, 0, time.UTC); !e.LastChange.ToGoTime().Equal(want) {
		t.Errorf("LastChange = %v, want %v", e.LastChange.ToGoTime(), want)
	}
	// gowsdl made Services an empty struct: the array's content is lost. This is
	// why the register client is hand-written.
	if e.Services == nil {
		t.Errorf("Services element not seen at all")
	}
}
