package console

import (
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/seosgw/seosgw/gateway/audit"
	"github.com/seosgw/seosgw/gateway/textsafe"
	"github.com/seosgw/seosgw/gateway/trust"
)

// loginCookie carries the login form's own CSRF token (double submit):
// there is no session yet to keep it in.
const loginCookie = "seosgw_console_login"

// dummyHash is compared against when the user does not exist, so that
// the answer takes as long for a wrong name as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("seosgw-console-no-such-user"), BcryptCost)

type loginData struct {
	Next     string
	Token    string
	Name     string
	Error    string
	CertUser string // the user a presented client certificate names
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if ss := c.currentSession(r); ss != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, "", "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	token := randomToken()
	http.SetCookie(w, &http.Cookie{Name: c.cookiePrefix() + loginCookie, Value: token, Path: "/login", HttpOnly: true, Secure: c.opt.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostForm.Get("next")
	}
	d := loginData{Next: localPath(next), Token: token, Name: name, Error: msg}
	if u, cert, ok := c.certUser(r); ok && c.revocation(cert) == nil {
		d.CertUser = u.Name
	}
	c.render(w, r, nil, status, "login", "Log in", d)
}

// cookiePrefix marks cookies of a console served over TLS so that no
// plain-HTTP page of the host can set or overwrite them. The login cookie
// is path-scoped, so it takes __Secure- (__Host- requires Path=/).
func (c *Console) cookiePrefix() string {
	if c.opt.TLS {
		return "__Secure-"
	}
	return ""
}

func (c *Console) loginTokenOK(r *http.Request) bool {
	ck, err := r.Cookie(c.cookiePrefix() + loginCookie)
	form := r.PostForm.Get("token")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !c.loginTokenOK(r) {
		c.metrics.refusal("csrf")
		c.showLogin(w, r, http.StatusForbidden, "", "The login form had expired or was not the console's; try again.")
		return
	}
	name, password := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("password")
	ip := clientIP(r)
	userKey := "user:" + strings.ToLower(name)
	if !ValidName(name) { // no user has it; one key for all, so made-up names cannot fill the limiter
		userKey = "user:!invalid"
	}
	ipKey := "ip:" + ip
	if ok, first := c.limiter.attempt(ipKey, userKey); !ok {
		c.metrics.logins.WithLabelValues("rate_limited").Inc()
		if first {
			c.record(r, nil, "login", textsafe.Cut(name, 64), "", audit.Refused, "too many failed logins from "+ip+" or for this name; wait 15 minutes")
		}
		c.showLogin(w, r, http.StatusTooManyRequests, name, "Too many failed logins: wait 15 minutes and try again.")
		return
	}
	users, err := c.users.current()
	if err != nil {
		c.internal(w, r, err)
		return
	}
	u, found := users.Find(name)
	hash := dummyHash
	if found && u.Hash != NoPassword {
		hash = []byte(u.Hash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !found || u.Hash == NoPassword || len(password) > 72 {
		c.metrics.logins.WithLabelValues("bad_credentials").Inc()
		c.record(r, nil, "login", textsafe.Cut(name, 64), "", audit.Refused, "wrong name or password from "+ip)
		c.showLogin(w, r, http.StatusUnauthorized, name, "Wrong name or password.")
		return
	}
	c.limiter.succeeded(userKey, ipKey)
	c.startSession(w, r, u, "password")
}

// certUser is the user a verified client certificate names (its common
// name or an e-mail address), when client certificates are on.
func (c *Console) certUser(r *http.Request) (User, *x509.Certificate, bool) {
	if !c.opt.ClientCerts || r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return User{}, nil, false
	}
	users, err := c.users.current()
	if err != nil {
		return User{}, nil, false
	}
	cert := r.TLS.VerifiedChains[0][0]
	for _, n := range certNames(cert) {
		if u, ok := users.Find(n); ok {
			return u, cert, true
		}
	}
	return User{}, nil, false
}

// revocation is why cert may not log in by console.tls.client_crl: it is
// revoked, or revocation is unknown (the list unreadable or past its next
// update: certificate login fails closed, passwords still work).
func (c *Console) revocation(cert *x509.Certificate) error {
	if c.opt.ClientRevocation == nil {
		return nil
	}
	return c.opt.ClientRevocation(cert)
}

func certNames(cert *x509.Certificate) []string {
	return append([]string{cert.Subject.CommonName}, cert.EmailAddresses...)
}

func (c *Console) loginCertificate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !c.loginTokenOK(r) {
		c.metrics.refusal("csrf")
		c.showLogin(w, r, http.StatusForbidden, "", "The login form had expired or was not the console's; try again.")
		return
	}
	u, cert, ok := c.certUser(r)
	if !ok {
		c.metrics.logins.WithLabelValues("bad_certificate").Inc()
		who := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = textsafe.Cut(r.TLS.PeerCertificates[0].Subject.CommonName, 64)
		}
		c.record(r, nil, "login", who, "", audit.Refused, "no verified client certificate naming a user")
		c.showLogin(w, r, http.StatusUnauthorized, "", "Your browser presented no certificate from the console's CA that names a user of the console.")
		return
	}
	if err := c.revocation(cert); err != nil {
		serial := fmt.Sprintf("%X", cert.SerialNumber)
		if trust.IsRevoked(err) {
			c.metrics.logins.WithLabelValues("revoked_certificate").Inc()
			c.record(r, nil, "login", u.Name, "", audit.Refused, "client certificate serial "+serial+" is revoked (console.tls.client_crl), from "+clientIP(r))
			c.showLogin(w, r, http.StatusForbidden, "", "Your certificate (serial "+serial+") has been revoked by its CA and no longer logs in. "+
				"Log in with your password, or ask the administrator for a new certificate.")
			return
		}
		c.metrics.logins.WithLabelValues("revocation_unknown").Inc()
		c.opt.Log.Warn("console: certificate login refused: revocation unknown", "user", u.Name, "serial", serial, "error", err)
		c.record(r, nil, "login", u.Name, "", audit.Refused, "client certificate serial "+serial+": revocation unknown (console.tls.client_crl unreadable or past its next update), from "+clientIP(r))
		c.showLogin(w, r, http.StatusServiceUnavailable, "", "Certificate login is unavailable: the console cannot tell whether your certificate was revoked "+
			"(its revocation list is missing or out of date). Log in with your password, and tell the administrator.")
		return
	}
	c.startSession(w, r, u, "certificate")
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, u User, method string) {
	ss := c.sessions.create(u, method)
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: ss.ID, Path: "/", HttpOnly: true, Secure: c.opt.TLS, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: c.cookiePrefix() + loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, Secure: c.opt.TLS,
		SameSite: http.SameSiteStrictMode})
	c.metrics.logins.WithLabelValues("ok").Inc()
	c.record(r, ss, "login", "", "", audit.OK, "by "+method+" from "+clientIP(r))
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	c.sessions.remove(ss.ID)
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.opt.TLS, SameSite: http.SameSiteStrictMode})
	c.record(r, ss, "logout", "", "", audit.OK, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// record writes an audit entry; a failure to write it is logged (the
// action itself has happened or been refused already).
func (c *Console) record(r *http.Request, ss *session, action, target, note, outcome, detail string) {
	e := audit.Entry{At: c.opt.Clock.Now(), Action: action, Target: target, Note: note, Outcome: outcome, Detail: detail}
	if ss != nil {
		e.Who, e.Role = ss.User, string(ss.Role)
	} else {
		e.Who, e.Role = target, ""
		e.Target = ""
	}
	if _, err := audit.Record(r.Context(), c.opt.DB, c.opt.Log, e); err != nil {
		c.opt.Log.Error("console: audit entry not written", "error", err, "action", action, "who", e.Who)
	}
}
