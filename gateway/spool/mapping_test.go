package spool

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/ais"
)

func TestExampleMapping(t *testing.T) {
	m, err := LoadMapping(exampleMapping)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("testdata/legacy-letter.xml")
	if err != nil {
		t.Fatal(err)
	}
	env, err := m.Translate(sample)
	if err != nil {
		t.Fatal(err)
	}
	if env.Recipient != "000000002" || env.Kind != "Писмо" || env.Number.Date != "2026-11-23" || env.Parent.Number.Number != "МТ-17" ||
		len(env.Attachments) != 2 || env.Attachments[1].File != "letter-123/opis.txt" || env.Attachments[1].Content != "" ||
		env.Attachments[0].File != "" || !strings.HasPrefix(env.Attachments[0].Content, "JVBERi0") {
		t.Errorf("translated %+v", env)
	}
}

func TestMappingLanguage(t *testing.T) {
	const xml = `<ns:Doc xmlns:ns="urn:legacy" id="{00000000-0000-4000-8000-0000000000aa}">
	<ns:Meta><ns:Kind>Z</ns:Kind><ns:When>3.5.2026</ns:When><ns:Idx>7</ns:Idx></ns:Meta>
	<ns:To>000000002</ns:To>
	<ns:Item type="main">главен</ns:Item><ns:Item type="other">друг</ns:Item>
	<ns:Att n="a.pdf">QUJD</ns:Att><ns:Att n="b.pdf" mime="x/y">REVG</ns:Att>
</ns:Doc>`
	cases := []struct {
		name    string
		mapping string
		check   func(*ais.Envelope) bool
	}{
		{"namespaces, filters, d.m.yyyy", `version: 1
root: Doc
document:
  recipient: /Doc/To
  kind: {path: Meta/Kind, values: {Z: Заповед}}
  documentGuid: "@id"
  uri.registerIndex: //Idx
  uri.receiptOrSigningDate: {path: Meta/When, date: "2.1.2006"}
  about: Item[@type='other']
  docComment: Item[2]
  attentionTo: {path: Missing, default: деловодство}
`, func(e *ais.Envelope) bool {
			return e.Recipient == "000000002" && e.Kind == "Заповед" && e.DocumentGUID == "{00000000-0000-4000-8000-0000000000aa}" &&
				e.URI.RegisterIndex == "7" && e.URI.ReceiptOrSigningDate == "2026-05-03" && e.About == "друг" && e.DocComment == "друг" &&
				e.AttentionTo == "деловодство" && e.Number == nil && e.Parent == nil
		}},
		{"repeated attachments", `version: 1
document: {recipient: /Doc/To, kind: {value: Писмо}}
attachments:
  each: //Att
  fields: {fileName: "@n", mimeType: {path: "@mime", default: application/pdf}, content: .}
`, func(e *ais.Envelope) bool {
			return e.Kind == "Писмо" && len(e.Attachments) == 2 && e.Attachments[0].MIMEType == "application/pdf" &&
				e.Attachments[1].MIMEType == "x/y" && e.Attachments[1].Content == "REVG" && e.Attachments[0].FileName == "a.pdf"
		}},
		{"an address outside SEOS", `version: 1
document: {email: {value: ivan@example.bg}, kind: {value: Писмо}}
`, func(e *ais.Envelope) bool {
			return e.Email == "ivan@example.bg" && e.Recipient == "" && e.Kind == "Писмо"
		}},
		{"nothing repeated", `version: 1
document: {recipient: /Doc/To, kind: Meta/Kind}
correspondents: {each: /Doc/Person, fields: {name: Name, city: City}}
`, func(e *ais.Envelope) bool { return e.Kind == "Z" && len(e.Correspondents) == 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMapping([]byte(c.mapping), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			env, err := m.Translate([]byte(xml))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(env) {
				t.Errorf("translated %+v", env)
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		field      string
	}{
		{"not YAML", "version: [1", 0, ""},
		{"not a mapping", "- a\n- b\n", 1, ""},
		{"no version", "document: {kind: /a}\n", 1, "version"},
		{"version 2", "version: 2\ndocument: {kind: /a}\n", 1, "version"},
		{"unknown top key", "version: 1\ndocuments:\n  kind: /a\n", 2, "documents"},
		{"no document", "version: 1\nroot: Letter\n", 1, "document"},
		{"bad root", "version: 1\nroot: /Letter\ndocument: {kind: /a}\n", 2, "root"},
		{"unknown field", "version: 1\ndocument:\n  recipient: /a\n  kidn: /Letter/Type\n", 4, "document.kidn"},
		{"field twice", "version: 1\ndocument:\n  kind: /a\n  kind: /b\n", 4, "document.kind"},
		{"bad path", "version: 1\ndocument:\n  kind: /Letter/Type[\n", 3, "document.kind"},
		{"empty attribute", "version: 1\ndocument:\n  kind: /Letter/@\n", 3, "document.kind"},
		{"bare root path", "version: 1\ndocument:\n  kind: /@x\n", 3, "document.kind"},
		{"bad date layout", "version: 1\ndocument:\n  number.date: {path: /a, date: DD.MM.YYYY}\n", 3, "document.number.date.date"},
		{"layout without a year", "version: 1\ndocument:\n  number.date: {path: /a, date: \"02.01\"}\n", 3, "document.number.date.date"},
		{"unknown rule key", "version: 1\ndocument:\n  kind: {path: /a, format: x}\n", 3, "document.kind.format"},
		{"path and value", "version: 1\ndocument:\n  kind: {path: /a, value: b}\n", 3, "document.kind"},
		{"neither", "version: 1\ndocument:\n  kind: {default: b}\n", 3, "document.kind"},
		{"value with date", "version: 1\ndocument:\n  kind: {value: b, date: \"02.01.2006\"}\n", 3, "document.kind"},
		{"values not a mapping", "version: 1\ndocument:\n  kind: {path: /a, values: [a, b]}\n", 3, "document.kind.values"},
		{"required not bool", "version: 1\ndocument:\n  kind: {path: /a, required: yes please}\n", 3, "document.kind.required"},
		{"rule is a list", "version: 1\ndocument:\n  kind: [/a]\n", 3, "document.kind"},
		{"group without each", "version: 1\ndocument: {kind: /a}\nattachments:\n  fields: {fileName: '@n'}\n", 4, "attachments.each"},
		{"group without fields", "version: 1\ndocument: {kind: /a}\nattachments:\n  each: //File\n", 4, "attachments.fields"},
		{"group bad each", "version: 1\ndocument: {kind: /a}\nattachments:\n  each: //File[\n  fields: {fileName: '@n'}\n", 4, "attachments.each"},
		{"group attribute each", "version: 1\ndocument: {kind: /a}\nattachments:\n  each: //File/@n\n  fields: {fileName: '@n'}\n", 4, "attachments.each"},
		{"group wrong field", "version: 1\ndocument: {kind: /a}\ncorrespondents:\n  each: //P\n  fields:\n    fileName: '@n'\n", 6, "correspondents.fields.fileName"},
		{"group unknown key", "version: 1\ndocument: {kind: /a}\ncorrespondents:\n  each: //P\n  where: x\n", 5, "correspondents.where"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseMapping([]byte(c.yaml), "m.yaml")
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("error %v, want a MappingError", err)
			}
			if me.Line != c.line || me.Field != c.field || me.File != "m.yaml" || me.Msg == "" {
				t.Errorf("%v (line %d field %q), want line %d field %q", err, me.Line, me.Field, c.line, c.field)
			}
		})
	}
	if _, err := LoadMapping("testdata/no-such-mapping.yaml"); err == nil {
		t.Error("a missing file loaded")
	}
}

func FuzzTranslate(f *testing.F) {
	m, err := LoadMapping(exampleMapping)
	if err != nil {
		f.Fatal(err)
	}
	sample, _ := os.ReadFile("testdata/legacy-letter.xml")
	f.Add(sample)
	f.Add([]byte(`<Letter><To eik="1"/><Header><Type code="ПИС"/><RegDate>1.1.1</RegDate></Header></Letter>`))
	f.Add([]byte(`<Letter><Files><File name="a" href="../x"/></Files><Persons><Person role="x"><Name>a</Name><Town>b</Town></Person></Persons></Letter>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE Letter><Letter/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := m.Translate(b)
		if err != nil {
			var e *ais.Error
			if !errors.As(err, &e) || e.Code != "invalid_request" || e.Msg == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if env == nil {
			t.Fatal("no envelope and no error")
		}
		// What the mapping produced goes through the envelope's own checks.
		if _, _, err := env.Resolve(nil); err != nil {
			var e *ais.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
		}
	})
}

func FuzzParseMapping(f *testing.F) {
	b, _ := os.ReadFile(exampleMapping)
	f.Add(b)
	f.Add([]byte("version: 1\ndocument: {kind: {path: /a, values: {x: y}, date: \"02.01.2006\"}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMapping(b, "f.yaml")
		if err != nil {
			return
		}
		m.Translate([]byte(`<Letter a="1"><b>2</b><c><d>3</d></c></Letter>`))
	})
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{
		`{"inboxId":1,"action":"register","number":"1","date":"2026-11-23"}`,
		`{"senderGuid":"{00000002-0000-4000-8000-000000000002}","documentGuid":"{00000002-0000-4000-8000-000000000003}","action":"reject","reason":"x"}`,
		`{"inboxId":1,"action":"register","uri":{"registerIndex":"1"}}`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			var e *ais.Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, ok := actions[r.Action]; !ok || (r.InboxID == 0) == (r.SenderGUID == "") {
			t.Fatalf("accepted %+v", r)
		}
		r.registration()
	})
}
