package daeu

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/register"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleEntities is the data of the README's GetAllRecords sample.
func sampleEntities() []register.Entity {
	return []register.Entity{{
		Identifier: "000695089", GUID: "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}",
		AdministrativeBodyName: "Община Примерно",
		Contact:                register.Contact{Phone: "+359 2 000 0000", EmailAddress: "obshtina@example.bg"},
		CertificateSN:          "4A1F00C3D2",
		Services: []register.Service{{GUID: "{7060efa8-f1fa-4938-8b2b-12a78c86988f}", Name: "Обмен на документи",
			URI: "https://primerno.obmen.local:4443/EGovService.svc", Status: register.Active, Type: "SEOS", Version: "1"}},
		LastChange: time.Date(2024, 3, 5, 10, 20, 30, 0, time.FixedZone("", 2*3600)),
		Status:     register.Active,
	}, {
		Identifier: "0006950890123", GUID: "{1b0c9e77-5d7a-4f25-8c3e-6a1d2b9f4e02}",
		ParentGUID:             "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}",
		AdministrativeBodyName: `Дирекция "Пример" & сие`,
		CertificateSN:          "7B00E1",
		Services:               []register.Service{},
		LastChange:             time.Date(2024, 2, 1, 9, 0, 0, 0, time.FixedZone("", 2*3600)),
		Status:                 register.Inactive,
	}}
}

// sameEntities compares entities, times as instants and nil/empty slices alike.
func sameEntities(t *testing.T, got, want []register.Entity) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entities, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.LastChange.Equal(w.LastChange) {
			t.Errorf("entity %d LastChange %v, want %v", i, g.LastChange, w.LastChange)
		}
		g.LastChange, w.LastChange = time.Time{}, time.Time{}
		if len(g.Services) == 0 && len(w.Services) == 0 {
			g.Services, w.Services = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entity %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestDecodeNuSOAPResponse(t *testing.T) {
	l, err := DecodeResponse(GetAllRecords, readTestdata(t, "nusoap-getallrecords-response.xml"), "text/xml; charset=UTF-8", nil)
	if err != nil {
		t.Fatal(err)
	}
	sameEntities(t, l.Entities, sampleEntities())
	if l.Cursor != "2024-03-05T10:20:30+02:00" {
		t.Errorf("cursor %q: must be the register's text, verbatim", l.Cursor)
	}
	if !l.LastChange.Equal(time.Date(2024, 3, 5, 8, 20, 30, 0, time.UTC)) {
		t.Errorf("LastChange %v", l.LastChange)
	}
}

func TestDecodeExtSoapResponse(t *testing.T) {
	l, err := DecodeResponse(GetAllRecords, readTestdata(t, "extsoap-getallrecords-response.xml"), "text/xml; charset=utf-8", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleEntities()
	// The shared Contact is resolved through href, never read as empty.
	want[1].Contact = want[0].Contact
	// "2024-02-01 09:00:00" has no offset: Europe/Sofia, not the host zone.
	want[1].LastChange = time.Date(2024, 2, 1, 9, 0, 0, 0, clock.Sofia)
	sameEntities(t, l.Entities, want)
}

func TestDecodeEmptyListings(t *testing.T) {
	wrap := func(entities string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:tns="uri:egovmsg"><SOAP-ENV:Body><ns1:GetNewRecordsResponse xmlns:ns1="uri:egovmsg"><return>` +
			entities + `<LastChange>2024-03-05T10:20:30+02:00</LastChange></return></ns1:GetNewRecordsResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
	}
	cases := map[string][]byte{
		"README sample": readTestdata(t, "nusoap-getnewrecords-response-empty.xml"),
		"nil":           wrap(`<Entities xsi:nil="true" xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="tns:Entity[0]"/>`),
		"absent":        wrap(``),
		"no arrayType":  wrap(`<Entities/>`),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := DecodeResponse(GetNewRecords, b, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Entities) != 0 || l.Cursor != "2024-03-05T10:20:30+02:00" {
				t.Errorf("got %+v", l)
			}
		})
	}
}

// entityDoc builds a one-entity GetAllRecords answer with replacements
// applied to the NuSOAP form of the first sample entity.
func entityDoc(t *testing.T, repl ...string) []byte {
	t.Helper()
	return sampleDoc(t, sampleEntities()[:1], repl...)
}

// twoEntityDoc is entityDoc with the second sample entity after the first.
func twoEntityDoc(t *testing.T, repl ...string) []byte {
	t.Helper()
	return sampleDoc(t, sampleEntities(), repl...)
}

// sampleDoc is the NuSOAP answer listing es, each replacement applied once.
func sampleDoc(t *testing.T, es []register.Entity, repl ...string) []byte {
	t.Helper()
	s := string(EncodeResponse(GetAllRecords, &register.Listing{Entities: es, Cursor: "2024-03-05T10:20:30+02:00"}, nil))
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("test bug: %q not in %s", repl[i], s)
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	return []byte(s)
}

func TestDecodeMalformed(t *testing.T) {
	cases := []struct {
		name string
		doc  []byte
		want string
	}{
		{"array length mismatch", entityDoc(t, "tns:Entity[1]", "tns:Entity[2]"), "arrayType says 2 members, the array has 1"},
		{"partial array", entityDoc(t, `SOAP-ENC:arrayType="tns:Entity[1]"`, `SOAP-ENC:arrayType="tns:Entity[1]" SOAP-ENC:offset="[1]"`), "offset"},
		{"sparse array", entityDoc(t, `<item xsi:type="tns:Entity">`, `<item xsi:type="tns:Entity" SOAP-ENC:position="[0]">`), "position"},
		{"two-dimensional", entityDoc(t, "tns:Entity[1]", "tns:Entity[1,1]"), "one-dimensional"},
		{"array of the wrong type", entityDoc(t, "tns:Entity[1]", "tns:Service[1]"), "not an array of Entity"},
		{"bad directory dateTime", entityDoc(t, "<LastChange xsi:type=\"xsd:dateTime\">2024-03-05T10:20:30+02:00</LastChange></return>", "<LastChange xsi:type=\"xsd:dateTime\">yesterday</LastChange></return>"), "not an xsd:dateTime"},
		{"wrong wrapper namespace", entityDoc(t, `xmlns:ns1="uri:egovmsg"`, `xmlns:ns1="urn:other"`), "not a response of the register"},
		{"empty body", []byte(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body/></SOAP-ENV:Envelope>`), "empty SOAP Body"},
		{"not SOAP", []byte(`<html><body>502 Bad Gateway</body></html>`), "not a SOAP 1.1 Envelope"},
		{"SOAP 1.2", []byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`), "SOAP 1.2"},
		{"not XML", []byte(`{"entities": []}`), "not a SOAP envelope"},
		{"truncated", entityDoc(t)[:400], "not a SOAP envelope"},
		{"DOCTYPE", append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), entityDoc(t)[38:]...), "DOCTYPE"},
		{"UTF-16", append([]byte{0xFF, 0xFE}, entityDoc(t)...), "UTF-16"},
		{"unknown charset", bytes.Replace(entityDoc(t), []byte(`encoding="UTF-8"`), []byte(`encoding="KOI8-R"`), 1), `unsupported character encoding "KOI8-R"`},
		{"bad directory LastChange", entityDoc(t, "<LastChange xsi:type=\"xsd:dateTime\">2024-03-05T10:20:30+02:00</LastChange></return>", "<LastChange xsi:type=\"xsd:dateTime\">0000-00-00 00:00:00</LastChange></return>"), "not an xsd:dateTime"},
		{"multi-ref bomb", multiRefBomb(), "expand beyond"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := DecodeResponse(GetAllRecords, c.doc, "text/xml", nil)
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("got %+v, %v; want a MalformedError", l, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if me.Kind() != register.KindMalformed {
				t.Errorf("kind %q", me.Kind())
			}
		})
	}
	// The untouched document decodes, so each case fails for its own reason.
	if _, err := DecodeResponse(GetAllRecords, entityDoc(t), "", nil); err != nil {
		t.Fatal(err)
	}
}

// multiRefBomb shares one Contact among many entities' hrefs... and each
// entity among many array members, so that a small answer would decode
// into a huge one: the whole answer is refused, not one entity.
func multiRefBomb() []byte {
	var b strings.Builder
	b.WriteString(`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><r:GetAllRecordsResponse xmlns:r="uri:egovmsg"><return><Entities>`)
	for i := 0; i < 400; i++ {
		b.WriteString(`<item href="#e"/>`)
	}
	b.WriteString(`</Entities></return></r:GetAllRecordsResponse><Entity id="e"><Guid>{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}</Guid><Contact href="#c"/><Services><item href="#s"/><item href="#s"/><item href="#s"/><item href="#s"/></Services></Entity><Contact id="c"/><Service id="s"/></e:Body></e:Envelope>`)
	return []byte(b.String())
}

// TestDecodeRejectsOneEntity: a malformed entity is left out with its Guid,
// the field (schema path, no positions) and the value; the other entity of
// the answer is kept.
func TestDecodeRejectsOneEntity(t *testing.T) {
	guid := `<Guid xsi:type="xsd:string">{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}</Guid>`
	lastChange := "<LastChange xsi:type=\"xsd:dateTime\">2024-03-05T10:20:30+02:00</LastChange><Status"
	cases := []struct {
		name         string
		repl         []string
		field, value string
		says         string
	}{
		{"service array length", []string{"tns:Service[1]", "tns:Service[3]"}, "Services", "", "says 3 members"},
		{"item of the wrong type", []string{`<item xsi:type="tns:Entity">`, `<item xsi:type="tns:Contact">`}, "Entity", "", `xsi:type "tns:Contact" is not Entity`},
		{"undeclared prefix", []string{`<item xsi:type="tns:Entity">`, `<item xsi:type="zz:Entity">`}, "Entity", "", `prefix "zz"`},
		{"bad dateTime", []string{lastChange, "<LastChange xsi:type=\"xsd:dateTime\">05.03.2024</LastChange><Status"}, "LastChange", "05.03.2024", "not an xsd:dateTime"},
		{"MySQL zero date", []string{lastChange, "<LastChange xsi:type=\"xsd:dateTime\">0000-00-00 00:00:00</LastChange><Status"}, "LastChange", "0000-00-00 00:00:00", "not an xsd:dateTime"},
		{"service Guid twice", []string{`<Guid xsi:type="xsd:string">{7060efa8`, `<Guid>x</Guid><Guid xsi:type="xsd:string">{7060efa8`}, "Services/Guid", "{7060efa8-f1fa-4938-8b2b-12a78c86988f}", "Guid appears twice in Service"},
		{"member twice", []string{guid, guid + guid}, "Guid", "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}", "Guid appears twice"},
		{"no Guid", []string{guid, ""}, "Guid", "", "no Guid"},
		{"element in a scalar", []string{`<Status xsi:type="xsd:string">Active</Status></item><item`, `<Status xsi:type="xsd:string"><b>Active</b></Status></item><item`}, "Status", "Active", "simple value holds elements"},
		{"element in a contact field", []string{`<Phone xsi:type="xsd:string">+359 2 000 0000</Phone>`, `<Phone><n>1</n></Phone>`}, "Contact/Phone", "1", "simple value holds elements"},
		{"unresolved href", []string{`<Contact xsi:type="tns:Contact">`, `<Contact href="#nowhere"/><X xsi:type="tns:Contact">`, `</Contact>`, `</X>`}, "Contact", "", `no element with id "nowhere"`},
		{"external href", []string{`<Contact xsi:type="tns:Contact">`, `<Contact href="http://evil/x"/><X xsi:type="tns:Contact">`, `</Contact>`, `</X>`}, "Contact", "", "points outside the message"},
		{"href loop", []string{`<Contact xsi:type="tns:Contact">`, `<Contact id="a" href="#a"/><X xsi:type="tns:Contact">`, `</Contact>`, `</X>`}, "Contact", "", "href chain"},
		{"text in a struct", []string{`<Contact xsi:type="tns:Contact">`, `<Contact xsi:type="tns:Contact">hello`}, "Contact", "hello", "text inside a Contact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := DecodeResponse(GetAllRecords, twoEntityDoc(t, c.repl...), "text/xml", nil)
			if err != nil {
				t.Fatalf("one bad entity failed the answer: %v", err)
			}
			if len(l.Entities) != 1 || l.Entities[0].GUID != "{1b0c9e77-5d7a-4f25-8c3e-6a1d2b9f4e02}" {
				t.Errorf("kept %+v; want the second entity", l.Entities)
			}
			if len(l.Rejected) != 1 {
				t.Fatalf("rejected %+v", l.Rejected)
			}
			r := l.Rejected[0]
			wantGUID := "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}"
			if c.name == "no Guid" {
				wantGUID = ""
			}
			if r.Index != 1 || r.GUID != wantGUID || r.Name != "Община Примерно" || r.Field != c.field ||
				!strings.Contains(r.Value, c.value) || !strings.Contains(r.Err, c.says) || r.Path == "" {
				t.Errorf("rejection %+v; want field %q value %q saying %q", r, c.field, c.value, c.says)
			}
			if !slices.Contains(register.EntityFields, r.Field) {
				t.Errorf("field %q is not one of register.EntityFields (the metric's label values)", r.Field)
			}
		})
	}
}

func TestDecodeFault(t *testing.T) {
	_, err := DecodeResponse(GetAllRecords, readTestdata(t, "nusoap-fault.xml"), "text/xml; charset=UTF-8", nil)
	var f *FaultError
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a FaultError", err)
	}
	if f.Code != "SOAP-ENV:Client" || f.String != "Operation 'GetByName' is not defined in the WSDL for this service" || f.Kind() != register.KindFault {
		t.Errorf("got %+v", f)
	}
}

func TestCharsets(t *testing.T) {
	latin1 := func(s string) []byte { // only for code points < 256
		var b []byte
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b
	}
	doc := func(decl string, name []byte) []byte {
		s := string(entityDoc(t, `<?xml version="1.0" encoding="UTF-8"?>`, decl, "Община Примерно", "@@NAME@@"))
		return bytes.Replace([]byte(s), []byte("@@NAME@@"), name, 1)
	}
	cases := []struct {
		name        string
		b           []byte
		contentType string
		want        string
	}{
		{"ISO-8859-1 declared, Latin-1 bytes", doc(`<?xml version="1.0" encoding="ISO-8859-1"?>`, latin1("Café Müller")), "text/xml; charset=ISO-8859-1", "Café Müller"},
		// An unconfigured NuSOAP labels PHP's UTF-8 as ISO-8859-1.
		{"ISO-8859-1 declared, UTF-8 bytes", doc(`<?xml version="1.0" encoding="ISO-8859-1"?>`, []byte("Община Примерно")), "text/xml; charset=ISO-8859-1", "Община Примерно"},
		{"only HTTP says Latin-1", doc(``, latin1("Ærø")), "text/xml; charset=iso-8859-1", "Ærø"},
		{"declaration wins over HTTP", doc(`<?xml version="1.0" encoding="latin1"?>`, latin1("Ñandú")), "text/xml; charset=UTF-8", "Ñandú"},
		{"UTF-8 everywhere", doc(`<?xml version="1.0" encoding="utf-8"?>`, []byte("Община")), "", "Община"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := DecodeResponse(GetAllRecords, c.b, c.contentType, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Entities[0].AdministrativeBodyName; got != c.want {
				t.Errorf("name %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	sofia := clock.Sofia
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	ok := map[string]time.Time{
		"2024-03-05T10:20:30+02:00":     utc("2024-03-05T08:20:30Z"),
		"2024-03-05T10:20:30.123+02:00": utc("2024-03-05T08:20:30.123Z"),
		"2024-03-05T08:20:30Z":          utc("2024-03-05T08:20:30Z"),
		" 2024-03-05T10:20:30+02:00\n":  utc("2024-03-05T08:20:30Z"),
		"2024-07-05T10:20:30":           time.Date(2024, 7, 5, 10, 20, 30, 0, sofia), // summer: +03:00
		"2024-03-05T10:20:30.5":         time.Date(2024, 3, 5, 10, 20, 30, 5e8, sofia),
		"2024-03-05 10:20:30":           time.Date(2024, 3, 5, 10, 20, 30, 0, sofia), // MySQL DATETIME
	}
	for s, want := range ok {
		got, err := ParseDateTime(s, nil)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: got %v, %v; want %v", s, got, err, want)
		}
	}
	if got, _ := ParseDateTime("2024-07-05T10:20:30", sofia); got.UTC().Hour() != 7 {
		t.Errorf("Sofia summer time: %v", got.UTC())
	}
	if got, _ := ParseDateTime("2024-03-05 10:20:30", time.UTC); got.UTC().Hour() != 10 {
		t.Errorf("explicit zone ignored: %v", got)
	}
	for _, s := range []string{"", "2024-03-05", "05.03.2024 10:20", "2024-13-05T10:20:30Z", "2024-03-05T25:00:00Z", "2024-03-05T10:20:30+0200", "now", "0000-01-01 00:00:00", "0000-00-00 00:00:00", "1899-12-31T23:59:59Z"} {
		if got, err := ParseDateTime(s, nil); err == nil {
			t.Errorf("%q accepted as %v; must be an error, never a time", s, got)
		}
	}
	if s := FormatDateTime(time.Date(2024, 3, 5, 8, 20, 30, 0, time.UTC), nil); s != "2024-03-05T10:20:30+02:00" {
		t.Errorf("FormatDateTime %q", s)
	}
}

// TestEncodeRequestIsNuSOAPs compares our requests with the README's NuSOAP
// samples byte for byte (NuSOAP's random nsNNNN prefix aside).
func TestEncodeRequestIsNuSOAPs(t *testing.T) {
	for file, req := range map[string][]byte{
		"nusoap-getallrecords-request.xml": EncodeRequest(GetAllRecords, "ignored"),
		"nusoap-getnewrecords-request.xml": EncodeRequest(GetNewRecords, "2024-03-05T10:20:30+02:00"),
	} {
		want := regexp.MustCompile(`ns\d{4}`).ReplaceAll(readTestdata(t, file), []byte("ns1"))
		if !bytes.Equal(req, want) {
			t.Errorf("%s:\n got %s\nwant %s", file, req, want)
		}
	}
	for _, op := range Ops[2:] {
		r, err := DecodeRequest(EncodeRequest(op, "x&y"), "")
		if err != nil || r.Op != op || r.Param != "x&y" {
			t.Errorf("%s: %+v %v", op, r, err)
		}
		if !bytes.Contains(EncodeRequest(op, "v"), []byte(`<`+op.Part()+` xsi:type="xsd:string">v</`)) {
			t.Errorf("%s: part %s not written", op, op.Part())
		}
	}
}

// TestEncodeResponseIsNuSOAPs checks the test register's answers against
// the README's NuSOAP samples: exactly for the one-line samples, and up to
// the indentation added for reading for GetAllRecords.
func TestEncodeResponseIsNuSOAPs(t *testing.T) {
	empty := EncodeResponse(GetNewRecords, &register.Listing{Cursor: "2024-03-05T10:20:30+02:00"}, nil)
	if want := readTestdata(t, "nusoap-getnewrecords-response-empty.xml"); !bytes.Equal(empty, want) {
		t.Errorf("empty GetNewRecords:\n got %s\nwant %s", empty, want)
	}
	all := EncodeResponse(GetAllRecords, &register.Listing{Entities: sampleEntities(), Cursor: "2024-03-05T10:20:30+02:00"}, nil)
	want := regexp.MustCompile(`>\s+<`).ReplaceAll(readTestdata(t, "nusoap-getallrecords-response.xml"), []byte("><"))
	if !bytes.Equal(all, want) {
		t.Errorf("GetAllRecords:\n got %s\nwant %s", all, want)
	}
	fault := EncodeFault(FaultClient, "Operation 'GetByName' is not defined in the WSDL for this service", "")
	if want := readTestdata(t, "nusoap-fault.xml"); !bytes.Equal(fault, want) {
		t.Errorf("fault:\n got %s\nwant %s", fault, want)
	}
}

func TestRoundTrip(t *testing.T) {
	es := sampleEntities()
	es[1].Contact = register.Contact{Phone: "<1>\r\n2", Fax: "'2'\x01", EmailAddress: "a&b@example.bg"}
	es[1].Services = []register.Service{{GUID: "{00000000-0000-0000-0000-000000000001}", Name: "x", URI: "https://h/?a=1&b=2",
		Status: register.TemporarilyInactive, Type: "T", Version: "1.0"}}
	in := &register.Listing{Entities: es, LastChange: time.Date(2024, 3, 5, 8, 20, 30, 0, time.UTC)}
	l, err := DecodeResponse(GetAllRecords, EncodeResponse(GetAllRecords, in, nil), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	es[1].Contact.Fax = "'2'\uFFFD" // XML 1.0 cannot carry U+0001
	sameEntities(t, l.Entities, es)
	if l.Cursor != "2024-03-05T10:20:30+02:00" {
		t.Errorf("cursor %q", l.Cursor)
	}
}

func TestDecodeRequestForms(t *testing.T) {
	cases := []struct {
		name, body string
		op         Op
		param      string
	}{
		{"NuSOAP", string(readTestdata(t, "nusoap-getnewrecords-request.xml")), GetNewRecords, "2024-03-05T10:20:30+02:00"},
		{"ext/soap, no xsi:type", `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="uri:egovmsg"><SOAP-ENV:Body><ns1:GetByGuid><guid>{8F5E1C2A-0C1D-4E7B-9A55-2F4F7C1D0E11}</guid></ns1:GetByGuid></SOAP-ENV:Body></SOAP-ENV:Envelope>`, GetByGuid, "{8F5E1C2A-0C1D-4E7B-9A55-2F4F7C1D0E11}"},
		{"positional part", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><GetByEntityIdentifier xmlns="uri:egovmsg"><param0 xmlns="">000695089</param0></GetByEntityIdentifier></e:Body></e:Envelope>`, GetByEntityIdentifier, "000695089"},
		{"Latin-1 request", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body><m:GetByCertificateSN xmlns:m=\"uri:egovmsg\"><CertificateSN>4a1f\xe9</CertificateSN></m:GetByCertificateSN></e:Body></e:Envelope>", GetByCertificateSN, "4a1fé"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := DecodeRequest([]byte(c.body), "text/xml")
			if err != nil {
				t.Fatal(err)
			}
			if r.Op != c.op || r.Param != c.param {
				t.Errorf("got %+v", r)
			}
		})
	}
	var unknown *UnknownOperationError
	_, err := DecodeRequest([]byte(`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><m:GetByName xmlns:m="uri:egovmsg"/></e:Body></e:Envelope>`), "")
	if !errors.As(err, &unknown) || err.Error() != "Operation 'GetByName' is not defined in the WSDL for this service" {
		t.Errorf("unknown operation: %v", err)
	}
	if _, err := DecodeRequest([]byte(`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><m:GetByGuid xmlns:m="uri:egovmsg"/></e:Body></e:Envelope>`), ""); err == nil {
		t.Error("GetByGuid without its part accepted")
	}
}

// TestGoldenResponses decodes each answer of testdata (README.md there says
// how each shape arises) and checks what it must give.
func TestGoldenResponses(t *testing.T) {
	sofia := clock.Sofia
	ms := time.Date(2024, 3, 5, 8, 20, 30, 123e6, time.UTC)
	// asmx: .NET's property values, its serial text and a MinValue LastChange.
	asmx := sampleEntities()
	asmx[0].CertificateSN = "004A1F00C3D2"
	asmx[0].Services[0].Version = "1.0"
	asmx[0].LastChange = ms
	asmx[1].CertificateSN = "7b00e1"
	asmx[1].Contact = asmx[0].Contact // one shared multi-ref
	asmx[1].LastChange = time.Time{}
	axis := sampleEntities()
	axis[0].LastChange = ms
	axis[1].Contact = axis[0].Contact
	axis[1].Services = nil
	cases := []struct {
		file, contentType string
		op                Op
		entities          []register.Entity
		cursor            string
		rejected          []string // GUID:Field
		warnings          []string // GUID:Field
	}{
		{"nusoap-getallrecords-response.xml", "text/xml; charset=UTF-8", GetAllRecords, sampleEntities(), "2024-03-05T10:20:30+02:00", nil, nil},
		{"nusoap-getnewrecords-response-empty.xml", "text/xml; charset=UTF-8", GetNewRecords, nil, "2024-03-05T10:20:30+02:00", nil, nil},
		{"extsoap-getallrecords-response.xml", "text/xml; charset=utf-8", GetAllRecords, func() []register.Entity {
			w := sampleEntities()
			w[1].Contact = w[0].Contact
			w[1].LastChange = time.Date(2024, 2, 1, 9, 0, 0, 0, sofia)
			return w
		}(), "2024-03-05T10:20:30+02:00", nil, nil},
		{"asmx-getallrecords-response.xml", "text/xml; charset=utf-8", GetAllRecords, asmx, "2024-03-05T10:20:30.123+02:00", nil,
			[]string{asmx[1].GUID + ":LastChange"}},
		{"asmx-getallrecords-response-null-guid.xml", "text/xml; charset=utf-8", GetAllRecords, asmx[:1], "2024-03-05T10:20:30.123+02:00",
			[]string{":Guid"}, nil},
		{"asmx-getnewrecords-response-null.xml", "text/xml; charset=utf-8", GetNewRecords, nil, "", nil, nil},
		{"asmx-getnewrecords-response-unset.xml", "text/xml; charset=utf-8", GetNewRecords, nil, "", nil, []string{":LastChange"}},
		{"axis-getallrecords-response.xml", "text/xml; charset=utf-8", GetAllRecords, axis, "2024-03-05T08:20:30.123Z", nil, nil},
		{"axis-getnewrecords-response-nil.xml", "text/xml; charset=utf-8", GetNewRecords, nil, "", nil, nil},
		{"handmade-getnewrecords-response-no-accessor.xml", "text/xml; charset=utf-8", GetNewRecords, nil, "", nil, nil},
		{"windows1251-getallrecords-response.xml", "text/xml", GetAllRecords, sampleEntities(), "2024-03-05T10:20:30+02:00", nil, nil},
		{"windows1251-getallrecords-response.xml", "text/xml; charset=windows-1251", GetAllRecords, sampleEntities(), "2024-03-05T10:20:30+02:00", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.file+" "+c.contentType, func(t *testing.T) {
			l, err := DecodeResponse(c.op, readTestdata(t, c.file), c.contentType, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameEntities(t, l.Entities, c.entities)
			if l.Cursor != c.cursor {
				t.Errorf("cursor %q, want %q", l.Cursor, c.cursor)
			}
			var rejected, warnings []string
			for _, r := range l.Rejected {
				rejected = append(rejected, r.GUID+":"+r.Field)
			}
			for _, w := range l.Warnings {
				warnings = append(warnings, w.GUID+":"+w.Field)
				if w.GUID != "" && w.Name == "" {
					t.Errorf("warning %+v does not name the participant", w)
				}
			}
			if !slices.Equal(rejected, c.rejected) || !slices.Equal(warnings, c.warnings) {
				t.Errorf("rejected %v warnings %v; want %v and %v", rejected, warnings, c.rejected, c.warnings)
			}
		})
	}
}

// TestUnsetDateTime: .NET's DateTime.MinValue in every form .NET writes it
// is "no value", not a time and not a failure.
func TestUnsetDateTime(t *testing.T) {
	for _, s := range []string{"0001-01-01T00:00:00", "0001-01-01T00:00:00.0000000", "0001-01-01T00:00:00Z",
		"0001-01-01T00:00:00.0000000+02:00", "0001-01-01T00:00:00-05:00", " 0001-01-01T00:00:00\n"} {
		if got, err := ParseDateTime(s, nil); !errors.Is(err, ErrUnsetDateTime) || !got.IsZero() {
			t.Errorf("%q: %v, %v; want ErrUnsetDateTime", s, got, err)
		}
	}
	for _, s := range []string{"0001-01-01T00:00:01", "0001-01-02T00:00:00", "0001-01-01"} {
		if _, err := ParseDateTime(s, nil); err == nil || errors.Is(err, ErrUnsetDateTime) {
			t.Errorf("%q: %v; want an error other than unset", s, err)
		}
	}
}

// TestFormatDateTimeMilliseconds: the test register writes milliseconds
// when a time has them, whole seconds as the NuSOAP samples do.
func TestFormatDateTimeMilliseconds(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2024, 3, 5, 8, 20, 30, 0, time.UTC):       "2024-03-05T10:20:30+02:00",
		time.Date(2024, 3, 5, 8, 20, 30, 120e6, time.UTC):   "2024-03-05T10:20:30.12+02:00",
		time.Date(2024, 3, 5, 8, 20, 30, 999999, time.UTC):  "2024-03-05T10:20:30+02:00",
		time.Date(2024, 7, 5, 8, 20, 30, 1000000, time.UTC): "2024-07-05T11:20:30.001+03:00",
	} {
		got := FormatDateTime(in, nil)
		if got != want {
			t.Errorf("%v: %q, want %q", in, got, want)
		}
		if back, err := ParseDateTime(got, nil); err != nil || !back.Equal(in.Truncate(time.Millisecond)) {
			t.Errorf("%q reads back as %v, %v", got, back, err)
		}
	}
}
