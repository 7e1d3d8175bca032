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
	// MinRSABits is the smallest RSA key a peer's certificate may have
	// (tls.min_rsa_bits); 0 is pki.DefaultMinRSABits.
	MinRSABits int
	clk        clock.Clock
	log        *slog.Logger
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

// Verify checks that cert chains to the roots now, for usage, has a key
// of the required strength and is not revoked. It is the one check every
// peer certificate passes.
func (s *Store) Verify(cert *x509.Certificate, usage x509.ExtKeyUsage) error {
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.Roots, CurrentTime: s.clk.Now(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return &CertError{Reason: "untrusted", Err: err}
	}
	return s.checkPeer(cert)
}

// CheckKey refuses a certificate whose RSA key is under MinRSABits: a
// CertError with reason weak_key.
func (s *Store) CheckKey(cert *x509.Certificate) error {
	if err := pki.CheckKey(cert.PublicKey, s.MinRSABits); err != nil {
		return &CertError{Reason: "weak_key", Err: fmt.Errorf("%q (serial %s): %w", cert.Subject.CommonName, pki.SerialHex(cert), err)}
	}
	return nil
}

// CertError is a certificate refused for a named reason: untrusted,
// weak_key, revoked or revocation_unknown (and, in outbound delivery,
// not_registered).
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

// TLS12Suites are the TLS 1.2 cipher suites seosgw offers and accepts:
// ECDHE key exchange (forward secrecy) with an AEAD cipher only. CBC with
// SHA-1 MACs (Lucky13 and friends) and static-RSA key exchange are out.
// TLS 1.3, whose suites are all AEAD, stays on.
var TLS12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Harden sets the protocol floor (TLS 1.2) and TLS12Suites on cfg, for
// every TLS connection seosgw makes or takes on the SEOS side.
func Harden(cfg *tls.Config) *tls.Config {
	cfg.MinVersion = tls.VersionTLS12
	cfg.CipherSuites = TLS12Suites
	return cfg
}

// ServerTLS is the endpoint's TLS: TLS 1.2+ with TLS12Suites, the
// participant's transport certificate (read from id at each handshake, so a
// renewed one is served without a restart), client certificates required,
// chained to the DAEU roots at our clock's time, with a key of
// MinRSABits, and checked against the CRLs.
func (s *Store) ServerTLS(id pki.Source) *tls.Config {
	return Harden(&tls.Config{
		GetCertificate:   func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return tlsCertificate(id), nil },
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        s.Roots,
		Time:             s.clk.Now,
		VerifyConnection: s.checkConnection,
	})
}

// ClientTLS is for connections we open (register, peers): our certificate
// (read from id at each handshake), the server's certificate verified
// against the DAEU roots for serverName at our clock's time, with a key of
// MinRSABits, and checked against the CRLs; TLS 1.2+ with TLS12Suites.
func (s *Store) ClientTLS(id pki.Source, serverName string) *tls.Config {
	return Harden(&tls.Config{
		GetClientCertificate: ClientCertificate(id),
		RootCAs:              s.Roots,
		ServerName:           serverName,
		Time:                 s.clk.Now,
		VerifyConnection:     s.checkConnection,
	})
}

// PeerTLS is ClientTLS for a participant's endpoint: the server must
// also present the certificate serial the register lists for it (a
// *CertError "not_registered" otherwise).
func (s *Store) PeerTLS(id pki.Source, serverName, serial string) *tls.Config {
	cfg := s.ClientTLS(id, serverName)
	want := pki.NormalizeSerial(serial)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := s.checkConnection(cs); err != nil {
			return err
		}
		if got := pki.SerialHex(cs.PeerCertificates[0]); got != want {
			return &CertError{Reason: "not_registered", Err: fmt.Errorf("server certificate serial %s is not the recipient's register serial %s", got, want)}
		}
		return nil
	}
	return cfg
}

// ClientCertificate presents the identity in force as the TLS client
// certificate, always, whatever CAs the server hints at: SEOS knows one
// transport certificate, and a server that does not list DAEU's CA should
// say it does not know it (alert "unknown CA") rather than get no
// certificate at all ("certificate required").
func ClientCertificate(id pki.Source) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tlsCertificate(id), nil }
}

func tlsCertificate(id pki.Source) *tls.Certificate {
	c := id.Current().TLSCertificate()
	return &c
}

// checkConnection runs after crypto/tls has verified the chain.
func (s *Store) checkConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return s.checkPeer(cs.PeerCertificates[0])
}

// checkPeer is what a chained peer certificate must pass besides: the key
// strength, then revocation.
func (s *Store) checkPeer(cert *x509.Certificate) error {
	if err := s.CheckKey(cert); err != nil {
		return err
	}
	if s.CRLs != nil {
		return s.CRLs.Check(cert)
	}
	return nil
}
