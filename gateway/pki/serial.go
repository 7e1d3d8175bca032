package pki

import (
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"strings"
)

// SerialHex formats a certificate's serial number as the register's CertificateSN:
// upper-case hex of the big-endian magnitude, two digits per byte, no separators and
// no leading zero byte. This is exactly what `openssl x509 -noout -serial` prints
// after "serial=" (e.g. serial 0x80 is "80", where the DER integer is 00 80 and .NET's
// X509Certificate2.SerialNumber says "0080"; NormalizeSerial makes them equal).
func SerialHex(cert *x509.Certificate) string {
	if cert == nil || cert.SerialNumber == nil {
		return ""
	}
	return formatSerial(cert.SerialNumber)
}

func formatSerial(n *big.Int) string {
	b := n.Bytes()
	if len(b) == 0 {
		b = []byte{0} // openssl prints serial 0 as "00"
	}
	s := strings.ToUpper(hex.EncodeToString(b))
	if n.Sign() < 0 { // not allowed by RFC 5280; shown the way openssl shows it
		s = "-" + s
	}
	return s
}

// NormalizeSerial brings a serial written by any tool to SerialHex's form, so that
// values from the register, openssl, .NET, Windows certutil or a browser compare equal:
// it drops separators (':', '-', spaces, tabs, line breaks), upper-cases, and trims
// leading zeros to whole bytes ("0080" → "80", "1F2" → "01F2", "000" → "00").
// A string that is not hex after that is returned upper-cased without separators and
// so never equals a real serial. Negative serials (a '-' sign) are not supported.
func NormalizeSerial(s string) string {
	b := make([]byte, 0, len(s))
	allHex := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' || c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		allHex = allHex && ('0' <= c && c <= '9' || 'A' <= c && c <= 'F')
		b = append(b, c)
	}
	if len(b) == 0 || !allHex {
		return string(b)
	}
	out := strings.TrimLeft(string(b), "0")
	if len(out)%2 == 1 {
		out = "0" + out
	}
	if out == "" {
		return "00"
	}
	return out
}
