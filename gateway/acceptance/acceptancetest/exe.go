package acceptancetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

var (
	exeOnce sync.Once
	exePath string
	exeErr  string
)

// WindowsExe returns a real Windows PE executable, built once per test
// process by the Go toolchain that runs the tests.
func WindowsExe(t testing.TB) []byte {
	t.Helper()
	exeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "seosgw-test-exe-")
		if err != nil {
			exeErr = err.Error()
			return
		}
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644)
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", "hello.exe", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			exeErr = err.Error() + ": " + string(out)
			return
		}
		exePath = filepath.Join(dir, "hello.exe")
	})
	if exePath == "" {
		t.Fatalf("building a Windows executable: %s", exeErr)
	}
	return Read(t, exePath)
}

// EncryptedZip makes a ZIP whose entry is protected with a password by
// Info-ZIP's zip (traditional PKWARE encryption).
func EncryptedZip(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	bin := extools.Require(t, "zip")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-q", "-P", "secret", "out.zip", name)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v: %s", err, out)
	}
	return Read(t, filepath.Join(dir, "out.zip"))
}
