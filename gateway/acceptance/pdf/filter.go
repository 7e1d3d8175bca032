package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// ErrUnsupportedFilter is a stream encoded in a way this package does not
// decode (images, LZW); callers skip such streams.
var ErrUnsupportedFilter = errors.New("pdf: unsupported stream filter")

// Raw returns the stream's bytes as stored.
func (s *Stream) Raw() io.Reader { return io.NewSectionReader(s.src, s.off, s.len) }

// decode returns a stream's decoded data, charged against the file's budget.
func (f *File) decode(s *Stream) ([]byte, error) {
	limit := min(int64(maxStreamDecoded), f.budget)
	if limit <= 0 {
		return nil, errors.New("pdf: decoded-data budget spent")
	}
	filters, params := f.filters(s.Dict)
	var r io.Reader = s.Raw()
	for i, name := range filters {
		var p Dict
		if i < len(params) {
			p = params[i]
		}
		var err error
		if r, err = applyFilter(name, p, r, limit); err != nil {
			return nil, err
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil && !(len(b) > 0 && errors.Is(err, io.ErrUnexpectedEOF)) {
		return nil, fmt.Errorf("pdf: decode stream: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("pdf: stream decodes to more than %d bytes", limit)
	}
	f.budget -= int64(len(b))
	return b, nil
}

func (f *File) filters(d Dict) ([]Name, []Dict) {
	var names []Name
	var params []Dict
	switch v := f.Get(d, "Filter").(type) {
	case Name:
		names = []Name{v}
	case Array:
		for _, x := range v {
			if n, ok := x.(Name); ok {
				names = append(names, n)
			}
		}
	}
	switch v := f.Get(d, "DecodeParms").(type) {
	case Dict:
		params = []Dict{v}
	case Array:
		for _, x := range v {
			p, _ := f.Resolve(x)
			pd, _ := p.(Dict)
			params = append(params, pd)
		}
	}
	return names, params
}

func applyFilter(name Name, p Dict, r io.Reader, limit int64) (io.Reader, error) {
	switch name {
	case "FlateDecode", "Fl":
		z, err := zlib.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("pdf: FlateDecode: %w", err)
		}
		return predictor(p, z, limit)
	case "ASCIIHexDecode", "AHx":
		return asciiHex(r, limit)
	case "ASCII85Decode", "A85":
		return ascii85(r, limit)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedFilter, name)
}

// predictor undoes PNG predictors (cross-reference and object streams use
// them); TIFF predictor 2 is left to images, which are never decoded here.
func predictor(p Dict, r io.Reader, limit int64) (io.Reader, error) {
	pred, _ := p["Predictor"].(int64)
	if pred < 10 {
		return r, nil
	}
	cols, _ := p["Columns"].(int64)
	if cols <= 0 {
		cols = 1
	}
	colors, _ := p["Colors"].(int64)
	if colors <= 0 {
		colors = 1
	}
	bpc, _ := p["BitsPerComponent"].(int64)
	if bpc <= 0 {
		bpc = 8
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	if rowLen <= 0 || rowLen > 1<<20 {
		return nil, errors.New("pdf: bad predictor columns")
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil && len(data) == 0 {
		return nil, err
	}
	var out bytes.Buffer
	prev := make([]byte, rowLen)
	for len(data) >= rowLen+1 {
		typ, row := data[0], data[1:rowLen+1]
		data = data[rowLen+1:]
		for i := range row {
			var left, up, ul byte
			if i >= bpp {
				left, ul = row[i-bpp], prev[i-bpp]
			}
			up = prev[i]
			switch typ {
			case 1:
				row[i] += left
			case 2:
				row[i] += up
			case 3:
				row[i] += byte((int(left) + int(up)) / 2)
			case 4:
				row[i] += paeth(left, up, ul)
			}
		}
		out.Write(row)
		copy(prev, row)
	}
	return &out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func asciiHex(r io.Reader, limit int64) (io.Reader, error) {
	in, err := io.ReadAll(io.LimitReader(r, 2*limit+2))
	if err != nil {
		return nil, err
	}
	var out []byte
	hi := -1
	for _, c := range in {
		if c == '>' {
			break
		}
		v := unhex(int(c))
		if v < 0 {
			continue
		}
		if hi < 0 {
			hi = v
		} else {
			out = append(out, byte(hi<<4|v))
			hi = -1
		}
	}
	if hi >= 0 {
		out = append(out, byte(hi<<4))
	}
	return bytes.NewReader(out), nil
}

func ascii85(r io.Reader, limit int64) (io.Reader, error) {
	in, err := io.ReadAll(io.LimitReader(r, 2*limit+2))
	if err != nil {
		return nil, err
	}
	var out []byte
	var group [5]byte
	n := 0
	flush := func(k int) {
		var v uint32
		for i := 0; i < 5; i++ {
			c := byte('u')
			if i < k {
				c = group[i]
			}
			v = v*85 + uint32(c-'!')
		}
		b := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		out = append(out, b[:k-1]...)
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '~':
			i = len(in)
		case c == 'z' && n == 0:
			out = append(out, 0, 0, 0, 0)
		case c >= '!' && c <= 'u':
			group[n] = c
			if n++; n == 5 {
				flush(5)
				n = 0
			}
		}
	}
	if n > 1 {
		flush(n)
	}
	return bytes.NewReader(out), nil
}
