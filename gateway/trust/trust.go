// Package trust is how seosgw decides whom to believe on the transport: the
// DAEU CA bundle, CRLs reloaded when their files change, and the TLS
// configurations for the endpoint, the register and outbound delivery.
package trust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
)

// Store holds the roots and revocation lists peers are checked against.
type Store struct {
	Roots *x509.CertPool
	roots []*x509.Certificate
	CRLs  *CRLSet // nil when no CRL is configured
	clk   clock.Clock
	log   *slog.Logger
}

// New builds a store from a CA bundle and CRL files (which may be none).
func New(caPath string, crlPaths []string, failOpen bool, clk clock.Clock, log *slog.Logger, m *Metrics) (*Store, error) {
	roots, err := pki.LoadCertificates(caPath)
	if err != nil {
		return nil, fmt.Errorf("trust: CA bundle: %w", err)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("trust: CA bundle %s holds no certificate", caPath)
	}
	s := &Store{Roots: pki.CertPool(roots), roots: roots, clk: clk, log: log}
	if len(crlPaths) > 0 {
		s.CRLs = NewCRLSet(crlPaths, roots, failOpen, clk, log, m)
		if err := s.CRLs.Load(); err != nil && !failOpen {
			return nil, fmt.Errorf("trust: %w (tls.crl_policy is fail-closed)", err)
		}
	}
	return s, nil
}

// Verify checks that cert chains to the roots now, for usage, and is not
// revoked. It is the one check every peer certificate passes.
func (s *Store) Verify(cert *x509.Certificate, usage x509.ExtKeyUsage) error {
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.Roots, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return &CertError{Reason: "untrusted", Err: err}
	}
	if s.CRLs != nil {
		return s.CRLs.Check(cert)
	}
	return nil
}

// CertError is a certificate refused for a named reason: untrusted,
// revoked or revocation_unknown.
type CertError struct {
	Reason string
	Err    error
}

func (e *CertError) Error() string { return "certificate " + e.Reason + ": " + e.Err.Error() }
func (e *CertError) Unwrap() error { return e.Err }

// IsRevoked reports a certificate listed on a CRL (not a CRL that failed).
func IsRevoked(err error) bool {
	var ce *CertError
	return errors.As(err, &ce) && ce.Reason == "revoked"
}

// ServerTLS is the endpoint's TLS: TLS 1.2+, the participant's transport
// certificate (read from id at each handshake, so a renewed one is served
// without a restart), client certificates required, chained to the DAEU
// roots at our clock's time, and checked against the CRLs.
func (s *Store) ServerTLS(id pki.Source) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		GetCertificate:   func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return tlsCertificate(id), nil },
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        s.Roots,
		Time:             s.clk.Now,
		VerifyConnection: s.checkRevocation,
	}
}

// ClientTLS is for connections we open (register, peers): our certificate
// (read from id at each handshake), the server's certificate verified
// against the DAEU roots for serverName at our clock's time, and checked
// against the CRLs.
func (s *Store) ClientTLS(id pki.Source, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: ClientCertificate(id),
		RootCAs:              s.Roots,
		ServerName:           serverName,
		Time:                 s.clk.Now,
		VerifyConnection:     s.checkRevocation,
	}
}

// ClientCertificate presents the identity in force as the TLS client
// certificate, when the server's request admits it (as with a fixed
// Certificates list: otherwise none is sent).
func ClientCertificate(id pki.Source) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c := tlsCertificate(id)
		if cri.SupportsCertificate(c) != nil {
			return &tls.Certificate{}, nil
		}
		return c, nil
	}
}

func tlsCertificate(id pki.Source) *tls.Certificate {
	c := id.Current().TLSCertificate()
	return &c
}

// checkRevocation runs after crypto/tls has verified the chain.
func (s *Store) checkRevocation(cs tls.ConnectionState) error {
	if s.CRLs == nil || len(cs.PeerCertificates) == 0 {
		return nil
	}
	return s.CRLs.Check(cs.PeerCertificates[0])
}
