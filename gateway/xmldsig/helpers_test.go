package xmldsig

import (
	"bytes"
	"io"
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
	"github.com/seosgw/seosgw/gateway/xmltok"
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

// verifyBytes verifies a message both ways, from its DOM and as a stream
// of tokens read once, and fails the test when the two disagree.
func verifyBytes(t testing.TB, b []byte) (*Result, error) {
	t.Helper()
	doc, err := xmldoc.Parse(b)
	if err != nil {
		return nil, err
	}
	res, err := Verify(doc, Options{})
	sres, serr := verifyStreamed(b)
	switch {
	case (err == nil) != (serr == nil):
		t.Fatalf("DOM verdict %v, streamed verdict %v", err, serr)
	case err != nil && err.Error() != serr.Error():
		t.Fatalf("DOM error %q, streamed error %q", err, serr)
	case err == nil && (!res.Cert.Equal(sres.Cert) || res.DigestMethod != sres.DigestMethod):
		t.Fatal("DOM and streamed results differ")
	}
	rres, rerr := VerifyReader(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, Options{})
	if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() || err == nil && !rres.Cert.Equal(res.Cert) {
		t.Fatalf("DOM verdict %v, VerifyReader's %v", err, rerr)
	}
	return res, err
}

// verifyStreamed reads b once through a Digester, keeping a tree beside it
// as the message reader does, and verifies; a second read serves digests
// the single pass does not compute.
func verifyStreamed(b []byte) (*Result, error) {
	each := func(f func(*xmltok.Token)) error { return xmltok.NewBytes(b, xmltok.Limits{}).Each(f) }
	d := NewDigester()
	doc := etree.NewDocument()
	var tb xmldoc.TreeBuilder
	tb.Reset(&doc.Element)
	var sig *etree.Element
	err := each(func(tok *xmltok.Token) {
		d.Token(tok)
		tb.Add(tok)
		if tok.Kind == xmltok.StartElement && tok.Depth == 2 && sig == nil && tok.Name.Local == "Signature" && tok.Name.Space == Namespace {
			sig = tb.Current()
		}
	})
	if err != nil {
		return nil, err
	}
	return VerifyDigested(d, sig, Options{Reread: each})
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
