package trustlist_test

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/trustlist"
)

func TestParseSignedByXmlsec(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	operator := p.Issue(t, acceptancetest.SignerSpec{Name: "TL operator"})
	now := time.Now()
	b := acceptancetest.Read(t, acceptancetest.TrustedList(t, p.Issuing, operator, now.Add(24*time.Hour)))

	l, err := trustlist.Parse(b, []*x509.Certificate{operator.Cert}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Services) != 1 || !l.Services[0].Cert.Equal(p.Issuing.Cert) || l.Services[0].Provider != "seosgw test QTSP" {
		t.Fatalf("services %+v", l.Services)
	}
	if !strings.Contains(l.Operator, "Комисия") {
		t.Errorf("operator %q", l.Operator)
	}
	if l.OutOfDate(now) || !l.OutOfDate(now.Add(48*time.Hour)) || !l.IssueDate.Equal(l.NextUpdate.Add(-24*time.Hour)) {
		t.Errorf("issued %s, next update %s: out of date now %v, in two days %v", l.IssueDate, l.NextUpdate, l.OutOfDate(now), l.OutOfDate(now.Add(48*time.Hour)))
	}

	other := p.Issue(t, acceptancetest.SignerSpec{Name: "someone else"})
	tampered := bytes.Replace(b, []byte("seosgw test QTSP"), []byte("seosgw evil QTSP"), 1)
	for name, tc := range map[string]struct {
		b       []byte
		signers []*x509.Certificate
		now     time.Time
		words   string
	}{
		"tampered":       {tampered, []*x509.Certificate{operator.Cert}, now, "does not verify"},
		"another signer": {b, []*x509.Certificate{other.Cert}, now, "does not verify"},
		"not a list":     {[]byte("<x/>"), []*x509.Certificate{operator.Cert}, now, "TrustServiceStatusList"},
		"no signers":     {b, nil, now, "no signer"},
	} {
		if _, err := trustlist.Parse(tc.b, tc.signers, tc.now); err == nil || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: %v, want %q", name, err, tc.words)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := trustlist.Parse(b, []*x509.Certificate{{}}, time.Now()); err == nil && len(l.Services) == 0 {
			t.Fatal("a list without services accepted")
		}
	})
}
