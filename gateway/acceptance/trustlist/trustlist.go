// Package trustlist reads an EU-format trusted list (ETSI TS 119 612, the
// lists each member state publishes of its qualified trust service
// providers) and returns the certificates of its granted qualified CA
// services. The list is believed only when its own enveloped XML signature
// verifies with one of the operator's certificates given by the caller;
// services are read from the signed element goxmldsig returns, never from
// the document as parsed, so a wrapped or injected service is not seen.
package trustlist

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Namespace of TS 119 612 lists.
const Namespace = "http://uri.etsi.org/02231/v2#"

// Service types and the status that make a CA a trust anchor for
// qualified signatures.
const (
	ServiceCAQC    = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
	StatusGranted  = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	statusAccredit = "http://uri.etsi.org/TrstSvc/Svcstatus/accredited" // before eIDAS; still in old lists
)

// Service is a granted qualified CA of the list.
type Service struct {
	Provider string
	Name     string
	Cert     *x509.Certificate
}

// List is a verified trusted list.
type List struct {
	Operator   string
	IssueDate  time.Time // ListIssueDateTime; zero when the list has none
	NextUpdate time.Time // zero when the list has none (a closed scheme)
	Services   []Service
}

// OutOfDate reports whether the list is past its NextUpdate at now: it may
// no longer say who is qualified.
func (l *List) OutOfDate(now time.Time) bool {
	return !l.NextUpdate.IsZero() && now.After(l.NextUpdate)
}

// maxListBytes bounds what is parsed; national lists are a few MiB.
const maxListBytes = 64 << 20

// Parse verifies the list's signature with signers at now and returns its
// granted CA/QC services. A list past its NextUpdate is returned all the
// same: whoever uses it asks OutOfDate and decides (the policy holds what
// such a list would vouch for rather than refusing to start).
func Parse(b []byte, signers []*x509.Certificate, now time.Time) (*List, error) {
	if len(b) > maxListBytes {
		return nil, fmt.Errorf("trusted list: larger than %d MiB", maxListBytes>>20)
	}
	if len(signers) == 0 {
		return nil, errors.New("trusted list: no signer certificates to verify it with")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("trusted list: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "TrustServiceStatusList" || root.NamespaceURI() != Namespace {
		return nil, errors.New("trusted list: root is not a TS 119 612 TrustServiceStatusList")
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: signers})
	ctx.Clock = dsig.NewFakeClockAt(now)
	signed, err := ctx.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("trusted list: its XML signature does not verify with the configured signer certificates: %w", err)
	}
	l := &List{Operator: text(signed, "SchemeInformation/SchemeOperatorName/Name")}
	if nu := text(signed, "SchemeInformation/NextUpdate/dateTime"); nu != "" {
		if l.NextUpdate, err = time.Parse(time.RFC3339, nu); err != nil {
			return nil, fmt.Errorf("trusted list: NextUpdate %q: %w", nu, err)
		}
	}
	if id := text(signed, "SchemeInformation/ListIssueDateTime"); id != "" {
		if l.IssueDate, err = time.Parse(time.RFC3339, id); err != nil {
			return nil, fmt.Errorf("trusted list: ListIssueDateTime %q: %w", id, err)
		}
	}
	for _, tsp := range signed.FindElements("./TrustServiceProviderList/TrustServiceProvider") {
		provider := text(tsp, "TSPInformation/TSPName/Name")
		for _, svc := range tsp.FindElements("./TSPServices/TSPService/ServiceInformation") {
			typ := strings.TrimSpace(text(svc, "ServiceTypeIdentifier"))
			status := strings.TrimSpace(text(svc, "ServiceStatus"))
			if typ != ServiceCAQC || (status != StatusGranted && status != statusAccredit) {
				continue
			}
			for _, x := range svc.FindElements("./ServiceDigitalIdentity/DigitalId/X509Certificate") {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(x.Text()), ""))
				if err != nil {
					return nil, fmt.Errorf("trusted list: service %q of %q: certificate is not base64: %w", text(svc, "ServiceName/Name"), provider, err)
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, fmt.Errorf("trusted list: service %q of %q: %w", text(svc, "ServiceName/Name"), provider, err)
				}
				l.Services = append(l.Services, Service{Provider: provider, Name: text(svc, "ServiceName/Name"), Cert: c})
			}
		}
	}
	if len(l.Services) == 0 {
		return nil, errors.New("trusted list: no granted qualified CA service (CA/QC) in the list")
	}
	return l, nil
}

func text(e *etree.Element, path string) string {
	if x := e.FindElement("./" + path); x != nil {
		return strings.TrimSpace(x.Text())
	}
	return ""
}
