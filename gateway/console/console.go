// Package console is the operator console: a small web page served by the
// gateway for its administrator — overview, outbox (retry and cancel),
// inbox, message log, participants, conformance reports — rendered on the
// server with html/template, no scripts, no external assets. Access needs
// a login (users file with bcrypt hashes, or a client certificate); roles
// viewer and operator; every operator action goes to gateway/audit. It
// reads the node's state and acts on the outbox the way the AIS API does;
// it cannot change the configuration or keys.
package console

import (
	"context"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/register"
)

// maxPage is the most rows any page shows, whatever the query asks.
const maxPage = 200

// Options is what the console reads and acts on. Funcs may be nil: the
// overview then leaves that part out.
type Options struct {
	DB      *sql.DB
	Files   *blob.Store  // the file store large messages are in
	Service *ais.Service // outbox actions and document status, as the AIS API does them
	Cache   *register.Cache
	Self    string // our participant GUID, shown in the header

	Ready         func(ctx context.Context) (bool, []ops.Result)
	Network       func() (netcheck.Report, bool)
	RegisterState func(ctx context.Context) (register.SyncState, error)
	StaleAfter    time.Duration
	Certificate   func() *x509.Certificate
	CRLNextUpdate func() (time.Time, bool)
	PeerExpiries  func() map[string]time.Time

	UsersFile   string
	ReportsDir  string // "" = no reports page
	PageSize    int
	SessionIdle time.Duration
	SessionMax  time.Duration
	// TLS: the console is served over HTTPS; cookies are Secure and
	// __Host- prefixed. ClientCerts: a verified client certificate may
	// log in.
	TLS         bool
	ClientCerts bool
	// ClientRevocation, when set, is asked about a verified client
	// certificate before it logs in (console.tls.client_crl: a
	// trust.CRLSet's Check); an error refuses the certificate login.
	ClientRevocation func(*x509.Certificate) error

	Clock    clock.Clock
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Console serves the pages.
type Console struct {
	opt      Options
	users    *userSource
	sessions *sessions
	limiter  *limiter
	metrics  *metrics
	pages    map[string]*template.Template
	static   fs.FS
	cookie   string
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New checks the options and parses the templates.
func New(opt Options) (*Console, error) {
	if opt.DB == nil || opt.Service == nil || opt.Cache == nil || opt.UsersFile == "" {
		return nil, errors.New("console: DB, Service, Cache and UsersFile are required")
	}
	if opt.Clock == nil {
		opt.Clock = clock.System
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.PageSize <= 0 || opt.PageSize > maxPage {
		opt.PageSize = 50
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = 30 * time.Minute
	}
	if opt.SessionMax <= 0 {
		opt.SessionMax = 12 * time.Hour
	}
	c := &Console{opt: opt, users: &userSource{path: opt.UsersFile}, sessions: newSessions(opt.SessionIdle, opt.SessionMax, opt.Clock),
		limiter: newLimiter(opt.Clock), cookie: "seosgw_console"}
	if opt.TLS {
		c.cookie = "__Host-seosgw_console" // Secure, Path=/, no Domain: set by this host over HTTPS only
	}
	if _, err := c.users.current(); err != nil {
		return nil, err
	}
	var err error
	if c.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	if c.static, err = fs.Sub(staticFS, "static"); err != nil {
		return nil, err
	}
	reg := opt.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if c.metrics, err = newMetrics(reg, c.sessions); err != nil {
		return nil, err
	}
	return c, nil
}

// csp allows the console's own stylesheet and nothing else: no scripts,
// no frames, forms only to itself.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the console.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(c.static)))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /login/certificate", c.loginCertificate)
	mux.HandleFunc("POST /logout", c.auth(Viewer, c.logout))
	mux.HandleFunc("GET /{$}", c.auth(Viewer, c.overview))
	mux.HandleFunc("GET /outbox", c.auth(Viewer, c.outboxList))
	mux.HandleFunc("GET /outbox/{id}", c.auth(Viewer, c.outboxItem))
	mux.HandleFunc("POST /outbox/{id}/retry", c.auth(Operator, c.outboxRetry))
	mux.HandleFunc("POST /outbox/{id}/cancel", c.auth(Operator, c.outboxCancel))
	mux.HandleFunc("GET /inbox", c.auth(Viewer, c.inboxList))
	mux.HandleFunc("GET /inbox/{id}", c.auth(Viewer, c.inboxItem))
	mux.HandleFunc("GET /log", c.auth(Viewer, c.logList))
	mux.HandleFunc("GET /log/{id}", c.auth(Viewer, c.logItem))
	mux.HandleFunc("GET /log/{id}/raw", c.auth(Viewer, c.logRaw))
	mux.HandleFunc("GET /participants", c.auth(Viewer, c.participants))
	mux.HandleFunc("GET /reports", c.auth(Viewer, c.reports))
	mux.HandleFunc("GET /reports/view", c.auth(Viewer, c.reportFile))
	mux.HandleFunc("GET /audit", c.auth(Viewer, c.auditList))
	return c.headers(mux)
}

// headers sets the security headers on every answer, and refuses a POST
// from another origin before any handler sees it.
func (c *Console) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer browsers send
		// "Origin: null" with a form's POST, and the origin check below
		// needs the real one. Nothing leaves for other sites either way.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if c.opt.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !c.opt.TLS && !loopbackHost(r.Host) {
			c.metrics.refusal("host")
			http.Error(w, "this console answers only to 127.0.0.1, ::1 or localhost", http.StatusMisdirectedRequest)
			return
		}
		if r.Method == http.MethodPost && !sameOrigin(r) {
			c.metrics.refusal("cross_origin")
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost: a console without TLS listens on loopback only (config
// refuses other addresses), so a browser naming another host reached it by
// DNS rebinding: a page of that host would be same-origin with the console
// and could post the login form from the operator's own address.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin: browsers send Origin (or Sec-Fetch-Site) with every POST; a
// page elsewhere posting to the console is refused even before its CSRF
// token is looked at. Clients that send neither (no browser) pass on to
// the token check.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "cross-site", "same-site":
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	return origin == "http://"+r.Host || origin == "https://"+r.Host
}

// ctxKey carries the session to the page handlers.
type ctxKey struct{}

func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxKey{}).(*session)
	return ss
}

// auth lets a request through with a live session of a user still in the
// users file with at least role; a POST must carry the session's CSRF
// token. Without a session a GET is sent to the login page.
func (c *Console) auth(need Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := c.currentSession(r)
		if ss == nil {
			if r.Method != http.MethodGet {
				c.metrics.refusal("no_session")
				c.problem(w, r, nil, http.StatusUnauthorized, "Your session has ended; log in again.")
				return
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if err := r.ParseForm(); err != nil || !ss.csrfOK(r.PostForm.Get("csrf")) {
				c.metrics.refusal("csrf")
				c.record(r, ss, actionName(r), targetOf(r), "", "refused", "the form's CSRF token is missing or wrong")
				c.problem(w, r, ss, http.StatusForbidden, "This form is not one the console gave you (its CSRF token is missing or wrong). Reload the page and try again.")
				return
			}
		}
		if need == Operator && ss.Role != Operator {
			c.metrics.refusal("role")
			if r.Method == http.MethodPost {
				c.record(r, ss, actionName(r), targetOf(r), r.PostForm.Get("note"), "refused", "the role viewer may not do this")
			}
			c.problem(w, r, ss, http.StatusForbidden, "Only an operator may do this; you are logged in as a viewer.")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	}
}

// currentSession is the request's live session whose user is still in the
// users file with the same role and password (a removed or demoted user,
// or one whose password was set again, is logged out).
func (c *Console) currentSession(r *http.Request) *session {
	ck, err := r.Cookie(c.cookie)
	if err != nil {
		return nil
	}
	ss, ok := c.sessions.get(ck.Value)
	if !ok {
		return nil
	}
	users, err := c.users.current()
	if err != nil {
		c.opt.Log.Error("console: users file", "error", err)
		return nil
	}
	if u, ok := users.Find(ss.User); !ok || u.Role != ss.Role || u.Hash != ss.Cred {
		c.sessions.remove(ss.ID)
		return nil
	}
	return ss
}

// clientIP is the address login attempts are counted against.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func actionName(r *http.Request) string {
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	if len(parts) == 3 {
		return parts[0] + "." + parts[2]
	}
	return strings.ReplaceAll(p, "/", ".")
}

// targetOf is what an action's path acts on: outbox/42 of /outbox/42/retry.
func targetOf(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 3 {
		return parts[0] + "/" + parts[1]
	}
	return strings.Join(parts, "/")
}

// problem renders an error page (or plain text before a session exists).
func (c *Console) problem(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	c.render(w, r, ss, status, "problem", "Problem", map[string]any{"Message": msg, "Status": status})
}

// internal answers a failure of ours. The error goes to the log only: it
// can name files, SQL and addresses the page has no need to show.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, err error) {
	c.opt.Log.Error("console: page failed", "path", r.URL.Path, "error", err)
	c.problem(w, r, sessionOf(r), http.StatusInternalServerError, "The page could not be made; the gateway's log has the cause (console: page failed).")
}
