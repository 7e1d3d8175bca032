package acceptance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/seosgw/seosgw/gateway/acceptance/clamav"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
)

// file is an attachment with what its content turned out to be. For a
// .p7m, doc is the signed document inside; otherwise it is the attachment.
type file struct {
	att      Attachment
	info     filetype.Info
	sniffErr error
	sd       *cms.SignedData // .p7s and .p7m
	cmsErr   error
	doc      io.ReaderAt
	docSize  int64
	docInfo  filetype.Info
}

func (f *file) name() string {
	if strings.TrimSpace(f.att.Name) == "" {
		return "(без име)"
	}
	return f.att.Name
}

// isSignature reports a detached signature file: not a document itself.
func (f *file) isSignature() bool { return f.info.Kind == filetype.P7S }

func (p *Policy) inspect(atts []Attachment) []*file {
	files := make([]*file, 0, len(atts))
	for _, a := range atts {
		f := &file{att: a, doc: a.Content, docSize: a.Size}
		f.info, f.sniffErr = filetype.Detect(a.Content, a.Size)
		f.docInfo = f.info
		if f.info.Kind == filetype.P7S || f.info.Kind == filetype.P7M {
			r, size := a.Content, a.Size
			if f.info.Armoured {
				r, size = bytes.NewReader(f.info.DER), int64(len(f.info.DER))
			}
			f.sd, f.cmsErr = cms.Parse(r, size)
			if f.sd != nil && f.info.Kind == filetype.P7M {
				f.doc, f.docSize = f.sd.ContentReaderAt()
				f.docInfo, f.sniffErr = filetype.Detect(f.doc, f.docSize)
			}
		}
		files = append(files, f)
	}
	return files
}

func (p *Policy) checkFormat(f *file) Check {
	c := Check{Rule: "format", Subject: f.att.Name, Mode: p.rules.Formats.Mode, Status: Pass, Effect: Accept}
	failWith := func(bg, en string) Check {
		c.Status, c.Effect, c.Reason = Fail, p.rules.Formats.OnFail, text(bg, en)
		return c
	}
	if f.sniffErr != nil {
		c.Status, c.Effect = Unknown, p.rules.Formats.OnUnknown
		c.Reason = text("съдържанието на файла не може да бъде прочетено", "the content could not be read: "+f.sniffErr.Error())
		return c
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(f.att.Name), "."))
	claimed := fmt.Sprintf("named .%s, declared %q", ext, f.att.DeclaredMIME)
	kind, desc := f.docInfo.Kind, f.docInfo.Description
	if kind.Executable() {
		return failWith(fmt.Sprintf("файлът е изпълнима програма (%s), а не документ, въпреки името .%s и типа %q", desc, ext, f.att.DeclaredMIME),
			fmt.Sprintf("the content is an executable (%s), not a document, though %s", desc, claimed))
	}
	if f.info.Kind == filetype.P7M && !p.allowed[filetype.P7M] {
		return failWith("подписаният файл .p7m не е в приеманите формати ("+p.allowedList()+")",
			"signed .p7m files are not accepted (accepted: "+p.allowedList()+")")
	}
	if !p.allowed[kind] {
		inside := ""
		if f.info.Kind == filetype.P7M {
			inside = " (в подписа .p7m)"
		}
		return failWith(fmt.Sprintf("форматът %s%s не се приема; приемат се: %s", kind, inside, p.allowedList()),
			fmt.Sprintf("format %s (%s)%s is not accepted, though %s; accepted: %s", kind, desc, inside, claimed, p.allowedList()))
	}
	note := ""
	if ext != "" && ext != string(kind) && !(f.info.Kind == filetype.P7M && ext == "p7m") && !(ext == "jpg" && kind == filetype.JPEG) {
		note = fmt.Sprintf(" (named .%s)", ext)
	}
	c.Reason = text(fmt.Sprintf("форматът %s се приема", kind), fmt.Sprintf("format %s (%s) is accepted%s", kind, desc, note))
	return c
}

func (p *Policy) allowedList() string { return strings.Join(p.rules.Formats.Allowed, ", ") }

func (p *Policy) checkEncryption(f *file) Check {
	c := Check{Rule: "encryption", Subject: f.att.Name, Mode: p.rules.Encryption.Mode, Status: Pass, Effect: Accept,
		Reason: text("файлът не е криптиран", "not encrypted")}
	for _, info := range []filetype.Info{f.info, f.docInfo} {
		if info.Encrypted {
			c.Status, c.Effect = Fail, p.rules.Encryption.OnFail
			c.Reason = text("файлът е криптиран или защитен с парола; приемат се само некриптирани документи",
				"encrypted or password-protected ("+info.EncryptedHow+"); only unencrypted documents are accepted")
			return c
		}
	}
	if f.sniffErr != nil {
		c.Status, c.Effect = Unknown, p.rules.Encryption.OnUnknown
		c.Reason = text("не може да се установи дали файлът е криптиран", "could not tell whether it is encrypted: "+f.sniffErr.Error())
	}
	return c
}

func (p *Policy) checkVirus(ctx context.Context, f *file) Check {
	c := Check{Rule: "virus", Subject: f.att.Name, Mode: p.rules.Virus.Mode}
	res, err := p.scanner.Scan(ctx, io.NewSectionReader(f.att.Content, 0, f.att.Size))
	if err == nil && !res.Infected && f.info.Kind == filetype.P7M && f.doc != nil {
		// clamd does not open CMS: the document inside a .p7m is scanned on its own.
		res, err = p.scanner.Scan(ctx, io.NewSectionReader(f.doc, 0, f.docSize))
	}
	// Down only when clamd could not be reached or did not answer: a file
	// over a size limit, or a stream clamd refused, is about the file.
	p.m.scannerUp(!errors.Is(err, clamav.ErrUnavailable))
	var tooLarge *clamav.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		c.Status, c.Effect = Unknown, p.rules.Virus.OnTooLarge
		max := sizeText(int64(p.rules.Virus.MaxSize))
		bg, en := "virus.max_size = "+max, "virus.max_size = "+max
		if tooLarge.Clamd {
			bg = "StreamMaxLength на clamd (clamd.conf), по-малък от virus.max_size = " + max
			en = "clamd's StreamMaxLength (clamd.conf), smaller than virus.max_size = " + max + ": raise it to at least " + max
		}
		c.Reason = text("файлът не е проверен за вируси: по-голям е от допустимия за проверка размер ("+bg+")",
			"not scanned for viruses: the file is larger than the scan limit ("+en+")")
	case err != nil:
		c.Status, c.Effect = Unknown, p.rules.Virus.OnUnavailable
		c.Reason = text("проверката за вируси не можа да бъде извършена", "not scanned for viruses: "+err.Error())
	case res.Infected:
		c.Status, c.Effect = Fail, p.rules.Virus.OnInfected
		c.Reason = text("файлът съдържа вирус или зловреден код ("+res.Signature+")", "infected: "+res.Signature)
	default:
		c.Status, c.Effect = Pass, Accept
		c.Reason = text("не са открити вируси", "no virus found (ClamAV)")
	}
	return c
}

// detachedTarget finds the document a .p7s signs: "x.pdf.p7s" signs
// "x.pdf"; "x.p7s" signs the one other file named "x.<ext>".
func detachedTarget(sig *file, files []*file) *file {
	name := strings.ToLower(sig.att.Name)
	base := strings.TrimSuffix(name, path.Ext(name))
	var byBase []*file
	for _, f := range files {
		if f == sig || f.isSignature() {
			continue
		}
		n := strings.ToLower(f.att.Name)
		if n == base {
			return f
		}
		if strings.TrimSuffix(n, path.Ext(n)) == base {
			byBase = append(byBase, f)
		}
	}
	if len(byBase) == 1 {
		return byBase[0]
	}
	return nil
}

// documents are the attachments that are documents (not .p7s signatures).
func documents(files []*file) []*file {
	return slices.DeleteFunc(slices.Clone(files), func(f *file) bool { return f.isSignature() })
}

// sizeText writes a size the way the rules file does (25MiB).
func sizeText(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
