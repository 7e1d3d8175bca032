package acceptancetest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seosgw/seosgw/integration/extools"
)

// TrustedList writes an ETSI TS 119 612 list naming ca as a granted
// qualified CA service, issued a day before nextUpdate and signed by
// operator with xmlsec1 (enveloped, exclusive C14N, RSA-SHA256), and
// returns its path.
func TrustedList(t testing.TB, ca, operator *Cert, nextUpdate time.Time) string {
	t.Helper()
	bin := extools.Require(t, "xmlsec1")
	dir := t.TempDir()
	tmpl := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#" TSLTag="http://uri.etsi.org/19612/TSLTag">
  <SchemeInformation>
    <TSLVersionIdentifier>5</TSLVersionIdentifier>
    <SchemeOperatorName><Name xml:lang="bg">Комисия за регулиране на съобщенията (тест)</Name></SchemeOperatorName>
    <ListIssueDateTime>%s</ListIssueDateTime>
    <NextUpdate><dateTime>%s</dateTime></NextUpdate>
  </SchemeInformation>
  <TrustServiceProviderList>
    <TrustServiceProvider>
      <TSPInformation><TSPName><Name xml:lang="en">seosgw test QTSP</Name></TSPName></TSPInformation>
      <TSPServices>
        <TSPService><ServiceInformation>
          <ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</ServiceTypeIdentifier>
          <ServiceName><Name xml:lang="en">seosgw test Qualified CA</Name></ServiceName>
          <ServiceDigitalIdentity><DigitalId><X509Certificate>%s</X509Certificate></DigitalId></ServiceDigitalIdentity>
          <ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus>
          <StatusStartingTime>2020-01-01T00:00:00Z</StatusStartingTime>
        </ServiceInformation></TSPService>
        <TSPService><ServiceInformation>
          <ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST</ServiceTypeIdentifier>
          <ServiceName><Name xml:lang="en">a time-stamping service, not a CA</Name></ServiceName>
          <ServiceDigitalIdentity><DigitalId><X509Certificate>%s</X509Certificate></DigitalId></ServiceDigitalIdentity>
          <ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus>
        </ServiceInformation></TSPService>
      </TSPServices>
    </TrustServiceProvider>
  </TrustServiceProviderList>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
  </ds:Signature>
</TrustServiceStatusList>
`, nextUpdate.Add(-24*time.Hour).UTC().Format(time.RFC3339), nextUpdate.UTC().Format(time.RFC3339), base64.StdEncoding.EncodeToString(ca.Cert.Raw), base64.StdEncoding.EncodeToString(operator.Cert.Raw))
	in, out := filepath.Join(dir, "tsl-template.xml"), filepath.Join(dir, "tsl.xml")
	if err := os.WriteFile(in, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := extools.Run(t, nil, bin, "--sign", "--privkey-pem", operator.KeyPath+","+operator.CertPath, "--output", out, in); !r.OK() {
		t.Fatalf("xmlsec1 --sign: %s", r.Stderr)
	}
	return out
}
