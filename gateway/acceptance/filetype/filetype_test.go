package filetype_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
	"github.com/seosgw/seosgw/integration/extools"
)

func detect(t *testing.T, b []byte) filetype.Info {
	t.Helper()
	info, err := filetype.Detect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestDetectRealFiles(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	p := acceptancetest.NewPKI(t)
	signer := p.Issue(t, acceptancetest.SignerSpec{Name: "Подписващ"})
	letter := acceptancetest.Read(t, o.PDF)
	p7s := acceptancetest.SignCMS(t, p, signer, letter, acceptancetest.CMSOptions{})
	p7m := acceptancetest.SignCMS(t, p, signer, letter, acceptancetest.CMSOptions{Attached: true})
	encOOXML := acceptancetest.MakeOLE(t, []acceptancetest.OLEStream{{Name: "EncryptionInfo", Data: []byte{4, 0, 4, 0}}, {Name: "EncryptedPackage", Data: []byte("x")}})
	msg := acceptancetest.MakeOLE(t, []acceptancetest.OLEStream{{Name: "__properties_version1.0", Data: []byte{0}}, {Name: "__substg1.0_001A001F", Data: acceptancetest.UTF16LE("IPM.Note")}})
	for _, b := range [][]byte{encOOXML, msg} { // an independent reader accepts the test-made containers
		path := filepath.Join(t.TempDir(), "f.ole")
		os.WriteFile(path, b, 0o644)
		r := extools.Run(t, nil, "/usr/bin/python3", "-c", "import olefile,sys; o=olefile.OleFileIO(sys.argv[1]); print(sorted('/'.join(e) for e in o.listdir()))", path)
		if !r.OK() || !strings.Contains(r.Stdout, "Encrypt") && !strings.Contains(r.Stdout, "__substg") {
			t.Fatalf("olefile: %s %s", r.Stdout, r.Stderr)
		}
	}
	elf, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		kind      filetype.Kind
		encrypted bool
	}{
		{"LibreOffice PDF", letter, filetype.PDF, false},
		{"qpdf AES-256 PDF", acceptancetest.Read(t, o.EncPDF), filetype.PDF, true},
		{"qpdf object streams", acceptancetest.Read(t, o.ObjStmPDF), filetype.PDF, false},
		{"docx", acceptancetest.Read(t, o.DOCX), filetype.DOCX, false},
		{"doc", acceptancetest.Read(t, o.DOC), filetype.DOC, false},
		{"xls", acceptancetest.Read(t, o.XLS), filetype.XLS, false},
		{"xlsx", acceptancetest.Read(t, o.XLSX), filetype.XLSX, false},
		{"password OOXML container", encOOXML, filetype.EncryptedOOXML, true},
		{"msg", msg, filetype.MSG, false},
		{"password doc", acceptancetest.Read(t, o.EncDOC), filetype.DOC, true},
		{"password xls", acceptancetest.Read(t, o.EncXLS), filetype.XLS, true},
		{"p7s", p7s, filetype.P7S, false},
		{"p7m", p7m, filetype.P7M, false},
		{"p7s in PEM", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: p7s}), filetype.P7S, false},
		{"enveloped", acceptancetest.EncryptCMS(t, signer, letter), filetype.CMSEncrypted, true},
		{"encrypted zip", acceptancetest.EncryptedZip(t, "letter.pdf", letter), filetype.ZIP, true},
		{"windows exe", acceptancetest.WindowsExe(t), filetype.EXE, false},
		{"elf", elf, filetype.ELF, false},
		{"text", []byte("Писмо"), filetype.Text, false},
		{"empty", nil, filetype.Empty, false},
		{"binary", []byte{0, 1, 2, 3, 0xff}, filetype.Unknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := detect(t, tc.data)
			if info.Kind != tc.kind || info.Encrypted != tc.encrypted {
				t.Fatalf("%+v, want %s encrypted=%v", info, tc.kind, tc.encrypted)
			}
			if info.Encrypted && info.EncryptedHow == "" {
				t.Error("encrypted without saying how")
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("%PDF-1.7\n"))
	f.Add(append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0, 0})
	f.Add([]byte("-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		info, err := filetype.Detect(bytes.NewReader(b), int64(len(b)))
		if err == nil && info.Kind == "" {
			t.Fatal("no kind")
		}
	})
}
