package xmldsig

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

// testPKI is one authority and two participants, made once per test binary.
type testPKI struct {
	ca       *pki.Authority
	a, b     *pki.Identity
	dir      string
	caPEM    string
	aCert    string
	aKey     string
	aPFX     string
	bPFX     string
	prepared sync.Once
}

var (
	pkiOnce sync.Once
	shared  *testPKI
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "seosgw-xmldsig-")
		if err != nil {
			t.Fatal(err)
		}
		ca, err := pki.NewAuthority("test DAEU CA")
		if err != nil {
			t.Fatal(err)
		}
		// a has a 64-bit serial, short enough for X509IssuerSerial; b has
		// the authority's default 128-bit one, which the signer leaves out.
		a, err := ca.IssueTransport("ministry-a.obmen.local", pki.WithSerial(new(big.Int).SetUint64(0x9F2D1630F58BD3A2)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ca.IssueTransport("municipality-b.obmen.local")
		if err != nil {
			t.Fatal(err)
		}
		p := &testPKI{ca: ca, a: a, b: b, dir: dir}
		p.caPEM = filepath.Join(dir, "ca.pem")
		os.WriteFile(p.caPEM, ca.CertPEM(), 0o644)
		p.aCert, p.aKey, err = a.WriteFiles(dir, "a")
		if err != nil {
			t.Fatal(err)
		}
		shared = p
	})
	if shared == nil {
		t.Fatal("test PKI could not be made")
	}
	return shared
}

func (p *testPKI) signer(id *pki.Identity, h Hash) *Signer {
	return &Signer{Key: id.Key, Cert: id.Cert, Hash: h}
}

// message is a compact, valid, unsigned SEOS message.
func message(t testing.TB, attachment int) []byte {
	t.Helper()
	from := seos.Entity{Identifier: "000695089", AdministrativeBodyName: "Министерство А", GUID: "{11111111-1111-4111-8111-111111111111}"}
	to := seos.Entity{Identifier: "121857413", AdministrativeBodyName: "Община Б", GUID: "{22222222-2222-4222-8222-222222222222}"}
	m := seos.NewMessage(from, to, time.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{
		Document: seos.Document{
			ID:    seos.DocumentID{Number: &seos.DocumentNumber{Number: "А-1/2026", Date: "2026-11-23"}, GUID: seos.NewGUID()},
			Kind:  "Писмо",
			About: seos.Str("Относно: \"тест\" & <проверка>\r\n"),
		},
		Comment: "за регистрация",
	}})
	if attachment > 0 {
		m.Body.RegistrationRequest.Document.Attachments = []seos.Attachment{{
			FileName: "приложение.pdf", MIMEType: "application/pdf",
			Body: seos.Base64Of([]byte(strings.Repeat("%PDF-1.4 данни ", attachment/20+1)[:attachment])),
		}}
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, b []byte) *etree.Document {
	t.Helper()
	doc, err := xmldoc.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func signBytes(t testing.TB, s *Signer, b []byte) []byte {
	t.Helper()
	doc := parse(t, b)
	if err := s.Sign(doc); err != nil {
		t.Fatal(err)
	}
	out, err := seos.WriteCompact(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func verifyBytes(t testing.TB, b []byte) (*Result, error) {
	t.Helper()
	doc, err := xmldoc.Parse(b)
	if err != nil {
		return nil, err
	}
	return Verify(doc, Options{})
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
