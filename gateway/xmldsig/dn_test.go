package xmldsig

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestSameName(t *testing.T) {
	name := pkix.Name{CommonName: "ДАЕУ Test CA", Organization: []string{"Държавна агенция, „Е-управление“"}, Country: []string{"BG"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 97}, Value: "NTRBG-180876566"}}}
	raw, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text string
		same bool
		bad  bool
	}{
		{`OID.2.5.4.97=NTRBG-180876566, CN=ДАЕУ Test CA, O="Държавна агенция, „Е-управление“", C=BG`, true, false}, // .NET
		{`2.5.4.97=NTRBG-180876566,CN=ДАЕУ Test CA,O=Държавна агенция\, „Е-управление“,C=BG`, true, false},         // RFC 4514
		{`organizationIdentifier=NTRBG-180876566, commonName=даеу test  ca, organizationName=Държавна агенция\, „Е-управление“; countryName=bg`, true, false},
		{`OID.2.5.4.97=NTRBG-180876566, CN=ДАЕУ Test CA, O="Държавна агенция, „Е-управление“", C=#1303424758`, false, false}, // hex form of "BGX"
		{`OID.2.5.4.97=NTRBG-180876566, CN=ДАЕУ Test CA, O="Държавна агенция, „Е-управление“", C=#13024247`, true, false},
		{`OID.2.5.4.97=NTRBG-180876566, CN=ДАЕУ Test CA, O="Държавна агенция, „Е-управление“", C=#130242470a`, false, true}, // trailing byte
		{`CN=ДАЕУ Test CA, C=BG`, false, false},
		{`C=BG, O="Държавна агенция, „Е-управление“", CN=ДАЕУ Test CA, OID.2.5.4.97=NTRBG-180876566`, false, false}, // DER order
		{`OID.2.5.4.97=NTRBG-180876566, CN=Other CA, O="Държавна агенция, „Е-управление“", C=BG`, false, false},
		{`XYZ=1`, false, true},
		{`CN="unterminated`, false, true},
		{`no equals sign`, false, true},
		{`CN=a\`, false, true},
	}
	for _, c := range cases {
		same, err := sameName(c.text, raw)
		if (err != nil) != c.bad || same != c.same {
			t.Errorf("%s: same=%v err=%v; want same=%v bad=%v", c.text, same, err, c.same, c.bad)
		}
	}
}

func FuzzParseDN(f *testing.F) {
	for _, s := range []string{`CN=a, O="b, c", C=BG`, `CN=a\,b+OU=c;DC=x`, `OID.2.5.4.97=#0c0141`, `CN="a""b"`, `=`, `CN=\zz`} {
		f.Add(s)
	}
	raw, _ := asn1.Marshal(pkix.Name{CommonName: "a", Organization: []string{"b, c"}, Country: []string{"BG"}}.ToRDNSequence())
	f.Fuzz(func(t *testing.T, s string) {
		rdns, err := parseDN(s)
		if err == nil && len(rdns) == 0 {
			t.Fatal("a name without RDNs and without an error")
		}
		sameName(s, raw)
	})
}
