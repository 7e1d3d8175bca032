package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

// Renewal is what a certificate signing request asks DAEU for: the
// subject and names of the certificate in force, so the new certificate
// stands in for the old one at every peer.
type Renewal struct {
	RawSubject []byte   // the DER subject, copied byte for byte from the current certificate
	Subject    string   // the same, for people
	DNSNames   []string // host names DAEU assigned
	IPs        []net.IP
	Emails     []string
}

// RenewalOf is the renewal of cur, plus host names the configuration
// knows (the endpoint's public host) that cur lacks.
func RenewalOf(cur *x509.Certificate, hosts ...string) (*Renewal, error) {
	r := &Renewal{RawSubject: cur.RawSubject, Subject: cur.Subject.String(), DNSNames: slices.Clone(cur.DNSNames),
		IPs: slices.Clone(cur.IPAddresses), Emails: slices.Clone(cur.EmailAddresses)}
	for _, h := range hosts {
		if h == "" || net.ParseIP(h) != nil || slices.ContainsFunc(r.DNSNames, func(n string) bool { return strings.EqualFold(n, h) }) {
			continue
		}
		if err := checkDNSName(h); err != nil {
			return nil, err
		}
		r.DNSNames = append(r.DNSNames, h)
	}
	if len(r.RawSubject) == 0 || cur.Subject.String() == "" {
		return nil, errors.New("the current certificate has an empty subject; DAEU's transport certificates name the host")
	}
	return r, nil
}

// Request makes a new RSA key of bits (2048, 3072 or 4096) and a PKCS#10
// request for r signed with it (sha256WithRSAEncryption, as DAEU's CA
// signs). It returns the key and the request, each PEM-encoded.
func (r *Renewal) Request(bits int) (keyPEM, csrPEM []byte, err error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return nil, nil, fmt.Errorf("key size %d bits: use 2048, 3072 or 4096", bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate RSA-%d key: %w", bits, err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: r.RawSubject,
		DNSNames: r.DNSNames, IPAddresses: r.IPs, EmailAddresses: r.Emails, SignatureAlgorithm: x509.SHA256WithRSA}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("make the certificate request: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the new key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ParseRequest reads a PEM certificate request and checks its signature.
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("no PEM CERTIFICATE REQUEST block")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: the signature does not hold: %w", err)
	}
	return csr, nil
}

// WriteNewFile writes data to path, which must not exist yet: a private
// key is never overwritten, not even by a second run by mistake. The file
// is made with perm (0600 for a key) and synced; run as root, it gets the
// owner of like (the file it will replace), when like is given.
func WriteNewFile(path string, data []byte, perm os.FileMode, like string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists already; it is never overwritten (remove it yourself if it is not needed, or choose another name)", path)
		}
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err = f.Chmod(perm); err != nil { // whatever the umask made of it
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = ownLike(path, like); err != nil {
		return err
	}
	return f.Sync()
}

// IssueFor is the authority's answer to a request: a transport certificate
// for the request's public key, subject and names. DAEU does this for a
// participant; tests and the demo use it to play DAEU.
func (a *Authority) IssueFor(csr *x509.CertificateRequest, opts ...Option) (*x509.Certificate, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("issue: the request's signature does not hold: %w", err)
	}
	notBefore, notAfter := s.window(a.now, transportLifetime)
	tmpl := &x509.Certificate{
		SerialNumber: s.serial, RawSubject: csr.RawSubject, NotBefore: notBefore, NotAfter: notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              csr.DNSNames, IPAddresses: csr.IPAddresses, EmailAddresses: csr.EmailAddresses,
		SignatureAlgorithm: signatureAlgorithm(a.Key.Public()),
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = randomSerial()
	}
	if _, ok := csr.PublicKey.(*rsa.PublicKey); !ok {
		tmpl.KeyUsage &^= x509.KeyUsageKeyEncipherment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, csr.PublicKey, a.Key)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	return x509.ParseCertificate(der)
}
