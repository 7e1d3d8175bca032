package smime

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

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
	if err := checkCanonical(entity); err != nil {
		return nil, err
	}
	sig, err := s.SignDetached(entity)
	if err != nil {
		return nil, err
	}
	var boundary string
	for boundary == "" || bytes.Contains(entity, []byte("--"+boundary)) {
		var r [18]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		boundary = "seosgw-signed-" + hex.EncodeToString(r[:])
	}
	h = h.Copy()
	h.Del("Content-Transfer-Encoding")
	h.Set("MIME-Version", "1.0")
	h.Set("Content-Type", fmt.Sprintf(`multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"`, boundary))
	var b bytes.Buffer
	if err := textproto.WriteHeader(&b, h); err != nil {
		return nil, err
	}
	b.WriteString("This is an S/MIME signed message.\r\n\r\n--" + boundary + "\r\n")
	b.Write(entity)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	WriteBase64(&b, sig)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

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

func checkCanonical(b []byte) error {
	line := 0
	for i, c := range b {
		switch {
		case c >= 0x80 || c == 0:
			return fmt.Errorf("%w: byte %#x at %d", ErrNotCanonical, c, i)
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return fmt.Errorf("%w: bare LF at %d", ErrNotCanonical, i)
		case c == '\n':
			line = 0
		default:
			line++
			if line > 999 { // 998 octets and the CR
				return fmt.Errorf("%w: a line over 998 octets ends at %d", ErrNotCanonical, i)
			}
		}
	}
	return nil
}
