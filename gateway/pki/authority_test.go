package pki_test

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
)

const hostA, hostB = "ministry-a.obmen.local", "ministry-b.obmen.local"

func TestIssuedCertificateVerifiesForServerAndClient(t *testing.T) {
	cases := []struct {
		name     string
		caOpts   []pki.Option
		leafOpts []pki.Option
		wantBits int
	}{
		{name: "defaults", wantBits: 2048},
		{name: "3072-bit", caOpts: []pki.Option{pki.WithKeyBits(3072)}, leafOpts: []pki.Option{pki.WithKeyBits(3072)}, wantBits: 3072},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca := newAuthority(t, "Test DAEU CA", tc.caOpts...)
			id := issue(t, ca, hostA, tc.leafOpts...)

			if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || ca.Cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
				t.Errorf("CA: IsCA=%v MaxPathLenZero=%v KeyUsage=%b", ca.Cert.IsCA, ca.Cert.MaxPathLenZero, ca.Cert.KeyUsage)
			}
			for _, c := range []*x509.Certificate{ca.Cert, id.Cert} {
				if got := c.PublicKey.(*rsa.PublicKey).N.BitLen(); got != tc.wantBits {
					t.Errorf("%s: key %d bits, want %d", c.Subject.CommonName, got, tc.wantBits)
				}
				if c.SignatureAlgorithm != x509.SHA256WithRSA {
					t.Errorf("%s: signature algorithm %v, want SHA256-RSA", c.Subject.CommonName, c.SignatureAlgorithm)
				}
				if n := c.SerialNumber; n.Sign() <= 0 || n.BitLen() > 128 {
					t.Errorf("%s: serial %s is not a positive 128-bit number", c.Subject.CommonName, n)
				}
			}
			if id.Cert.IsCA || id.Cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
				t.Errorf("leaf: IsCA=%v KeyUsage=%b", id.Cert.IsCA, id.Cert.KeyUsage)
			}
			if !slices.Equal(id.Cert.DNSNames, []string{hostA}) || id.Cert.Subject.CommonName != hostA {
				t.Errorf("leaf names: DNS %v CN %q", id.Cert.DNSNames, id.Cert.Subject.CommonName)
			}
			if len(id.Chain) != 0 {
				t.Errorf("Chain = %d certificates, want none (issued by a root)", len(id.Chain))
			}
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				_, err := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: hostA, KeyUsages: []x509.ExtKeyUsage{usage}})
				if err != nil {
					t.Errorf("verify for usage %v: %v", usage, err)
				}
			}
			_, err := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
			if err == nil {
				t.Error("verified for code signing; transport certificates must be limited to TLS")
			}
		})
	}
}

func TestIssueTransportNamesAndSubject(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	subject := pkix.Name{Organization: []string{"Ministry A"}, OrganizationalUnit: []string{"Records"}}
	cases := []struct {
		name      string
		host      string
		opts      []pki.Option
		wantDNS   []string
		wantIPs   []string
		wantCN    string
		verifyFor []string
	}{
		{name: "host only", host: hostA, wantDNS: []string{hostA}, wantCN: hostA, verifyFor: []string{hostA}},
		{
			name: "loopback and subject", host: hostA,
			opts:    []pki.Option{pki.WithLoopback(), pki.WithSubject(subject)},
			wantDNS: []string{hostA, "localhost"}, wantIPs: []string{"127.0.0.1", "::1"}, wantCN: hostA,
			verifyFor: []string{hostA, "localhost", "127.0.0.1", "::1"},
		},
		{
			name: "duplicates collapse", host: "localhost",
			opts:    []pki.Option{pki.WithLoopback(), pki.WithIPAddresses(net.ParseIP("127.0.0.1")), pki.WithDNSNames("extra.obmen.local")},
			wantDNS: []string{"localhost", "extra.obmen.local"}, wantIPs: []string{"127.0.0.1", "::1"}, wantCN: "localhost",
			verifyFor: []string{"localhost", "extra.obmen.local", "::1"},
		},
		{name: "IP host", host: "10.1.2.3", wantIPs: []string{"10.1.2.3"}, wantCN: "10.1.2.3", verifyFor: []string{"10.1.2.3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := issue(t, ca, tc.host, append(tc.opts, pki.WithKey(key(1)))...)
			var ips []string
			for _, ip := range id.Cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(id.Cert.DNSNames, tc.wantDNS) || !slices.Equal(ips, tc.wantIPs) {
				t.Errorf("SANs: DNS %v IP %v, want DNS %v IP %v", id.Cert.DNSNames, ips, tc.wantDNS, tc.wantIPs)
			}
			if id.Cert.Subject.CommonName != tc.wantCN {
				t.Errorf("CN %q, want %q", id.Cert.Subject.CommonName, tc.wantCN)
			}
			for _, name := range tc.verifyFor {
				if _, err := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name}); err != nil {
					t.Errorf("verify as %q: %v", name, err)
				}
			}
		})
	}
	t.Run("subject O and OU kept", func(t *testing.T) {
		id := issue(t, ca, hostA, pki.WithKey(key(1)), pki.WithSubject(subject))
		got := id.Cert.Subject
		if !slices.Equal(got.Organization, subject.Organization) || !slices.Equal(got.OrganizationalUnit, subject.OrganizationalUnit) {
			t.Errorf("subject %q", got)
		}
	})
}

func TestValidityWindows(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)), pki.WithClock(func() time.Time { return t0 }))
	if got, want := ca.Cert.NotBefore, t0.Add(-time.Hour); !got.Equal(want) {
		t.Errorf("CA NotBefore %v, want %v (backdated an hour from the injected clock)", got, want)
	}
	day := 24 * time.Hour
	cases := []struct {
		name                string
		opts                []pki.Option
		notBefore, notAfter time.Time
		valid               bool
	}{
		{name: "default from authority clock", notBefore: t0.Add(-time.Hour), notAfter: t0.Add(365 * day), valid: true},
		{name: "expired", opts: []pki.Option{pki.WithValidity(t0.Add(-2*day), t0.Add(-day))}, notBefore: t0.Add(-2 * day), notAfter: t0.Add(-day)},
		{name: "not yet valid", opts: []pki.Option{pki.WithValidity(t0.Add(day), t0.Add(2*day))}, notBefore: t0.Add(day), notAfter: t0.Add(2 * day)},
		{
			name:      "own clock",
			opts:      []pki.Option{pki.WithClock(func() time.Time { return t0.Add(-100 * day) })},
			notBefore: t0.Add(-100*day - time.Hour), notAfter: t0.Add(265 * day), valid: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := issue(t, ca, hostA, append(tc.opts, pki.WithKey(key(1)))...)
			if !id.Cert.NotBefore.Equal(tc.notBefore) || !id.Cert.NotAfter.Equal(tc.notAfter) {
				t.Errorf("window %v .. %v, want %v .. %v", id.Cert.NotBefore, id.Cert.NotAfter, tc.notBefore, tc.notAfter)
			}
			_, err := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0, DNSName: hostA})
			var invalid x509.CertificateInvalidError
			switch {
			case tc.valid && err != nil:
				t.Errorf("verify at t0: %v", err)
			case !tc.valid && !(errors.As(err, &invalid) && invalid.Reason == x509.Expired):
				t.Errorf("verify at t0: %v, want an expired/not-yet-valid error", err)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	tooLong := new(big.Int).Lsh(big.NewInt(1), 160)
	topBit20 := new(big.Int).Lsh(big.NewInt(1), 159) // 20 bytes, but DER needs a 21st
	cases := []struct {
		name string
		do   func() error
		want string
	}{
		{"authority without name", func() error { _, err := pki.NewAuthority(" "); return err }, "empty name"},
		{"authority with SANs", func() error { _, err := pki.NewAuthority("CA", pki.WithLoopback()); return err }, "transport certificates"},
		{"1024-bit key", func() error { _, err := pki.NewAuthority("CA", pki.WithKeyBits(1024)); return err }, "2048, 3072 or 4096"},
		{"key and key size", func() error { _, err := pki.NewAuthority("CA", pki.WithKey(key(0)), pki.WithKeyBits(3072)); return err }, "choose one"},
		{"empty host", func() error { _, err := ca.IssueTransport(""); return err }, "empty"},
		{"space in host", func() error { _, err := ca.IssueTransport("ministry a.obmen.local"); return err }, "not allowed"},
		{"wildcard", func() error { _, err := ca.IssueTransport("*.obmen.local"); return err }, "not allowed"},
		{"path in host", func() error { _, err := ca.IssueTransport("../etc"); return err }, "empty label"},
		{"hyphen edge", func() error { _, err := ca.IssueTransport("-a.obmen.local"); return err }, "'-'"},
		{"bad extra DNS", func() error { _, err := ca.IssueTransport(hostA, pki.WithDNSNames("a_b.local")); return err }, "not allowed"},
		{"empty window", func() error { _, err := ca.IssueTransport(hostA, pki.WithValidity(t0, t0)); return err }, "NotAfter must be after"},
		{"zero serial", func() error { _, err := ca.IssueTransport(hostA, pki.WithSerial(big.NewInt(0))); return err }, "positive"},
		{"negative serial", func() error { _, err := ca.IssueTransport(hostA, pki.WithSerial(big.NewInt(-5))); return err }, "positive"},
		{"21-octet serial", func() error { _, err := ca.IssueTransport(hostA, pki.WithSerial(tooLong)); return err }, "20 octets"},
		{"20 bytes with top bit", func() error { _, err := ca.IssueTransport(hostA, pki.WithSerial(topBit20)); return err }, "20 octets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestECDSAKeyDropsKeyEncipherment(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	id := issue(t, ca, hostA, pki.WithKey(testkit.ECKey(t)))
	if id.Cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage %b, want digitalSignature only (no RSA key transport with an EC key)", id.Cert.KeyUsage)
	}
}
