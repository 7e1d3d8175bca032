package testkit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
)

// Participant registers as other stacks run them, for the register client's
// tests: a .NET ASMX service (asmx.go) and a Java Axis 1.4 one (axis.go),
// both implementing EgovRegistry.wsdl rpc/encoded and serving the
// participants of a data file the test writes.

// RegisterData is what a participant register serves. In Entities an
// empty string is a null one (an empty GUID: a participant with a null
// Guid), a zero LastChange is one never set (.NET: 0001-01-01T00:00:00;
// Java: null), and nil Services is a null array.
type RegisterData struct {
	Entities []register.Entity
	// LastChange is the answers' own LastChange; zero: never set.
	LastChange time.Time
	// NullWhenEmpty: an answer without participants is `return null`.
	NullWhenEmpty bool
}

// encode writes the data file the registers read: tab-separated lines
// (asmxregister/EgovRegistry.cs describes them).
func (d RegisterData) encode() ([]byte, error) {
	var b bytes.Buffer
	var bad error
	line := func(fields ...string) {
		for _, f := range fields {
			if strings.ContainsAny(f, "\t\r\n") && bad == nil {
				bad = fmt.Errorf("testkit: register data %q holds a tab or line end", f)
			}
		}
		b.WriteString(strings.Join(fields, "\t") + "\n")
	}
	line("option", "null-when-empty", fmt.Sprint(d.NullWhenEmpty))
	line("option", "listing-last-change", dataTime(d.LastChange))
	for _, e := range d.Entities {
		services := "list"
		if e.Services == nil {
			services = "null"
		}
		line("entity", e.Identifier, e.GUID, e.ParentGUID, e.AdministrativeBodyName, e.Contact.Phone, e.Contact.Fax, e.Contact.EmailAddress,
			e.CertificateSN, dataTime(e.LastChange), string(e.Status), services)
		for _, s := range e.Services {
			line("service", s.GUID, s.Name, s.URI, string(s.Status), s.Type, string(s.Version))
		}
	}
	return b.Bytes(), bad
}

// dataTime is a time .NET's DateTimeOffset.Parse and Java's
// OffsetDateTime.parse read (.NET ticks are 100 ns).
func dataTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(100 * time.Nanosecond).Format("2006-01-02T15:04:05.0000000Z07:00")
}

// SOAPRegister is a running register of another stack.
type SOAPRegister struct {
	// URL is the service over plain HTTP on loopback.
	URL  string
	path string // URL's path, kept by the TLS front
	data string
	out  *SyncBuffer
}

// startRegister runs cmd (a register serving r.data) and waits until it
// prints ready and answers GET URL?wsdl with its WSDL; the test's end
// kills it, and a failed test shows its output.
func startRegister(t testing.TB, name string, cmd *exec.Cmd, r *SOAPRegister, ready string, stdoutReady bool) {
	t.Helper()
	var pipe io.ReadCloser
	var err error
	if stdoutReady {
		pipe, err = cmd.StdoutPipe()
		cmd.Stderr = r.out
	} else {
		pipe, err = cmd.StderrPipe()
		cmd.Stdout = r.out
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(r.out, sc.Text())
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(listening) })
			}
		}
	}()
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, r.out.String())
		}
	})
	select {
	case <-listening:
	case <-exited:
		t.Fatalf("the %s exited:\n%s", name, r.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the %s did not start:\n%s", name, r.out.String())
	}
	// The first request may compile the service (ASP.NET does).
	Eventually(t, 2*time.Minute, "the "+name+" serves its WSDL", func() bool {
		resp, err := plainHTTP.Get(r.URL + "?wsdl")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte("GetAllRecords"))
	})
}

// cached builds into a folder named for the sources, once per process, so
// runs share a build; build writes into the folder it is given, which is
// renamed into place (test processes of other packages may build at once).
func cached(prefix string, sources map[string][]byte, build func(dir string) error) (string, error) {
	h := sha256.New()
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		h.Write([]byte(name))
		h.Write(sources[name])
	}
	dir := filepath.Join(os.TempDir(), prefix+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(dir, ".built")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), prefix+"build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for name, b := range sources {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := build(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".built"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".built")); serr != nil {
			return "", err
		}
	}
	return dir, nil
}

// compile runs a compiler; its output goes into the error.
func compile(bin string, args ...string) error {
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, out)
	}
	return nil
}

// install lays out dir: each path (slash-separated) gets the build's file
// of that name, or, for a value starting with "=", the text after it; a
// path ending in "/" is an empty folder.
func install(t testing.TB, build, dir string, files map[string]string) {
	t.Helper()
	for path, from := range files {
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(path, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b := []byte(strings.TrimPrefix(from, "="))
		if !strings.HasPrefix(from, "=") {
			var err error
			if b, err = os.ReadFile(filepath.Join(build, from)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// toolBuild is a build done once per process.
type toolBuild struct {
	once sync.Once
	dir  string
	err  error
}

// get runs build once and returns its folder. A failed build fails the
// test, or skips it without SEOSGW_REQUIRE_TOOLS.
func (b *toolBuild) get(t testing.TB, what string, build func() (string, error)) string {
	t.Helper()
	b.once.Do(func() { b.dir, b.err = build() })
	if b.err != nil {
		if extools.Required() {
			t.Fatalf("the %s does not build: %v", what, b.err)
		}
		t.Skipf("skipping: the %s does not build: %v", what, b.err)
	}
	return b.dir
}

// plainHTTP reaches the loopback register without any proxy.
var plainHTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}

// Set replaces what the register serves; the next call reads it.
func (r *SOAPRegister) Set(t testing.TB, d RegisterData) {
	t.Helper()
	b, err := d.encode()
	if err != nil {
		t.Fatal(err)
	}
	tmp := r.data + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, r.data); err != nil {
		t.Fatal(err)
	}
}

// Post sends a SOAP request over plain HTTP and returns the status, the
// Content-Type and the body as the register wrote them.
func (r *SOAPRegister) Post(t testing.TB, action string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	resp, err := plainHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TLS puts mutual TLS in front of the register, as DAEU's register is
// reached: server is its certificate (valid for 127.0.0.1), clients must
// chain to clientCAs. Requests and answers pass unchanged, the register's
// Date header included; answered, when set, is told each request body
// once its answer has been relayed. It returns the https URL.
func (r *SOAPRegister) TLS(t testing.TB, server *pki.Identity, clientCAs *x509.CertPool, answered func(request []byte)) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := http.NewRequestWithContext(req.Context(), req.Method, r.URL, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.URL.RawQuery = req.URL.RawQuery
		for _, h := range []string{"Content-Type", "SOAPAction", "User-Agent"} {
			if v := req.Header.Values(h); len(v) > 0 {
				out.Header[h] = v
			}
		}
		resp, err := plainHTTP.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			switch k {
			case "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length":
			default:
				w.Header()[k] = v
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		if answered != nil {
			answered(body)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{server.TLSCertificate()}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL + r.path
}
