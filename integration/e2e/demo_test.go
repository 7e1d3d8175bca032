package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestDemo runs `seosgw demo` as `make demo` does: it must finish, say so,
// and leave nothing behind.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	out, code := testkit.Run(t, "demo")
	if code != 0 {
		t.Fatalf("demo failed (exit %d):\n%s", code, out)
	}
	for _, want := range []string{"DS_WAIT_REGISTRATION", "identical to what A sent", "registered by B as Б-", "Done:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "The demo's files") {
		t.Error("a successful demo should clean up its work folder")
	}
}

// TestDemoCancelled: Ctrl-C (SIGINT) during the demo stops its processes,
// says "cancelled" and removes the folder, which holds private keys.
func TestDemoCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(testkit.Binary(t), "demo", "--dir", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var seen strings.Builder
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		seen.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "Starting two gateways") {
			break
		}
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "pki", "*key*"))
	if len(keys) == 0 {
		t.Fatalf("no private keys in %s yet; the demo said:\n%s", dir, seen.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130 after SIGINT", err)
	}
	if !strings.Contains(stderr.String(), "demo cancelled") {
		t.Errorf("the demo does not say it was cancelled:\n%s%s%s", seen.String(), rest, stderr.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's folder (private keys) is still there: %v", err)
	}
}

// The demo removes its folder afterwards, so it refuses one that holds
// anything else.
func TestDemoRefusesAFullFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("keep me"), 0o600)
	out, code := testkit.Run(t, "demo", "--dir", dir)
	if code == 0 || !strings.Contains(out, "not empty") {
		t.Errorf("demo --dir with files in it: exit %d\n%s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "mine.txt")); err != nil || string(b) != "keep me" {
		t.Errorf("the demo touched the folder: %v", err)
	}
}
