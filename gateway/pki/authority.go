package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

// Authority is a certification authority in the role DAEU plays in SEOS: it issues
// every participant's transport certificate and publishes the revocation list.
// It is safe for concurrent use.
type Authority struct {
	Identity // the CA certificate and its signing key; Chain is empty (a root)

	now func() time.Time // clock for default validity windows
}

// NewAuthority makes a self-signed CA named name (its CN unless WithSubject says
// otherwise), with a new RSA key unless WithKey gives one. Its path length is 0:
// DAEU issues transport certificates directly, so no intermediate CA should verify.
func NewAuthority(name string, opts ...Option) (*Authority, error) {
	s, err := resolve(opts)
	if err == nil && strings.TrimSpace(name) == "" {
		err = errors.New("empty name")
	}
	if err == nil && len(s.dnsNames)+len(s.ips) > 0 {
		err = errors.New("subject alternative names are for transport certificates, not for the authority")
	}
	if err != nil {
		return nil, fmt.Errorf("new authority %q: %w", name, err)
	}
	now := s.now
	if now == nil {
		now = time.Now
	}
	notBefore, notAfter := s.window(now, authorityLifetime)
	tmpl := &x509.Certificate{
		Subject:               s.subjectWithCN(name),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	id, err := create(tmpl, s, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("new authority %q: %w", name, err)
	}
	return &Authority{Identity: *id, now: now}, nil
}

// LoadAuthority loads a CA certificate and its key, e.g. the ca.pem and ca-key.pem
// that MakeTestPKI wrote, so that more participants can be issued later.
func LoadAuthority(certPath, keyPath string) (*Authority, error) {
	id, err := LoadIdentity(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if !id.Cert.IsCA || id.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s: certificate %q is not a CA certificate (needs basic constraints CA:TRUE and key usage keyCertSign); pass the CA's certificate",
			certPath, id.Cert.Subject.String())
	}
	return &Authority{Identity: *id, now: time.Now}, nil
}

// Pool returns a pool holding only this authority, for RootCAs and ClientCAs.
func (a *Authority) Pool() *x509.CertPool { return CertPool([]*x509.Certificate{a.Cert}) }

// IssueTransport issues a SEOS transport certificate for host, the name DAEU assigned
// to the participant. One certificate serves as TLS server and TLS client and signs
// messages, hence serverAuth+clientAuth and digitalSignature. host may be an IP
// address (it then becomes an IP SAN).
func (a *Authority) IssueTransport(host string, opts ...Option) (*Identity, error) {
	id, err := a.issueTransport(host, opts)
	if err != nil {
		return nil, fmt.Errorf("issue transport certificate for %q: %w", host, err)
	}
	return id, nil
}

func (a *Authority) issueTransport(host string, opts []Option) (*Identity, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	var dnsNames []string
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = append(ips, ip)
	} else if err := checkDNSName(host); err != nil {
		return nil, err
	} else {
		dnsNames = append(dnsNames, host)
	}
	for _, n := range s.dnsNames {
		if err := checkDNSName(n); err != nil {
			return nil, err
		}
		if !slices.Contains(dnsNames, n) {
			dnsNames = append(dnsNames, n)
		}
	}
	for _, ip := range s.ips {
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	notBefore, notAfter := s.window(a.now, transportLifetime)
	tmpl := &x509.Certificate{
		Subject:               s.subjectWithCN(host),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	return create(tmpl, s, a.Cert, a.Key)
}

// CRL returns a PEM "X509 CRL" listing revoked, which must all be issued by a.
// Its CRL number is thisUpdate in Unix nanoseconds: RFC 5280 wants numbers that grow
// with each new CRL, and deriving it from the time needs no state across restarts.
func (a *Authority) CRL(revoked []*x509.Certificate, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	if !nextUpdate.After(thisUpdate) {
		return nil, fmt.Errorf("make CRL: nextUpdate %s is not after thisUpdate %s",
			nextUpdate.Format(time.RFC3339), thisUpdate.Format(time.RFC3339))
	}
	if thisUpdate.Before(time.Unix(0, 0)) {
		return nil, fmt.Errorf("make CRL: thisUpdate %s is before 1970", thisUpdate.Format(time.RFC3339))
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, c := range revoked {
		// A CRL only speaks for its issuer's certificates; listing another CA's is a
		// mistake in the caller that would otherwise pass silently.
		if err := c.CheckSignatureFrom(a.Cert); err != nil {
			return nil, fmt.Errorf("make CRL: certificate %s (serial %s) is not issued by %q: %w",
				c.Subject, SerialHex(c), a.Cert.Subject.CommonName, err)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm:        signatureAlgorithm(a.Key.Public()),
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(thisUpdate.UnixNano()),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
	}, a.Cert, a.Key)
	if err != nil {
		return nil, fmt.Errorf("make CRL: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

// create completes tmpl with key and serial and signs it by parent (self-signed when
// parent is nil).
func create(tmpl *x509.Certificate, s settings, parent *x509.Certificate, parentKey crypto.Signer) (*Identity, error) {
	key := s.key
	if key == nil {
		bits := s.keyBits
		if bits == 0 {
			bits = defaultKeyBits
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA-%d key: %w", bits, err)
		}
		key = k
	}
	tmpl.SerialNumber = s.serial
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = randomSerial()
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		tmpl.KeyUsage &^= x509.KeyUsageKeyEncipherment // RSA key transport only
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	tmpl.SignatureAlgorithm = signatureAlgorithm(parentKey.Public())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return &Identity{Cert: cert, Key: key}, nil
}

// signatureAlgorithm pins sha256WithRSAEncryption (PKCS#1 v1.5) for RSA issuers: it is
// what DAEU uses and what older .NET peers can verify; RSA-PSS is not.
func signatureAlgorithm(pub crypto.PublicKey) x509.SignatureAlgorithm {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm // let crypto/x509 choose for the key
}

// randomSerial returns a positive serial of up to 128 random bits; unpredictable
// serials are what RFC 5280 and the CA/B Forum ask for.
func randomSerial() *big.Int {
	limit := new(big.Int).Lsh(big.NewInt(1), 8*randomSerialOctets)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic("pki: crypto/rand failed: " + err.Error()) // crypto/rand does not fail on supported platforms
		}
		if n.Sign() > 0 {
			return n
		}
	}
}

// checkDNSName accepts host names as DAEU assigns them: LDH labels, no wildcards.
func checkDNSName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("host name %q: %s (want a DNS name such as \"ministry-a.obmen.local\")", name, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > 253 {
		return bad("longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return bad("empty label")
		case len(label) > 63:
			return bad("label longer than 63 characters")
		case label[0] == '-' || label[len(label)-1] == '-':
			return bad("label starts or ends with '-'")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return bad(fmt.Sprintf("character %q is not allowed", c))
			}
		}
	}
	return nil
}
