package seos_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
)

const (
	receiptBG    = "Потвърждаваме получаването на Вашия електронен документ на 23.11.2026 12:05 ч. Документът е регистриран с рег. № 94-1 от 24.11.2026."
	receiptLatin = "Potvarzhdavame poluchavaneto na Vashia elektronen dokument na 23.11.2026 12:05 ch. Dokumentat e registriran s reg. № 94-1 ot 24.11.2026."
)

// TestReceiptOnTheWire: a DS_REGISTERED carrying the receipt in DocAddData
// survives the outbox's JSON, is valid for xmllint and .NET's XmlSchemaSet
// on the reference schemas, verifies in the .NET peer once signed, and
// reads back as the two texts.
func TestReceiptOnTheWire(t *testing.T) {
	b := testkit.SharedPKI(t).Host(t, "b.obmen.local")
	from := seos.Entity{Identifier: "000695089", AdministrativeBodyName: "Агенция Б", GUID: testkit.GUID(2)}
	to := seos.Entity{Identifier: "121857413", AdministrativeBodyName: "Министерство А", GUID: testkit.GUID(1)}
	resp := &seos.StatusResponse{DocID: seos.DocumentID{GUID: seos.NewGUID(), Number: &seos.DocumentNumber{Number: "94-1", Date: "2026-11-24"}},
		Status: seos.StatusRegistered, AddData: seos.NewReceipt(receiptBG, receiptLatin)}

	// The outbox keeps the notification as JSON until it is delivered.
	j, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var queued seos.StatusResponse
	if err := json.Unmarshal(j, &queued); err != nil {
		t.Fatal(err)
	}
	signed := testkit.Sign(t, b, seos.NewMessage(from, to, time.Now(), seos.Body{StatusResponse: &queued}))
	m, _, err := seos.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Body.StatusResponse.AddData.Receipt(); got != receiptBG+"\n"+receiptLatin {
		t.Errorf("read back %q", got)
	}
	if !strings.Contains(string(signed), `<DocAddData><r:Receipt xmlns:r="`+seos.ReceiptNS+`"`) || !strings.Contains(string(signed), `<r:Text xml:lang="bg-Latn">`) {
		t.Errorf("the receipt's element is not as documented:\n%s", signed)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "registered.xml")
	if err := os.WriteFile(out, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	schemaDir, entry := testkit.Schemas(t)
	if ok, msg := extools.XMLLint(t, entry, out); !ok {
		t.Errorf("xmllint: %s", msg)
	}
	if x := extools.Peer(t, "xsd", out, schemaDir); !x.OK() {
		t.Errorf("XmlSchemaSet: %s", x.Stdout)
	}
	v := extools.Peer(t, "verify", out)
	if !v.OK() || pki.NormalizeSerial(strings.TrimPrefix(strings.TrimSpace(v.Stdout), "OK ")) != pki.SerialHex(b.Cert) {
		t.Errorf(".NET does not verify the notification: %s %s", v.Stdout, v.Stderr)
	}
}

// TestReceiptReading: what counts as a receipt in a peer's DocAddData.
func TestReceiptReading(t *testing.T) {
	for _, c := range []struct{ name, fragment, want string }{
		{"ours", `<r:Receipt xmlns:r="` + seos.ReceiptNS + `"><r:Text xml:lang="bg"> а </r:Text><r:Text xml:lang="bg-Latn">a</r:Text></r:Receipt>`, "а\na"},
		{"ours, indented", "\n  <Receipt xmlns=\"" + seos.ReceiptNS + "\">\n    <Text>б</Text>\n  </Receipt>\n", "б"},
		{"plain text", "  Получено на 23.11.2026.  ", "Получено на 23.11.2026."},
		{"another element", `<Data xmlns="urn:x"><Text>не е разписка</Text></Data>`, ""},
		{"our name in another namespace", `<Receipt xmlns="urn:x"><Text>не е</Text></Receipt>`, ""},
		{"empty", ``, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ac, err := seos.ParseAnyContent(c.fragment)
			if err != nil {
				t.Fatal(err)
			}
			if got := ac.Receipt(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	var none *seos.AnyContent
	if none.Receipt() != "" {
		t.Error("no DocAddData is a receipt")
	}
}

// FuzzReceipt: reading a peer's DocAddData never fails, and a receipt we
// write reads back through its JSON (XML text) form.
func FuzzReceipt(f *testing.F) {
	f.Add(`<r:Receipt xmlns:r="`+seos.ReceiptNS+`"><r:Text xml:lang="bg">а</r:Text></r:Receipt>`, "Потвърждаваме", "Potvarzhdavame")
	f.Add("просто текст", "a\nb", " ")
	f.Add(`<Receipt xmlns="urn:x"/>`, "<&>", "]]>")
	f.Fuzz(func(t *testing.T, fragment, cyrillic, latin string) {
		if c, err := seos.ParseAnyContent(fragment); err == nil {
			c.Receipt()
		}
		if !xmlText(cyrillic) || !xmlText(latin) {
			return
		}
		back, err := seos.ParseAnyContent(seos.NewReceipt(cyrillic, latin).String())
		if err != nil {
			t.Fatalf("our receipt does not parse: %v", err)
		}
		var want []string
		for _, s := range []string{cyrillic, latin} {
			if s = strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)); s != "" {
				want = append(want, s)
			}
		}
		if got := back.Receipt(); got != strings.Join(want, "\n") {
			t.Errorf("%q, %q read back as %q", cyrillic, latin, got)
		}
	})
}

// xmlText reports text XML 1.0 can carry (the schema's strings).
func xmlText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0xFFFE && r <= 0xFFFF) || (r >= 0xD800 && r <= 0xDFFF) {
			return false
		}
	}
	return utf8.ValidString(s)
}
