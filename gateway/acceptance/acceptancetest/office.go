package acceptancetest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// LetterText is the text of the letter LibreOffice turns into documents: it
// carries the requisites of the Maritime Administration's rules.
const LetterText = `Писмо до ИАМА относно регистрация на кораб

Съгласен съм да получавам електронни изявления от ИАМА.
Не желая потвърждаване за получаването на изпратеното до ИАМА електронно изявление.
Съгласен съм ИАМА да обработва личните ми данни чрез автоматизирани (компютърни) системи.
Latin text: Maritime Administration.
`

// PlainText is a letter without any requisite.
const PlainText = `Писмо относно график на проверките

Моля, запознайте се с приложения график.
`

// Office holds real Office and PDF files made by LibreOffice (and qpdf).
type Office struct {
	Dir                       string
	PDF, DOCX, DOC, XLS, XLSX string // the letter (spreadsheets: a small table)
	PlainPDF, PlainDOCX       string // without requisites
	EncDOC, EncXLS            string // password "secret", saved by LibreOffice (RC4 CryptoAPI)
	EncPDF                    string // the letter encrypted by qpdf (AES-256)
	ObjStmPDF                 string // the letter rewritten by qpdf with object and xref streams
}

// officeScript drives LibreOffice through UNO: it loads each source and
// stores it with a filter and, when given, a password.
const officeScript = `
import os, subprocess, sys, time, uno
from com.sun.star.beans import PropertyValue

def P(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

out, profile = sys.argv[1], sys.argv[2]
pipe = "seosgwtest%d" % os.getpid()
proc = subprocess.Popen(["soffice", "-env:UserInstallation=" + uno.systemPathToFileUrl(profile), "--headless",
    "--invisible", "--norestore", "--nologo", "--accept=pipe,name=%s;urp;" % pipe],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
ctx = None
for i in range(1200):
    try:
        ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe); break
    except Exception:
        if proc.poll() is not None: sys.exit("soffice exited")
        time.sleep(0.1)
if ctx is None: sys.exit("soffice did not answer")
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
jobs = [l.split("\t") for l in sys.stdin.read().splitlines() if l]
try:
    for src, dst, filt, pw in jobs:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.join(out, src)), "_blank", 0, (P("Hidden", True),))
        args = [P("FilterName", filt), P("Overwrite", True)]
        if pw: args.append(P("Password", pw))
        doc.storeToURL(uno.systemPathToFileUrl(os.path.join(out, dst)), tuple(args))
        doc.close(True)
finally:
    try: desktop.terminate()
    except Exception: pass
    proc.wait()
`

var officeJobs = [][4]string{
	{"letter.txt", "letter.pdf", "writer_pdf_Export", ""},
	{"letter.txt", "letter.docx", "MS Word 2007 XML", ""},
	{"letter.txt", "letter.doc", "MS Word 97", ""},
	{"letter.txt", "letter-enc.doc", "MS Word 97", "secret"},
	{"plain.txt", "plain.pdf", "writer_pdf_Export", ""},
	{"plain.txt", "plain.docx", "MS Word 2007 XML", ""},
	{"sheet.csv", "sheet.xls", "MS Excel 97", ""},
	{"sheet.csv", "sheet.xlsx", "Calc MS Excel 2007 XML", ""},
	{"sheet.csv", "sheet-enc.xls", "MS Excel 97", "secret"},
}

var (
	officeOnce sync.Once
	officeSet  *Office
	officeErr  string
)

// MakeOffice returns the LibreOffice-made files, making them once per
// machine into a folder named by a hash of the recipe (like the .NET
// peer's build), since starting LibreOffice takes seconds.
func MakeOffice(t testing.TB) *Office {
	t.Helper()
	extools.Require(t, "soffice")
	extools.Require(t, "qpdf")
	python := "/usr/bin/python3" // Debian's, which has the uno module
	officeOnce.Do(func() {
		h := sha256.New()
		h.Write([]byte(officeScript + LetterText + PlainText))
		for _, j := range officeJobs {
			h.Write([]byte(strings.Join(j[:], "\t")))
		}
		dir := filepath.Join(os.TempDir(), "seosgw-acceptance-office-"+hex.EncodeToString(h.Sum(nil))[:16])
		o := &Office{Dir: dir,
			PDF: filepath.Join(dir, "letter.pdf"), DOCX: filepath.Join(dir, "letter.docx"), DOC: filepath.Join(dir, "letter.doc"),
			XLS: filepath.Join(dir, "sheet.xls"), XLSX: filepath.Join(dir, "sheet.xlsx"),
			PlainPDF: filepath.Join(dir, "plain.pdf"), PlainDOCX: filepath.Join(dir, "plain.docx"),
			EncDOC: filepath.Join(dir, "letter-enc.doc"),
			EncXLS: filepath.Join(dir, "sheet-enc.xls"),
			EncPDF: filepath.Join(dir, "letter-enc.pdf"), ObjStmPDF: filepath.Join(dir, "letter-objstm.pdf"),
		}
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			officeSet = o
			return
		}
		// Made in a private folder and renamed into place, so that test
		// processes running at once never see each other's half-made files.
		work, err := os.MkdirTemp(os.TempDir(), "seosgw-acceptance-office-work-")
		if err != nil {
			officeErr = err.Error()
			return
		}
		defer os.RemoveAll(work)
		os.WriteFile(filepath.Join(work, "letter.txt"), []byte(LetterText), 0o644)
		os.WriteFile(filepath.Join(work, "plain.txt"), []byte(PlainText), 0o644)
		os.WriteFile(filepath.Join(work, "sheet.csv"), []byte("Кораб,Тонаж\nСвета Анна,1200\nВарна,800\n"), 0o644)
		var jobs strings.Builder
		for _, j := range officeJobs {
			jobs.WriteString(strings.Join(j[:], "\t") + "\n")
		}
		cmd := exec.Command(python, "-c", officeScript, work, filepath.Join(work, "profile"))
		cmd.Stdin = strings.NewReader(jobs.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			officeErr = "LibreOffice: " + err.Error() + ": " + string(out)
			return
		}
		in := func(name string) string { return filepath.Join(work, name) }
		for _, args := range [][]string{
			{"--encrypt", "secret", "owner", "256", "--", in("letter.pdf"), in("letter-enc.pdf")},
			{"--object-streams=generate", in("letter.pdf"), in("letter-objstm.pdf")},
		} {
			if out, err := exec.Command("qpdf", args...).CombinedOutput(); err != nil {
				officeErr = "qpdf: " + err.Error() + ": " + string(out)
				return
			}
		}
		os.RemoveAll(in("profile"))
		os.WriteFile(in("done"), nil, 0o644)
		if err := os.Rename(work, dir); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "done")); serr != nil {
				officeErr = "keep the Office files: " + err.Error()
				return
			}
		}
		officeSet = o
	})
	if officeSet == nil {
		t.Fatalf("making Office files: %s", officeErr)
	}
	return officeSet
}

// Read returns a file's bytes.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
