package pki_test

import (
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
)

func hexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic(s)
	}
	return n
}

// TestSerialHexMatchesOpenSSL checks SerialHex against what openssl prints, and that
// the other spellings of the same serial (openssl -text, .NET) normalise to it.
func TestSerialHexMatchesOpenSSL(t *testing.T) {
	bin := extools.Require(t, "openssl")
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	cases := []struct {
		name   string
		serial *big.Int // nil: a random serial
		want   string
	}{
		{"one", big.NewInt(1), "01"},
		{"0x7F", big.NewInt(0x7F), "7F"},
		{"0x80 top bit set", big.NewInt(0x80), "80"},
		{"0xFF", big.NewInt(0xFF), "FF"},
		{"0x0100", big.NewInt(0x100), "0100"},
		{"0x8000", big.NewInt(0x8000), "8000"},
		{"openssl example", big.NewInt(0x1F2D16), "1F2D16"},
		{"128-bit top bit set", hexInt("80112233445566778899AABBCCDDEEFF"), "80112233445566778899AABBCCDDEEFF"},
		{"128-bit leading zero nibble", hexInt("0F112233445566778899AABBCCDDEEFF"), "0F112233445566778899AABBCCDDEEFF"},
		{"19 bytes all ones", hexInt(strings.Repeat("FF", 19)), strings.Repeat("FF", 19)},
		{"20 octets largest", hexInt("7F" + strings.Repeat("FF", 19)), "7F" + strings.Repeat("FF", 19)},
		{"random", nil, ""},
		{"random", nil, ""},
	}
	textSerial := regexp.MustCompile(`Serial Number:\s*\n\s*([0-9a-f:]+)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []pki.Option{pki.WithKey(key(1))}
			if tc.serial != nil {
				opts = append(opts, pki.WithSerial(tc.serial))
			}
			id := issue(t, ca, hostA, opts...)
			got := pki.SerialHex(id.Cert)
			if tc.want != "" && got != tc.want {
				t.Errorf("SerialHex = %s, want %s", got, tc.want)
			}
			file := writeFile(t, t.TempDir(), "leaf.pem", id.CertPEM())
			r := extools.Run(t, nil, bin, "x509", "-noout", "-serial", "-in", file)
			if !r.OK() {
				t.Fatalf("openssl x509 -serial: %s", r.Stderr)
			}
			if openssl := strings.TrimPrefix(strings.TrimSpace(r.Stdout), "serial="); got != openssl {
				t.Errorf("SerialHex = %s, openssl says %s", got, openssl)
			}
			if pki.NormalizeSerial(got) != got {
				t.Errorf("NormalizeSerial(%s) = %s; SerialHex output must already be normal", got, pki.NormalizeSerial(got))
			}
			// .NET's SerialNumber keeps the DER sign byte: "00" before a set top bit.
			dotnet := got
			if got[0] >= '8' {
				dotnet = "00" + got
			}
			if pki.NormalizeSerial(dotnet) != got {
				t.Errorf("NormalizeSerial(%s) = %s, want %s", dotnet, pki.NormalizeSerial(dotnet), got)
			}
			// openssl -text writes long serials as lower-case colon-separated bytes.
			r = extools.Run(t, nil, bin, "x509", "-noout", "-text", "-in", file)
			if m := textSerial.FindStringSubmatch(r.Stdout); m != nil && pki.NormalizeSerial(m[1]) != got {
				t.Errorf("NormalizeSerial(%s) from openssl -text = %s, want %s", m[1], pki.NormalizeSerial(m[1]), got)
			}
		})
	}
}

func TestSerialHexNil(t *testing.T) {
	if got := pki.SerialHex(nil); got != "" {
		t.Errorf("SerialHex(nil) = %q", got)
	}
}

var normalizeCases = []struct{ in, want string }{
	{"1F2D16", "1F2D16"},
	{"1f2d16", "1F2D16"},
	{"1f:2d:16", "1F2D16"},
	{"1F 2D 16", "1F2D16"},
	{"1f-2d-16", "1F2D16"},
	{" 1f:2d 16\n", "1F2D16"},
	{"0080", "80"},       // .NET, sign byte kept
	{"00:80", "80"},      // colon form with the sign byte
	{"80", "80"},         // openssl
	{"0000000080", "80"}, // padded by a spreadsheet or a database column
	{"1F2", "01F2"},      // odd length from a tool that drops a leading zero nibble
	{"01F2", "01F2"},
	{"001F2", "01F2"},
	{"0", "00"},
	{"000", "00"},
	{"", ""},
	{" : - ", ""},
	{"0x1F", "0X1F"}, // not hex: kept, so it never matches a real serial
	{"serial=1F", "SERIAL=1F"},
	{"1g", "1G"},
	{"00zz", "00ZZ"}, // zeros are only trimmed from hex
}

func TestNormalizeSerial(t *testing.T) {
	for _, tc := range normalizeCases {
		if got := pki.NormalizeSerial(tc.in); got != tc.want {
			t.Errorf("NormalizeSerial(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNormalizeSerial(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := pki.NormalizeSerial(in)
		if again := pki.NormalizeSerial(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		if strings.ContainsAny(out, ": -\t\r\n") {
			t.Fatalf("%q → %q keeps a separator", in, out)
		}
		if strings.ContainsAny(out, "abcdefghijklmnopqrstuvwxyz") {
			t.Fatalf("%q → %q keeps a lower-case letter", in, out)
		}
		n, isHex := new(big.Int).SetString(out, 16)
		if !isHex || strings.ContainsAny(out, "+_") { // SetString also takes a sign and '_'
			return
		}
		if len(out)%2 != 0 || (out != "00" && strings.HasPrefix(out, "00")) {
			t.Fatalf("%q → %q is not whole bytes without a leading zero byte", in, out)
		}
		if want := strings.ToUpper(n.Text(16)); pki.NormalizeSerial(want) != out {
			t.Fatalf("%q → %q, but the same number %s normalises to %q", in, out, want, pki.NormalizeSerial(want))
		}
		if lower := pki.NormalizeSerial(strings.ToLower(in)); lower != out {
			t.Fatalf("case matters: %q → %q, lower-case → %q", in, out, lower)
		}
	})
}
