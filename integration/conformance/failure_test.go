package conformance

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/integration/extools"
)

// The report's "got" column never carries a library's English error alone:
// each real failure the harness meets (a signature, xmllint, x509) comes with
// a lead-in naming its class, in the report's language, and its own text
// after it, marked as technical detail.
func TestFailuresHaveALeadIn(t *testing.T) {
	ca := testkit.SharedPKI(t)
	id := ca.Host(t, "p.obmen.local")
	a, b := testkit.Participant(1, "123456781", "Община А"), testkit.Participant(2, "123456782", "Община Б")
	from, to := a.Node(), b.Node()
	msg := seos.NewMessage(from, to, time.Now(), seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: seos.NewGUID()}}})
	verify := func(b []byte) error {
		_, doc, err := seos.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = xmldsig.Verify(doc, xmldsig.Options{})
		return err
	}
	unsigned, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	signed := testkit.Sign(t, id, msg)
	tampered := []byte(strings.Replace(string(signed), msg.Header.Sender.AdministrativeBodyName, "Община В", 1))

	v, _, err := newSchemaValidator(extools.Require(t, "xmllint"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	broken := []byte(strings.Replace(string(unsigned), "<MessageType>MSG_DocumentStatusRequest</MessageType>", "<MessageType>MSG_Nothing</MessageType>", 1))
	notRun := &schemaValidator{bin: filepath.Join(t.TempDir(), "no-xmllint"), entry: v.entry}

	_, unknownCA := id.Cert.Verify(x509.VerifyOptions{Roots: x509.NewCertPool()})
	_, expired := id.Cert.Verify(x509.VerifyOptions{Roots: ca.Trust(t).Roots, CurrentTime: id.Cert.NotAfter.Add(time.Hour)})
	cases := []struct {
		name   string
		err    error
		bg, en string // the lead-in
	}{
		{"unsigned", verify(unsigned), "съобщението не е подписано", "the message is not signed"},
		{"tampered", verify(tampered), "подписаното съдържание е променено след подписването (несъвпадащ хеш)", "the signed content was changed after signing (digest mismatch)"},
		{"schema", v.validate(context.Background(), broken), "съобщението не отговаря на схемите на СЕОС", "the message breaks the SEOS schemas"},
		{"xmllint missing", notRun.validate(context.Background(), broken), "валидаторът по схема xmllint не можа да бъде изпълнен", "the schema validator xmllint could not be run"},
		{"unknown CA", unknownCA, "сертификатът не е издаден от удостоверителя на ДАЕУ (недоверен издател)", "the certificate is not issued by the DAEU CA (untrusted issuer)"},
		{"expired", expired, "сертификатът е изтекъл или още не е валиден", "the certificate is expired or not yet valid"},
		{"host name", id.Cert.VerifyHostname("other.obmen.local"), "сертификатът не е издаден за това име на хост", "the certificate is not issued for this host name"},
		{"no certificate", (&suite{}).chains(nil), "липсва сертификат за проверка", "there is no certificate to check"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("the failure did not happen")
			}
			if got, want := Bulgarian.failure(c.err), c.bg+" (техническа подробност: "+c.err.Error()+")"; got != want {
				t.Errorf("bg:\n got %q\nwant %q", got, want)
			}
			if got, want := English.failure(c.err), c.en+" (technical detail: "+c.err.Error()+")"; got != want {
				t.Errorf("en:\n got %q\nwant %q", got, want)
			}
		})
	}
	if Bulgarian.failure(nil) != "" {
		t.Error("no error, no text")
	}
	var sig *xmldsig.Error
	if !errors.As(cases[0].err, &sig) {
		t.Errorf("Verify returned %T, not *xmldsig.Error", cases[0].err)
	}
}
