package console

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

var (
	self = testkit.Participant(1, "000000001", "Община Тестово")
	peer = testkit.Participant(2, "000000002", "Министерство на тестовете")
)

const (
	operatorPassword = "operator-password-1"
	viewerPassword   = "viewer-password-123"
)

// fixture is a console on a real SQLite file and the AIS service the API
// uses, served over loopback.
type fixture struct {
	t       *testing.T
	db      *sql.DB
	clk     *clock.Manual
	svc     *ais.Service
	console *Console
	srv     *httptest.Server
	users   string
	reports string
	reg     *prometheus.Registry
	opt     Options
}

func newFixture(t *testing.T, peerEntity ...register.Entity) *fixture {
	t.Helper()
	db := testkit.DB(t)
	clk := clock.NewManual(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC))
	p := peer
	if len(peerEntity) > 0 {
		p = peerEntity[0]
	}
	cache := testkit.Seed(t, db, clk, self, p)
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	svc := &ais.Service{DB: db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID}, Self: self.Node(), Clock: clk, Log: log,
		Queued: func() {}, Transitions: outbox.NewObserver(reg, log)}
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	u := &Users{}
	for _, x := range []struct {
		name, pass string
		role       Role
	}{{"ivan", operatorPassword, Operator}, {"maria", viewerPassword, Viewer}} {
		h, err := bcrypt.GenerateFromPassword([]byte(x.pass), bcrypt.MinCost) // the file's format; the CLI uses BcryptCost
		if err != nil {
			t.Fatal(err)
		}
		u.Set(User{Name: x.name, Role: x.role, Hash: string(h)})
	}
	if err := WriteUsersFile(users, u); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, "reports")
	os.MkdirAll(filepath.Join(reports, "run-1"), 0o755)
	os.WriteFile(filepath.Join(reports, "run-1", "report.html"), []byte("<html><body><h1>Доклад</h1></body></html>"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.html"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(dir, "secret.html"), filepath.Join(reports, "link.html"))
	opt := Options{DB: db, Service: svc, Cache: cache, Self: self.GUID, UsersFile: users, ReportsDir: reports, PageSize: 5,
		SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, Clock: clk, Log: log, Registry: reg}
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, db: db, clk: clk, svc: svc, console: c, srv: srv, users: users, reports: reports, reg: reg, opt: opt}
}

// client is a browser-like client: a cookie jar, no redirects followed.
type client struct {
	f    *fixture
	http *http.Client
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, header ...string) (int, http.Header, string) {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var (
	tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", re, page)
	}
	return m[1]
}

// login logs in through the form and returns the session's CSRF token.
func (c *client) login(name, password string) (int, string) {
	c.f.t.Helper()
	_, _, page := c.do("GET", "/login", nil)
	status, h, body := c.do("POST", "/login", url.Values{"token": {field(c.f.t, tokenField, page)}, "name": {name}, "password": {password}, "next": {"/"}})
	if status != http.StatusSeeOther {
		return status, body
	}
	if h.Get("Location") != "/" {
		c.f.t.Fatalf("login sent to %q", h.Get("Location"))
	}
	_, _, page = c.do("GET", "/", nil)
	return status, field(c.f.t, csrfField, page)
}

func (f *fixture) send(about string) int64 {
	f.t.Helper()
	id, _, _, err := f.svc.Send(context.Background(), &ais.Outgoing{Recipient: peer.GUID, Kind: "Писмо", About: about, Comment: "за регистрация",
		Attachments: []ais.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Content: "JVBERi0xLjQK"}}}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) fail(id int64) {
	f.t.Helper()
	testkit.Attempt(f.t, f.db, id, outbox.Outcome{Final: true, Detail: "the recipient answered ERR_EXTERNAL"}, f.clk.Now())
}

func TestAnonymousIsSentToLogin(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for _, path := range []string{"/", "/outbox", "/outbox/1", "/inbox", "/log", "/log/1/raw", "/participants", "/reports", "/reports/view?path=run-1/report.html", "/audit"} {
		status, h, _ := c.do("GET", path, nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
			t.Errorf("GET %s: %d to %q; want a redirect to the login", path, status, h.Get("Location"))
		}
	}
	id := f.send("a")
	f.fail(id)
	status, _, _ := c.do("POST", "/outbox/1/retry", url.Values{"csrf": {"x"}})
	if status != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", status)
	}
	if st, _ := f.svc.Document(context.Background(), id); st.State != "failed" {
		t.Errorf("an anonymous retry changed the document: %s", st.State)
	}
	// Security headers on every answer, the login page too.
	_, h, page := c.do("GET", "/login", nil)
	if h.Get("Content-Security-Policy") != csp || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" ||
		!strings.Contains(h.Get("Set-Cookie"), "SameSite=Strict") || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("headers: %v", h)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the page has a script, inline style or external asset:\n%s", page)
	}
}

func TestLoginAndRateLimit(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if status, _ := c.login("ivan", "wrong-password-xx"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	if status, _ := c.login("nobody", operatorPassword); status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", status)
	}
	// A login form posted without its token (login CSRF) is refused.
	if status, _, _ := c.do("POST", "/login", url.Values{"name": {"ivan"}, "password": {operatorPassword}}); status != http.StatusForbidden {
		t.Fatalf("login without the form's token: %d", status)
	}
	if status, _, _ := c.do("POST", "/login", url.Values{"name": {"ivan"}, "password": {operatorPassword}}, "Origin", "http://evil.example"); status != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d", status)
	}
	// next never sends the browser elsewhere.
	// A tab is dropped by browsers inside a URL: "/\t/evil" is "//evil" to them.
	nexts := []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example"}
	for _, next := range nexts {
		e := f.client()
		_, _, page := e.do("GET", "/login", nil)
		_, h, _ := e.do("POST", "/login", url.Values{"token": {field(t, tokenField, page)}, "name": {"ivan"}, "password": {operatorPassword}, "next": {next}})
		if h.Get("Location") != "/" {
			t.Errorf("next=%q sent the browser to %q", next, h.Get("Location"))
		}
	}
	if status, csrf := c.login("ivan", operatorPassword); status != http.StatusSeeOther || csrf == "" {
		t.Fatalf("login: %d", status)
	}
	// Five failures for a name block it, the right password too, until the window passes.
	d := f.client()
	for i := 0; i < maxFailures; i++ {
		d.login("maria", "guess-"+string(rune('a'+i))+"-xxxxxxxx")
	}
	if status, body := d.login("maria", viewerPassword); status != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
		t.Fatalf("after %d failures: %d", maxFailures, status)
	}
	f.clk.Advance(failureWindow)
	if status, _ := d.login("maria", viewerPassword); status != http.StatusSeeOther {
		t.Fatalf("after the window: %d", status)
	}
	n := testkit.Count(t, f.db, `SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'refused'`)
	// The two failures above share this address: the block starts after
	// three of maria's and is audited once, however often it refuses.
	if n != 2+(maxFailures-2)+1 {
		t.Errorf("refused logins audited: %d", n)
	}
	if got := testkit.Count(t, f.db, `SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'ok' AND who = 'ivan' AND role = 'operator'`); got != len(nexts)+1 {
		t.Errorf("ivan's login audited %d times", got)
	}
}

func TestRolesCSRFAndAudit(t *testing.T) {
	f := newFixture(t)
	failed := f.send("провален")
	f.fail(failed)
	queued := f.send("на опашка")

	viewer := f.client()
	_, vcsrf := viewer.login("maria", viewerPassword)
	_, _, page := viewer.do("GET", "/outbox/1", nil)
	if strings.Contains(page, `id="retry"`) || !strings.Contains(page, "An operator can retry") {
		t.Errorf("the viewer sees a retry button:\n%s", page)
	}
	if status, _, _ := viewer.do("POST", "/outbox/1/retry", url.Values{"csrf": {vcsrf}}); status != http.StatusForbidden {
		t.Errorf("viewer retry: %d", status)
	}
	operator := f.client()
	_, csrf := operator.login("ivan", operatorPassword)
	_, _, page = operator.do("GET", "/outbox/1", nil)
	if !strings.Contains(page, `id="retry"`) || !strings.Contains(page, `id="cancel"`) {
		t.Errorf("the operator sees no buttons:\n%s", page)
	}
	for _, form := range []url.Values{{}, {"csrf": {"wrong"}}, {"csrf": {vcsrf}}} { // none, made up, another session's
		if status, _, _ := operator.do("POST", "/outbox/1/retry", form); status != http.StatusForbidden {
			t.Errorf("retry with csrf %v: %d", form, status)
		}
	}
	if st, _ := f.svc.Document(context.Background(), failed); st.State != "failed" {
		t.Fatalf("a refused retry changed the document: %s", st.State)
	}
	status, h, _ := operator.do("POST", "/outbox/1/retry", url.Values{"csrf": {csrf}, "note": {"получателят е отново на линия"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/outbox/1?done=retry" {
		t.Fatalf("retry: %d %v", status, h)
	}
	st, _ := f.svc.Document(context.Background(), failed)
	if st.State != "queued" || !strings.Contains(st.History[len(st.History)-1].Detail, "by ivan in the console: получателят е отново на линия") {
		t.Fatalf("after the retry: %+v", st)
	}
	if status, _, _ := operator.do("POST", "/outbox/2/cancel", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", status)
	}
	// A second cancel is a repeat; cancelling a delivered one is refused by the table.
	testkit.Attempt(t, f.db, failed, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, f.clk.Now())
	if status, _, body := operator.do("POST", "/outbox/1/cancel", url.Values{"csrf": {csrf}}); status != http.StatusConflict || !strings.Contains(body, "cannot be taken back") {
		t.Fatalf("cancel of a delivered document: %d\n%s", status, body)
	}
	if st, _ := f.svc.Document(context.Background(), queued); st.State != "cancelled" {
		t.Fatalf("cancelled: %s", st.State)
	}
	rows := auditRows(t, f)
	want := []string{
		"maria viewer outbox.retry outbox/1 refused",
		"ivan operator outbox.retry outbox/1 refused", // no token
		"ivan operator outbox.retry outbox/1 refused", // a wrong one
		"ivan operator outbox.retry outbox/1 refused", // another session's
		"ivan operator outbox.retry outbox/1 ok",
		"ivan operator outbox.cancel outbox/2 ok",
		"ivan operator outbox.cancel outbox/1 refused",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if n := testkit.Count(t, f.db, `SELECT count(*) FROM audit WHERE action = 'outbox.retry' AND outcome = 'ok' AND note = 'получателят е отново на линия'`); n != 1 {
		t.Errorf("the note is not in the audit row")
	}
	if n := testkit.Metric(t, f.reg, "seosgw_console_actions_total", "action", "outbox.retry", "outcome", "ok"); n != 1 {
		t.Errorf("actions counted: %v", n)
	}
	if n := testkit.Metric(t, f.reg, "seosgw_console_refusals_total", "reason", "csrf"); n != 3 {
		t.Errorf("CSRF refusals counted: %v", n)
	}
	if n := testkit.Metric(t, f.reg, "seosgw_console_sessions"); n != 2 {
		t.Errorf("sessions: %v", n)
	}
	if problems, err := testutil.GatherAndLint(f.reg, "seosgw_console_logins_total", "seosgw_console_actions_total", "seosgw_console_refusals_total",
		"seosgw_console_sessions"); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %+v", err, problems)
	}
}

// auditRows are the operator actions recorded, oldest first.
func auditRows(t *testing.T, f *fixture) []string {
	t.Helper()
	rows, err := f.db.Query(`SELECT who, role, action, target, outcome FROM audit WHERE action LIKE 'outbox.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d, e string
		rows.Scan(&a, &b, &c, &d, &e)
		out = append(out, strings.Join([]string{a, b, c, d, e}, " "))
	}
	return out
}

func TestHostileValuesRenderAsText(t *testing.T) {
	hostileName := "Злонамерен <img src=x onerror=alert(1)>\u202eevil"
	p := peer
	p.AdministrativeBodyName = hostileName
	f := newFixture(t, p)
	about := `<script>alert("x")</script>` + "\u202egnp.exe" + `"><b>bold</b>`
	id := f.send(about)
	f.fail(id)
	from := p.Node()
	from.AdministrativeBodyName += "\x1b[31m" // as a register copy or a header could hold it
	received := about + "\x07\x1b[2J"
	doc := seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "<i>Писмо</i>", About: &received}
	testkit.Receive(t, f.db, from, doc, f.clk.Now())
	c := f.client()
	c.login("maria", viewerPassword)
	for _, path := range []string{"/outbox", "/outbox/1", "/inbox", "/inbox/1", "/log", "/log/1", "/participants"} {
		status, _, page := c.do("GET", path, nil)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		for _, bad := range []string{"<script>", "<img", "<b>", "<i>", "\u202e", "\x1b", "\x07"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q raw", path, bad)
			}
		}
	}
	_, _, page := c.do("GET", "/inbox/1", nil)
	if !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, `\u202e`) {
		t.Errorf("the hostile DocAbout is not shown escaped:\n%s", page)
	}
	_, _, page = c.do("GET", "/participants", nil)
	if !strings.Contains(page, "&lt;img src=x") || !strings.Contains(page, `\u202e`) {
		t.Errorf("the hostile name is not shown escaped")
	}
	_, _, page = c.do("GET", "/inbox", nil)
	if !strings.Contains(page, `\u001b[2J`) || !strings.Contains(page, `\u0007`) {
		t.Errorf("control characters are not shown as escapes:\n%s", page)
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 12; i++ {
		f.send("писмо")
	}
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		msglog.Insert(ctx, f.db, &msglog.Entry{Direction: msglog.Out, At: f.clk.Now(), PeerGUID: peer.GUID, MessageType: "MSG_DocumentRegistrationRequest",
			MessageGUID: seos.NewGUID(), Outcome: "sent", Raw: []byte("<x/>")})
	}
	c := f.client()
	c.login("maria", viewerPassword)
	rowsOf := func(page, table string) int { return strings.Count(page, "<tr data-id=") }
	_, _, page := c.do("GET", "/outbox", nil)
	if n := rowsOf(page, "outbox"); n != 5 || !strings.Contains(page, `href="/outbox?before=8"`) {
		t.Fatalf("first page: %d rows\n%s", n, page)
	}
	_, _, page = c.do("GET", "/outbox?before=3", nil)
	if n := rowsOf(page, "outbox"); n != 2 || strings.Contains(page, `id="next"`) {
		t.Fatalf("last page: %d rows", n)
	}
	_, _, page = c.do("GET", "/log?limit=100000", nil)
	if n := rowsOf(page, "log"); n != maxPage {
		t.Fatalf("a page asked for 100000 rows shows %d; the bound is %d", n, maxPage)
	}
	for _, q := range []string{"state=nonsense", "peer=x", "before=-1", "since=yesterday", "limit=0", "state=failed&state=queued"} {
		if status, _, _ := c.do("GET", "/outbox?"+q, nil); status != http.StatusBadRequest {
			t.Errorf("?%s: %d", q, status)
		}
	}
}

func TestLogRawAndReports(t *testing.T) {
	f := newFixture(t)
	raw := []byte("<Message>точно тези байтове</Message>\r\n")
	msglog.Insert(context.Background(), f.db, &msglog.Entry{Direction: msglog.In, At: f.clk.Now(), PeerGUID: peer.GUID, MessageType: "MSG_Error",
		MessageGUID: seos.NewGUID(), Outcome: "refused", Raw: raw, Size: len(raw)})
	c := f.client()
	c.login("maria", viewerPassword)
	status, h, body := c.do("GET", "/log/1/raw", nil)
	if status != 200 || body != string(raw) || h.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("raw: %d %v %q", status, h, body)
	}
	// A large message's bytes are a file of the file store beside the
	// database: the download reads them from there.
	files, err := blob.Open(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("<Message>голямо</Message>"), 4000)
	sp := files.NewSpill(16)
	sp.Write(big)
	kept, err := sp.Keep()
	if err != nil || kept.Ref == "" {
		t.Fatalf("file store: %+v %v", kept, err)
	}
	msglog.Insert(context.Background(), f.db, &msglog.Entry{Direction: msglog.In, At: f.clk.Now(), PeerGUID: peer.GUID, MessageType: "MSG_DocumentRegistrationRequest",
		MessageGUID: seos.NewGUID(), Outcome: "accepted", RawFile: kept.Ref, Size: len(big)})
	opt := f.opt
	opt.Files, opt.Registry = files, prometheus.NewRegistry()
	withFiles, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withFiles.Handler())
	defer srv.Close()
	g := (&fixture{t: t, srv: srv}).client() // a jar of its own: cookies do not tell ports apart
	g.login("maria", viewerPassword)
	if status, _, body := g.do("GET", "/log/2/raw", nil); status != 200 || body != string(big) {
		t.Fatalf("raw from the file store: %d, %d bytes", status, len(body))
	}
	if status, _, _ := g.do("GET", "/log/99/raw", nil); status != http.StatusNotFound {
		t.Errorf("no such entry: %d", status)
	}
	_, _, page := c.do("GET", "/reports", nil)
	if !strings.Contains(page, "run-1/report.html") || strings.Contains(page, "link.html") {
		t.Fatalf("reports listing:\n%s", page)
	}
	status, h, body = c.do("GET", "/reports/view?path=run-1/report.html", nil)
	if status != 200 || !strings.Contains(body, "Доклад") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("report: %d %v", status, h)
	}
	for _, p := range []string{"../secret.html", "run-1/../../secret.html", "/etc/passwd", "link.html", "run-1/./report.html", "..%2fsecret.html", "run-1%2f..%2f..%2fsecret.html"} {
		status, _, body := c.do("GET", "/reports/view?path="+p, nil)
		if status != http.StatusNotFound || strings.Contains(body, "secret") && !strings.Contains(body, "No such report") {
			t.Errorf("path %q: %d", p, status)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("ivan", operatorPassword)
	if status, _, _ := c.do("GET", "/", nil); status != 200 {
		t.Fatalf("overview: %d", status)
	}
	f.clk.Advance(29 * time.Minute)
	if status, _, _ := c.do("GET", "/", nil); status != 200 {
		t.Fatal("the session ended before it was idle for session_idle")
	}
	f.clk.Advance(30 * time.Minute)
	if status, h, _ := c.do("GET", "/", nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("after 30 idle minutes: %d", status)
	}
	// Used all the time, a session still ends at session_max.
	c.login("ivan", operatorPassword)
	for i := 0; i < 12*3; i++ {
		f.clk.Advance(20 * time.Minute)
		if status, _, _ := c.do("GET", "/", nil); status != 200 {
			if f.clk.Now().Sub(time.Date(2026, 11, 23, 10, 29, 0, 0, time.UTC)) < 12*time.Hour-20*time.Minute {
				t.Fatalf("ended early at step %d", i)
			}
			break
		}
		if i == 12*3-1 {
			t.Fatal("the session outlived session_max")
		}
	}
	// A user removed from the file is logged out at the next request.
	d := f.client()
	d.login("maria", viewerPassword)
	u, _ := ReadUsersFile(f.users)
	u.Remove("maria")
	f.clk.Advance(time.Second)
	os.Chtimes(f.users, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	WriteUsersFile(f.users, u)
	if status, _, _ := d.do("GET", "/", nil); status != http.StatusSeeOther {
		t.Fatalf("a removed user's session: %d", status)
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	id := f.send("a")
	f.fail(id)
	testkit.Receive(t, f.db, peer.Node(), seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо"}, f.clk.Now())
	c := f.client()
	c.login("maria", viewerPassword)
	_, _, page := c.do("GET", "/", nil)
	for _, want := range []string{`id="today-in">1<`, `id="failed-count">1<`} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %s:\n%s", want, page)
		}
	}
}
