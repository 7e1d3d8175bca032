package pki

import (
	"crypto"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Defaults. A certificate starts an hour before "now" so that a peer whose clock runs
// a little behind does not refuse a certificate made a moment ago.
const (
	defaultKeyBits     = 2048
	backdate           = time.Hour
	authorityLifetime  = 10 * 365 * 24 * time.Hour
	transportLifetime  = 365 * 24 * time.Hour
	maxSerialOctets    = 20 // RFC 5280 4.1.2.2
	randomSerialOctets = 16
)

// Option adjusts how NewAuthority or IssueTransport makes a certificate.
type Option func(*settings)

type settings struct {
	now                 func() time.Time
	notBefore, notAfter time.Time
	validitySet         bool
	keyBits             int
	key                 crypto.Signer
	serial              *big.Int
	subject             *pkix.Name
	dnsNames            []string
	ips                 []net.IP
}

// WithClock sets the clock that default validity windows start from. Given to
// NewAuthority it becomes the authority's clock for the certificates it issues.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithValidity sets an explicit validity window, e.g. one in the past to make an
// expired certificate or one in the future for a not-yet-valid one.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(s *settings) { s.notBefore, s.notAfter, s.validitySet = notBefore, notAfter, true }
}

// WithKeyBits sets the size of the RSA key generated for the certificate:
// 2048 (the default), 3072 or 4096.
func WithKeyBits(bits int) Option { return func(s *settings) { s.keyBits = bits } }

// WithKey certifies an existing key instead of generating one. Tests use it to
// skip RSA key generation; an ECDSA key is accepted too.
func WithKey(key crypto.Signer) Option { return func(s *settings) { s.key = key } }

// WithSerial sets the serial number instead of a random 128-bit one. It must be
// positive and at most 20 octets (RFC 5280).
func WithSerial(serial *big.Int) Option { return func(s *settings) { s.serial = serial } }

// WithSubject sets the subject name (O, OU, CN, ...). An empty CommonName is filled
// with the host name, or with the authority's name for NewAuthority.
func WithSubject(name pkix.Name) Option { return func(s *settings) { s.subject = &name } }

// WithDNSNames adds DNS subject alternative names to a transport certificate.
func WithDNSNames(names ...string) Option {
	return func(s *settings) { s.dnsNames = append(s.dnsNames, names...) }
}

// WithIPAddresses adds IP subject alternative names to a transport certificate.
func WithIPAddresses(ips ...net.IP) Option {
	return func(s *settings) { s.ips = append(s.ips, ips...) }
}

// WithLoopback adds "localhost", 127.0.0.1 and ::1, so that a node on loopback (tests,
// the demo) can be reached by those names as well as by its SEOS host name.
func WithLoopback() Option {
	return func(s *settings) {
		s.dnsNames = append(s.dnsNames, "localhost")
		s.ips = append(s.ips, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
	}
}

func resolve(opts []Option) (settings, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	switch s.keyBits {
	case 0, 2048, 3072, 4096:
	default:
		return s, fmt.Errorf("key size %d bits: use 2048, 3072 or 4096", s.keyBits)
	}
	if s.key != nil && s.keyBits != 0 {
		return s, errors.New("WithKey and WithKeyBits both given: choose one")
	}
	if s.validitySet && !s.notAfter.After(s.notBefore) {
		return s, fmt.Errorf("validity window %s .. %s: NotAfter must be after NotBefore",
			s.notBefore.Format(time.RFC3339), s.notAfter.Format(time.RFC3339))
	}
	if s.serial != nil {
		if s.serial.Sign() <= 0 {
			return s, fmt.Errorf("serial %s: must be positive (RFC 5280)", s.serial)
		}
		// DER adds a zero byte when the top bit is set; that byte counts too.
		if len(s.serial.Bytes())+int(s.serial.Bytes()[0]>>7) > maxSerialOctets {
			return s, fmt.Errorf("serial %s: longer than %d octets (RFC 5280)", formatSerial(s.serial), maxSerialOctets)
		}
	}
	return s, nil
}

// window is the validity period: the explicit one, or from now-backdate for lifetime.
func (s settings) window(now func() time.Time, lifetime time.Duration) (time.Time, time.Time) {
	if s.validitySet {
		return s.notBefore, s.notAfter
	}
	if s.now != nil {
		now = s.now
	}
	t := now()
	return t.Add(-backdate), t.Add(lifetime)
}

// subjectWithCN is the WithSubject name, or an empty one, with cn as the default CN.
func (s settings) subjectWithCN(cn string) pkix.Name {
	var name pkix.Name
	if s.subject != nil {
		name = *s.subject
	}
	if name.CommonName == "" {
		name.CommonName = cn
	}
	return name
}
