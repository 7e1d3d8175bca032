package pdf_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
	"github.com/seosgw/seosgw/integration/extools"
)

func open(t *testing.T, b []byte) *pdf.File {
	t.Helper()
	f, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestText reads LibreOffice's PDFs (subset fonts with ToUnicode maps), as
// written and as rewritten by qpdf with object and cross-reference
// streams, and agrees with poppler's pdftotext.
func TestText(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	pdftotext := extools.Require(t, "pdftotext")
	for _, path := range []string{o.PDF, o.ObjStmPDF, o.PlainPDF} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := open(t, acceptancetest.Read(t, path))
			if f.Encrypted || f.Repaired {
				t.Fatalf("encrypted %v repaired %v", f.Encrypted, f.Repaired)
			}
			got, err := f.Text(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			want := extools.Run(t, nil, pdftotext, path, "-").Stdout
			if norm(got) != norm(want) {
				t.Errorf("text differs from pdftotext:\n got %q\nwant %q", norm(got), norm(want))
			}
		})
	}
	f := open(t, acceptancetest.Read(t, o.PDF))
	if got, _ := f.Text(40); len(got) > 40 {
		t.Errorf("Text(40) gave %d bytes", len(got))
	}
}

// TestSimple: the one-page PDF the demo and the tests send opens with its
// cross-reference table as written (not repaired), and our reader and
// poppler's pdftotext read its text alike.
func TestSimple(t *testing.T) {
	b := pdf.Simple("Letter (copy) to the agency: Иван")
	f := open(t, b)
	got, err := f.Text(1 << 20)
	if err != nil || f.Repaired || f.Encrypted || norm(got) != "Letter (copy) to the agency: ????" {
		t.Fatalf("%q %v (repaired %v)", got, err, f.Repaired)
	}
	path := filepath.Join(t.TempDir(), "simple.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if want := extools.Run(t, nil, extools.Require(t, "pdftotext"), path, "-").Stdout; norm(want) != norm(got) {
		t.Errorf("pdftotext reads %q", want)
	}
}

func TestEncrypted(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	f := open(t, acceptancetest.Read(t, o.EncPDF))
	if !f.Encrypted {
		t.Fatal("qpdf's AES-256 PDF not seen as encrypted")
	}
	if _, err := f.Text(100); err == nil {
		t.Error("text read from an encrypted PDF")
	}
}

func TestRepairsBrokenXref(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	b := acceptancetest.Read(t, o.PDF)
	i := bytes.LastIndex(b, []byte("startxref"))
	broken := append(bytes.Clone(b[:i]), []byte("startxref\n999999\n%%EOF\n")...)
	f := open(t, broken)
	if !f.Repaired {
		t.Error("not repaired")
	}
	if txt, _ := f.Text(1 << 20); !strings.Contains(norm(txt), "Съгласен съм да получавам") {
		t.Errorf("text after repair: %q", txt)
	}
}

// TestSignatures: a PDF signed with digitorus/pdfsign verifies, poppler's
// pdfsig agrees, and any change to a signed byte breaks it.
func TestSignatures(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	p := acceptancetest.NewPKI(t)
	signer := p.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089"})
	signed := acceptancetest.SignPDF(t, p, signer, o.PDF)
	path := filepath.Join(t.TempDir(), "signed.pdf")
	os.WriteFile(path, signed, 0o644)
	if r := extools.Run(t, nil, extools.Require(t, "pdfsig"), path); !strings.Contains(r.Stdout, "Signature is Valid") {
		t.Fatalf("pdfsig does not accept the test signature:\n%s%s", r.Stdout, r.Stderr)
	}

	verify := func(b []byte) (pdf.Signature, error) {
		f := open(t, b)
		sigs, err := f.Signatures()
		if err != nil || len(sigs) != 1 {
			t.Fatalf("signatures: %d %v", len(sigs), err)
		}
		s := sigs[0]
		if s.Problem != nil {
			return s, s.Problem
		}
		sd, err := cms.Parse(bytes.NewReader(s.Contents), int64(len(s.Contents)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := sd.Verify(f.SignedData(&s))
		if err != nil {
			t.Fatal(err)
		}
		return s, res[0].Err
	}
	s, err := verify(signed)
	if err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	if s.SubFilter != "adbe.pkcs7.detached" || s.Appended != 0 {
		t.Errorf("%+v", s)
	}
	// Change a letter inside the signed content.
	tampered := bytes.Clone(signed)
	tampered[100] ^= 0x01
	if _, err := verify(tampered); err == nil {
		t.Error("tampered PDF verified")
	}
	// Bytes appended after signing are reported.
	appended := append(bytes.Clone(signed), []byte("\n% appended\n")...)
	if s, err := verify(appended); err != nil || s.Appended == 0 {
		t.Errorf("appended: %v %d", err, s.Appended)
	}
	// An unsigned PDF has no signatures.
	f := open(t, acceptancetest.Read(t, o.PDF))
	if sigs, err := f.Signatures(); err != nil || len(sigs) != 0 {
		t.Errorf("unsigned: %d %v", len(sigs), err)
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"D:20240131120000+02'00'", "D:20240131120000Z", "D:20240131120000"} {
		if _, err := pdf.ParseDate(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add([]byte("%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n3 0 obj <</Type/Page/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>> endobj\n4 0 obj <</Length 30>> stream\nBT /F1 12 Tf (Hello) Tj ET\nendstream endobj\n5 0 obj <</Type/Font/Subtype/Type1/Encoding<</Differences[65/afii10017]>>>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF"))
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer <</Root 1 0 R/Encrypt 2 0 R>>\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		file, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		file.Text(1 << 12)
		sigs, _ := file.Signatures()
		for i := range sigs {
			io.Copy(io.Discard, file.SignedData(&sigs[i]))
		}
	})
}
