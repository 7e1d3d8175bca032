package soap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/wsdl/endpoint"
)

const message = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Message xmlns=\"http://schemas.egov.bg/messaging/v1\"><Header><Version>1.0</Version></Header><Body>&amp; \"кавички\" 'a'\n\t\r</Body></Message>"

func TestRoundTrip(t *testing.T) {
	env, err := Submit([]byte(message))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(env), `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Submit xmlns="http://services.egov.bg/messaging/"><request>&lt;?xml`) {
		t.Errorf("unexpected envelope: %.200s", env)
	}
	got, err := ParseSubmit(env)
	if err != nil || string(got) != message {
		t.Fatalf("round trip: %v\n%q", err, got)
	}
	resp, _ := SubmitResponse([]byte(message))
	got, err = ParseSubmitResponse(resp)
	if err != nil || string(got) != message {
		t.Fatalf("response round trip: %v", err)
	}
	empty, _ := SubmitResponse(nil)
	if got, err := ParseSubmitResponse(empty); err != nil || len(got) != 0 {
		t.Fatalf("empty result: %q %v", got, err)
	}
}

// The .NET peer's unwrap reads our envelopes as WCF would.
func TestDotnetUnwrapsOurEnvelopes(t *testing.T) {
	for name, build := range map[string]func([]byte) ([]byte, error){"Submit": Submit, "SubmitResponse": SubmitResponse} {
		env, _ := build([]byte(message))
		p := filepath.Join(t.TempDir(), "env.xml")
		os.WriteFile(p, env, 0o644)
		r := extools.Peer(t, "unwrap", p)
		if !r.OK() {
			t.Fatalf("%s: %s", name, r.Stdout)
		}
		// Mono's InnerText drops the CR as an XML reader would not; compare the rest.
		if strings.ReplaceAll(r.Stdout, "\r", "") != strings.ReplaceAll(message, "\r", "") {
			t.Errorf("%s: .NET read %q", name, r.Stdout)
		}
	}
}

func TestParseAcceptsPeerShapes(t *testing.T) {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace("<Message>x</Message>")
	cases := map[string]string{
		"WCF":            `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Submit xmlns="http://services.egov.bg/messaging/"><request>` + esc + `</request></Submit></s:Body></s:Envelope>`,
		"Java prefixes":  `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:mes="http://services.egov.bg/messaging/"><soapenv:Header/><soapenv:Body><mes:Submit><mes:request>` + esc + `</mes:request></mes:Submit></soapenv:Body></soapenv:Envelope>`,
		"CDATA":          `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Submit xmlns="http://services.egov.bg/messaging/"><request><![CDATA[<Message>x</Message>]]></request></Submit></s:Body></s:Envelope>`,
		"pretty":         "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\n  <s:Header><a:Action xmlns:a=\"urn:x\">Submit</a:Action></s:Header>\n  <s:Body>\n    <Submit xmlns=\"http://services.egov.bg/messaging/\"><request>" + esc + "</request></Submit>\n  </s:Body>\n</s:Envelope>",
		"header ignored": `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x xmlns="urn:x" s:mustUnderstand="0"/></s:Header><s:Body><Submit xmlns="http://services.egov.bg/messaging/"><request>` + esc + `</request></Submit></s:Body></s:Envelope>`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSubmit([]byte(in))
			if err != nil || string(got) != "<Message>x</Message>" {
				t.Fatalf("%q %v", got, err)
			}
		})
	}
}

func TestParseFaults(t *testing.T) {
	wrap := func(body string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + body + `</s:Body></s:Envelope>`
	}
	cases := []struct{ name, in, code string }{
		{"not XML", "hello", "Client"},
		{"not an envelope", `<Submit xmlns="http://services.egov.bg/messaging/"/>`, "Client"},
		{"SOAP 1.2", `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`, "VersionMismatch"},
		{"no body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>`, "Client"},
		{"other operation", wrap(`<Delete xmlns="http://services.egov.bg/messaging/"/>`), "Client"},
		{"wrong namespace", wrap(`<Submit xmlns="urn:other"><request>x</request></Submit>`), "Client"},
		{"two operations", wrap(`<Submit xmlns="http://services.egov.bg/messaging/"/><Submit xmlns="http://services.egov.bg/messaging/"/>`), "Client"},
		{"message as elements", wrap(`<Submit xmlns="http://services.egov.bg/messaging/"><request><Message/></request></Submit>`), "Client"},
		{"must understand", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x xmlns="urn:x" s:mustUnderstand="1"/></s:Header><s:Body/></s:Envelope>`, "MustUnderstand"},
		{"doctype", `<!DOCTYPE x [<!ENTITY e "e">]>` + wrap(""), "Client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSubmit([]byte(c.in))
			var f *Fault
			if !errors.As(err, &f) || f.Code != c.code {
				t.Fatalf("want fault %s, got %v", c.code, err)
			}
		})
	}
	// A Submit with no request is a Submit: the pipeline answers it.
	if got, err := ParseSubmit([]byte(wrap(`<Submit xmlns="http://services.egov.bg/messaging/"/>`))); err != nil || got != nil {
		t.Errorf("empty Submit: %q %v", got, err)
	}
}

func TestFaultEnvelopeRoundTrip(t *testing.T) {
	env := FaultEnvelope(&Fault{Code: "Client", String: "bad <thing> & more"})
	_, err := ParseSubmitResponse(env)
	var f *Fault
	if !errors.As(err, &f) || f.Code != "Client" || f.String != "bad <thing> & more" {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseSubmit(f *testing.F) {
	env, _ := Submit([]byte(message))
	f.Add(env)
	f.Add(FaultEnvelope(&Fault{Code: "Server", String: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseSubmit(b)
		if err != nil {
			var fl *Fault
			if !errors.As(err, &fl) {
				t.Fatalf("error is not a fault: %v", err)
			}
			return
		}
		env, err := Submit(got)
		if err != nil {
			return // text XML cannot carry (invalid characters)
		}
		again, err := ParseSubmit(env)
		if err != nil || string(again) != string(got) {
			t.Fatalf("re-wrap changed the message: %v", err)
		}
	})
}

// FuzzEnvelopeReader holds the streaming reader to the whole-envelope one
// it replaced: the same part, or the same fault; and the same again when
// the envelope arrives a byte at a time.
func FuzzEnvelopeReader(f *testing.F) {
	env, _ := Submit([]byte(message))
	f.Add(env)
	f.Add(FaultEnvelope(&Fault{Code: "Server", String: "x"}))
	wrap := func(body string) []byte {
		return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + body + `</s:Body></s:Envelope>`)
	}
	for _, body := range []string{`<Submit xmlns="http://services.egov.bg/messaging/"><request>a<!--c-->b<![CDATA[<c>]]></request></Submit>`,
		`<Submit xmlns="http://services.egov.bg/messaging/"><request>a</request><x/></Submit>`, `<Submit xmlns="http://services.egov.bg/messaging/"/><Submit/>`,
		`<Submit xmlns="http://services.egov.bg/messaging/"><request>a<b/></request></Submit>`, `<s:Fault><faultcode>s:Client</faultcode><faultstring>a<!--x-->b<?p?>c</faultstring></s:Fault>`} {
		f.Add(wrap(body))
	}
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><x/><s:Header><h s:mustUnderstand="1"/></s:Header><s:Body/></s:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, op := range [][2]string{{"Submit", "request"}, {"SubmitResponse", "SubmitResult"}} {
			want, werr := referenceParseBody(b, op[0], op[1])
			got, err := readPart(b, op[0], op[1])
			sameOutcome(t, b, want, werr, got, err)
			e := NewEnvelopeReader(iotest.OneByteReader(bytes.NewReader(b)), envelopeLimits, op[0], op[1])
			var streamed []byte
			r, serr := e.Part()
			if r != nil {
				var rerr error
				streamed, rerr = io.ReadAll(r)
				if serr = e.Finish(); serr == nil {
					serr = rerr
				}
			}
			sameOutcome(t, b, want, werr, streamed, serr)
		}
	})
}

func sameOutcome(t *testing.T, in, want []byte, werr error, got []byte, err error) {
	t.Helper()
	var wf, gf *Fault
	switch {
	case werr == nil && err == nil:
		if !bytes.Equal(want, got) {
			t.Fatalf("%.200q: part %q, want %q", in, got, want)
		}
	case errors.As(werr, &wf) && errors.As(err, &gf):
		// The same kind of fault; a not-well-formed envelope is named
		// by the new reader's words.
		if wf.Code != gf.Code || wf.Peer != gf.Peer || !strings.HasPrefix(wf.String, "the request is not well-formed") && wf.String != gf.String {
			t.Fatalf("%.200q: fault %+v, want %+v", in, gf, wf)
		}
	default:
		var xe *xmldoc.Error
		if werr == nil && errors.As(err, &gf) && strings.HasPrefix(gf.String, "the request is not well-formed") && errors.As(err, &xe) && (xe.Stricter || xe.Limit) {
			return // refused by a stricter rule of the tokenizer
		}
		t.Fatalf("%.200q: got %q %v, want %q %v", in, got, err, want, werr)
	}
}

// Submit, SubmitResponse and WriteSubmit (however the message is cut)
// write what the generated types encode.
func TestWriteSubmitAsSubmit(t *testing.T) {
	msg := []byte("<?xml version=\"1.0\"?><Message a=\"'\">текст & <x/>\t\n\r\"'" + strings.Repeat("я€😀", 1000) + "\xff</Message>")
	text := string(msg)
	want, err := envelope(endpoint.Submit{Request: &text})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Submit(msg); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Submit: %v\ngot  %.200q\nwant %.200q", err, got, want)
	}
	for _, result := range []string{text, ""} {
		wantResp, err := envelope(endpoint.SubmitResponse{SubmitResult: &result})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := SubmitResponse([]byte(result)); err != nil || !bytes.Equal(got, wantResp) {
			t.Fatalf("SubmitResponse: %v\ngot  %.200q\nwant %.200q", err, got, wantResp)
		}
	}
	for _, step := range []int{1, 2, 3, 7, 1000, len(msg)} {
		var got bytes.Buffer
		err := WriteSubmit(&got, func(w io.Writer) error {
			for i := 0; i < len(msg); i += step {
				if _, err := w.Write(msg[i:min(i+step, len(msg))]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("pieces of %d: %v\ngot  %.200q\nwant %.200q", step, err, got.Bytes(), want)
		}
	}
}
