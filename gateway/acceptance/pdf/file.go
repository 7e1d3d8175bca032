// Package pdf reads what acceptance needs from a PDF without loading it:
// whether it is encrypted, its signatures (ByteRange and CMS), and its text.
// It parses cross-reference tables and streams, object streams and the
// common filters, within fixed limits, and rebuilds the object index by
// scanning when the cross-reference data is damaged.
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// File is an opened PDF.
type File struct {
	r       io.ReaderAt
	size    int64
	Trailer Dict // the newest trailer, with keys of older ones it lacks
	xref    map[int64]xrefEntry
	// Encrypted is set when any trailer names an /Encrypt dictionary.
	Encrypted bool
	// Repaired says the cross-reference data was unusable and the object
	// index was rebuilt by scanning.
	Repaired bool

	cache    map[Ref]any
	objStms  map[int64][]byte
	budget   int64 // decoded bytes left (all streams together)
	resolves int
}

type xrefEntry struct {
	off    int64 // type 1: file offset
	stm    int64 // type 2: object stream number
	idx    int64 // type 2: index within it
	inStm  bool
	exists bool
}

// Limits against hostile files.
const (
	maxSections      = 512
	maxObjects       = 4 << 20
	maxDecodedTotal  = 64 << 20
	maxResolves      = 1 << 20
	startxrefWindow  = 4096
	maxStreamDecoded = 16 << 20
)

// ErrNotPDF is returned for input without a %PDF- header.
var ErrNotPDF = errors.New("not a PDF (no %PDF- header)")

// IsPDF reports a %PDF- header in the first KiB (where readers look for it).
func IsPDF(r io.ReaderAt, size int64) bool {
	b := make([]byte, min(size, 1024))
	n, _ := r.ReadAt(b, 0)
	return bytes.Contains(b[:n], []byte("%PDF-"))
}

// Open reads the cross-reference data and trailer of the PDF in r.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if !IsPDF(r, size) {
		return nil, ErrNotPDF
	}
	f := &File{r: r, size: size, xref: map[int64]xrefEntry{}, cache: map[Ref]any{}, objStms: map[int64][]byte{}, budget: maxDecodedTotal}
	err := f.readXref()
	if err != nil || f.Trailer["Root"] == nil {
		f.xref, f.Trailer, f.Encrypted = map[int64]xrefEntry{}, nil, false
		if rerr := f.rebuild(); rerr != nil {
			return nil, fmt.Errorf("pdf: cross-reference data unusable (%v) and rebuilding failed: %w", err, rerr)
		}
		f.Repaired = true
	}
	if f.Trailer["Encrypt"] != nil {
		f.Encrypted = true
	}
	return f, nil
}

var startxrefRE = regexp.MustCompile(`startxref\s+(\d+)`)

func (f *File) readXref() error {
	n := min(f.size, startxrefWindow)
	tail := make([]byte, n)
	if _, err := f.r.ReadAt(tail, f.size-n); err != nil && err != io.EOF {
		return err
	}
	all := startxrefRE.FindAllSubmatch(tail, -1)
	if len(all) == 0 {
		return errors.New("no startxref")
	}
	off, err := strconv.ParseInt(string(all[len(all)-1][1]), 10, 64)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for i := 0; off > 0 || i == 0; i++ {
		if i >= maxSections || seen[off] {
			return errors.New("cross-reference sections loop or are too many")
		}
		seen[off] = true
		trailer, err := f.section(off)
		if err != nil {
			return fmt.Errorf("cross-reference section at %d: %w", off, err)
		}
		if trailer["Encrypt"] != nil {
			f.Encrypted = true
		}
		if f.Trailer == nil {
			f.Trailer = Dict{}
		}
		for k, v := range trailer {
			if _, ok := f.Trailer[k]; !ok {
				f.Trailer[k] = v
			}
		}
		if stm, ok := trailer["XRefStm"].(int64); ok && !seen[stm] { // hybrid files
			seen[stm] = true
			if _, err := f.section(stm); err != nil {
				return fmt.Errorf("cross-reference stream at %d: %w", stm, err)
			}
		}
		prev, ok := trailer["Prev"].(int64)
		if !ok {
			break
		}
		off = prev
	}
	return nil
}

// section reads a classic table or a cross-reference stream at off and
// returns its trailer dictionary. Older sections do not override newer ones.
func (f *File) section(off int64) (Dict, error) {
	l := newLexer(f.r, f.size, off)
	tok, err := l.token()
	if err != nil {
		return nil, err
	}
	if tok == keyword("xref") {
		for {
			tok, err := l.token()
			if err != nil {
				return nil, err
			}
			if tok == keyword("trailer") {
				d, err := l.object(0)
				if err != nil {
					return nil, err
				}
				dict, ok := d.(Dict)
				if !ok {
					return nil, errors.New("trailer is not a dictionary")
				}
				return dict, nil
			}
			start, ok1 := tok.(int64)
			c, _ := l.token()
			count, ok2 := c.(int64)
			if !ok1 || !ok2 || start < 0 || count < 0 || count > maxObjects {
				return nil, errors.New("bad subsection header")
			}
			for i := int64(0); i < count; i++ {
				o, _ := l.token()
				_, _ = l.token() // generation
				typ, _ := l.token()
				offset, ok := o.(int64)
				if !ok || (typ != keyword("n") && typ != keyword("f")) {
					return nil, fmt.Errorf("bad entry %d of subsection %d", i, start)
				}
				if _, dup := f.xref[start+i]; !dup && len(f.xref) < maxObjects {
					f.xref[start+i] = xrefEntry{off: offset, exists: typ == keyword("n")}
				}
			}
		}
	}
	// A cross-reference stream: "N G obj << /Type /XRef ... >> stream".
	if _, ok := tok.(int64); !ok {
		return nil, fmt.Errorf("neither xref nor an object (%v)", tok)
	}
	obj, err := f.objectAt(off, nil)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok || s.Dict["Type"] != Name("XRef") {
		return nil, errors.New("not a cross-reference stream")
	}
	data, err := f.decode(s)
	if err != nil {
		return nil, err
	}
	w, ok := s.Dict["W"].(Array)
	if !ok || len(w) != 3 {
		return nil, errors.New("cross-reference stream without /W")
	}
	var ws [3]int
	for i := range ws {
		n, _ := w[i].(int64)
		if n < 0 || n > 8 {
			return nil, errors.New("bad /W")
		}
		ws[i] = int(n)
	}
	index := Array{int64(0), s.Dict["Size"]}
	if ix, ok := s.Dict["Index"].(Array); ok {
		index = ix
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return nil, errors.New("empty /W")
	}
	p := 0
	for i := 0; i+1 < len(index); i += 2 {
		start, _ := index[i].(int64)
		count, _ := index[i+1].(int64)
		if start < 0 || count < 0 || count > maxObjects {
			return nil, errors.New("bad /Index")
		}
		for j := int64(0); j < count && p+rowLen <= len(data); j++ {
			row := data[p : p+rowLen]
			p += rowLen
			typ := int64(1)
			if ws[0] > 0 {
				typ = be(row[:ws[0]])
			}
			a, b := be(row[ws[0]:ws[0]+ws[1]]), be(row[ws[0]+ws[1]:])
			num := start + j
			if _, dup := f.xref[num]; dup || len(f.xref) >= maxObjects {
				continue
			}
			switch typ {
			case 0:
				f.xref[num] = xrefEntry{}
			case 1:
				f.xref[num] = xrefEntry{off: a, exists: true}
			case 2:
				f.xref[num] = xrefEntry{stm: a, idx: b, inStm: true, exists: true}
			}
		}
	}
	return s.Dict, nil
}

func be(b []byte) int64 {
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

var objHeaderRE = regexp.MustCompile(`(?:^|[\r\n\s])(\d{1,10})\s+(\d{1,5})\s+obj\b`)

// rebuild scans the whole file for "N G obj" and trailers, in chunks.
func (f *File) rebuild() error {
	const chunk, overlap = 1 << 20, 64
	buf := make([]byte, min(chunk+overlap, f.size))
	var trailers []int64
	for base := int64(0); base < f.size; base += chunk {
		n, err := f.r.ReadAt(buf[:min(int64(len(buf)), f.size-base)], base)
		if n == 0 && err != nil {
			return err
		}
		b := buf[:n]
		for _, m := range objHeaderRE.FindAllSubmatchIndex(b, -1) {
			if int64(m[2]) >= chunk && base+chunk < f.size {
				continue // found again in the next chunk
			}
			num, _ := strconv.ParseInt(string(b[m[2]:m[3]]), 10, 64)
			if len(f.xref) < maxObjects {
				f.xref[num] = xrefEntry{off: base + int64(m[2]), exists: true} // later copies win
			}
		}
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte("trailer"))
			if j < 0 {
				break
			}
			if int64(i+j) < chunk || base+chunk >= f.size {
				trailers = append(trailers, base+int64(i+j+len("trailer")))
			}
			i += j + 1
		}
	}
	if len(f.xref) == 0 {
		return errors.New("no objects found")
	}
	f.Trailer = Dict{}
	for i := len(trailers) - 1; i >= 0; i-- {
		l := newLexer(f.r, f.size, trailers[i])
		if d, err := l.object(0); err == nil {
			if dict, ok := d.(Dict); ok {
				if dict["Encrypt"] != nil {
					f.Encrypted = true
				}
				for k, v := range dict {
					if _, ok := f.Trailer[k]; !ok {
						f.Trailer[k] = v
					}
				}
			}
		}
	}
	if f.Trailer["Root"] == nil {
		// Cross-reference streams carry the trailer keys; find a catalog otherwise.
		for num := range f.xref {
			obj, err := f.Resolve(Ref{num, 0})
			if err != nil {
				continue
			}
			if s, ok := obj.(*Stream); ok && s.Dict["Type"] == Name("XRef") {
				if s.Dict["Encrypt"] != nil {
					f.Encrypted = true
				}
				if s.Dict["Root"] != nil {
					f.Trailer["Root"] = s.Dict["Root"]
				}
			}
			if d, ok := obj.(Dict); ok && d["Type"] == Name("Catalog") && f.Trailer["Root"] == nil {
				f.Trailer["Root"] = Ref{num, 0}
			}
		}
	}
	if f.Trailer["Root"] == nil {
		return errors.New("no document catalog")
	}
	return nil
}

// objectAt parses "N G obj <object>" at off.
func (f *File) objectAt(off int64, want *Ref) (any, error) {
	l := newLexer(f.r, f.size, off)
	n, _ := l.token()
	g, _ := l.token()
	o, _ := l.token()
	num, ok1 := n.(int64)
	gen, ok2 := g.(int64)
	if !ok1 || !ok2 || o != keyword("obj") {
		return nil, fmt.Errorf("%w: no object header at %d", errSyntax, off)
	}
	if want != nil && num != want.Num {
		return nil, fmt.Errorf("%w: object %d found where the index says %d", errSyntax, num, want.Num)
	}
	_ = gen
	obj, err := l.object(0)
	if err != nil {
		return nil, err
	}
	if s, ok := obj.(*Stream); ok {
		s.len = -1
		if n, ok := s.Dict["Length"].(int64); ok {
			s.len = n
		} else if r, ok := s.Dict["Length"].(Ref); ok && (want == nil || r != *want) {
			if v, err := f.Resolve(r); err == nil {
				if n, ok := v.(int64); ok {
					s.len = n
				}
			}
		}
		if s.len < 0 || s.off+s.len > f.size {
			s.len = f.streamEnd(s.off) - s.off
		}
	}
	return obj, nil
}

// streamEnd finds "endstream" after off, for streams whose /Length is
// missing or wrong.
func (f *File) streamEnd(off int64) int64 {
	const chunk = 64 << 10
	buf := make([]byte, chunk+9)
	for p := off; p < f.size; p += chunk {
		n, _ := f.r.ReadAt(buf[:min(int64(len(buf)), f.size-p)], p)
		if i := bytes.Index(buf[:n], []byte("endstream")); i >= 0 {
			end := p + int64(i)
			// drop the EOL before the keyword
			for end > off {
				var c [1]byte
				f.r.ReadAt(c[:], end-1)
				if c[0] != '\n' && c[0] != '\r' {
					break
				}
				end--
			}
			return end
		}
		if n == 0 {
			break
		}
	}
	return f.size
}

// Resolve follows references until a direct object (nil for a missing one).
func (f *File) Resolve(v any) (any, error) {
	for i := 0; i < 32; i++ {
		r, ok := v.(Ref)
		if !ok {
			return v, nil
		}
		if f.resolves++; f.resolves > maxResolves {
			return nil, errors.New("pdf: too many object lookups")
		}
		if obj, ok := f.cache[r]; ok {
			v = obj
			continue
		}
		e := f.xref[r.Num]
		if !e.exists {
			return nil, nil
		}
		var obj any
		var err error
		if e.inStm {
			obj, err = f.fromObjStm(e.stm, e.idx, r.Num)
		} else {
			obj, err = f.objectAt(e.off, &r)
		}
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", r.Num, err)
		}
		if len(f.cache) < 1<<16 {
			f.cache[r] = obj
		}
		v = obj
	}
	return nil, errors.New("pdf: reference chain too long")
}

func (f *File) fromObjStm(stm, idx, num int64) (any, error) {
	data, ok := f.objStms[stm]
	if !ok {
		obj, err := f.Resolve(Ref{stm, 0})
		if err != nil {
			return nil, err
		}
		s, ok := obj.(*Stream)
		if !ok {
			return nil, fmt.Errorf("object stream %d is not a stream", stm)
		}
		if data, err = f.decode(s); err != nil {
			return nil, err
		}
		f.objStms[stm] = data
	}
	obj, err := f.Resolve(Ref{stm, 0})
	if err != nil {
		return nil, err
	}
	s := obj.(*Stream)
	n, _ := s.Dict["N"].(int64)
	first, _ := s.Dict["First"].(int64)
	if idx < 0 || idx >= n || first < 0 || first > int64(len(data)) {
		return nil, fmt.Errorf("object %d: index %d outside object stream %d", num, idx, stm)
	}
	l := newLexer(bytes.NewReader(data), int64(len(data)), 0)
	var off int64 = -1
	for i := int64(0); i <= idx; i++ {
		a, _ := l.token()
		b, _ := l.token()
		on, ok1 := a.(int64)
		oo, ok2 := b.(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("object stream %d: bad header", stm)
		}
		if i == idx {
			if on != num {
				return nil, fmt.Errorf("object stream %d holds object %d where %d was expected", stm, on, num)
			}
			off = oo
		}
	}
	l = newLexer(bytes.NewReader(data), int64(len(data)), first+off)
	return l.object(0)
}

// Get resolves d[key].
func (f *File) Get(d Dict, key Name) any {
	v, _ := f.Resolve(d[key])
	return v
}

// Root is the document catalog.
func (f *File) Root() Dict {
	d, _ := f.Get(f.Trailer, "Root").(Dict)
	return d
}
