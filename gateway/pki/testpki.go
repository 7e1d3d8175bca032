package pki

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// TestAuthorityName is the CN of the CA MakeTestPKI makes; "test" in it keeps the
// certificates from being mistaken for DAEU's.
const TestAuthorityName = "seosgw test DAEU CA"

// TestPKI is what MakeTestPKI wrote.
type TestPKI struct {
	Authority       *Authority
	CACert, CAKey   string               // ca.pem, ca-key.pem
	Hosts           map[string]HostFiles // by host name
	ReusedAuthority bool                 // ca.pem and ca-key.pem were there already
}

// HostFiles are the PEM files of one participant's transport identity.
type HostFiles struct{ Cert, Key string }

// MakeTestPKI writes a test PKI into dir for `make demo` and `seosgw pki`: ca.pem and
// ca-key.pem, and <host>.pem and <host>-key.pem for each host, issued with opts (for
// example WithLoopback). If dir already holds ca.pem and ca-key.pem, that CA is
// reused, so running it again adds or renews hosts without invalidating the
// certificates and trust settings already handed out.
func MakeTestPKI(dir string, hosts []string, opts ...Option) (*TestPKI, error) {
	if err := checkTestHosts(hosts, opts); err != nil {
		return nil, fmt.Errorf("make test PKI in %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make test PKI: %w", err)
	}
	p := &TestPKI{
		CACert: filepath.Join(dir, "ca.pem"),
		CAKey:  filepath.Join(dir, "ca-key.pem"),
		Hosts:  make(map[string]HostFiles, len(hosts)),
	}
	certThere, keyThere := exists(p.CACert), exists(p.CAKey)
	var err error
	switch {
	case certThere && keyThere:
		p.Authority, err = LoadAuthority(p.CACert, p.CAKey)
		p.ReusedAuthority = true
	case certThere || keyThere:
		err = fmt.Errorf("only one of %s and %s exists; restore the other or remove both to make a new CA", p.CACert, p.CAKey)
	default:
		p.Authority, err = NewAuthority(TestAuthorityName, WithSubject(pkix.Name{Organization: []string{"seosgw test PKI"}}))
		if err == nil {
			_, _, err = p.Authority.WriteFiles(dir, "ca")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("make test PKI: %w", err)
	}
	for _, h := range hosts {
		id, err := p.Authority.IssueTransport(h, opts...)
		if err != nil {
			return nil, fmt.Errorf("make test PKI: %w", err)
		}
		certPath, keyPath, err := id.WriteFiles(dir, h)
		if err != nil {
			return nil, fmt.Errorf("make test PKI: %w", err)
		}
		p.Hosts[h] = HostFiles{Cert: certPath, Key: keyPath}
	}
	return p, nil
}

// checkTestHosts catches, before anything is written, host names that would clash
// as file names and options that cannot apply to several certificates.
func checkTestHosts(hosts []string, opts []Option) error {
	s, err := resolve(opts)
	if err != nil {
		return err
	}
	if s.serial != nil && len(hosts) > 1 {
		return errors.New("WithSerial would give several certificates the same serial")
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if net.ParseIP(h) == nil {
			if err := checkDNSName(h); err != nil { // which also keeps '/' out of file names
				return err
			}
		}
		switch {
		case strings.EqualFold(h, "ca"):
			return fmt.Errorf("host %q would overwrite the CA's files", h)
		case seen[strings.ToLower(h)]:
			return fmt.Errorf("host %q given twice", h)
		}
		seen[strings.ToLower(h)] = true
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
