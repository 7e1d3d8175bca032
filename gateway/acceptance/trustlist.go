package acceptance

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/seosgw/seosgw/gateway/acceptance/trustlist"
	"github.com/seosgw/seosgw/gateway/clock"
)

// loadTrustedList verifies an EU trusted list with the operator's
// certificates and returns its granted qualified CAs as trust anchors.
func loadTrustedList(file, signersPEM string, clk clock.Clock) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sb, err := os.ReadFile(signersPEM)
	if err != nil {
		return nil, fmt.Errorf("signer_certs: %w", err)
	}
	signers, err := parseCerts(sb)
	if err != nil {
		return nil, fmt.Errorf("signer_certs %s: %w", signersPEM, err)
	}
	l, err := trustlist.Parse(b, signers, clk.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]*x509.Certificate, 0, len(l.Services))
	for _, s := range l.Services {
		out = append(out, s.Cert)
	}
	return out, nil
}
