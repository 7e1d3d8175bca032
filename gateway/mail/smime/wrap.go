package smime

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-message/textproto"
)

// ErrNotCanonical is an entity that a relay could alter in transit (8-bit
// bytes, bare LF line ends, lines over 998 octets), breaking its signature.
var ErrNotCanonical = errors.New("smime: the entity to sign must be 7-bit text with CRLF line ends and lines of at most 998 octets")

// Wrap signs entity (a whole MIME entity, header and body, in canonical
// form) and returns the message: header h (From, To, Subject, Date,
// Message-ID, ...; unsigned, as RFC 8551 has it) over multipart/signed
// holding entity byte for byte and its detached signature.
func (s *Signer) Wrap(h textproto.Header, entity []byte) ([]byte, error) {
	var b bytes.Buffer
	err := s.Stream(&b, h, func(w io.Writer) error {
		_, err := w.Write(entity)
		return err
	})
	return b.Bytes(), err
}

// Stream is Wrap in one pass over dst, the entity written by write as it
// goes out: the signature part comes after the entity, so only the
// entity's digest is held, never the entity (a document's files stream
// from the file store into the mail).
func (s *Signer) Stream(dst io.Writer, h textproto.Header, write func(io.Writer) error) error {
	var r [18]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	boundary := "seosgw-signed-" + hex.EncodeToString(r[:])
	h = h.Copy()
	h.Del("Content-Transfer-Encoding")
	h.Set("MIME-Version", "1.0")
	h.Set("Content-Type", fmt.Sprintf(`multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"`, boundary))
	bw := bufio.NewWriterSize(dst, 32<<10)
	if err := textproto.WriteHeader(bw, h); err != nil {
		return err
	}
	bw.WriteString("This is an S/MIME signed message.\r\n\r\n--" + boundary + "\r\n")
	digest := sha256.New()
	check := &canonical{delim: []byte("--" + boundary)}
	if err := write(io.MultiWriter(bw, digest, check)); err != nil {
		return err
	}
	if err := check.err(); err != nil {
		return err
	}
	sig, err := s.signDigest(digest.Sum(nil))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	WriteBase64(&b, sig)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	if _, err := bw.Write(b.Bytes()); err != nil {
		return err
	}
	return bw.Flush()
}

// canonical checks an entity as it is written: 7-bit, CRLF line ends,
// lines of at most 998 octets, and free of the signed boundary (random, so
// found only in a hostile or absurd entity; refused rather than mangled).
type canonical struct {
	delim   []byte
	tail    []byte // the last bytes written, for a boundary split across writes
	off     int64
	line    int
	prevCR  bool
	problem error
}

func (c *canonical) Write(p []byte) (int, error) {
	if c.problem != nil {
		return len(p), nil
	}
	for i, b := range p {
		at := c.off + int64(i)
		switch {
		case b >= 0x80 || b == 0:
			c.problem = fmt.Errorf("%w: byte %#x at %d", ErrNotCanonical, b, at)
		case b == '\n' && !c.prevCR:
			c.problem = fmt.Errorf("%w: bare LF at %d", ErrNotCanonical, at)
		case b == '\n':
			c.line = 0
		default:
			c.line++
			if c.line > 999 { // 998 octets and the CR
				c.problem = fmt.Errorf("%w: a line over 998 octets ends at %d", ErrNotCanonical, at)
			}
		}
		if c.problem != nil {
			return len(p), nil
		}
		c.prevCR = b == '\r'
	}
	c.off += int64(len(p))
	joined := append(c.tail, p...)
	if bytes.Contains(joined, c.delim) {
		c.problem = errors.New("smime: the entity holds the signed part's boundary")
	}
	keep := min(len(joined), len(c.delim)-1)
	c.tail = append(c.tail[:0], joined[len(joined)-keep:]...)
	return len(p), nil
}

func (c *canonical) err() error { return c.problem }

// WriteBase64 writes data as base64 in lines of 76 characters, each ended
// by CRLF (RFC 2045 6.8).
func WriteBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\r\n")
	}
}
