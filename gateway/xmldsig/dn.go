package xmldsig

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// X509IssuerName is a distinguished name written as text: RFC 4514
// ("CN=a,O=b"), .NET's X500DistinguishedName.Name ("CN=a, O=b", values
// with specials in double quotes, OID.2.5.4.97=...) or OpenSSL's long
// names. It lists the most specific RDN first, the reverse of DER order.

// dnAttr is one attribute of a written name: its type as a dotted OID.
type dnAttr struct {
	oid, value string
}

// dnKeywords maps the attribute names peers write to OIDs (RFC 4514, .NET,
// OpenSSL); names are compared upper-cased.
var dnKeywords = map[string]string{
	"CN": "2.5.4.3", "COMMONNAME": "2.5.4.3",
	"SN": "2.5.4.4", "SURNAME": "2.5.4.4",
	"SERIALNUMBER": "2.5.4.5",
	"C":            "2.5.4.6", "COUNTRYNAME": "2.5.4.6",
	"L": "2.5.4.7", "LOCALITYNAME": "2.5.4.7",
	"S": "2.5.4.8", "ST": "2.5.4.8", "STATEORPROVINCENAME": "2.5.4.8",
	"STREET": "2.5.4.9", "STREETADDRESS": "2.5.4.9",
	"O": "2.5.4.10", "ORGANIZATIONNAME": "2.5.4.10",
	"OU": "2.5.4.11", "ORGANIZATIONALUNITNAME": "2.5.4.11",
	"T": "2.5.4.12", "TITLE": "2.5.4.12",
	"POSTALCODE": "2.5.4.17",
	"G":          "2.5.4.42", "GN": "2.5.4.42", "GIVENNAME": "2.5.4.42",
	"I": "2.5.4.43", "INITIALS": "2.5.4.43",
	"DNQ": "2.5.4.46", "DNQUALIFIER": "2.5.4.46",
	"ORGANIZATIONIDENTIFIER": "2.5.4.97",
	"DC":                     "0.9.2342.19200300.100.1.25",
	"UID":                    "0.9.2342.19200300.100.1.1",
	"E":                      "1.2.840.113549.1.9.1", "EMAIL": "1.2.840.113549.1.9.1", "EMAILADDRESS": "1.2.840.113549.1.9.1",
}

// maxDNLength bounds the text parseDN reads; real issuer names are far
// shorter, and the rest of KeyInfo is bounded by the message size anyway.
const maxDNLength = 8 << 10

// parseDN reads a written distinguished name into its RDNs, most specific
// first, as written.
func parseDN(s string) ([][]dnAttr, error) {
	if len(s) > maxDNLength {
		return nil, fmt.Errorf("longer than %d bytes", maxDNLength)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("not UTF-8")
	}
	var rdns [][]dnAttr
	var rdn []dnAttr
	i := 0
	for {
		a, next, sep, err := parseAttr(s, i)
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, a)
		i = next
		if sep != '+' {
			rdns = append(rdns, rdn)
			rdn = nil
		}
		if sep == 0 {
			return rdns, nil
		}
	}
}

// parseAttr reads type=value from s[i:] and returns the index after the
// separator that ended it (',', ';' or '+'; 0 at the end of s).
func parseAttr(s string, i int) (dnAttr, int, byte, error) {
	eq := strings.IndexByte(s[i:], '=')
	if eq < 0 {
		return dnAttr{}, 0, 0, fmt.Errorf("%q has no type=value", s[i:])
	}
	typ := strings.TrimSpace(s[i : i+eq])
	oid, err := attrOID(typ)
	if err != nil {
		return dnAttr{}, 0, 0, err
	}
	i += eq + 1
	for i < len(s) && s[i] == ' ' {
		i++
	}
	var v strings.Builder
	switch {
	case i < len(s) && s[i] == '"':
		// .NET quotes values holding specials and doubles inner quotes.
		i++
		for {
			if i >= len(s) {
				return dnAttr{}, 0, 0, fmt.Errorf("unterminated quoted value of %s", typ)
			}
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					v.WriteByte('"')
					i += 2
					continue
				}
				i++
				break
			}
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			v.WriteByte(s[i])
			i++
		}
	case i < len(s) && s[i] == '#':
		// RFC 4514 hex form: the BER encoding of the value.
		j := i + 1
		for j < len(s) && isHex(s[j]) {
			j++
		}
		b, err := hex.DecodeString(s[i+1 : j])
		if err != nil {
			return dnAttr{}, 0, 0, fmt.Errorf("value of %s: %v", typ, err)
		}
		var raw asn1.RawValue
		if rest, err := asn1.Unmarshal(b, &raw); err != nil || len(rest) > 0 {
			return dnAttr{}, 0, 0, fmt.Errorf("value of %s is not one BER value", typ)
		}
		v.Write(raw.Bytes)
		i = j
	default:
		for i < len(s) && s[i] != ',' && s[i] != ';' && s[i] != '+' {
			if s[i] != '\\' {
				v.WriteByte(s[i])
				i++
				continue
			}
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b, _ := hex.DecodeString(s[i+1 : i+3])
				v.Write(b)
				i += 3
				continue
			}
			if i+1 >= len(s) {
				return dnAttr{}, 0, 0, fmt.Errorf("value of %s ends in a lone backslash", typ)
			}
			v.WriteByte(s[i+1])
			i += 2
		}
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) {
		return dnAttr{oid: oid, value: v.String()}, i, 0, nil
	}
	switch s[i] {
	case ',', ';', '+':
		return dnAttr{oid: oid, value: v.String()}, i + 1, s[i], nil
	}
	return dnAttr{}, 0, 0, fmt.Errorf("unexpected %q after the value of %s", s[i], typ)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// attrOID resolves an attribute type: a keyword, "OID.1.2.3" or "1.2.3".
func attrOID(t string) (string, error) {
	u := strings.ToUpper(t)
	if oid, ok := dnKeywords[u]; ok {
		return oid, nil
	}
	u = strings.TrimPrefix(u, "OID.")
	if u != "" && strings.Trim(u, "0123456789.") == "" && !strings.Contains(u, "..") && u[0] != '.' && u[len(u)-1] != '.' {
		return u, nil
	}
	return "", fmt.Errorf("unknown attribute type %q", t)
}

// sameName reports whether the written name s names the DER name raw
// (a certificate's RawIssuer): the same RDNs in reverse order, values
// equal ignoring case and runs of spaces (X.500 caseIgnoreMatch).
func sameName(s string, raw []byte) (bool, error) {
	written, err := parseDN(s)
	if err != nil {
		return false, err
	}
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return false, fmt.Errorf("the certificate's name does not parse: %v", err)
	}
	if len(written) != len(seq) {
		return false, nil
	}
	for i, rdn := range written {
		der := seq[len(seq)-1-i]
		if len(rdn) != len(der) {
			return false, nil
		}
		for _, a := range rdn {
			found := false
			for _, d := range der {
				if d.Type.String() == a.oid && foldValue(fmt.Sprint(d.Value)) == foldValue(a.value) {
					found = true
					break
				}
			}
			if !found {
				return false, nil
			}
		}
	}
	return true, nil
}

func foldValue(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
