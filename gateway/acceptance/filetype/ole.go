package filetype

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// oleMagic starts every OLE2 compound file (.doc, .xls, .ppt, .msg, and
// password-protected OOXML).
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

const (
	oleEnd      = 0xFFFFFFFE
	oleFree     = 0xFFFFFFFF
	oleMaxEntry = 1 << 16 // directory entries read
)

// ole is a compound file opened for reading streams by path.
type ole struct {
	r          io.ReaderAt
	size       int64
	shift      uint
	fat        []uint32
	miniFAT    []uint32
	miniCutoff uint32
	entries    []oleEntry
	miniChain  []uint32 // sectors of the mini stream (the root entry's stream)
}

type oleEntry struct {
	name               string
	typ                byte // 1 storage, 2 stream, 5 root
	left, right, child uint32
	start              uint32
	size               uint64
}

var errOLE = errors.New("malformed compound file")

func openOLE(r io.ReaderAt, size int64) (*ole, error) {
	var h [512]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("%w: short header", errOLE)
	}
	le := binary.LittleEndian
	shift := uint(le.Uint16(h[0x1E:]))
	if shift != 9 && shift != 12 {
		return nil, fmt.Errorf("%w: sector shift %d", errOLE, shift)
	}
	f := &ole{r: r, size: size, shift: shift, miniCutoff: le.Uint32(h[0x38:])}
	nSectors := uint32((size + (1 << shift) - 1) >> shift)
	// The DIFAT: 109 entries in the header, then chained DIFAT sectors.
	var difat []uint32
	for i := 0; i < 109; i++ {
		if s := le.Uint32(h[0x4C+4*i:]); s < nSectors {
			difat = append(difat, s)
		}
	}
	next, nDIFAT := le.Uint32(h[0x44:]), le.Uint32(h[0x48:])
	per := (1 << shift) / 4
	for i := uint32(0); i < nDIFAT && next < nSectors; i++ {
		sec, err := f.sector(next)
		if err != nil {
			return nil, err
		}
		for j := 0; j < per-1; j++ {
			if s := le.Uint32(sec[4*j:]); s < nSectors {
				difat = append(difat, s)
			}
		}
		next = le.Uint32(sec[4*(per-1):])
	}
	if len(difat) > int(nSectors) {
		return nil, fmt.Errorf("%w: more FAT sectors than sectors", errOLE)
	}
	for _, s := range difat {
		sec, err := f.sector(s)
		if err != nil {
			return nil, err
		}
		for j := 0; j < per; j++ {
			f.fat = append(f.fat, le.Uint32(sec[4*j:]))
		}
	}
	dir, err := f.chainBytes(le.Uint32(h[0x30:]), f.fat, 0, oleMaxEntry*128)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	for i := 0; i+128 <= len(dir); i += 128 {
		e := dir[i : i+128]
		n := int(le.Uint16(e[0x40:]))
		if n > 64 {
			n = 64
		}
		u := make([]uint16, 0, 32)
		for j := 0; j+1 < n; j += 2 {
			if c := le.Uint16(e[j:]); c != 0 {
				u = append(u, c)
			}
		}
		f.entries = append(f.entries, oleEntry{
			name: string(utf16.Decode(u)), typ: e[0x42],
			left: le.Uint32(e[0x44:]), right: le.Uint32(e[0x48:]), child: le.Uint32(e[0x4C:]),
			start: le.Uint32(e[0x74:]), size: le.Uint64(e[0x78:]),
		})
	}
	if len(f.entries) == 0 || f.entries[0].typ != 5 {
		return nil, fmt.Errorf("%w: no root entry", errOLE)
	}
	if h[0x1A] == 3 { // version 3 files keep only the low 32 bits of sizes meaningful
		for i := range f.entries {
			f.entries[i].size &= 0xFFFFFFFF
		}
	}
	if mf, err := f.chainBytes(le.Uint32(h[0x3C:]), f.fat, 0, 64<<20); err == nil {
		for j := 0; j+4 <= len(mf); j += 4 {
			f.miniFAT = append(f.miniFAT, le.Uint32(mf[j:]))
		}
	}
	f.miniChain, _ = f.chain(f.entries[0].start, f.fat)
	return f, nil
}

func (f *ole) sector(n uint32) ([]byte, error) {
	b := make([]byte, 1<<f.shift)
	off := (int64(n) + 1) << f.shift
	if _, err := f.r.ReadAt(b, off); err != nil && !(err == io.EOF && off < f.size) {
		return nil, fmt.Errorf("%w: sector %d outside the file", errOLE, n)
	}
	return b, nil
}

// chain follows a FAT chain, refusing loops.
func (f *ole) chain(start uint32, fat []uint32) ([]uint32, error) {
	var out []uint32
	for s := start; s != oleEnd && s != oleFree; {
		if int(s) >= len(fat) || len(out) > len(fat) {
			return out, fmt.Errorf("%w: broken sector chain", errOLE)
		}
		out = append(out, s)
		s = fat[s]
	}
	return out, nil
}

// chainBytes reads up to max bytes (0: the whole chain up to the limit) of
// a regular-sector chain.
func (f *ole) chainBytes(start uint32, fat []uint32, want uint64, max int) ([]byte, error) {
	secs, err := f.chain(start, fat)
	if err != nil && len(secs) == 0 {
		return nil, err
	}
	var out []byte
	for _, s := range secs {
		if len(out) >= max || (want > 0 && uint64(len(out)) >= want) {
			break
		}
		b, err := f.sector(s)
		if err != nil {
			return out, err
		}
		out = append(out, b...)
	}
	if want > 0 && uint64(len(out)) > want {
		out = out[:want]
	}
	return out, nil
}

// read returns up to max bytes of a stream entry.
func (f *ole) read(e oleEntry, max int) ([]byte, error) {
	want := min(e.size, uint64(max))
	if e.size >= uint64(f.miniCutoff) {
		return f.chainBytes(e.start, f.fat, want, max)
	}
	// Small streams live in the mini stream, in 64-byte mini sectors.
	secs, err := f.chain(e.start, f.miniFAT)
	if err != nil && len(secs) == 0 {
		return nil, err
	}
	var out []byte
	for _, m := range secs {
		if uint64(len(out)) >= want {
			break
		}
		off := int64(m) << 6 // offset in the mini stream
		big := off >> f.shift
		if int(big) >= len(f.miniChain) {
			return out, fmt.Errorf("%w: mini sector outside the mini stream", errOLE)
		}
		pos := (int64(f.miniChain[big])+1)<<f.shift + off&((1<<f.shift)-1)
		b := make([]byte, 64)
		if _, err := f.r.ReadAt(b, pos); err != nil && err != io.EOF {
			return out, err
		}
		out = append(out, b...)
	}
	if uint64(len(out)) > want {
		out = out[:want]
	}
	return out, nil
}

// children lists the entries directly inside storage i (its red-black tree).
func (f *ole) children(i int) []int {
	var out []int
	seen := map[uint32]bool{}
	var walk func(n uint32, depth int)
	walk = func(n uint32, depth int) {
		if n == oleFree || int(n) >= len(f.entries) || seen[n] || depth > 256 || len(out) > oleMaxEntry {
			return
		}
		seen[n] = true
		walk(f.entries[n].left, depth+1)
		out = append(out, int(n))
		walk(f.entries[n].right, depth+1)
	}
	walk(f.entries[i].child, 0)
	return out
}

// find returns the entry at a path of names ("a/b"), matched without case
// as the format requires.
func (f *ole) find(path string) (oleEntry, bool) {
	cur := 0
	for _, part := range strings.Split(path, "/") {
		found := -1
		for _, c := range f.children(cur) {
			if strings.EqualFold(f.entries[c].name, part) {
				found = c
				break
			}
		}
		if found < 0 {
			return oleEntry{}, false
		}
		cur = found
	}
	return f.entries[cur], true
}

// rootNames lists the names at the top level.
func (f *ole) rootNames() []string {
	var out []string
	for _, c := range f.children(0) {
		out = append(out, f.entries[c].name)
	}
	return out
}
