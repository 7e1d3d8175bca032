package pki_test

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
)

func parseCRL(t *testing.T, pemBytes []byte) *x509.RevocationList {
	t.Helper()
	block, rest := pem.Decode(pemBytes)
	if block == nil || block.Type != "X509 CRL" || len(rest) != 0 {
		t.Fatalf("CRL PEM: block %v, %d bytes left", block, len(rest))
	}
	crl, err := x509.ParseRevocationList(block.Bytes)
	if err != nil {
		t.Fatalf("ParseRevocationList: %v", err)
	}
	return crl
}

func TestCRL(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	revoked1 := issue(t, ca, hostA, pki.WithKey(key(1)))
	revoked2 := issue(t, ca, hostB, pki.WithKey(key(1)), pki.WithSerial(new(big.Int).Lsh(big.NewInt(0xF1), 120)))
	good := issue(t, ca, "ministry-c.obmen.local", pki.WithKey(key(1)))
	thisUpdate := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	nextUpdate := thisUpdate.Add(24 * time.Hour)

	cases := []struct {
		name    string
		revoked []*pki.Identity
	}{
		{name: "two revoked", revoked: []*pki.Identity{revoked1, revoked2}},
		{name: "none revoked", revoked: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var certs []*x509.Certificate
			var want []string
			for _, id := range tc.revoked {
				certs = append(certs, id.Cert)
				want = append(want, pki.SerialHex(id.Cert))
			}
			crlPEM, err := ca.CRL(certs, thisUpdate, nextUpdate)
			if err != nil {
				t.Fatal(err)
			}
			crl := parseCRL(t, crlPEM)
			if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("CRL signature: %v", err)
			}
			var got []string
			for _, e := range crl.RevokedCertificateEntries {
				got = append(got, pki.NormalizeSerial(e.SerialNumber.Text(16)))
				if !e.RevocationTime.Equal(thisUpdate) {
					t.Errorf("revocation time %v, want %v", e.RevocationTime, thisUpdate)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("revoked serials %v, want %v", got, want)
			}
			if !crl.ThisUpdate.Equal(thisUpdate) || !crl.NextUpdate.Equal(nextUpdate) {
				t.Errorf("CRL window %v .. %v, want %v .. %v", crl.ThisUpdate, crl.NextUpdate, thisUpdate, nextUpdate)
			}
			if crl.Issuer.String() != ca.Cert.Subject.String() || crl.Number.Sign() <= 0 {
				t.Errorf("CRL issuer %q number %v", crl.Issuer, crl.Number)
			}

			// openssl, as a relying party, checks the CRL and applies it.
			bin := extools.Require(t, "openssl")
			dir := t.TempDir()
			caFile := writeFile(t, dir, "ca.pem", ca.CertPEM())
			crlFile := writeFile(t, dir, "crl.pem", crlPEM)
			if r := extools.Run(t, nil, bin, "crl", "-in", crlFile, "-CAfile", caFile, "-noout"); !r.OK() || !strings.Contains(r.Stdout+r.Stderr, "verify OK") {
				t.Errorf("openssl crl: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
			}
			for _, id := range []*pki.Identity{revoked1, revoked2, good} {
				isRevoked := slices.Contains(tc.revoked, id)
				leaf := writeFile(t, dir, "leaf.pem", id.CertPEM())
				r := extools.Run(t, nil, bin, "verify", "-crl_check", "-CRLfile", crlFile, "-CAfile", caFile, leaf)
				if r.OK() == isRevoked || isRevoked && !strings.Contains(r.Stdout+r.Stderr, "revoked") {
					t.Errorf("openssl verify -crl_check %s (revoked=%v): exit %d: %s%s", pki.SerialHex(id.Cert), isRevoked, r.Code, r.Stdout, r.Stderr)
				}
			}
		})
	}

	t.Run("number grows with thisUpdate", func(t *testing.T) {
		first, err1 := ca.CRL(nil, thisUpdate, nextUpdate)
		second, err2 := ca.CRL(nil, thisUpdate.Add(time.Second), nextUpdate)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if parseCRL(t, first).Number.Cmp(parseCRL(t, second).Number) >= 0 {
			t.Error("a later CRL must carry a larger CRL number (RFC 5280 5.2.3)")
		}
	})

	errCases := []struct {
		name                   string
		revoked                []*x509.Certificate
		thisUpdate, nextUpdate time.Time
		want                   string
	}{
		{"foreign certificate", []*x509.Certificate{issue(t, newAuthority(t, "Other CA", pki.WithKey(key(2))), hostA, pki.WithKey(key(1))).Cert}, thisUpdate, nextUpdate, "not issued by"},
		{"nextUpdate before thisUpdate", nil, nextUpdate, thisUpdate, "is not after thisUpdate"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ca.CRL(tc.revoked, tc.thisUpdate, tc.nextUpdate)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
