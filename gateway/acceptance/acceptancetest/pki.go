package acceptancetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seosgw/seosgw/integration/extools"
)

// Cert is a certificate with its key and PEM files.
type Cert struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertPath string
	KeyPath  string
}

// PKI is a qualified-provider-like hierarchy: a root, an issuing CA below
// it, a CRL server on loopback and, when asked, an openssl OCSP responder.
// gateway/pki makes transport PKIs (path length 0, server/client EKUs); a
// document signer needs an intermediate, distribution points and subject
// identifiers, hence this kit.
type PKI struct {
	Dir            string
	Root, Issuing  *Cert
	CRLServer      *httptest.Server
	OCSPURL        string // "" unless StartOCSP ran
	CRLFetches     atomic.Int64
	Now            func() time.Time
	mu             sync.Mutex
	revoked        map[string]time.Time // serial hex -> revocation time
	issued         []*x509.Certificate
	crlUnavailable bool
}

var serialCounter atomic.Int64

// NewPKI makes the root and issuing CA and starts the CRL server.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{Dir: t.TempDir(), revoked: map[string]time.Time{}, Now: time.Now}
	now := p.Now()
	p.Root = p.make(t, "root", &x509.Certificate{
		Subject:   pkix.Name{CommonName: "seosgw test Qualified Root CA", Organization: []string{"seosgw test QTSP"}, Country: []string{"BG"}},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil)
	p.CRLServer = httptest.NewServer(http.HandlerFunc(p.serveCRL))
	t.Cleanup(p.CRLServer.Close)
	p.Issuing = p.make(t, "issuing", &x509.Certificate{
		Subject:   pkix.Name{CommonName: "seosgw test Qualified Issuing CA", Organization: []string{"seosgw test QTSP"}, Country: []string{"BG"}},
		NotBefore: now.Add(-47 * time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		CRLDistributionPoints: []string{p.CRLServer.URL + "/root.crl"},
	}, p.Root)
	return p
}

// SignerSpec describes a document signer's certificate.
type SignerSpec struct {
	Name      string // CN
	Org       string // O
	OrgID     string // organizationIdentifier, e.g. NTRBG-000695089
	PersonID  string // serialNumber, e.g. PNOBG-7501010010
	NotBefore time.Time
	NotAfter  time.Time
	CRLURL    string // default: this PKI's CRL server; "-" for none
	OCSP      bool   // name the OCSP responder (StartOCSP first)
	EC        bool   // ECDSA P-256 instead of RSA-2048
}

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// Issue makes a signer certificate under the issuing CA.
func (p *PKI) Issue(t testing.TB, s SignerSpec) *Cert {
	t.Helper()
	now := p.Now()
	if s.NotBefore.IsZero() {
		s.NotBefore = now.Add(-24 * time.Hour)
	}
	if s.NotAfter.IsZero() {
		s.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	subj := pkix.Name{CommonName: s.Name, Country: []string{"BG"}, SerialNumber: s.PersonID}
	if s.Org != "" {
		subj.Organization = []string{s.Org}
	}
	if s.OrgID != "" {
		subj.ExtraNames = append(subj.ExtraNames, pkix.AttributeTypeAndValue{Type: oidOrganizationIdentifier, Value: s.OrgID})
	}
	tmpl := &x509.Certificate{
		Subject: subj, NotBefore: s.NotBefore, NotAfter: s.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	switch s.CRLURL {
	case "":
		tmpl.CRLDistributionPoints = []string{p.CRLServer.URL + "/issuing.crl"}
	case "-":
	default:
		tmpl.CRLDistributionPoints = []string{s.CRLURL}
	}
	if s.OCSP {
		if p.OCSPURL == "" {
			t.Fatal("acceptancetest: StartOCSP before issuing a certificate that names the responder")
		}
		tmpl.OCSPServer = []string{p.OCSPURL}
	}
	name := fmt.Sprintf("signer-%d", serialCounter.Add(1))
	var key crypto.Signer
	if s.EC {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	c := p.makeWithKey(t, name, tmpl, p.Issuing, key)
	p.mu.Lock()
	p.issued = append(p.issued, c.Cert)
	p.mu.Unlock()
	p.writeIndex(t)
	return c
}

// Revoke puts c on the issuing CA's CRL and in the OCSP responder's index.
func (p *PKI) Revoke(t testing.TB, c *Cert) {
	t.Helper()
	p.mu.Lock()
	p.revoked[fmt.Sprintf("%X", c.Cert.SerialNumber)] = p.Now().Add(-time.Minute)
	p.mu.Unlock()
	p.writeIndex(t)
}

// SetCRLUnavailable makes the CRL server answer 503, as a provider's
// overloaded site does.
func (p *PKI) SetCRLUnavailable(down bool) {
	p.mu.Lock()
	p.crlUnavailable = down
	p.mu.Unlock()
}

// ChainPEM is the issuing CA certificate, to ship inside signatures.
func (p *PKI) ChainPEM() string { return p.Issuing.CertPath }

// CADir returns a folder holding the root certificate only: the trust
// anchors of a verifier.
func (p *PKI) CADir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(p.Dir, "trusted")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p.Root.CertPath)
	if err := os.WriteFile(filepath.Join(d, "root.pem"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func (p *PKI) serveCRL(w http.ResponseWriter, r *http.Request) {
	p.CRLFetches.Add(1)
	p.mu.Lock()
	down := p.crlUnavailable
	var entries []x509.RevocationListEntry
	for serial, at := range p.revoked {
		n, _ := new(big.Int).SetString(serial, 16)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	p.mu.Unlock()
	if down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	issuer := p.Issuing
	if r.URL.Path == "/root.crl" {
		issuer, entries = p.Root, nil
	} else if r.URL.Path != "/issuing.crl" {
		http.NotFound(w, r)
		return
	}
	now := p.Now()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries, Number: big.NewInt(now.UnixNano()),
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
	}, issuer.Cert, issuer.Key)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}

// StartOCSP makes openssl the issuing CA's OCSP responder: a loopback HTTP
// server hands each request to `openssl ocsp -index ... -reqin`, which
// answers from an index file that Issue and Revoke keep current. (openssl
// 3.0's own -port listens on every interface; tests stay on loopback.)
func (p *PKI) StartOCSP(t testing.TB) {
	t.Helper()
	bin := extools.Require(t, "openssl")
	p.writeIndex(t)
	dir := t.TempDir()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST an OCSP request", http.StatusBadRequest)
			return
		}
		i := n.Add(1)
		req, resp := filepath.Join(dir, fmt.Sprintf("req-%d", i)), filepath.Join(dir, fmt.Sprintf("resp-%d", i))
		if err := os.WriteFile(req, body, 0o600); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		p.mu.Lock() // the index is rewritten under this lock
		out, err := exec.Command(bin, "ocsp", "-index", filepath.Join(p.Dir, "index.txt"), "-reqin", req, "-respout", resp,
			"-rsigner", p.Issuing.CertPath, "-rkey", p.Issuing.KeyPath, "-CA", p.Issuing.CertPath, "-nmin", "60", "-resp_no_certs").CombinedOutput()
		p.mu.Unlock()
		if err != nil {
			http.Error(w, fmt.Sprintf("openssl ocsp: %v: %s", err, out), 500)
			return
		}
		b, err := os.ReadFile(resp)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	p.OCSPURL = srv.URL + "/"
}

// writeIndex writes the OpenSSL CA database the OCSP responder reads (it
// rereads the file when it changes).
func (p *PKI) writeIndex(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, c := range p.issued {
		serial := fmt.Sprintf("%X", c.SerialNumber)
		if len(serial)%2 == 1 {
			serial = "0" + serial
		}
		exp := c.NotAfter.UTC().Format("060102150405Z")
		if at, ok := p.revoked[fmt.Sprintf("%X", c.SerialNumber)]; ok {
			fmt.Fprintf(&b, "R\t%s\t%s\t%s\tunknown\t/CN=%s\n", exp, at.UTC().Format("060102150405Z"), serial, c.Subject.CommonName)
		} else {
			fmt.Fprintf(&b, "V\t%s\t\t%s\tunknown\t/CN=%s\n", exp, serial, c.Subject.CommonName)
		}
	}
	idx := filepath.Join(p.Dir, "index.txt")
	if err := os.WriteFile(idx+".tmp", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(idx+".tmp", idx); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(idx+".attr", []byte("unique_subject = no\n"), 0o644)
}

func (p *PKI) make(t testing.TB, name string, tmpl *x509.Certificate, parent *Cert) *Cert {
	return p.makeWithKey(t, name, tmpl, parent, nil)
}

func (p *PKI) makeWithKey(t testing.TB, name string, tmpl *x509.Certificate, parent *Cert, key crypto.Signer) *Cert {
	t.Helper()
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	tmpl.SerialNumber, _ = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl.SerialNumber.Add(tmpl.SerialNumber, big.NewInt(1))
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("make %s: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cert{Cert: cert, Key: key, CertPath: filepath.Join(p.Dir, name+".pem"), KeyPath: filepath.Join(p.Dir, name+"-key.pem")}
	writePEM(t, c.CertPath, "CERTIFICATE", der)
	writePEM(t, c.KeyPath, "PRIVATE KEY", keyDER)
	return c
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// UnreachableURL is an http URL on loopback where nothing listens.
func UnreachableURL(t testing.TB, path string) string {
	t.Helper()
	return "http://127.0.0.1:" + freePort(t) + path
}

// CRLGate is a distribution point of the issuing CA's CRL that holds every
// download until Open, as a provider's site that hangs: tests catch
// documents while their checks wait on it.
type CRLGate struct {
	URL     string        // name it as a signer's CRLURL
	Arrived chan struct{} // one value per download that came in
	open    chan struct{}
	once    sync.Once
}

// NewCRLGate starts a closed gate on loopback; it opens when the test ends.
func (p *PKI) NewCRLGate(t testing.TB) *CRLGate {
	t.Helper()
	g := &CRLGate{Arrived: make(chan struct{}, 1000), open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Arrived <- struct{}{}
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/issuing.crl"
		p.serveCRL(w, r2)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.Open) // before Close, which waits for held downloads
	g.URL = srv.URL + "/gated.crl"
	return g
}

// Open lets every held and later download through.
func (g *CRLGate) Open() { g.once.Do(func() { close(g.open) }) }
