// Package filetype tells what a file is from its content — magic bytes and
// container structure (OLE2 directories, ZIP central directories, PDF
// trailers, CMS content types) — and whether it is encrypted. File names
// and declared MIME types are never consulted: they are what a sender
// claims, the content is what arrived.
package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
)

// Kind names a format; its values are what rules list (formats.allowed).
type Kind string

// Kinds.
const (
	PDF            Kind = "pdf"
	DOC            Kind = "doc"
	XLS            Kind = "xls"
	PPT            Kind = "ppt"
	MSG            Kind = "msg"
	OLE            Kind = "ole" // another compound file
	DOCX           Kind = "docx"
	DOCM           Kind = "docm" // with macros
	XLSX           Kind = "xlsx"
	XLSM           Kind = "xlsm"
	PPTX           Kind = "pptx"
	EncryptedOOXML Kind = "encrypted-ooxml"
	ODT            Kind = "odt"
	ODS            Kind = "ods"
	ZIP            Kind = "zip"
	JAR            Kind = "jar"
	P7S            Kind = "p7s" // CMS SignedData without the document
	P7M            Kind = "p7m" // CMS SignedData with the document inside
	CMSEncrypted   Kind = "cms-encrypted"
	CMSOther       Kind = "cms"
	EXE            Kind = "exe"
	ELF            Kind = "elf"
	MachO          Kind = "macho"
	Script         Kind = "script"
	PNG            Kind = "png"
	JPEG           Kind = "jpeg"
	GIF            Kind = "gif"
	TIFF           Kind = "tiff"
	RTF            Kind = "rtf"
	XML            Kind = "xml"
	HTML           Kind = "html"
	Text           Kind = "text"
	Empty          Kind = "empty"
	Unknown        Kind = "unknown"
)

// Executable reports kinds that run code.
func (k Kind) Executable() bool {
	return k == EXE || k == ELF || k == MachO || k == Script || k == JAR
}

// Info is what the content says about a file.
type Info struct {
	Kind        Kind
	Description string // English, for messages: "Windows executable (PE)"
	Encrypted   bool
	// EncryptedHow says what is encrypted, e.g. "the PDF trailer names an
	// /Encrypt dictionary".
	EncryptedHow string
	// OfficeSignature is an embedded Office or S/MIME signature, which this
	// package only notices.
	OfficeSignature bool
	// Armoured is CMS in PEM or base64 text; DER holds the decoded bytes.
	Armoured bool
	DER      []byte
}

// maxArmoured bounds CMS text decoded into memory (signatures, not documents).
const maxArmoured = 16 << 20

// Detect inspects the content of r (size bytes).
func Detect(r io.ReaderAt, size int64) (Info, error) {
	if size == 0 {
		return Info{Kind: Empty, Description: "an empty file"}, nil
	}
	head := make([]byte, min(size, 4096))
	n, err := r.ReadAt(head, 0)
	if n < len(head) && err != nil && err != io.EOF {
		return Info{}, fmt.Errorf("filetype: read: %w", err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, oleMagic):
		return detectOLE(r, size)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return detectZIP(r, size)
	case bytes.HasPrefix(head, []byte("MZ")):
		desc := "DOS/Windows executable"
		if len(head) >= 0x40 {
			if pe := binary.LittleEndian.Uint32(head[0x3C:]); int(pe)+4 <= len(head) && bytes.Equal(head[pe:pe+4], []byte("PE\x00\x00")) {
				desc = "Windows executable (PE)"
			}
		}
		return Info{Kind: EXE, Description: desc}, nil
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return Info{Kind: ELF, Description: "ELF executable"}, nil
	case hasAnyPrefix(head, "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe", "\xca\xfe\xba\xbe"):
		return Info{Kind: MachO, Description: "Mach-O executable or Java class"}, nil
	case bytes.HasPrefix(head, []byte("#!")):
		return Info{Kind: Script, Description: "script (#!)"}, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return Info{Kind: PNG, Description: "PNG image"}, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return Info{Kind: JPEG, Description: "JPEG image"}, nil
	case hasAnyPrefix(head, "GIF87a", "GIF89a"):
		return Info{Kind: GIF, Description: "GIF image"}, nil
	case hasAnyPrefix(head, "II*\x00", "MM\x00*"):
		return Info{Kind: TIFF, Description: "TIFF image"}, nil
	case bytes.HasPrefix(head, []byte("{\\rtf")):
		return Info{Kind: RTF, Description: "RTF document"}, nil
	case head[0] == 0x30:
		if info, ok := detectCMS(r, size, false); ok {
			return info, nil
		}
	}
	// After CMS: an attached signature carries a %PDF- header in its first KiB.
	if pdf.IsPDF(r, size) {
		return detectPDF(r, size)
	}
	if info, ok := detectArmouredCMS(r, size, head); ok {
		return info, nil
	}
	return detectText(head), nil
}

func hasAnyPrefix(b []byte, prefixes ...string) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

func detectPDF(r io.ReaderAt, size int64) (Info, error) {
	info := Info{Kind: PDF, Description: "PDF document"}
	f, err := pdf.Open(r, size)
	if err != nil {
		// A %PDF- header over unreadable structure is still a PDF; what
		// cannot be read is left to the signature and text checks.
		return info, nil
	}
	if f.Encrypted {
		info.Encrypted, info.EncryptedHow = true, "the PDF trailer names an /Encrypt dictionary (password or certificate protection)"
	}
	return info, nil
}

func detectCMS(r io.ReaderAt, size int64, armoured bool) (Info, bool) {
	kind, err := cms.ContentKind(r, size)
	if err != nil {
		return Info{}, false
	}
	switch {
	case kind.Encrypted():
		return Info{Kind: CMSEncrypted, Description: "CMS " + string(kind) + " (encrypted for its recipients)", Encrypted: true,
			EncryptedHow: "the CMS content type is " + string(kind)}, true
	case kind == cms.KindSignedData:
		sd, err := cms.Parse(r, size)
		if err != nil {
			return Info{Kind: CMSOther, Description: "malformed CMS signed data"}, true
		}
		if sd.Detached() {
			return Info{Kind: P7S, Description: "CMS detached signature (.p7s)"}, true
		}
		return Info{Kind: P7M, Description: "CMS signed document (.p7m)"}, true
	}
	return Info{Kind: CMSOther, Description: "CMS " + string(kind)}, true
}

// detectArmouredCMS accepts "-----BEGIN PKCS7-----" / "-----BEGIN CMS-----"
// PEM and bare base64 of a ContentInfo, as some signing tools write .p7s.
func detectArmouredCMS(r io.ReaderAt, size int64, head []byte) (Info, bool) {
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	isPEM := bytes.HasPrefix(trimmed, []byte("-----BEGIN PKCS7-----")) || bytes.HasPrefix(trimmed, []byte("-----BEGIN CMS-----"))
	if !isPEM && !bytes.HasPrefix(trimmed, []byte("MI")) { // base64 of a SEQUENCE with a long length
		return Info{}, false
	}
	if size > maxArmoured {
		return Info{}, false
	}
	text := make([]byte, size)
	if _, err := r.ReadAt(text, 0); err != nil && err != io.EOF {
		return Info{}, false
	}
	var der []byte
	if isPEM {
		blk, _ := pem.Decode(text)
		if blk == nil {
			return Info{}, false
		}
		der = blk.Bytes
	} else {
		clean := bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\r' || r == '\n' || r == '\t' {
				return -1
			}
			return r
		}, text)
		d, err := base64.StdEncoding.DecodeString(string(clean))
		if err != nil {
			return Info{}, false
		}
		der = d
	}
	info, ok := detectCMS(bytes.NewReader(der), int64(len(der)), true)
	if !ok {
		return Info{}, false
	}
	info.Armoured, info.DER = true, der
	info.Description += ", base64-armoured"
	return info, true
}

func detectText(head []byte) Info {
	s := strings.TrimLeft(string(head), "\ufeff \t\r\n")
	lower := strings.ToLower(s[:min(len(s), 256)])
	switch {
	case strings.HasPrefix(lower, "<?xml"):
		return Info{Kind: XML, Description: "XML"}
	case strings.HasPrefix(lower, "<!doctype html"), strings.HasPrefix(lower, "<html"):
		return Info{Kind: HTML, Description: "HTML"}
	}
	b := head
	for len(b) > 0 && !utf8.Valid(b) && len(head)-len(b) < 4 {
		b = b[:len(b)-1] // a character cut by the 4 KiB window
	}
	if utf8.Valid(b) && !bytes.ContainsRune(b, 0) {
		return Info{Kind: Text, Description: "plain text"}
	}
	return Info{Kind: Unknown, Description: "unrecognised binary data"}
}

func detectOLE(r io.ReaderAt, size int64) (Info, error) {
	f, err := openOLE(r, size)
	if err != nil {
		return Info{Kind: OLE, Description: "damaged compound file (" + err.Error() + ")"}, nil
	}
	has := func(path string) bool { _, ok := f.find(path); return ok }
	info := Info{OfficeSignature: has("_signatures") || has("_xmlsignatures") || has("\x05DigitalSignature")}
	switch {
	case has("EncryptionInfo") && has("EncryptedPackage"):
		info.Kind, info.Description = EncryptedOOXML, "password-protected Office Open XML document"
		info.Encrypted, info.EncryptedHow = true, "the compound file holds an EncryptedPackage stream"
	case has("WordDocument"):
		info.Kind, info.Description = DOC, "Word 97-2003 document"
		e, _ := f.find("WordDocument")
		b, _ := f.read(e, 32)
		// FibBase: wIdent 0xA5EC, then flags at 0x0A whose bit 0x0100 is fEncrypted.
		if len(b) >= 12 && binary.LittleEndian.Uint16(b) == 0xA5EC && binary.LittleEndian.Uint16(b[0x0A:])&0x0100 != 0 {
			info.Encrypted, info.EncryptedHow = true, "the Word file information block has fEncrypted set"
		}
	case has("Workbook") || has("Book"):
		info.Kind, info.Description = XLS, "Excel 97-2003 workbook"
		e, ok := f.find("Workbook")
		if !ok {
			e, _ = f.find("Book")
		}
		b, _ := f.read(e, 256<<10)
		if filePass(b) {
			info.Encrypted, info.EncryptedHow = true, "the workbook has a FILEPASS record"
		}
	case has("PowerPoint Document"):
		info.Kind, info.Description = PPT, "PowerPoint 97-2003 presentation"
		if has("EncryptedSummary") {
			info.Encrypted, info.EncryptedHow = true, "the presentation has an EncryptedSummary stream"
		}
	case has("__properties_version1.0") || has("__substg1.0_001A001F") || has("__substg1.0_001A001E"):
		info.Kind, info.Description = MSG, "Outlook message"
		class := msgClass(f)
		switch {
		case strings.HasPrefix(strings.ToUpper(class), "IPM.NOTE.SMIME.MULTIPARTSIGNED"):
			info.OfficeSignature = true
		case strings.HasPrefix(strings.ToUpper(class), "IPM.NOTE.SMIME"):
			// Encrypted or opaque-signed S/MIME: the attachment's CMS says which.
			e, ok := f.find("__attach_version1.0_#00000000/__substg1.0_37010102")
			b, _ := f.read(e, maxArmoured)
			if ok {
				if k, err := cms.ContentKind(bytes.NewReader(b), int64(len(b))); err == nil && k.Encrypted() {
					info.Encrypted, info.EncryptedHow = true, "the message is S/MIME encrypted ("+string(k)+")"
				} else if k == cms.KindSignedData {
					info.OfficeSignature = true
				}
			}
		}
	default:
		info.Kind, info.Description = OLE, "compound file ("+strings.Join(f.rootNames(), ", ")+")"
	}
	return info, nil
}

// filePass walks BIFF records of the workbook globals up to their EOF
// record, looking for FILEPASS (0x002F).
func filePass(b []byte) bool {
	for p, n := 0, 0; p+4 <= len(b) && n < 10000; n++ {
		typ, l := binary.LittleEndian.Uint16(b[p:]), int(binary.LittleEndian.Uint16(b[p+2:]))
		switch typ {
		case 0x002F:
			return true
		case 0x000A:
			return false
		}
		p += 4 + l
	}
	return false
}

func msgClass(f *ole) string {
	if e, ok := f.find("__substg1.0_001A001F"); ok {
		b, _ := f.read(e, 512)
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(b[i:]))
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00")
	}
	if e, ok := f.find("__substg1.0_001A001E"); ok {
		b, _ := f.read(e, 512)
		return strings.TrimRight(string(b), "\x00")
	}
	return ""
}

// maxZipEntries bounds the central directory read.
const maxZipEntries = 100000

func detectZIP(r io.ReaderAt, size int64) (Info, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return Info{Kind: ZIP, Description: "damaged ZIP archive (" + err.Error() + ")"}, nil
	}
	if len(z.File) > maxZipEntries {
		return Info{Kind: ZIP, Description: fmt.Sprintf("ZIP archive with %d entries", len(z.File))}, nil
	}
	names := map[string]*zip.File{}
	info := Info{}
	for _, f := range z.File {
		names[f.Name] = f
		if f.Flags&0x1 != 0 || f.Method == 99 { // traditional PKWARE or WinZip AES encryption
			if !info.Encrypted {
				info.Encrypted, info.EncryptedHow = true, "ZIP entry "+quote(f.Name)+" is encrypted"
			}
		}
		if strings.HasPrefix(f.Name, "_xmlsignatures/") || strings.HasPrefix(f.Name, "META-INF/documentsignatures.xml") {
			info.OfficeSignature = true
		}
	}
	has := func(n string) bool { return names[n] != nil }
	switch {
	case has("[Content_Types].xml") && has("word/document.xml"):
		info.Kind, info.Description = DOCX, "Word document (Office Open XML)"
		if has("word/vbaProject.bin") {
			info.Kind, info.Description = DOCM, "macro-enabled Word document"
		}
	case has("[Content_Types].xml") && has("xl/workbook.xml"):
		info.Kind, info.Description = XLSX, "Excel workbook (Office Open XML)"
		if has("xl/vbaProject.bin") {
			info.Kind, info.Description = XLSM, "macro-enabled Excel workbook"
		}
	case has("[Content_Types].xml") && has("ppt/presentation.xml"):
		info.Kind, info.Description = PPTX, "PowerPoint presentation (Office Open XML)"
	case has("mimetype"):
		mt := readSmall(names["mimetype"], 128)
		switch strings.TrimSpace(mt) {
		case "application/vnd.oasis.opendocument.text":
			info.Kind, info.Description = ODT, "OpenDocument text"
		case "application/vnd.oasis.opendocument.spreadsheet":
			info.Kind, info.Description = ODS, "OpenDocument spreadsheet"
		default:
			info.Kind, info.Description = ZIP, "ZIP archive ("+mt+")"
		}
		if m := names["META-INF/manifest.xml"]; m != nil && strings.Contains(readSmall(m, 1<<20), "encryption-data") {
			info.Encrypted, info.EncryptedHow = true, "the OpenDocument manifest lists encrypted parts"
		}
	case has("META-INF/MANIFEST.MF"):
		info.Kind, info.Description = JAR, "Java archive"
	default:
		info.Kind, info.Description = ZIP, "ZIP archive"
	}
	return info, nil
}

func readSmall(f *zip.File, max int64) string {
	if f == nil || f.Flags&0x1 != 0 || f.UncompressedSize64 > uint64(max) {
		return ""
	}
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, max))
	return string(b)
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}
