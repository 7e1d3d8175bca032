package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Signature is one signature field's value: the CMS in /Contents and the
// byte ranges it covers.
type Signature struct {
	Field     string
	SubFilter string // adbe.pkcs7.detached, ETSI.CAdES.detached, adbe.pkcs7.sha1, ...
	Contents  []byte // the CMS, zero padding included
	ByteRange []int64
	Name      string
	Time      time.Time // /M, as the signing software wrote it
	// Problem says why the byte ranges cannot be trusted; the signature is
	// then not valid whatever the CMS says.
	Problem error
	// Appended is how many bytes follow the signed revision (later
	// incremental updates); 0 when the signature covers the whole file.
	Appended int64
}

// SignedData streams the bytes the signature covers.
func (f *File) SignedData(s *Signature) io.Reader {
	var rs []io.Reader
	for i := 0; i+1 < len(s.ByteRange); i += 2 {
		rs = append(rs, io.NewSectionReader(f.r, s.ByteRange[i], s.ByteRange[i+1]))
	}
	return io.MultiReader(rs...)
}

// Signatures lists the signature fields that have a value, walking the
// AcroForm field tree.
func (f *File) Signatures() ([]Signature, error) {
	form, _ := f.Get(f.Root(), "AcroForm").(Dict)
	if form == nil {
		return nil, nil
	}
	fields, _ := f.Get(form, "Fields").(Array)
	var out []Signature
	seen := map[Ref]bool{}
	var walk func(items Array, parentFT Name, prefix string, depth int) error
	walk = func(items Array, parentFT Name, prefix string, depth int) error {
		if depth > 16 {
			return errors.New("pdf: form fields nested too deep")
		}
		for _, it := range items {
			if r, ok := it.(Ref); ok {
				if seen[r] {
					continue
				}
				seen[r] = true
			}
			d, _ := f.Resolve(it)
			fd, ok := d.(Dict)
			if !ok {
				continue
			}
			ft, _ := f.Get(fd, "FT").(Name)
			if ft == "" {
				ft = parentFT
			}
			name := prefix
			if t, ok := f.Get(fd, "T").(String); ok {
				if name != "" {
					name += "."
				}
				name += decodeText(t)
			}
			if kids, ok := f.Get(fd, "Kids").(Array); ok {
				if err := walk(kids, ft, name, depth+1); err != nil {
					return err
				}
			}
			if ft != "Sig" {
				continue
			}
			v, _ := f.Get(fd, "V").(Dict)
			if v == nil {
				continue // an empty signature field
			}
			out = append(out, f.signature(name, v))
			if len(out) > 100 {
				return errors.New("pdf: more than 100 signatures")
			}
		}
		return nil
	}
	if err := walk(fields, "", "", 0); err != nil {
		return out, err
	}
	return out, nil
}

func (f *File) signature(field string, v Dict) Signature {
	s := Signature{Field: field}
	if sf, ok := f.Get(v, "SubFilter").(Name); ok {
		s.SubFilter = string(sf)
	}
	if n, ok := f.Get(v, "Name").(String); ok {
		s.Name = decodeText(n)
	}
	if m, ok := f.Get(v, "M").(String); ok {
		s.Time, _ = ParseDate(string(m))
	}
	c, _ := f.Get(v, "Contents").(String)
	s.Contents = []byte(c)
	br, _ := f.Get(v, "ByteRange").(Array)
	for _, x := range br {
		n, ok := x.(int64)
		if !ok {
			s.Problem = errors.New("/ByteRange holds a value that is not an integer")
			return s
		}
		s.ByteRange = append(s.ByteRange, n)
	}
	s.Problem = f.checkByteRange(&s)
	return s
}

// checkByteRange makes sure the signed ranges are the whole revision minus
// exactly the /Contents hex string: anything else lets unsigned bytes in.
func (f *File) checkByteRange(s *Signature) error {
	br := s.ByteRange
	if len(br) != 4 {
		return fmt.Errorf("/ByteRange has %d numbers, want 4", len(br))
	}
	if len(s.Contents) == 0 {
		return errors.New("empty /Contents")
	}
	if br[0] != 0 || br[1] < 0 || br[3] < 0 || br[2] < br[1] {
		return fmt.Errorf("/ByteRange %v does not start at the file's first byte or overlaps", br)
	}
	end := br[2] + br[3]
	if end > f.size {
		return fmt.Errorf("/ByteRange %v runs past the end of the file (%d bytes)", br, f.size)
	}
	gap := br[2] - br[1]
	if gap > 2*maxString+2 {
		return fmt.Errorf("/ByteRange leaves %d unsigned bytes, more than a signature needs", gap)
	}
	hole := make([]byte, gap)
	if _, err := f.r.ReadAt(hole, br[1]); err != nil && err != io.EOF {
		return err
	}
	if len(hole) < 2 || hole[0] != '<' || hole[len(hole)-1] != '>' {
		return errors.New("the unsigned gap in /ByteRange is not exactly the /Contents string")
	}
	l := newLexer(bytes.NewReader(hole), int64(len(hole)), 1)
	got, err := l.hex()
	if err != nil || !bytes.Equal([]byte(got), s.Contents) {
		return errors.New("the unsigned gap in /ByteRange holds other bytes than /Contents")
	}
	s.Appended = f.size - end
	return nil
}

// ParseDate reads a PDF date, D:YYYYMMDDHHmmSSOHH'mm'.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "D:")
	s = strings.ReplaceAll(s, "'", "")
	layouts := []string{"20060102150405-0700", "20060102150405Z0700", "20060102150405Z", "20060102150405", "200601021504", "20060102"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("PDF date %q", s)
}

// decodeText decodes a PDF text string: UTF-16BE with a BOM, UTF-8 with a
// BOM, or PDFDocEncoding (read as Latin-1, which it equals for letters).
func decodeText(s String) string {
	b := []byte(s)
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		var rs []rune
		for i := 2; i+1 < len(b); i += 2 {
			u := rune(b[i])<<8 | rune(b[i+1])
			if u >= 0xd800 && u < 0xdc00 && i+3 < len(b) {
				lo := rune(b[i+2])<<8 | rune(b[i+3])
				u = 0x10000 + (u-0xd800)<<10 + (lo - 0xdc00)
				i += 2
			}
			rs = append(rs, u)
		}
		return string(rs)
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return string(b[3:])
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}
