package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"

	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
)

// The operator console in a real browser (Debian's chromium over the
// DevTools pipe) against two seosgw processes: an operator sees A's
// document arrive in B's inbox, a hostile DocAbout renders as text, a
// document that failed while B was down is retried from the console and
// delivered, and a viewer has no retry button and cannot forge one.
// Every page is saved as a screenshot (SEOSGW_TEST_ARTIFACTS, else the
// test's temporary folder).
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	br := extools.StartBrowser(t, 1280, 900)
	dir := t.TempDir()
	aConsole, bConsole := testkit.FreeAddr(t), testkit.FreeAddr(t)
	consoleOn := func(addr, users string) string {
		return fmt.Sprintf("console: {listen: %q, users_file: %q, page_size: 20}", addr, users)
	}
	aUsers, bUsers := filepath.Join(dir, "a-users"), filepath.Join(dir, "b-users")
	// retries 0: a document whose attempts fail while B is down is failed
	// at once, for the console to retry.
	x := newExchangeWith(t, map[string]string{"CONSOLE": consoleOn(aConsole, aUsers), "RETRIES": "0"}, map[string]string{"CONSOLE": consoleOn(bConsole, bUsers)})
	addUser(t, x.a.cfg, "ivan", "operator", "ivan-operator-password")
	addUser(t, x.a.cfg, "maria", "viewer", "maria-viewer-password")
	addUser(t, x.b.cfg, "petar", "operator", "petar-operator-password")
	x.a.start()
	x.b.start()
	x.a.node.WaitTCP(t, aConsole)
	x.b.node.WaitTCP(t, bConsole)
	art := extools.ArtifactDir(t)
	shot := func(t *testing.T, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(art, "console-"+name+".png"), br.Screenshot(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	login := func(t *testing.T, addr, name, password string) {
		t.Helper()
		br.Open(t, "http://"+addr+"/")
		if !strings.Contains(br.URL(t), "/login") {
			t.Fatalf("anonymous: at %s, not the login page", br.URL(t))
		}
		br.Type(t, "#name", name)
		br.Type(t, "#password", password)
		br.ClickAndWait(t, "#login")
		if who := br.Text(t, "#who"); !strings.HasPrefix(who, name+" (") {
			t.Fatalf("after login as %s the page shows %q at %s: %s", name, who, br.URL(t), br.Text(t, "body"))
		}
	}
	logout := func(t *testing.T) { t.Helper(); br.ClickAndWait(t, "header form button") }

	hostile := `<img src=x id=injected><script id=injected2>document.title="pwned"</script>` + "\u202eexe.fdp Писмо"
	t.Run("a document A→B in B's inbox, its DocAbout as text", func(t *testing.T) {
		br.Open(t, "http://"+bConsole+"/login")
		shot(t, "login")
		login(t, bConsole, "petar", "petar-operator-password")
		out := letter(x.b.p.entity.GUID, 1)
		out.About = hostile
		q, _, err := x.a.api.Send(context.Background(), out, "")
		if err != nil {
			t.Fatal(err)
		}
		x.a.waitFor(q.ID, 20*time.Second, state("waiting_registration"))
		br.Open(t, "http://"+bConsole+"/inbox")
		sel := fmt.Sprintf(`tr[data-document="%s"] td.about`, q.DocumentGUID)
		about := br.Text(t, sel)
		if !strings.Contains(about, `<img src=x id=injected>`) || !strings.Contains(about, `\u202e`) {
			t.Fatalf("B's inbox shows DocAbout as %q", about)
		}
		if n := br.Count(t, "#injected, #injected2, main img, main script"); n != 0 {
			t.Fatalf("the hostile DocAbout made %d elements in the page", n)
		}
		var title string
		br.Eval(t, "document.title", &title)
		if title == "pwned" {
			t.Fatal("the hostile script ran")
		}
		shot(t, "inbox")
		br.ClickAndWait(t, fmt.Sprintf(`tr[data-document="%s"] a`, q.DocumentGUID))
		shot(t, "inbox-item")
		br.Open(t, "http://"+bConsole+"/")
		if br.Text(t, "#today-in") == "0" {
			t.Errorf("B's overview counts no message in today")
		}
		shot(t, "overview")
		br.Open(t, "http://"+bConsole+"/log")
		shot(t, "log")
		br.ClickAndWait(t, "#log tr[data-id] a")
		shot(t, "log-item")
		br.Open(t, "http://"+bConsole+"/participants")
		if !strings.Contains(br.Text(t, "#participants"), x.a.p.entity.AdministrativeBodyName) {
			t.Errorf("participants page lacks A")
		}
		shot(t, "participants")
		logout(t)
	})

	var failedID int64
	t.Run("fails while B is down, retried from the console, delivered", func(t *testing.T) {
		x.b.node.Stop(syscall.SIGTERM)
		failedID, _ = x.a.send(2, x.b)
		x.a.waitFor(failedID, 30*time.Second, state("failed"))
		x.b.start()
		login(t, aConsole, "ivan", "ivan-operator-password")
		br.Open(t, "http://"+aConsole+"/outbox?state=failed")
		if !strings.Contains(br.Text(t, "#outbox"), fmt.Sprint(failedID)) {
			t.Fatalf("the failed document is not listed: %s", br.Text(t, "#outbox"))
		}
		shot(t, "outbox")
		br.Open(t, fmt.Sprintf("http://%s/outbox/%d", aConsole, failedID))
		if s := br.Text(t, "#doc-state"); s != "failed" {
			t.Fatalf("state %q", s)
		}
		br.Type(t, "#retry-form input[name=note]", "B е отново на линия")
		shot(t, "outbox-item-failed")
		br.ClickAndWait(t, "#retry")
		if !strings.Contains(br.Text(t, "#notice"), "Queued again") {
			t.Fatalf("after retry: %s", br.Text(t, "main"))
		}
		deadline := time.Now().Add(30 * time.Second)
		for br.Text(t, "#doc-state") != "waiting_registration" {
			if time.Now().After(deadline) {
				t.Fatalf("not delivered after the retry: %s", br.Text(t, "main"))
			}
			time.Sleep(300 * time.Millisecond)
			br.Open(t, fmt.Sprintf("http://%s/outbox/%d", aConsole, failedID))
		}
		if h := br.Text(t, "#history"); !strings.Contains(h, "by ivan in the console: B е отново на линия") {
			t.Errorf("history lacks the console's retry:\n%s", h)
		}
		shot(t, "outbox-item-delivered")
		br.Open(t, "http://"+aConsole+"/audit")
		if a := br.Text(t, "#audit"); !strings.Contains(a, "outbox.retry") || !strings.Contains(a, "ivan") {
			t.Errorf("audit page: %s", a)
		}
		shot(t, "audit")
		logout(t)
	})

	t.Run("a viewer has no retry button and a forged POST is refused", func(t *testing.T) {
		x.b.node.Stop(syscall.SIGTERM)
		id, _ := x.a.send(3, x.b)
		x.a.waitFor(id, 30*time.Second, state("failed"))
		login(t, aConsole, "maria", "maria-viewer-password")
		br.Open(t, fmt.Sprintf("http://%s/outbox/%d", aConsole, id))
		if n := br.Count(t, "#retry, #cancel, form[action$=retry]"); n != 0 {
			t.Fatalf("the viewer sees %d action elements", n)
		}
		shot(t, "outbox-item-viewer")
		// The CSP leaves scripts no connection: even the page's own
		// origin cannot be fetched from a script.
		var fetched string
		br.Eval(t, fmt.Sprintf(`fetch("/outbox/%d").then(() => "fetched", () => "blocked")`, id), &fetched)
		if fetched != "blocked" {
			t.Errorf("a script in the page could fetch: %s", fetched)
		}
		// Forms posted from the page: without a token, with a made-up one,
		// and with the viewer's own (the role refuses it).
		var token string
		br.Eval(t, `document.querySelector("input[name=csrf]").value`, &token)
		for _, csrf := range []string{"", "forged", token} {
			br.Open(t, fmt.Sprintf("http://%s/outbox/%d", aConsole, id))
			br.Eval(t, fmt.Sprintf(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/outbox/%d/retry";
				const i = document.createElement("input"); i.name = "csrf"; i.value = %q; f.appendChild(i);
				const b = document.createElement("button"); b.id = "forge"; b.textContent = "forge"; f.appendChild(b);
				document.querySelector("main").appendChild(f); return true })()`, id, csrf), new(bool))
			br.ClickAndWait(t, "#forge")
			if h := br.Text(t, "main h1"); h != "403" {
				t.Errorf("a forged POST with csrf %q answered %q: %s", csrf, h, br.Text(t, "main"))
			}
		}
		shot(t, "forged-post-refused")
		st, _, err := x.a.api.Status(context.Background(), id)
		if err != nil || st.State != "failed" {
			t.Fatalf("after the forged POSTs: %+v %v", st, err)
		}
		adb := testkit.OpenDB(t, x.a.db)
		if n := testkit.Count(t, adb, `SELECT count(*) FROM audit WHERE who = 'maria' AND action = 'outbox.retry' AND outcome = 'refused'`); n != 3 {
			t.Errorf("refused POSTs audited: %d", n)
		}
		logout(t)
	})
	t.Logf("console screenshots in %s", art)
}

// addUser runs seosgw console user add with the password on standard input.
func addUser(t *testing.T, cfg, name, role, password string) {
	t.Helper()
	runCLI(t, password+"\n", "console", "user", "add", "--config", cfg, "--role", role, name)
}

// The console of a running `seosgw serve` over TLS with client
// certificates: the certificate of a user in the users file logs in
// without a password, a client without one sees only the password form,
// and the session cookie is __Host- prefixed and Secure.
func TestConsoleOverTLSWithClientCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	addr := testkit.FreeAddr(t)
	users := filepath.Join(dir, "users")
	tp, ps := participants(t, filepath.Join(dir, "pki"), "a.obmen.local")
	a := ps["a.obmen.local"]
	g := newGateway(t, dir, tp, a, map[string]string{"CONSOLE": fmt.Sprintf("console: {listen: %q, users_file: %q, tls: {cert: %q, key: %q, client_ca: %q}}",
		addr, users, a.files.Cert, a.files.Key, tp.CACert)})
	testkit.SeedFile(t, g.db, a.registerEntity(g.url()))
	runCLI(t, "", "console", "user", "add", "--config", g.cfg, "--role", "operator", "--no-password", "ivan@example.bg")
	g.start()
	g.node.WaitTCP(t, addr)
	op, err := tp.Authority.IssueTransport("operator.local", pki.WithSubject(pkix.Name{CommonName: "ivan@example.bg"}))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(tp.Authority.Cert)
	client := func(cert *tls.Certificate) *http.Client {
		jar, _ := cookiejar.New(nil)
		tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, page := get(client(nil), "/login"); strings.Contains(page, "cert-login") || !strings.Contains(page, `id="password"`) {
		t.Fatalf("without a certificate the login page offers:\n%s", page)
	}
	cert := op.TLSCertificate()
	c := client(&cert)
	_, page := get(c, "/login")
	if !strings.Contains(page, "Your certificate names <strong>ivan@example.bg</strong>") {
		t.Fatalf("the certificate is not offered:\n%s", page)
	}
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)
	resp, err := c.PostForm("https://"+addr+"/login/certificate", url.Values{"token": {token[1]}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "__Host-seosgw_console=") || !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("certificate login: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, page := get(c, "/"); resp.StatusCode != 200 || !strings.Contains(page, "ivan@example.bg (operator)") || !strings.Contains(page, "Readiness") {
		t.Fatalf("overview over TLS: %d", resp.StatusCode)
	}
}

// runCLI runs the seosgw binary with stdin and fails the test on an error.
func runCLI(t *testing.T, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("seosgw %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}
