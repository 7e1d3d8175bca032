package acceptancetest

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// OLEStream is one stream of a compound file made by MakeOLE.
type OLEStream struct {
	Name string
	Data []byte
}

// MakeOLE writes a version-3 compound file holding streams at its root,
// for shapes no tool here writes (a password-protected OOXML container, an
// Outlook .msg). Each stream is padded to 4096 bytes so it lives in regular
// sectors. Tests check its output with python3-olefile, an independent reader.
func MakeOLE(t testing.TB, streams []OLEStream) []byte {
	t.Helper()
	const sec = 512
	le := binary.LittleEndian
	dirSectors := (len(streams) + 1 + 3) / 4
	var chains [][]byte
	next := 1 + dirSectors
	starts := make([]int, len(streams))
	for i, s := range streams {
		d := append([]byte(nil), s.Data...)
		for len(d) < 4096 || len(d)%sec != 0 {
			d = append(d, 0)
		}
		chains = append(chains, d)
		starts[i] = next
		next += len(d) / sec
	}
	if next > sec/4 {
		t.Fatal("MakeOLE: too much data for one FAT sector")
	}
	fat := make([]byte, sec)
	for i := range sec / 4 {
		le.PutUint32(fat[4*i:], 0xFFFFFFFF)
	}
	le.PutUint32(fat[0:], 0xFFFFFFFD) // the FAT sector itself
	link := func(start, n int) {
		for i := 0; i < n; i++ {
			v := uint32(start + i + 1)
			if i == n-1 {
				v = 0xFFFFFFFE
			}
			le.PutUint32(fat[4*(start+i):], v)
		}
	}
	link(1, dirSectors)
	for i, c := range chains {
		link(starts[i], len(c)/sec)
	}
	dir := make([]byte, dirSectors*sec)
	entry := func(i int, name string, typ byte, child, right uint32, start uint32, size uint64) {
		e := dir[128*i : 128*(i+1)]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[0x40:], uint16(2*len(u)+2))
		e[0x42], e[0x43] = typ, 1
		le.PutUint32(e[0x44:], 0xFFFFFFFF)
		le.PutUint32(e[0x48:], right)
		le.PutUint32(e[0x4C:], child)
		le.PutUint32(e[0x74:], start)
		le.PutUint64(e[0x78:], size)
	}
	for i := len(streams) + 1; i < dirSectors*4; i++ {
		entry(i, "", 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0)
	}
	entry(0, "Root Entry", 5, 1, 0xFFFFFFFF, 0xFFFFFFFE, 0)
	for i, s := range streams {
		right := uint32(i + 2)
		if i == len(streams)-1 {
			right = 0xFFFFFFFF
		}
		entry(i+1, s.Name, 2, 0xFFFFFFFF, right, uint32(starts[i]), uint64(len(chains[i])))
	}
	h := make([]byte, sec)
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[0x18:], 0x3E)
	le.PutUint16(h[0x1A:], 3)
	le.PutUint16(h[0x1C:], 0xFFFE)
	le.PutUint16(h[0x1E:], 9)
	le.PutUint16(h[0x20:], 6)
	le.PutUint32(h[0x2C:], 1)
	le.PutUint32(h[0x30:], 1)
	le.PutUint32(h[0x38:], 4096)
	le.PutUint32(h[0x3C:], 0xFFFFFFFE)
	le.PutUint32(h[0x44:], 0xFFFFFFFE)
	for i := 0; i < 109; i++ {
		le.PutUint32(h[0x4C+4*i:], 0xFFFFFFFF)
	}
	le.PutUint32(h[0x4C:], 0)
	out := append(h, fat...)
	out = append(out, dir...)
	for _, c := range chains {
		out = append(out, c...)
	}
	return out
}

// UTF16LE encodes s as Outlook stores string properties.
func UTF16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
