// Package extools runs the real external peers the tests compare seosgw with:
// xmllint, xmlsec1, openssl and the .NET peer from ../shared/tools/dotnet-peer.
// When SEOSGW_REQUIRE_TOOLS=1 (set by `make test`) a missing tool fails the test
// instead of skipping it, so CI can never go green by skipping interop.
package extools

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Required reports whether missing tools must fail tests rather than skip them.
func Required() bool { return os.Getenv("SEOSGW_REQUIRE_TOOLS") == "1" }

// Require returns the path of an external command, or skips/fails the test.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed (run `make deps` as root)")
	}
	return p
}

func missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("required external tool: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// RepoRoot is the module root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared (or $SEOSGW_SHARED) when it exists, else "".
func SharedDir() string {
	if d := os.Getenv("SEOSGW_SHARED"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	d := filepath.Join(RepoRoot(), "..", "shared")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return filepath.Clean(d)
	}
	return ""
}

// Reference returns the path of rel under ../shared/reference (the
// official XSDs and WSDLs). When it is missing the test skips, or fails
// under SEOSGW_REQUIRE_TOOLS=1 like any other missing tool.
func Reference(t testing.TB, rel string) string {
	t.Helper()
	p := OptionalReference(t, rel)
	if p == "" {
		missing(t, "../shared/reference/"+rel+" not found (set SEOSGW_SHARED)")
	}
	return p
}

// OptionalReference is Reference for tests that can also check less without
// the reference files: it returns "" when they are missing, except under
// SEOSGW_REQUIRE_TOOLS=1, where the test fails instead.
func OptionalReference(t testing.TB, rel string) string {
	t.Helper()
	if d := SharedDir(); d != "" {
		p := filepath.Join(d, "reference", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if Required() {
		t.Fatalf("required reference file: ../shared/reference/%s not found (set SEOSGW_SHARED)", rel)
	}
	return ""
}

// ReferenceSchemas returns the reference schema folder, or "" when
// ../shared is absent (failing the test instead under
// SEOSGW_REQUIRE_TOOLS=1).
func ReferenceSchemas(t testing.TB) string {
	t.Helper()
	if p := OptionalReference(t, filepath.Join("schemas", "seos-all.xsd")); p != "" {
		return filepath.Dir(p)
	}
	return ""
}

// Result is what an external command printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// OK reports a zero exit code.
func (r Result) OK() bool { return r.Code == 0 }

// Run executes a command with stdin and a timeout; a failure to start is fatal.
func Run(t testing.TB, stdin []byte, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run %s: %v", name, err)
	}
	return res
}

// XMLLint validates a file against an XSD with xmllint; ok is the verdict.
func XMLLint(t testing.TB, xsd, file string) (ok bool, msg string) {
	t.Helper()
	bin := Require(t, "xmllint")
	r := Run(t, nil, bin, "--noout", "--nonet", "--schema", xsd, file)
	if r.Code != 0 && r.Code != 3 && r.Code != 4 && r.Code != 1 {
		t.Fatalf("xmllint exit %d: %s", r.Code, r.Stderr)
	}
	return r.Code == 0, r.Stderr
}

var (
	peerOnce sync.Once
	peerPath string
	peerErr  string
)

// DotnetPeer returns the path of SeosPeer.exe, building it once when
// $SEOSGW_DOTNET_PEER does not name one. It skips/fails when Mono is missing.
func DotnetPeer(t testing.TB) string {
	t.Helper()
	Require(t, "mono")
	peerOnce.Do(func() {
		if p := os.Getenv("SEOSGW_DOTNET_PEER"); p != "" {
			if _, err := os.Stat(p); err == nil {
				peerPath = p
				return
			}
		}
		shared := SharedDir()
		if shared == "" {
			peerErr = "../shared/tools/dotnet-peer not found"
			return
		}
		if _, err := exec.LookPath("mcs"); err != nil {
			peerErr = "mcs (mono-mcs) is not installed"
			return
		}
		out := filepath.Join(os.TempDir(), "seosgw-dotnet-peer")
		cmd := exec.Command("sh", filepath.Join(shared, "tools", "dotnet-peer", "build.sh"), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			peerErr = "building the .NET peer: " + err.Error() + ": " + string(b)
			return
		}
		peerPath = filepath.Join(out, "SeosPeer.exe")
	})
	if peerPath == "" {
		missing(t, peerErr)
	}
	return peerPath
}

// Peer runs a verb of the .NET peer under Mono.
func Peer(t testing.TB, args ...string) Result {
	t.Helper()
	exe := DotnetPeer(t)
	return Run(t, nil, "mono", append([]string{exe}, args...)...)
}

// PKCS12 writes a PFX that Mono can read (legacy 3DES/SHA1 protection) using openssl.
func PKCS12(t testing.TB, certPEM, keyPEM, out, pass string) {
	t.Helper()
	bin := Require(t, "openssl")
	r := Run(t, nil, bin, "pkcs12", "-export", "-in", certPEM, "-inkey", keyPEM, "-out", out,
		"-passout", "pass:"+pass, "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1")
	if !r.OK() {
		t.Fatalf("openssl pkcs12: %s", r.Stderr)
	}
}
