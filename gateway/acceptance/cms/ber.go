package cms

import (
	"errors"
	"fmt"
	"io"
)

// node is one BER element located in a ReaderAt: its content is not read,
// so an attached document of any size is only walked over, never copied.
type node struct {
	class, tag  int
	constructed bool
	start       int64 // offset of the identifier octet
	off         int64 // offset of the content
	len         int64 // content length; -1 for the indefinite form
	end         int64 // offset just past the element (after the EOC octets when indefinite)
}

// Limits against hostile input: nesting depth and the size of the parts
// that are read into memory (certificates, signer infos).
const (
	maxDepth    = 32
	maxInMemory = 4 << 20
)

var errMalformed = errors.New("malformed BER")

// walker reads BER elements from r, which holds size bytes.
type walker struct {
	r    io.ReaderAt
	size int64
}

// header reads the element starting at off. For the indefinite form it
// walks the children to find the end.
func (w *walker) header(off, limit int64, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	var b [12]byte
	n, err := w.r.ReadAt(b[:], off)
	if n < 2 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return node{}, fmt.Errorf("%w at offset %d: %v", errMalformed, off, err)
	}
	h := b[:n]
	nd := node{start: off, class: int(h[0] >> 6), constructed: h[0]&0x20 != 0, tag: int(h[0] & 0x1f)}
	i := 1
	if nd.tag == 0x1f { // high tag number form
		nd.tag = 0
		for {
			if i >= len(h) || i > 4 {
				return node{}, fmt.Errorf("%w: tag too long at offset %d", errMalformed, off)
			}
			c := h[i]
			i++
			nd.tag = nd.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(h) {
		return node{}, fmt.Errorf("%w: truncated header at offset %d", errMalformed, off)
	}
	l := h[i]
	i++
	switch {
	case l < 0x80:
		nd.len = int64(l)
	case l == 0x80:
		if !nd.constructed {
			return node{}, fmt.Errorf("%w: primitive element with indefinite length at offset %d", errMalformed, off)
		}
		nd.len = -1
	default:
		k := int(l & 0x7f)
		if k > 8 || i+k > len(h) {
			return node{}, fmt.Errorf("%w: length of %d octets at offset %d", errMalformed, k, off)
		}
		var v int64
		for _, c := range h[i : i+k] {
			if v > (1<<55)-1 {
				return node{}, fmt.Errorf("%w: length overflows at offset %d", errMalformed, off)
			}
			v = v<<8 | int64(c)
		}
		i += k
		nd.len = v
	}
	nd.off = off + int64(i)
	if nd.len >= 0 {
		nd.end = nd.off + nd.len
		if nd.end > limit || nd.end > w.size {
			return node{}, fmt.Errorf("%w: element at offset %d runs past its container", errMalformed, off)
		}
		return nd, nil
	}
	// Indefinite: children until the end-of-contents octets 00 00.
	p := nd.off
	for {
		if p+2 > limit {
			return node{}, fmt.Errorf("%w: no end-of-contents for the element at offset %d", errMalformed, off)
		}
		var eoc [2]byte
		if _, err := w.r.ReadAt(eoc[:], p); err != nil {
			return node{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if eoc[0] == 0 && eoc[1] == 0 {
			nd.end = p + 2
			return nd, nil
		}
		c, err := w.header(p, limit, depth+1)
		if err != nil {
			return node{}, err
		}
		p = c.end
	}
}

// contentEnd is where the children of a constructed node stop.
func (nd node) contentEnd() int64 {
	if nd.len < 0 {
		return nd.end - 2
	}
	return nd.end
}

// children lists the elements inside a constructed node.
func (w *walker) children(nd node, depth int) ([]node, error) {
	if !nd.constructed {
		return nil, fmt.Errorf("%w: expected a constructed element at offset %d", errMalformed, nd.start)
	}
	var out []node
	for p := nd.off; p < nd.contentEnd(); {
		c, err := w.header(p, nd.contentEnd(), depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		p = c.end
		if len(out) > 100000 {
			return nil, fmt.Errorf("%w: too many elements", errMalformed)
		}
	}
	return out, nil
}

// bytes reads a whole element (header included), bounded by maxInMemory.
func (w *walker) bytes(nd node) ([]byte, error) {
	if nd.end-nd.start > maxInMemory {
		return nil, fmt.Errorf("element of %d bytes at offset %d is larger than %d", nd.end-nd.start, nd.start, maxInMemory)
	}
	b := make([]byte, nd.end-nd.start)
	if _, err := w.r.ReadAt(b, nd.start); err != nil && !(err == io.EOF && nd.end == w.size) {
		return nil, err
	}
	return b, nil
}

// content reads the content octets of a definite-length element.
func (w *walker) content(nd node) ([]byte, error) {
	if nd.len < 0 {
		return nil, fmt.Errorf("%w: indefinite length where a definite one is needed at offset %d", errMalformed, nd.start)
	}
	b, err := w.bytes(nd)
	if err != nil {
		return nil, err
	}
	return b[nd.off-nd.start:], nil
}

// segments returns where the octets of an OCTET STRING lie: one run for the
// primitive form, the runs of its pieces for the constructed (BER) form.
func (w *walker) segments(nd node, depth int) ([][2]int64, error) {
	if nd.class != 0 || nd.tag != 4 {
		return nil, fmt.Errorf("%w: expected an OCTET STRING at offset %d", errMalformed, nd.start)
	}
	if !nd.constructed {
		return [][2]int64{{nd.off, nd.len}}, nil
	}
	kids, err := w.children(nd, depth)
	if err != nil {
		return nil, err
	}
	var out [][2]int64
	for _, k := range kids {
		s, err := w.segments(k, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

func (nd node) is(class, tag int) bool { return nd.class == class && nd.tag == tag }

const (
	classUniversal = 0
	classContext   = 2
	tagInteger     = 2
	tagOctetString = 4
	tagOID         = 6
	tagSequence    = 16
	tagSet         = 17
)
