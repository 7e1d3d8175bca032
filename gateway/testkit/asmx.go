package testkit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
)

// The .NET participant register: asmxregister/EgovRegistry.cs, an ASMX web
// service (rpc/encoded, as a .NET shop implements EgovRegistry.wsdl), run by
// Mono's ASP.NET under asmxregister/AsmxHost.cs on loopback. Tests point the
// register client at it instead of at answers written by hand.
//
//go:embed asmxregister/EgovRegistry.cs asmxregister/AsmxHost.cs
var asmxSources embed.FS

// ASMXPath is the service's path on the host.
const ASMXPath = "/EgovRegistry.asmx"

// ASMXData is what the .NET register serves. In Entities an empty string
// is a null one (an empty GUID: a participant with a null Guid), a zero
// LastChange is a DateTime never set (0001-01-01T00:00:00), and nil Services
// is a null array.
type ASMXData struct {
	Entities []register.Entity
	// LastChange is the answers' own LastChange; zero: never set.
	LastChange time.Time
	// NullWhenEmpty: an answer without participants is `return null`.
	NullWhenEmpty bool
}

// encode writes the data file EgovRegistry.cs reads: tab-separated lines.
func (d ASMXData) encode() ([]byte, error) {
	var b bytes.Buffer
	var bad error
	line := func(fields ...string) {
		for _, f := range fields {
			if strings.ContainsAny(f, "\t\r\n") && bad == nil {
				bad = fmt.Errorf("testkit: ASMX register data %q holds a tab or line end", f)
			}
		}
		b.WriteString(strings.Join(fields, "\t") + "\n")
	}
	line("option", "null-when-empty", fmt.Sprint(d.NullWhenEmpty))
	line("option", "listing-last-change", dotnetTime(d.LastChange))
	for _, e := range d.Entities {
		services := "list"
		if e.Services == nil {
			services = "null"
		}
		line("entity", e.Identifier, e.GUID, e.ParentGUID, e.AdministrativeBodyName, e.Contact.Phone, e.Contact.Fax, e.Contact.EmailAddress,
			e.CertificateSN, dotnetTime(e.LastChange), string(e.Status), services)
		for _, s := range e.Services {
			line("service", s.GUID, s.Name, s.URI, string(s.Status), s.Type, string(s.Version))
		}
	}
	return b.Bytes(), bad
}

// dotnetTime is a time .NET's DateTimeOffset.Parse reads (ticks are 100 ns).
func dotnetTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(100 * time.Nanosecond).Format("2006-01-02T15:04:05.0000000Z07:00")
}

// ASMXRegister is a running .NET register.
type ASMXRegister struct {
	// URL is the service over plain HTTP on loopback.
	URL  string
	data string
	out  *SyncBuffer
}

var (
	asmxOnce sync.Once
	asmxBin  string
	asmxErr  string
)

// buildASMX compiles the service and its host with mcs, once per process,
// into a folder named for the sources, so runs share a build.
func buildASMX(t testing.TB) string {
	t.Helper()
	extools.Require(t, "mono")
	mcs := extools.Require(t, "mcs")
	asmxOnce.Do(func() {
		for _, lib := range []string{"System.Web.Services.dll", "System.Web.dll"} {
			if _, err := os.Stat(filepath.Join("/usr/lib/mono/4.5", lib)); err != nil {
				asmxErr = "Mono's " + lib + " is missing (run `make deps` as root: libmono-system-web-services4.0-cil, libmono-system-web4.0-cil)"
				return
			}
		}
		h := sha256.New()
		for _, name := range []string{"EgovRegistry.cs", "AsmxHost.cs"} {
			b, _ := asmxSources.ReadFile("asmxregister/" + name)
			h.Write(b)
		}
		dir := filepath.Join(os.TempDir(), "seosgw-asmx-register-"+hex.EncodeToString(h.Sum(nil))[:12])
		if _, err := os.Stat(filepath.Join(dir, "AsmxHost.exe")); err == nil {
			asmxBin = dir
			return
		}
		// Built beside and renamed into place: test processes of other
		// packages may build at the same time.
		tmp, err := os.MkdirTemp(os.TempDir(), "seosgw-asmx-build-")
		if err != nil {
			asmxErr = err.Error()
			return
		}
		defer os.RemoveAll(tmp)
		for _, name := range []string{"EgovRegistry.cs", "AsmxHost.cs"} {
			b, _ := asmxSources.ReadFile("asmxregister/" + name)
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				asmxErr = err.Error()
				return
			}
		}
		for _, args := range [][]string{
			{"-target:library", "-out:" + filepath.Join(tmp, "EgovRegistry.dll"), "-r:System.Web.Services.dll", "-r:System.Xml.dll", filepath.Join(tmp, "EgovRegistry.cs")},
			{"-out:" + filepath.Join(tmp, "AsmxHost.exe"), "-r:System.Web.dll", filepath.Join(tmp, "AsmxHost.cs")},
		} {
			if out, err := exec.Command(mcs, append([]string{"-nologo"}, args...)...).CombinedOutput(); err != nil {
				asmxErr = fmt.Sprintf("mcs: %v\n%s", err, out)
				return
			}
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "AsmxHost.exe")); serr != nil {
				asmxErr = err.Error()
				return
			}
		}
		asmxBin = dir
	})
	if asmxBin == "" {
		if extools.Required() {
			t.Fatalf("the .NET register does not build: %s", asmxErr)
		}
		t.Skipf("skipping: the .NET register does not build: %s", asmxErr)
	}
	return asmxBin
}

// StartASMXRegister runs the .NET register on loopback serving d, in
// Bulgarian local time (TZ=Europe/Sofia, as a register in Sofia writes its
// times), and waits until ASP.NET has compiled the service and answers.
// The test's end stops it. It fails (or skips, without
// SEOSGW_REQUIRE_TOOLS) when Mono is missing.
func StartASMXRegister(t testing.TB, d ASMXData) *ASMXRegister {
	t.Helper()
	bin := buildASMX(t)
	site := t.TempDir()
	if err := os.Mkdir(filepath.Join(site, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"EgovRegistry.dll", "AsmxHost.exe"} {
		b, err := os.ReadFile(filepath.Join(bin, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(site, "bin", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "EgovRegistry.asmx"), []byte(`<%@ WebService Class="EgovRegistry" %>`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// ASP.NET's scratch files stay in the site, which the test removes.
	webConfig := `<?xml version="1.0" encoding="utf-8"?><configuration><system.web>` +
		`<compilation tempDirectory="` + filepath.Join(site, "aspnet") + `" />` +
		`<hostingEnvironment shadowCopyBinAssemblies="false" /></system.web></configuration>` + "\n"
	if err := os.Mkdir(filepath.Join(site, "aspnet"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "web.config"), []byte(webConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &ASMXRegister{data: filepath.Join(site, "registry.tsv"), out: &SyncBuffer{}}
	r.Set(t, d)

	addr := FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command("mono", filepath.Join(site, "bin", "AsmxHost.exe"), port, site)
	cmd.Env = append(os.Environ(), "EGOVREGISTRY_DATA="+r.data, "TZ=Europe/Sofia", "LANG=C.UTF-8")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(r.out, sc.Text())
			if strings.HasPrefix(sc.Text(), "listening on ") {
				once.Do(func() { close(listening) })
			}
		}
	}()
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf(".NET register output:\n%s", r.out.String())
		}
	})
	select {
	case <-listening:
	case <-exited:
		t.Fatalf("the .NET register exited:\n%s", r.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the .NET register did not start:\n%s", r.out.String())
	}
	r.URL = "http://" + addr + ASMXPath
	// The first request compiles the .asmx; the service description is
	// served once ASP.NET has the service.
	Eventually(t, 2*time.Minute, "the .NET register serves its WSDL", func() bool {
		resp, err := plainHTTP.Get(r.URL + "?wsdl")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte("GetAllRecords"))
	})
	return r
}

// plainHTTP reaches the loopback register without any proxy.
var plainHTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}

// Set replaces what the register serves; the next call reads it.
func (r *ASMXRegister) Set(t testing.TB, d ASMXData) {
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
func (r *ASMXRegister) Post(t testing.TB, action string, body []byte) (int, string, []byte) {
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
func (r *ASMXRegister) TLS(t testing.TB, server *pki.Identity, clientCAs *x509.CertPool, answered func(request []byte)) string {
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
	return srv.URL + ASMXPath
}
