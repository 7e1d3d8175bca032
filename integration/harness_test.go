package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/integration/extools"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// seosgwBinary builds cmd/seosgw once per test run.
func seosgwBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "seosgw-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "seosgw")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/seosgw")
		cmd.Dir = extools.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a seosgw child process whose output goes to a log file.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func start(t *testing.T, logPath string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(seosgwBinary(t), args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitTCP waits until addr accepts connections or the process dies.
func waitTCP(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("process exited:\n%s", p.output())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not listening after 30s:\n%s", addr, p.output())
}

// peerClient talks to an endpoint as id.
func peerClient(id *pki.Identity, ca *pki.Authority, serverName string) *http.Client {
	cert := id.TLSCertificate()
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool(), ServerName: serverName, Certificates: []tls.Certificate{cert}}}}
}

// submit posts a signed message and returns the parsed reply (nil for an
// empty SubmitResult) or an error for transport failures.
func submit(ctx context.Context, c *http.Client, url string, signed []byte) (*seos.Message, error) {
	env, err := soap.Submit(signed)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(env))
	req.Header.Set("Content-Type", soap.ContentType)
	req.Header.Set("SOAPAction", `"`+soap.Action+`"`)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	result, err := soap.ParseSubmitResponse(body)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if len(result) == 0 {
		return nil, nil
	}
	m, _, err := seos.Parse(result)
	return m, err
}

func signAs(t *testing.T, id *pki.Identity, m *seos.Message) []byte {
	t.Helper()
	doc, err := m.Document()
	if err != nil {
		t.Fatal(err)
	}
	if err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert}).Sign(doc); err != nil {
		t.Fatal(err)
	}
	b, err := seos.WriteCompact(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeConfig writes a node's configuration file.
func writeConfig(t *testing.T, path string, fields map[string]string) {
	t.Helper()
	tmpl := `participant: {guid: "%GUID%", eik: "%EIK%", name: "%NAME%"}
tls: {cert: "%CERT%", key: "%KEY%", ca: "%CA%"}
endpoint: {listen: "%LISTEN%", path: /seos/endpoint, clock_skew: 10m}
register: {url: "%REGISTER%", refresh: 2s, full_sync: 1h, stale_after: 1h, timeout: 5s, test_participant: "%TEST%"}
database: {path: "%DB%"}
ops: {listen: "%OPS%"}
ais: {listen: "%AIS%", token_file: "%TOKEN%", spool: {dir: "%SPOOL%", scan_every: 200ms}}
outbound: {retry_first: %RETRY%, retries: 10, poll: 1s%OUTBOUND%}
log: {level: debug, format: json}
`
	if fields["AIS"] == "" {
		fields["AIS"] = freePort(t)
	}
	if fields["TOKEN"] == "" {
		fields["TOKEN"] = path + ".token"
	}
	if _, err := os.Stat(fields["TOKEN"]); err != nil {
		if err := os.WriteFile(fields["TOKEN"], []byte("test-token-"+filepath.Base(path)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if fields["RETRY"] == "" {
		fields["RETRY"] = "1s"
	}
	for k, v := range fields {
		tmpl = strings.ReplaceAll(tmpl, "%"+k+"%", v)
	}
	tmpl = strings.ReplaceAll(tmpl, "%TEST%", "")
	tmpl = strings.ReplaceAll(tmpl, "%SPOOL%", "")
	tmpl = strings.ReplaceAll(tmpl, "%OUTBOUND%", "")
	if err := os.WriteFile(path, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
}

type cliResult struct {
	out  string
	code int
}

func runBinary(t *testing.T, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(seosgwBinary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), code}
}
