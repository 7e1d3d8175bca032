package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// localPath keeps a login's next on the console: browsers drop tabs and
// newlines inside a URL and read a backslash as a slash, so any of them
// could turn a path into another host.
func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/outbox?state=failed", "/outbox?state=failed"},
		{"/log/7", "/log/7"},
		{"", "/"},
		{"outbox", "/"},
		{"//evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f", "/"},
		{"/a\\b", "/"},
		{"/\xff", "/"},
	} {
		if got := localPath(tc.next); got != tc.want {
			t.Errorf("localPath(%q) = %q; want %q", tc.next, got, tc.want)
		}
	}
}

// clientFrom is a client whose connections come from ip (a loopback
// address other than 127.0.0.1), so that the per-address limit of one
// does not stand in for the per-name limit under test.
func (f *fixture) clientFrom(ip string) *client {
	c := f.client()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c.http.Transport = &http.Transport{DialContext: d.DialContext}
	return c
}

// The per-name limit holds for every spelling the users file would match:
// "boriſ" (long s) folds to boris under Unicode rules, and must not be a
// fresh name with five guesses of its own against boris's password.
func TestLoginNameVariantsShareTheLimit(t *testing.T) {
	f := newFixture(t)
	const borisPassword = "boris-password-12"
	u, _ := ReadUsersFile(f.users)
	h, _ := bcrypt.GenerateFromPassword([]byte(borisPassword), bcrypt.MinCost)
	u.Set(User{Name: "boris", Role: Operator, Hash: string(h)})
	if err := WriteUsersFile(f.users, u); err != nil {
		t.Fatal(err)
	}
	guesser := f.clientFrom("127.0.0.2")
	for i := 0; i < maxFailures; i++ {
		if status, _ := guesser.login("boris", fmt.Sprintf("guess-%d-xxxxxxxx", i)); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	other := f.clientFrom("127.0.0.3")
	for _, name := range []string{"boris", "BORIS", "boriſ", "boriſ "} {
		if status, _ := other.login(name, borisPassword); status == http.StatusSeeOther {
			t.Errorf("%q logged in as boris while boris is blocked", name)
		}
	}
	// Made-up names, however long, take one key of the limiter.
	long := f.clientFrom("127.0.0.4")
	long.login(strings.Repeat("x", 10000), "whatever-password")
	long.login(strings.Repeat("y", 10000), "whatever-password")
	f.console.limiter.mu.Lock()
	defer f.console.limiter.mu.Unlock()
	for k := range f.console.limiter.fails {
		if len(k) > 200 {
			t.Errorf("the limiter keeps a key of %d bytes", len(k))
		}
	}
}

// Parallel guesses cannot slip past the limit while the first ones are
// still hashing: at most maxFailures passwords are compared per window.
func TestLoginRateLimitHoldsUnderParallelGuesses(t *testing.T) {
	f := newFixture(t)
	c := f.clientFrom("127.0.0.5")
	_, _, page := c.do("GET", "/login", nil)
	token := field(t, tokenField, page)
	const guesses = 3 * maxFailures
	start := make(chan struct{})
	statuses := make(chan int, guesses)
	var wg sync.WaitGroup
	for i := 0; i < guesses; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			form := url.Values{"token": {token}, "name": {"nobody"}, "password": {fmt.Sprintf("guess-%d-xxxxxxxx", i)}}
			req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.http.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != maxFailures || count[http.StatusTooManyRequests] != guesses-maxFailures {
		t.Errorf("%d parallel guesses: %v; want %d compared (401) and the rest refused (429)", guesses, count, maxFailures)
	}
	// The block is audited once, not once for every refused request.
	if n := testkit.Count(t, f.db, `SELECT count(*) FROM audit WHERE action = 'login' AND detail LIKE 'too many failed logins%'`); n != 1 {
		t.Errorf("the block is audited %d times", n)
	}
}

// A failure of ours shows no internals (paths, SQL, errors) on the page;
// the log has them.
func TestInternalErrorShowsNoInternals(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("maria", viewerPassword)
	if err := os.RemoveAll(f.reports); err != nil {
		t.Fatal(err)
	}
	status, h, body := c.do("GET", "/reports", nil)
	if status != http.StatusInternalServerError || h.Get("Content-Security-Policy") != csp {
		t.Fatalf("reports without its folder: %d %v", status, h)
	}
	for _, leak := range []string{f.reports, "no such file", "openat", "lstat"} {
		if strings.Contains(body, leak) {
			t.Errorf("the error page shows %q:\n%s", leak, body)
		}
	}
	if !strings.Contains(body, "the gateway&#39;s log has the cause") {
		t.Errorf("the error page does not say where the cause is:\n%s", body)
	}
}

// Setting a user's password again (after a leak, say) ends their sessions
// at the next request, as removing or demoting them does; and a logged
// out session's cookie, replayed, opens nothing.
func TestNewPasswordAndLogoutEndSessions(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("maria", viewerPassword)
	if status, _, _ := c.do("GET", "/", nil); status != 200 {
		t.Fatalf("overview: %d", status)
	}
	u, _ := ReadUsersFile(f.users)
	h, _ := bcrypt.GenerateFromPassword([]byte("a-new-password-for-maria"), bcrypt.MinCost)
	u.Set(User{Name: "maria", Role: Viewer, Hash: string(h)})
	if err := WriteUsersFile(f.users, u); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute) // the same size: the new mtime is what tells
	os.Chtimes(f.users, later, later)
	if status, h, _ := c.do("GET", "/", nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("the session outlived the password: %d", status)
	}

	d := f.client()
	_, csrf := d.login("ivan", operatorPassword)
	srvURL, _ := url.Parse(f.srv.URL)
	old := d.http.Jar.Cookies(srvURL)
	if status, _, _ := d.do("POST", "/logout", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	d.http.Jar.SetCookies(srvURL, old)
	if status, _, _ := d.do("GET", "/", nil); status != http.StatusSeeOther {
		t.Errorf("the logged out session's cookie still opens the overview: %d", status)
	}
	if status, _, _ := d.do("POST", "/logout", url.Values{"csrf": {csrf}}); status != http.StatusUnauthorized {
		t.Errorf("the logged out session's cookie and token still post: %d", status)
	}
}

// A list page's query is bounded as a whole, and a refused value is
// quoted cut: a link cannot make the console show a page of its text.
func TestQueryStringBounded(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("maria", viewerPassword)
	long := strings.Repeat("a", maxQuery)
	for _, path := range []string{"/outbox", "/inbox", "/log", "/participants", "/audit"} {
		if status, _, _ := c.do("GET", path+"?x="+long, nil); status != http.StatusBadRequest {
			t.Errorf("%s with a %d-byte query: %d", path, len(long)+2, status)
		}
		if status, _, _ := c.do("GET", path+"?x="+long[:100], nil); status != http.StatusOK {
			t.Errorf("%s with a short unknown parameter: %d", path, status)
		}
	}
	spoof := strings.Repeat("Your session has expired; call 0888 123 456. ", 30)
	for _, q := range []string{"state=" + url.QueryEscape(spoof), url.QueryEscape(spoof) + "=1&" + url.QueryEscape(spoof) + "=2"} {
		status, _, body := c.do("GET", "/outbox?"+q, nil)
		if status != http.StatusBadRequest || strings.Count(body, "call 0888") > 2 {
			t.Errorf("?%.40s…: %d, the page repeats the value %d times", q, status, strings.Count(body, "call 0888"))
		}
	}
}

// A console without TLS is on loopback, so a request naming another host
// came through DNS rebinding (a page of evil.example resolved to
// 127.0.0.1, same-origin with itself): refused before any page.
func TestHostMustBeLoopbackWithoutTLS(t *testing.T) {
	f := newFixture(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.srv.URL, "http://"))
	for host, want := range map[string]int{
		"127.0.0.1:" + port: http.StatusOK, "localhost:" + port: http.StatusOK, "LOCALHOST:" + port: http.StatusOK, "127.0.0.1": http.StatusOK, "[::1]:" + port: http.StatusOK,
		"evil.example:" + port: http.StatusMisdirectedRequest, "evil.example": http.StatusMisdirectedRequest, "localhost.evil.example:" + port: http.StatusMisdirectedRequest,
		"10.0.0.1:" + port: http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/login", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("Host %q: %d (CSP %q); want %d", host, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), want)
		}
	}
	if n := testkit.Metric(t, f.reg, "seosgw_console_refusals_total", "reason", "host"); n != 4 {
		t.Errorf("host refusals counted: %v", n)
	}
}

// Every answer carries the CSP and nosniff: pages, the login, redirects,
// error pages, the mux's own 404 and 405, static files, the raw download
// (an attachment with a fixed name) and reports (their own sandboxed CSP).
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	f := newFixture(t)
	raw := []byte("<Message/>")
	msglog.Insert(context.Background(), f.db, &msglog.Entry{Direction: msglog.In, At: f.clk.Now(), PeerGUID: peer.GUID, MessageType: "MSG_Error",
		MessageGUID: seos.NewGUID(), Outcome: "refused", Raw: raw, Size: len(raw)})
	anon := f.client()
	c := f.client()
	c.login("maria", viewerPassword)
	for _, tc := range []struct {
		c             *client
		method, path  string
		status        int
		reportCSP     bool
		attachmentRaw bool
	}{
		{anon, "GET", "/login", 200, false, false},
		{anon, "GET", "/outbox", http.StatusSeeOther, false, false},
		{anon, "GET", "/static/console.css", 200, false, false},
		{anon, "GET", "/static/nothing.css", http.StatusNotFound, false, false},
		{anon, "GET", "/no/such/page", http.StatusNotFound, false, false},
		{anon, "DELETE", "/outbox/1", http.StatusMethodNotAllowed, false, false},
		{anon, "POST", "/outbox/1/retry", http.StatusUnauthorized, false, false},
		{c, "GET", "/", 200, false, false},
		{c, "GET", "/outbox/999", http.StatusNotFound, false, false},
		{c, "GET", "/outbox?state=x", http.StatusBadRequest, false, false},
		{c, "POST", "/outbox/1/retry", http.StatusForbidden, false, false},
		{c, "GET", "/log/1/raw", 200, false, true},
		{c, "GET", "/reports/view?path=run-1/report.html", 200, true, false},
	} {
		var form url.Values
		if tc.method == "POST" {
			form = url.Values{}
		}
		status, h, _ := tc.c.do(tc.method, tc.path, form)
		if status != tc.status {
			t.Errorf("%s %s: %d; want %d", tc.method, tc.path, status, tc.status)
		}
		got := h.Get("Content-Security-Policy")
		switch {
		case tc.reportCSP:
			if !strings.Contains(got, "sandbox") || !strings.HasPrefix(got, "default-src 'none'") {
				t.Errorf("%s: CSP %q", tc.path, got)
			}
		case tc.attachmentRaw:
			if got != "default-src 'none'; sandbox" || h.Get("Content-Disposition") != `attachment; filename="seosgw-log-1-in.xml"` ||
				h.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("%s: %v", tc.path, h)
			}
		default:
			if got != csp {
				t.Errorf("%s %s: CSP %q", tc.method, tc.path, got)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: %v", tc.method, tc.path, h)
		}
	}
}
