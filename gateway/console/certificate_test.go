package console

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seosgw/seosgw/gateway/pki"
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
