package console

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/trust"
)

// Client certificate login over real TLS on loopback: a certificate from
// the configured CA whose common name is a user logs in without a
// password; one from another CA is not even verified, and one naming no
// user is refused. Cookies are Secure and __Host- prefixed.
func TestClientCertificateLogin(t *testing.T) {
	f := newFixture(t)
	u, _ := ReadUsersFile(f.users)
	u.Set(User{Name: "ivan@example.bg", Role: Operator, Hash: NoPassword})
	if err := WriteUsersFile(f.users, u); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewAuthority("console operators CA")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := pki.NewAuthority("another CA")
	server, err := ca.IssueTransport("console.local", pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(a *pki.Authority, cn string) tls.Certificate {
		id, err := a.IssueTransport("operator.local", pki.WithSubject(pkix.Name{CommonName: cn}))
		if err != nil {
			t.Fatal(err)
		}
		return id.TLSCertificate()
	}
	opt := f.opt
	opt.TLS, opt.ClientCerts, opt.Registry = true, true, prometheus.NewRegistry()
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srv := httptest.NewUnstartedServer(c.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{server.TLSCertificate()}, ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	browser := func(cert *tls.Certificate) *http.Client {
		jar, _ := cookiejar.New(nil)
		tc := &tls.Config{RootCAs: pool}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	login := func(cl *http.Client) (*http.Response, string) {
		t.Helper()
		resp, err := cl.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page := readAll(resp)
		token := field(t, tokenField, page)
		resp, err = cl.PostForm(srv.URL+"/login/certificate", url.Values{"token": {token}, "next": {"/outbox"}})
		if err != nil {
			t.Fatal(err)
		}
		return resp, page
	}

	good := issue(ca, "ivan@example.bg")
	cl := browser(&good)
	resp, page := login(cl)
	if !strings.Contains(page, "Your certificate names <strong>ivan@example.bg</strong>") {
		t.Errorf("the login page does not offer the certificate:\n%s", page)
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/outbox" {
		t.Fatalf("certificate login: %d %s", resp.StatusCode, readAll(resp))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-seosgw_console" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie: %+v", resp.Cookies())
	}
	resp, _ = cl.Get(srv.URL + "/outbox")
	if body := readAll(resp); resp.StatusCode != 200 || !strings.Contains(body, "ivan@example.bg (operator)") || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("after certificate login: %d", resp.StatusCode)
	}
	for name, cert := range map[string]*tls.Certificate{"no certificate": nil, "no such user": ptr(issue(ca, "petar@example.bg"))} {
		resp, page := login(browser(cert))
		if strings.Contains(page, "Your certificate names") || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	// A certificate from another CA is not even offered (the server names
	// its CA in the handshake) or, forced on it, fails the handshake.
	other := issue(stranger, "ivan@example.bg")
	forced := browser(nil)
	forced.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil }
	if resp, err := forced.Get(srv.URL + "/login"); err == nil {
		t.Errorf("a certificate from another CA passed the handshake: %d", resp.StatusCode)
	}
	if resp, page := login(browser(&other)); strings.Contains(page, "Your certificate names") || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another CA's certificate: %d", resp.StatusCode)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'ok' AND who = 'ivan@example.bg' AND detail LIKE 'by certificate%'`); n != 1 {
		t.Errorf("certificate login audited %d times", n)
	}
}

func ptr[T any](v T) *T { return &v }

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func countRows(t *testing.T, f *fixture, q string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Revocation by console.tls.client_crl over real TLS on loopback, with a
// CRL the test CA signed, read by trust.CRLSet as node wires it: a revoked
// certificate is not offered, is refused at login with an audit row and a
// page that says so, while another certificate of the same user still logs
// in; a new list is picked up when the file changes; a list past its next
// update refuses certificate login (revocation unknown) but not passwords.
func TestRevokedClientCertificateRefused(t *testing.T) {
	f := newFixture(t)
	u, _ := ReadUsersFile(f.users)
	u.Set(User{Name: "ivan@example.bg", Role: Operator, Hash: NoPassword})
	if err := WriteUsersFile(f.users, u); err != nil {
		t.Fatal(err)
	}
	ca := testkit.NewPKI(t, "console operators CA", nil)
	server := ca.Host(t, "console.local")
	issue := func() *pki.Identity {
		return ca.Issue(t, "operator.local", pki.WithSubject(pkix.Name{CommonName: "ivan@example.bg"}))
	}
	lost, kept, later := issue(), issue(), issue()
	crlPath := filepath.Join(t.TempDir(), "operators.crl")
	writeCRL := func(next time.Duration, revoked ...*pki.Identity) {
		t.Helper()
		var certs []*x509.Certificate
		for _, id := range revoked {
			certs = append(certs, id.Cert)
		}
		b, err := ca.CA.CRL(certs, f.clk.Now().Add(-time.Minute), f.clk.Now().Add(next))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crlPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// A new file time as a fetch job's rename gives it, whatever the
		// file system's time resolution.
		at := time.Now().Add(time.Duration(len(revoked)) * time.Second)
		os.Chtimes(crlPath, at, at)
	}
	writeCRL(24*time.Hour, lost)
	crls := trust.NewCRLSet([]string{crlPath}, []*x509.Certificate{ca.CA.Cert}, false, f.clk, slog.New(slog.DiscardHandler), nil)
	if err := crls.Load(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opt := f.opt
	opt.TLS, opt.ClientCerts, opt.Registry, opt.ClientRevocation = true, true, reg, crls.Check
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.CA.Cert)
	srv := httptest.NewUnstartedServer(c.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{server.TLSCertificate()}, ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	login := func(id *pki.Identity) (status int, loginPage, answer string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		cl := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{id.TLSCertificate()}}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page := readAll(resp)
		resp, err = cl.PostForm(srv.URL+"/login/certificate", url.Values{"token": {field(t, tokenField, page)}, "next": {"/outbox"}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, page, readAll(resp)
	}
	offered := "Your certificate names <strong>ivan@example.bg</strong>"
	revokedAudit := func(id *pki.Identity) int {
		return countRows(t, f, fmt.Sprintf(`SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'refused' AND who = 'ivan@example.bg'
			AND detail LIKE 'client certificate serial %X is revoked%%'`, id.Cert.SerialNumber))
	}

	status, page, answer := login(lost)
	if status != http.StatusForbidden || strings.Contains(page, offered) || !strings.Contains(answer, "has been revoked by its CA") {
		t.Errorf("a revoked certificate: %d, offered %v:\n%s", status, strings.Contains(page, offered), answer)
	}
	if n := revokedAudit(lost); n != 1 {
		t.Errorf("the revoked certificate's login audited %d times", n)
	}
	if status, page, _ := login(kept); status != http.StatusSeeOther || !strings.Contains(page, offered) {
		t.Errorf("a certificate not on the CRL: %d", status)
	}

	// The CA revokes the other one too; the file changes and is re-read.
	writeCRL(24*time.Hour, lost, kept)
	f.clk.Advance(time.Minute)
	if status, _, answer := login(kept); status != http.StatusForbidden || !strings.Contains(answer, "has been revoked") || revokedAudit(kept) != 1 {
		t.Errorf("a certificate revoked by a new CRL: %d\n%s", status, answer)
	}

	// Past its next update nobody can tell: certificate login fails closed.
	f.clk.Advance(25 * time.Hour)
	if status, _, answer := login(later); status != http.StatusServiceUnavailable || !strings.Contains(answer, "cannot tell whether your certificate was revoked") {
		t.Errorf("a stale CRL: %d\n%s", status, answer)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit WHERE outcome = 'refused' AND detail LIKE '%revocation unknown%'`); n != 1 {
		t.Errorf("the refusal for an unknown revocation audited %d times", n)
	}
	for outcome, want := range map[string]float64{"revoked_certificate": 2, "revocation_unknown": 1, "ok": 1} {
		if got := testutil.ToFloat64(c.metrics.logins.WithLabelValues(outcome)); got != want {
			t.Errorf("seosgw_console_logins_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
}
