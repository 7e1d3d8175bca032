package seos

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

func TestRoundTrip(t *testing.T) {
	for name, doc := range map[string]*Message{"full registration": fullMessage()} {
		t.Run(name, func(t *testing.T) {
			b, err := doc.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := Parse(b)
			if err != nil {
				t.Fatalf("own output does not parse: %v\n%s", err, b)
			}
			b2, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != string(b2) {
				t.Fatalf("serialisation not stable:\n%s\n%s", b, b2)
			}
			if strings.Contains(string(b), ">\n<") || strings.Contains(string(b), ">  <") {
				t.Error("output has whitespace between elements")
			}
			if !strings.HasPrefix(string(b), `<?xml version="1.0" encoding="utf-8"?><Message xmlns="`+NS+`">`) {
				t.Errorf("unexpected start: %.120s", b)
			}
			// AnyContent holds DOM nodes; compare those by rendering.
			wd, gd := &doc.Body.RegistrationRequest.Document, &got.Body.RegistrationRequest.Document
			if wd.AddData.String() != gd.AddData.String() || wd.AuthorSignature.String() != gd.AuthorSignature.String() {
				t.Errorf("open content changed:\n%s\n%s", wd.AddData, gd.AddData)
			}
			gd.AddData, gd.AuthorSignature = wd.AddData, wd.AuthorSignature
			if !reflect.DeepEqual(got, doc) {
				t.Errorf("model changed in the round trip:\n%+v\n%+v", got.Body.RegistrationRequest, doc.Body.RegistrationRequest)
			}
		})
	}
}

// Peers send the same message in many XML shapes; all must read the same.
func TestParseAcceptsPeerShapes(t *testing.T) {
	const guid = "{5f0e9a3c-1d2b-4c5d-8e7f-000000000004}"
	head := func(prefix string) string {
		p := prefix
		return `<` + p + `Header><` + p + `Version>1.0</` + p + `Version><` + p + `MessageType>MSG_DocumentStatusRequest</` + p + `MessageType><` + p + `MessageDate>2026-11-23T10:00:00</` + p + `MessageDate>` +
			`<` + p + `Sender><` + p + `Identifier>1</` + p + `Identifier><` + p + `AdministrativeBodyName>А</` + p + `AdministrativeBodyName><` + p + `GUID>{11111111-1111-1111-1111-111111111111}</` + p + `GUID></` + p + `Sender>` +
			`<` + p + `Recipient><` + p + `Identifier>2</` + p + `Identifier><` + p + `AdministrativeBodyName>Б</` + p + `AdministrativeBodyName><` + p + `GUID>{22222222-2222-2222-2222-222222222222}</` + p + `GUID></` + p + `Recipient>` +
			`<` + p + `MessageGUID>{33333333-3333-3333-3333-333333333333}</` + p + `MessageGUID></` + p + `Header>`
	}
	body := func(p string) string {
		return `<` + p + `Body><` + p + `DocumentStatusRequest><` + p + `DocID><` + p + `DocumentGUID>` + guid + `</` + p + `DocumentGUID></` + p + `DocID></` + p + `DocumentStatusRequest></` + p + `Body>`
	}
	plain := `<Message xmlns="` + NS + `">` + head("") + body("") + `</Message>`
	cases := map[string]string{
		"compact":           plain,
		"declaration":       `<?xml version="1.0" encoding="utf-8"?>` + plain,
		"BOM":               "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>" + plain,
		"ns2 prefix (Java)": `<ns2:Message xmlns:ns2="` + NS + `" xmlns:ns3="http://www.w3.org/2000/09/xmldsig#">` + head("ns2:") + body("ns2:") + `</ns2:Message>`,
		"pretty printed":    strings.ReplaceAll(plain, "><", ">\n    <"),
		"CRLF":              strings.ReplaceAll(plain, "><", ">\r\n<"),
		"comments":          strings.Replace(strings.ReplaceAll(plain, "</Version>", "</Version><!-- v -->"), "<Body>", "<!-- body --><Body>", 1),
		"CDATA":             strings.Replace(plain, guid, "<![CDATA["+guid+"]]>", 1),
		"comment in value":  strings.Replace(plain, guid, guid[:10]+"<!-- x -->"+guid[10:], 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m, _, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if m.Body.StatusRequest == nil || m.Body.StatusRequest.DocID.GUID != guid {
				t.Fatalf("wrong model: %+v", m.Body)
			}
			if m.Header.Sender.AdministrativeBodyName != "А" || m.Header.MessageType != TypeStatusRequest {
				t.Errorf("header: %+v", m.Header)
			}
		})
	}
}

func TestParseErrorsNameThePath(t *testing.T) {
	good, err := fullMessage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	cases := []struct{ name, in, path, text string }{
		{"bad message GUID", strings.Replace(s, "{5f0e9a3c-1d2b-4c5d-8e7f-000000000003}", "5f0e9a3c-1d2b-4c5d-8e7f-000000000003", 1), "/Message/Header/MessageGUID", "GUID"},
		{"missing version", strings.Replace(s, "<Version>1.0</Version>", "", 1), "/Message/Header/MessageType", "expected Version"},
		{"unknown status", strings.Replace(s, "MSG_DocumentRegistrationRequest", "MSG_Other", 1), "/Message/Header/MessageType", "one of"},
		{"bad date", strings.Replace(s, "2026-12-31", "2026-12-32", 1), "/Message/Body/DocumentRegistrationRequest/Document/DocReqDateClose", "xsd:date"},
		{"second attachment", strings.Replace(s, "YSAmIGIgPCBjID4gZA0K", "not base64!", 1), "/Message/Body/DocumentRegistrationRequest/Document/DocAttachmentList/Attachment[2]/AttBody", "base64"},
		{"URI in wrong namespace", strings.Replace(s, "<u:RegisterIndex>12</u:RegisterIndex>", "<RegisterIndex>12</RegisterIndex>", 1), "/Message/Body/DocumentRegistrationRequest/Document/DocID/DocumentURI/RegisterIndex", "unexpected element"},
		{"register index zero", strings.Replace(s, "<u:RegisterIndex>12<", "<u:RegisterIndex>0<", 1), "/Message/Body/DocumentRegistrationRequest/Document/DocID/DocumentURI/RegisterIndex", "at least 1"},
		{"duplicated header", strings.Replace(s, "<Body>", "<Header></Header><Body>", 1), "/Message/Header[2]", "expected Body"},
		{"wrong root", strings.Replace(strings.Replace(s, "<Message ", "<Messages ", 1), "</Message>", "</Messages>", 1), "/Messages", "root element"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.in))
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("want *SchemaError, got %T: %v", err, err)
			}
			if se.Path != c.path || !strings.Contains(se.Msg, c.text) {
				t.Errorf("got %q, want path %s and %q", err, c.path, c.text)
			}
		})
	}
}

func TestTypeMustMatchBody(t *testing.T) {
	good, _ := fullMessage().Marshal()
	in := strings.Replace(string(good), "MSG_DocumentRegistrationRequest", "MSG_Error", 1)
	_, _, err := Parse([]byte(in))
	var re *RuleError
	if !errors.As(err, &re) || re.Path != "/Message/Header/MessageType" {
		t.Fatalf("want a RuleError on MessageType, got %v", err)
	}
}

// Windows line ends from an AIS become LF, as a reader would see literal
// ones; a CR written as &#xD; breaks .NET (Mono) signature checks.
func TestMarshalNormalizesLineEnds(t *testing.T) {
	m := fullMessage()
	m.Body.RegistrationRequest.Comment = "ред 1\r\nред 2\rред 3"
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "&#xD;") || !strings.Contains(string(b), "ред 1\nред 2\nред 3") {
		t.Errorf("line ends not normalised: %s", b)
	}
}

func TestMarshalRefusesBadModels(t *testing.T) {
	cases := map[string]func(m *Message){
		"no body":           func(m *Message) { m.Body = Body{} },
		"two bodies":        func(m *Message) { m.Body.Error = &ErrorBody{Type: ErrExternal, Description: "x"} },
		"control character": func(m *Message) { m.Body.RegistrationRequest.Comment = "a\x00b" },
		"missing GUID":      func(m *Message) { m.Header.MessageGUID = "" },
		"number and URI": func(m *Message) {
			m.Body.RegistrationRequest.Document.ID.Number = &DocumentNumber{Number: "1", Date: "2026-01-01"}
		},
		"type mismatch":      func(m *Message) { m.Header.MessageType = TypeError },
		"bad attachment b64": func(m *Message) { m.Body.RegistrationRequest.Document.Attachments[0].Body = "@@" },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			m := fullMessage()
			f(m)
			if b, err := m.Marshal(); err == nil {
				t.Fatalf("marshalled:\n%s", b)
			}
		})
	}
}

func TestBase64Helpers(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, 1000} {
		data := []byte(strings.Repeat("x", n))
		b := Base64Of(data)
		wrapped := Base64(strings.Join(chunks(string(b), 76), "\r\n"))
		got, err := wrapped.Decode()
		if err != nil || string(got) != string(data) {
			t.Errorf("n=%d: decode %v", n, err)
		}
		if wrapped.DecodedLen() != n {
			t.Errorf("n=%d: DecodedLen %d", n, wrapped.DecodedLen())
		}
	}
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

func TestDateTimes(t *testing.T) {
	cases := []struct {
		in   DateTime
		want string
	}{
		{"2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00:00.5+02:00", "2026-11-23T08:00:00.5Z"},
		{"2026-11-23T10:00:00", "2026-11-23T08:00:00Z"}, // no zone: Sofia, EET in winter
		{"2026-07-01T10:00:00", "2026-07-01T07:00:00Z"}, // EEST in summer
	}
	for _, c := range cases {
		got, err := c.in.Time()
		if err != nil || got.UTC().Format("2006-01-02T15:04:05.999Z07:00") != c.want {
			t.Errorf("%s: %v %v", c.in, got.UTC(), err)
		}
	}
	if s := DateTimeOf(time.Date(2026, 11, 23, 10, 0, 0, 123456789, clock.Sofia)); s != "2026-11-23T10:00:00.123+02:00" || !IsDateTime(string(s)) {
		t.Errorf("DateTimeOf = %s", s)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := fullMessage().Marshal()
	f.Add(good)
	f.Add([]byte(`<Message xmlns="` + NS + `"><Header/></Message>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := Parse(b)
		if err != nil {
			var se *SchemaError
			var re *RuleError
			var xe *xmldoc.Error
			if !errors.As(err, &se) && !errors.As(err, &re) && !errors.As(err, &xe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		// Whatever parses must serialise to something that parses the same.
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("valid message does not marshal: %v", err)
		}
		m2, _, err := Parse(out)
		if err != nil {
			t.Fatalf("own output does not parse: %v", err)
		}
		out2, _ := m2.Marshal()
		if string(out) != string(out2) {
			t.Fatal("serialisation not stable")
		}
	})
}

// FuzzValidate feeds arbitrary documents to the schema validator: it must
// never panic, and what it accepts must build a model or fail a protocol rule.
func FuzzValidate(f *testing.F) {
	good, _ := fullMessage().Marshal()
	f.Add(good)
	f.Add([]byte(`<Message xmlns="` + NS + `"><Header><Version/></Header><Body/></Message>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := xmldoc.Parse(b)
		if err != nil {
			return
		}
		if err := Validate(doc); err != nil {
			var se *SchemaError
			if !errors.As(err, &se) || se.Path == "" {
				t.Fatalf("validation error without a path: %v", err)
			}
			return
		}
		if _, err := FromDocument(doc); err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("valid document failed to build: %v", err)
			}
		}
	})
}

// Open content with prefixed attributes and prefixes declared above it
// survives a parse → marshal → parse round trip (it used to panic).
func TestAddDataNamespacesRoundTrip(t *testing.T) {
	good, _ := fullMessage().Marshal()
	in := strings.Replace(string(good), "<Message xmlns=", `<Message xmlns:far="urn:far" xmlns:unused="urn:unused" xmlns=`, 1)
	in = strings.Replace(in, "<DocAddData>", `<DocAddData xmlns:p="urn:p" p:a="1"><far:x far:y="2"><p:z/></far:x>`, 1)
	m, _, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	m2, _, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	got := m2.Body.RegistrationRequest.Document.AddData.String()
	if !strings.Contains(got, `<far:x far:y="2"`) || !strings.Contains(got, `xmlns:far="urn:far"`) || strings.Contains(got, "urn:unused") {
		t.Errorf("open content after the round trip: %s", got)
	}
	if !strings.Contains(string(out), `p:a="1"`) {
		t.Errorf("DocAddData attribute lost: %s", out)
	}
}

func TestCanonicalGUID(t *testing.T) {
	for in, want := range map[string]string{
		"{ABCDEF01-2345-4678-9ABC-DEF012345678}":   "{abcdef01-2345-4678-9abc-def012345678}",
		" {abcdef01-2345-4678-9abc-def012345678} ": "{abcdef01-2345-4678-9abc-def012345678}",
		"ABCDEF01-2345-4678-9ABC-DEF012345678":     "{abcdef01-2345-4678-9abc-def012345678}",
		"not a guid":                               "not a guid",
	} {
		if got := CanonicalGUID(in); got != want {
			t.Errorf("CanonicalGUID(%q) = %q, want %q", in, got, want)
		}
	}
}

// An empty DocAttachmentList, as the deployed .NET node writes a document
// without files, parses as "no attachments" and is reported; the strict
// Validate (the schema's verdict) still refuses it, and nothing else is
// tolerated: an empty correspondent list, or an attachment list with text.
func TestEmptyAttachmentListTolerated(t *testing.T) {
	good, _ := fullMessage().Marshal()
	s := string(good)
	start, end := strings.Index(s, "<DocAttachmentList>"), strings.Index(s, "</DocAttachmentList>")+len("</DocAttachmentList>")
	for name, list := range map[string]string{"self-closing": "<DocAttachmentList/>", "open and close": "<DocAttachmentList></DocAttachmentList>", "whitespace": "<DocAttachmentList>\n  </DocAttachmentList>"} {
		t.Run(name, func(t *testing.T) {
			in := s[:start] + list + s[end:]
			m, doc, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Body.RegistrationRequest.Document.Attachments) != 0 || len(m.Tolerated) != 1 || m.Tolerated[0] != QuirkEmptyAttachmentList {
				t.Errorf("attachments %v, tolerated %v", m.Body.RegistrationRequest.Document.Attachments, m.Tolerated)
			}
			if Validate(doc) == nil {
				t.Error("the strict schema check accepted an empty DocAttachmentList")
			}
		})
	}
	if m, _, err := Parse(good); err != nil || len(m.Tolerated) != 0 {
		t.Errorf("a schema-valid message reports quirks: %v %v", m.Tolerated, err)
	}
	for name, in := range map[string]string{
		"text in the list":          s[:start] + "<DocAttachmentList>x</DocAttachmentList>" + s[end:],
		"empty correspondent list":  regexp.MustCompile(`<DocCorrespondentList>.*</DocCorrespondentList>`).ReplaceAllString(s, "<DocCorrespondentList/>"),
		"attachment without a body": strings.Replace(s, "<AttBody>YSAmIGIgPCBjID4gZA0K</AttBody>", "", 1),
	} {
		if _, _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
